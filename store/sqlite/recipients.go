package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/whatsend/whatsend/store"
)

const recipientCols = `id, campaign_id, line, phone, params, state, attempts, deferrals, next_attempt_at,
	last_code, last_error, skip_reason, wamid, sent_at, delivery, delivered_at, read_at, updated_at, retry_base,
	resent_after_silence, components, phone_number_id`

func scanRecipient(sc interface{ Scan(...any) error }) (store.Recipient, error) {
	var r store.Recipient
	var params, components string
	var next, sent, delivered, read, updated int64
	err := sc.Scan(&r.ID, &r.CampaignID, &r.Line, &r.Phone, &params, &r.State, &r.Attempts, &r.Deferrals, &next,
		&r.LastCode, &r.LastError, &r.SkipReason, &r.WAMID, &sent, &r.Delivery, &delivered, &read, &updated, &r.RetryBase, &r.ResentAfterSilence, &components, &r.PhoneNumberID)
	if err != nil {
		return r, notFound(err)
	}
	_ = json.Unmarshal([]byte(params), &r.Params)
	if components != "" {
		r.Components = []byte(components)
	}
	r.NextAttemptAt, r.SentAt, r.DeliveredAt, r.ReadAt, r.UpdatedAt = tm(next), tm(sent), tm(delivered), tm(read), tm(updated)
	return r, nil
}

func (s *Store) queryRecipients(ctx context.Context, q string, args ...any) ([]store.Recipient, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Recipient
	for rows.Next() {
		r, err := scanRecipient(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Due implements store.Store.
func (s *Store) Due(ctx context.Context, campaignID int64, now time.Time, limit int) ([]store.Recipient, error) {
	// One index range per state, merged by SQLite in index order: an OR over
	// the states scanned and sorted the whole campaign on every page.
	return s.queryRecipients(ctx, `SELECT `+recipientCols+` FROM recipients
			WHERE campaign_id = ?1 AND state = 'pending' AND next_attempt_at <= ?2
		UNION ALL SELECT `+recipientCols+` FROM recipients
			WHERE campaign_id = ?1 AND state = 'retry' AND next_attempt_at <= ?2
		UNION ALL SELECT `+recipientCols+` FROM recipients
			WHERE campaign_id = ?1 AND state = 'deferred' AND next_attempt_at <= ?2
		ORDER BY next_attempt_at, line LIMIT ?3`, campaignID, ts(now), limit)
}

// NextDue implements store.Store.
func (s *Store) NextDue(ctx context.Context, campaignID int64) (time.Time, bool, error) {
	var n sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM recipients WHERE campaign_id = ? AND state IN ('pending', 'retry', 'deferred')
		AND (state <> 'pending' OR next_attempt_at > 0)`, campaignID).Scan(&n)
	if err != nil || !n.Valid {
		return time.Time{}, false, err
	}
	return tm(n.Int64), true, nil
}

// Recipients implements store.Store, streaming in line order.
func (s *Store) Recipients(ctx context.Context, campaignID int64, fn func(store.Recipient) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT `+recipientCols+` FROM recipients WHERE campaign_id = ? ORDER BY line`, campaignID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecipient(rows)
		if err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Counts implements store.Store.
func (s *Store) Counts(ctx context.Context, campaignID int64) (map[store.State]int, error) {
	return s.counts(ctx, "", campaignID)
}

// counts counts a campaign's recipients by state, those matching and (an
// extra condition on its further arguments) only.
func (s *Store) counts(ctx context.Context, and string, args ...any) (map[store.State]int, error) {
	out := map[store.State]int{}
	err := s.query(ctx, func(rows *sql.Rows) error {
		var st store.State
		var n int
		err := rows.Scan(&st, &n)
		out[st] = n
		return err
	}, `SELECT state, COUNT(*) FROM recipients WHERE campaign_id = ?`+and+` GROUP BY state`, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SkipRecipients implements store.Store.
func (s *Store) SkipRecipients(ctx context.Context, ids []int64, reason string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, part := range chunks(ids, 500) {
			args := append([]any{reason, ts(now)}, anys(part)...)
			if _, err := tx.ExecContext(ctx, `UPDATE recipients SET state = 'skipped', skip_reason = ?, updated_at = ?
				WHERE state IN ('pending', 'retry', 'deferred') AND id IN (`+placeholders(len(part))+`)`, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// MarkUncertain implements store.Store.
func (s *Store) MarkUncertain(ctx context.Context, campaignID int64, now time.Time) (int, error) {
	return s.markUncertain(ctx, "", ts(now), campaignID)
}

// markUncertain moves a campaign's in_flight recipients and attempts to
// uncertain, those matching and (an extra condition on the arguments after
// the time and the campaign) only.
func (s *Store) markUncertain(ctx context.Context, and string, args ...any) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE attempts SET state = 'uncertain', finished_at = ?
			WHERE campaign_id = ? AND state = 'in_flight'`+and, args...); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE recipients SET state = 'uncertain', updated_at = ?
			WHERE campaign_id = ? AND state = 'in_flight'`+and, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// InFlight implements store.Store.
func (s *Store) InFlight(ctx context.Context, attemptIDs []string) (map[string]bool, error) {
	return s.stringSet(ctx, attemptIDs, func(in string) string {
		return `SELECT id FROM attempts WHERE state = 'in_flight' AND id IN (` + in + `)`
	})
}

// RequeueUncertain implements store.Store.
func (s *Store) RequeueUncertain(ctx context.Context, campaignID int64, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recipients SET state = 'pending', next_attempt_at = 0, updated_at = ?
			WHERE campaign_id = ? AND state = 'uncertain'`, ts(now), campaignID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// BeginAttempts implements store.Store: the checkpoint, committed with
// synchronous=FULL before any request leaves.
func (s *Store) BeginAttempts(ctx context.Context, as []store.Attempt) error {
	return s.CommitAttemptsHolding(ctx, as, nil, "", "")
}

// BeginAttemptsHolding implements store.Store; key "" checks no lease.
func (s *Store) BeginAttemptsHolding(ctx context.Context, as []store.Attempt, key, owner string) error {
	return s.CommitAttemptsHolding(ctx, as, nil, key, owner)
}

// FinishAttempts implements store.Store.
func (s *Store) FinishAttempts(ctx context.Context, os []store.Outcome) error {
	return s.CommitAttemptsHolding(ctx, nil, os, "", "")
}

// CommitAttempts implements store.Store: outcomes and checkpoints in one
// transaction, one sync.
func (s *Store) CommitAttempts(ctx context.Context, begins []store.Attempt, outcomes []store.Outcome) error {
	return s.CommitAttemptsHolding(ctx, begins, outcomes, "", "")
}

// CommitAttemptsHolding implements store.Store; key "" checks no lease, nor
// does a commit without checkpoints. The write transaction is IMMEDIATE: no
// other process takes the lease between the check and the commit.
func (s *Store) CommitAttemptsHolding(ctx context.Context, begins []store.Attempt, outcomes []store.Outcome, key, owner string) error {
	if len(begins) == 0 && len(outcomes) == 0 {
		return nil
	}
	var w [5]rowsWriter
	for i, q := range []rowsSQL{beginAttemptSQL, beginRecipientSQL, beginWindowSQL, finishAttemptSQL, finishRecipientSQL} {
		var err error
		if w[i], err = s.prepareRows(ctx, q); err != nil {
			return err
		}
	}
	lease, err := s.prepared(ctx, leaseOwnerSQL)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if key != "" && len(begins) > 0 {
			st := tx.StmtContext(ctx, lease)
			defer st.Close()
			if err := holding(ctx, st, key, owner); err != nil {
				return err
			}
		}
		if len(outcomes) > 0 {
			if err := finishAttempts(ctx, tx, w[3], w[4], outcomes); err != nil {
				return err
			}
		}
		if len(begins) > 0 {
			return beginAttempts(ctx, tx, w[0], w[1], w[2], begins)
		}
		return nil
	})
}

// beginAttempts writes the checkpoints of as in tx: their attempts, their
// recipients in flight and their window rows.
func beginAttempts(ctx context.Context, tx *sql.Tx, ins, upd, win rowsWriter, as []store.Attempt) error {
	if err := ins.exec(ctx, tx, len(as), func(i int) []any {
		a := as[i]
		return []any{a.ID, a.CampaignID, a.RecipientID, a.Number, a.PhoneNumberID, a.To, a.Scope, a.Batch, ts(a.StartedAt)}
	}); err != nil {
		return err
	}
	if err := upd.exec(ctx, tx, len(as), func(i int) []any {
		a := as[i]
		return []any{a.RecipientID, a.Number, ts(a.StartedAt), a.PhoneNumberID}
	}); err != nil {
		return err
	}
	if err := win.exec(ctx, tx, len(as), func(i int) []any {
		a := as[i]
		return []any{a.Scope, a.To, ts(a.StartedAt), ts(a.StartedAt.Add(-24 * time.Hour))}
	}); err != nil {
		return err
	}
	for _, a := range as {
		if a.StartsWarmup {
			if _, err := tx.ExecContext(ctx, `INSERT INTO warmup (scope, start) VALUES (?, ?) ON CONFLICT (scope) DO NOTHING`, a.Scope, ts(a.StartedAt)); err != nil {
				return err
			}
		}
	}
	return nil
}

// BeginAttempts' statements (rowsSQL: several rows each, prepared once per
// process). A recipient's row is found by its id (v.column1); an update
// of a recipient that is gone changes nothing, as it did one row at a
// time.
var (
	beginAttemptSQL = rowsSQL{
		head: `INSERT OR IGNORE INTO attempts (id, campaign_id, recipient_id, number, phone_number_id, to_phone, scope, batch, started_at) VALUES `,
		row:  `(?,?,?,?,?,?,?,?,?)`,
		all:  "attempts", ignored: "an attempt id is already recorded",
		single: true,
	}
	beginRecipientSQL = rowsSQL{
		head: `UPDATE OR IGNORE recipients SET state = 'in_flight', attempts = v.column2, delivery = '', updated_at = v.column3, phone_number_id = v.column4
			FROM (VALUES `,
		row:  `(?,?,?,?)`,
		tail: `) AS v WHERE recipients.id = v.column1`,
	}
	beginWindowSQL = rowsSQL{
		head: `INSERT OR IGNORE INTO window_log (scope, phone, sent_at, in_csw)
			SELECT v.column1, v.column2, v.column3, EXISTS (SELECT 1 FROM contacts WHERE phone = v.column2 AND last_reply_at > v.column4)
			FROM (VALUES `,
		row:  `(?,?,?,?)`,
		tail: `) AS v`,
		all:  "window rows", ignored: "a value was NULL",
	}
)

const leaseOwnerSQL = `SELECT owner FROM leases WHERE key = ?`

// deferral is the one 131049 rule, for send answers and status webhooks
// alike: a recipient deferred fewer times than its campaign's
// max_deferrals is deferred again until at + DeferInterval; one that
// reached it fails, saying so in its error.
func deferral(ctx context.Context, tx txRunner, recipientID int64, at time.Time, detail string) (store.State, time.Time, string, error) {
	var n, limit int
	err := tx.QueryRowContext(ctx, `SELECT r.deferrals, c.max_deferrals FROM recipients r JOIN campaigns c ON c.id = r.campaign_id
		WHERE r.id = ?`, recipientID).Scan(&n, &limit)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, "", err
	}
	if err == nil && n >= limit {
		return store.StateFailed, time.Time{}, fmt.Sprintf("still deferred after %d deferrals (--defer-days %d): %s", n, limit, detail), nil
	}
	return store.StateDeferred, at.Add(store.DeferInterval), detail, nil
}

// withdrawAttempt undoes a checkpoint whose request never left: the attempt
// row, its window row and its attempt number go; a warm-up start it set
// moves to the scope's earliest remaining send since, or goes. The attempt
// row is deleted, not kept, so the next attempt reuses its number and id.
func withdrawAttempt(ctx context.Context, tx *sql.Tx, o store.Outcome) error {
	var scope, phone string
	var started int64
	err := tx.QueryRowContext(ctx, `SELECT scope, to_phone, started_at FROM attempts WHERE id = ? AND state = 'in_flight'`, o.AttemptID).
		Scan(&scope, &phone, &started)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // already finished (e.g. marked uncertain): nothing to give back
	}
	if err != nil {
		return err
	}
	steps := []struct {
		q    string
		args []any
	}{
		{`DELETE FROM attempts WHERE id = ?`, []any{o.AttemptID}},
		{`DELETE FROM window_log WHERE rowid = (SELECT rowid FROM window_log WHERE scope = ? AND phone = ? AND sent_at = ? LIMIT 1)`,
			[]any{scope, phone, started}},
		{`UPDATE recipients SET state = 'pending', attempts = MAX(attempts - 1, 0), next_attempt_at = 0, updated_at = ?
			WHERE id = ? AND state = 'in_flight'`, []any{ts(o.FinishedAt), o.RecipientID}},
		{`DELETE FROM warmup WHERE scope = ?1 AND start = ?2
			AND NOT EXISTS (SELECT 1 FROM window_log WHERE scope = ?1 AND sent_at >= ?2)`, []any{scope, started}},
		{`UPDATE warmup SET start = (SELECT MIN(sent_at) FROM window_log WHERE scope = ?1 AND sent_at >= ?2)
			WHERE scope = ?1 AND start = ?2`, []any{scope, started}},
	}
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return err
		}
	}
	return nil
}

// finishAttempts records outcomes in tx: those whose request never left
// are withdrawn, the deferred get their next attempt or fail, then each
// attempt and its recipient take the answer.
func finishAttempts(ctx context.Context, tx *sql.Tx, att, rec rowsWriter, os []store.Outcome) error {
	answered := make([]store.Outcome, 0, len(os))
	for _, o := range os {
		if o.NotSent {
			if err := withdrawAttempt(ctx, tx, o); err != nil {
				return err
			}
			continue
		}
		if o.State == store.StateDeferred {
			var err error
			if o.State, o.NextAttemptAt, o.Error, err = deferral(ctx, tx, o.RecipientID, o.FinishedAt, o.Error); err != nil {
				return err
			}
		}
		answered = append(answered, o)
	}
	if err := att.exec(ctx, tx, len(answered), func(i int) []any {
		o := answered[i]
		return []any{o.AttemptID, o.State, o.Code, o.MessageStatus, ts(o.FinishedAt)}
	}); err != nil {
		return err
	}
	return rec.exec(ctx, tx, len(answered), func(i int) []any {
		o := answered[i]
		return []any{o.RecipientID, o.State, o.Code, o.Error, o.WAMID, ts(o.FinishedAt), ts(o.NextAttemptAt)}
	})
}

// FinishAttempts' statements (rowsSQL). A recipient already sent (a
// webhook settled it first) stays sent. A status webhook can arrive
// before the send's answer is recorded: a recipient already sent stays
// sent, and one a "failed" status settled keeps that state, code and
// schedule. The row's values: v.column1 the id, then the state, code,
// error, wamid, time and next attempt.
var (
	finishAttemptSQL = rowsSQL{
		head: `UPDATE OR IGNORE attempts SET state = v.column2, code = v.column3, message_status = v.column4, finished_at = v.column5
			FROM (VALUES `,
		row:  `(?,?,?,?,?)`,
		tail: `) AS v WHERE attempts.id = v.column1`,
	}
	finishRecipientSQL = rowsSQL{
		head: `UPDATE OR IGNORE recipients SET
			state = CASE WHEN state = 'sent' THEN 'sent' WHEN delivery = 'failed' THEN state ELSE v.column2 END,
			last_code = CASE WHEN delivery = 'failed' THEN last_code ELSE v.column3 END,
			last_error = CASE WHEN delivery = 'failed' THEN last_error ELSE v.column4 END,
			wamid = CASE WHEN v.column5 <> '' THEN v.column5 ELSE wamid END,
			sent_at = CASE WHEN v.column2 = 'sent' AND sent_at = 0 THEN v.column6 ELSE sent_at END,
			delivery = CASE WHEN v.column2 = 'sent' AND delivery = '' THEN 'sent' ELSE delivery END,
			next_attempt_at = CASE WHEN delivery = 'failed' THEN next_attempt_at ELSE v.column7 END,
			deferrals = deferrals + CASE WHEN v.column2 = 'deferred' AND delivery <> 'failed' THEN 1 ELSE 0 END,
			updated_at = v.column6
			FROM (VALUES `,
		row:  `(?,?,?,?,?,?,?)`,
		tail: `) AS v WHERE recipients.id = v.column1`,
	}
)

const attemptCols = `id, campaign_id, recipient_id, number, phone_number_id, to_phone, scope, batch, started_at, finished_at, state, code`

func scanAttempt(sc interface{ Scan(...any) error }) (store.AttemptRecord, error) {
	var a store.AttemptRecord
	var started, finished int64
	err := sc.Scan(&a.ID, &a.CampaignID, &a.RecipientID, &a.Number, &a.PhoneNumberID, &a.To, &a.Scope, &a.Batch,
		&started, &finished, &a.State, &a.Code)
	a.StartedAt, a.FinishedAt = tm(started), tm(finished)
	return a, err
}

// Attempts implements store.Store, streaming in start order.
func (s *Store) Attempts(ctx context.Context, campaignID int64, fn func(store.AttemptRecord) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT `+attemptCols+` FROM attempts WHERE campaign_id = ? ORDER BY started_at, rowid`, campaignID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return rows.Err()
}

// AttemptMarks implements store.Store, streaming in start order.
func (s *Store) AttemptMarks(ctx context.Context, campaignID int64, fn func(store.AttemptMark) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT started_at, batch, state, code FROM attempts WHERE campaign_id = ? ORDER BY started_at, rowid`, campaignID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var m store.AttemptMark
		var started int64
		if err := rows.Scan(&started, &m.Batch, &m.State, &m.Code); err != nil {
			return err
		}
		m.StartedAt = tm(started)
		if err := fn(m); err != nil {
			return err
		}
	}
	return rows.Err()
}

// RecentAttempts implements store.Store: the last n attempts by start
// time, newest first (finished or not).
func (s *Store) RecentAttempts(ctx context.Context, campaignID int64, n int) ([]store.AttemptRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+attemptCols+` FROM attempts WHERE campaign_id = ? ORDER BY started_at DESC, rowid DESC LIMIT ?`, campaignID, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AttemptRecord
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// LastSends implements store.Store.
func (s *Store) LastSends(ctx context.Context, phoneNumberID string, since time.Time) (map[string]time.Time, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT to_phone, MAX(started_at) FROM attempts
		WHERE phone_number_id = ? AND started_at >= ? GROUP BY to_phone`, phoneNumberID, ts(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var p string
		var at int64
		if err := rows.Scan(&p, &at); err != nil {
			return nil, err
		}
		out[p] = tm(at)
	}
	return out, rows.Err()
}

// holding returns an error matching store.ErrLeaseLost unless the lease on
// key is owner's.
func holding(ctx context.Context, ownerStmt *sql.Stmt, key, owner string) error {
	var cur string
	err := ownerStmt.QueryRowContext(ctx, key).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && cur != owner) {
		return fmt.Errorf("%w: %s is no longer held by this process", store.ErrLeaseLost, key)
	}
	return err
}

// assignSQL lists a campaign's recipients not yet attempted nor on a pool
// number, each with the phone number that last sent to it in another
// campaign of its scope (its latest attempt there, found with the index
// of the attempts by number: TestAssignUsesAttemptsByNumber).
const assignSQL = `SELECT r.id, r.phone_number_id, COALESCE((SELECT a.phone_number_id
				FROM attempts a JOIN campaigns c2 ON c2.id = a.campaign_id
				WHERE a.to_phone = r.phone AND a.campaign_id <> r.campaign_id AND c2.scope = c.scope
					AND a.phone_number_id <> ''
				ORDER BY a.started_at DESC LIMIT 1), '')
			FROM recipients r JOIN campaigns c ON c.id = r.campaign_id
			WHERE r.campaign_id = ? AND r.state = 'pending' AND r.attempts = 0
				AND r.phone_number_id NOT IN (SELECT value FROM json_each(?))
			ORDER BY r.line`

// AssignNumbers implements store.Store.
func (s *Store) AssignNumbers(ctx context.Context, campaignID int64, pool []string) (map[string]int, error) {
	given := map[string]int{}
	poolJSON, _ := json.Marshal(pool)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		clear(given)
		loads := map[string]int{}
		rows, err := tx.QueryContext(ctx, `SELECT phone_number_id, COUNT(*) FROM recipients
			WHERE campaign_id = ? AND state IN ('pending', 'retry', 'deferred', 'in_flight') AND phone_number_id <> ''
			GROUP BY phone_number_id`, campaignID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return err
			}
			loads[k] = n
		}
		if err := rows.Close(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, assignSQL, campaignID, string(poolJSON))
		if err != nil {
			return err
		}
		var cands []store.AssignCandidate
		for rows.Next() {
			var c store.AssignCandidate
			if err := rows.Scan(&c.ID, &c.Current, &c.Previous); err != nil {
				rows.Close()
				return err
			}
			cands = append(cands, c)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		upd, err := tx.PrepareContext(ctx, `UPDATE recipients SET phone_number_id = ? WHERE id = ?`)
		if err != nil {
			return err
		}
		defer upd.Close()
		for id, n := range store.AssignLeastLoaded(pool, loads, cands) {
			if _, err := upd.ExecContext(ctx, n, id); err != nil {
				return err
			}
			given[n]++
		}
		return nil
	})
	return given, err
}
