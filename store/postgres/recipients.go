package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatsend/whatsend/store"
)

const recipientCols = `id, campaign_id, line, phone, params, state, attempts, deferrals, next_attempt_at,
	last_code, last_error, skip_reason, wamid, sent_at, delivery, delivered_at, read_at, updated_at, retry_base,
	resent_after_silence, components, phone_number_id`

func scanRecipient(sc pgx.Row) (store.Recipient, error) {
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

// Due implements store.Store.
func (s *Store) Due(ctx context.Context, campaignID int64, now time.Time, limit int) ([]store.Recipient, error) {
	var out []store.Recipient
	err := each(ctx, s, scanRecipient, func(r store.Recipient) error {
		out = append(out, r)
		return nil
	}, `SELECT `+recipientCols+` FROM recipients
			WHERE campaign_id = $1 AND state = 'pending' AND next_attempt_at <= $2
		UNION ALL SELECT `+recipientCols+` FROM recipients
			WHERE campaign_id = $1 AND state = 'retry' AND next_attempt_at <= $2
		UNION ALL SELECT `+recipientCols+` FROM recipients
			WHERE campaign_id = $1 AND state = 'deferred' AND next_attempt_at <= $2
		ORDER BY next_attempt_at, line LIMIT $3`, campaignID, ts(now), limit)
	return out, err
}

// NextDue implements store.Store.
func (s *Store) NextDue(ctx context.Context, campaignID int64) (time.Time, bool, error) {
	var n *int64
	err := s.pool.QueryRow(ctx, `SELECT MIN(next_attempt_at) FROM recipients WHERE campaign_id = $1 AND state IN ('pending', 'retry', 'deferred')
		AND (state <> 'pending' OR next_attempt_at > 0)`, campaignID).Scan(&n)
	if err != nil || n == nil {
		return time.Time{}, false, err
	}
	return tm(*n), true, nil
}

// Recipients implements store.Store, streaming in line order.
func (s *Store) Recipients(ctx context.Context, campaignID int64, fn func(store.Recipient) error) error {
	return each(ctx, s, scanRecipient, fn, `SELECT `+recipientCols+` FROM recipients WHERE campaign_id = $1 ORDER BY line`, campaignID)
}

// Counts implements store.Store.
func (s *Store) Counts(ctx context.Context, campaignID int64) (map[store.State]int, error) {
	return s.counts(ctx, "", campaignID)
}

// counts counts a campaign's recipients by state, those matching and (an
// extra condition on its further arguments) only.
func (s *Store) counts(ctx context.Context, and string, args ...any) (map[store.State]int, error) {
	out := map[store.State]int{}
	err := s.query(ctx, func(rows pgx.Rows) error {
		var st store.State
		var n int
		err := rows.Scan(&st, &n)
		out[st] = n
		return err
	}, `SELECT state, COUNT(*) FROM recipients WHERE campaign_id = $1`+and+` GROUP BY state`, args...)
	return out, err
}

// SkipRecipients implements store.Store.
func (s *Store) SkipRecipients(ctx context.Context, ids []int64, reason string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return s.exec(ctx, `UPDATE recipients SET state = 'skipped', skip_reason = $1, updated_at = $2
		WHERE state IN ('pending', 'retry', 'deferred') AND id = ANY ($3::bigint[])`, reason, ts(now), ids)
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE attempts SET state = 'uncertain', finished_at = $1
			WHERE campaign_id = $2 AND state = 'in_flight'`+and, args...); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE recipients SET state = 'uncertain', updated_at = $1
			WHERE campaign_id = $2 AND state = 'in_flight'`+and, args...)
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// InFlight implements store.Store.
func (s *Store) InFlight(ctx context.Context, attemptIDs []string) (map[string]bool, error) {
	in := map[string]bool{}
	if len(attemptIDs) == 0 {
		return in, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT id FROM attempts WHERE state = 'in_flight' AND id = ANY ($1::text[])`, attemptIDs)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, id := range ids {
		in[id] = true
	}
	return in, err
}

// RequeueUncertain implements store.Store.
func (s *Store) RequeueUncertain(ctx context.Context, campaignID int64, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE recipients SET state = 'pending', next_attempt_at = 0, updated_at = $1
			WHERE campaign_id = $2 AND state = 'uncertain'`, ts(now), campaignID)
		n = tag.RowsAffected()
		return err
	})
	return int(n), err
}

// BeginAttempts implements store.Store: the checkpoint, committed (with
// synchronous_commit=on) before any request leaves. The statements of the
// batch go to the server in one round trip.
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
// transaction, one commit.
func (s *Store) CommitAttempts(ctx context.Context, begins []store.Attempt, outcomes []store.Outcome) error {
	return s.CommitAttemptsHolding(ctx, begins, outcomes, "", "")
}

// CommitAttemptsHolding implements store.Store; key "" checks no lease, nor
// does a commit without checkpoints. The lease row is read FOR SHARE: a
// takeover (AcquireLease reads it FOR UPDATE) waits for this checkpoint's
// commit, and then marks its recipients uncertain.
func (s *Store) CommitAttemptsHolding(ctx context.Context, begins []store.Attempt, outcomes []store.Outcome, key, owner string) error {
	if len(begins) == 0 && len(outcomes) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if key != "" && len(begins) > 0 {
			l, err := leaseIn(ctx, tx, key, " FOR SHARE")
			if errors.Is(err, store.ErrNotFound) || (err == nil && l.Owner != owner) {
				return fmt.Errorf("%w: %s is no longer held by this process", store.ErrLeaseLost, key)
			}
			if err != nil {
				return err
			}
		}
		b := &pgx.Batch{}
		if err := queueOutcomes(ctx, tx, b, outcomes); err != nil {
			return err
		}
		for _, a := range begins {
			at := ts(a.StartedAt)
			b.Queue(`INSERT INTO attempts (id, campaign_id, recipient_id, number, phone_number_id, to_phone, scope, batch, started_at)
				VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`, a.ID, a.CampaignID, a.RecipientID, a.Number, a.PhoneNumberID, a.To, a.Scope, a.Batch, at)
			b.Queue(`UPDATE recipients SET state = 'in_flight', attempts = $1, delivery = '', updated_at = $2, phone_number_id = $4 WHERE id = $3`,
				a.Number, at, a.RecipientID, a.PhoneNumberID)
			b.Queue(`INSERT INTO window_log (scope, phone, sent_at, in_csw)
				VALUES ($1, $2, $3, EXISTS (SELECT 1 FROM contacts WHERE phone = $2 AND last_reply_at > $4))`,
				a.Scope, a.To, at, ts(a.StartedAt.Add(-24*time.Hour)))
			if a.StartsWarmup {
				b.Queue(`INSERT INTO warmup (scope, start) VALUES ($1, $2) ON CONFLICT (scope) DO NOTHING`, a.Scope, at)
			}
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// deferral is the one 131049 rule, for send answers and status webhooks
// alike: a recipient deferred fewer times than its campaign's
// max_deferrals is deferred again until at + DeferInterval; one that
// reached it fails, saying so in its error.
func deferral(ctx context.Context, tx pgx.Tx, recipientID int64, at time.Time, detail string) (store.State, time.Time, string, error) {
	var n, limit int
	err := tx.QueryRow(ctx, `SELECT r.deferrals, c.max_deferrals FROM recipients r JOIN campaigns c ON c.id = r.campaign_id
		WHERE r.id = $1`, recipientID).Scan(&n, &limit)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
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
func withdrawAttempt(ctx context.Context, tx pgx.Tx, o store.Outcome) error {
	var scope, phone string
	var started int64
	err := tx.QueryRow(ctx, `SELECT scope, to_phone, started_at FROM attempts WHERE id = $1 AND state = 'in_flight' FOR UPDATE`, o.AttemptID).
		Scan(&scope, &phone, &started)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil // already finished (e.g. marked uncertain): nothing to give back
	}
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM attempts WHERE id = $1`, o.AttemptID)
	b.Queue(`DELETE FROM window_log WHERE ctid = (SELECT ctid FROM window_log WHERE scope = $1 AND phone = $2 AND sent_at = $3 LIMIT 1)`,
		scope, phone, started)
	b.Queue(`UPDATE recipients SET state = 'pending', attempts = GREATEST(attempts - 1, 0), next_attempt_at = 0, updated_at = $1
		WHERE id = $2 AND state = 'in_flight'`, ts(o.FinishedAt), o.RecipientID)
	b.Queue(`DELETE FROM warmup WHERE scope = $1 AND start = $2
		AND NOT EXISTS (SELECT 1 FROM window_log WHERE scope = $1 AND sent_at >= $2)`, scope, started)
	b.Queue(`UPDATE warmup SET start = (SELECT MIN(sent_at) FROM window_log WHERE scope = $1 AND sent_at >= $2)
		WHERE scope = $1 AND start = $2`, scope, started)
	return tx.SendBatch(ctx, b).Close()
}

// queueOutcomes queues the outcomes' writes on b; a withdrawal (NotSent)
// and a deferral's count are read and written in tx at once.
func queueOutcomes(ctx context.Context, tx pgx.Tx, b *pgx.Batch, os []store.Outcome) error {
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
		at := ts(o.FinishedAt)
		b.Queue(`UPDATE attempts SET state = $1, code = $2, message_status = $3, finished_at = $4 WHERE id = $5`,
			o.State, o.Code, o.MessageStatus, at, o.AttemptID)
		// A recipient already sent (a webhook settled it first) stays
		// sent. A status webhook can arrive before the send's answer
		// is recorded: a recipient already sent stays sent, and one a
		// "failed" status settled keeps that state, code and schedule.
		b.Queue(`UPDATE recipients SET
			state = CASE WHEN state = 'sent' THEN 'sent' WHEN delivery = 'failed' THEN state ELSE $1::text END,
			last_code = CASE WHEN delivery = 'failed' THEN last_code ELSE $2::bigint END,
			last_error = CASE WHEN delivery = 'failed' THEN last_error ELSE $3::text END,
			wamid = CASE WHEN $4::text <> '' THEN $4::text ELSE wamid END,
			sent_at = CASE WHEN $1::text = 'sent' AND sent_at = 0 THEN $5::bigint ELSE sent_at END,
			delivery = CASE WHEN $1::text = 'sent' AND delivery = '' THEN 'sent' ELSE delivery END,
			next_attempt_at = CASE WHEN delivery = 'failed' THEN next_attempt_at ELSE $6::bigint END,
			deferrals = deferrals + CASE WHEN $1::text = 'deferred' AND delivery <> 'failed' THEN 1 ELSE 0 END,
			updated_at = $5::bigint
			WHERE id = $7`, o.State, o.Code, o.Error, o.WAMID, at, ts(o.NextAttemptAt), o.RecipientID)
	}
	return nil
}

const attemptCols = `id, campaign_id, recipient_id, number, phone_number_id, to_phone, scope, batch, started_at, finished_at, state, code`

func scanAttempt(sc pgx.Row) (store.AttemptRecord, error) {
	var a store.AttemptRecord
	var started, finished int64
	err := sc.Scan(&a.ID, &a.CampaignID, &a.RecipientID, &a.Number, &a.PhoneNumberID, &a.To, &a.Scope, &a.Batch,
		&started, &finished, &a.State, &a.Code)
	a.StartedAt, a.FinishedAt = tm(started), tm(finished)
	return a, err
}

// Attempts implements store.Store, streaming in start order.
func (s *Store) Attempts(ctx context.Context, campaignID int64, fn func(store.AttemptRecord) error) error {
	return each(ctx, s, scanAttempt, fn, `SELECT `+attemptCols+` FROM attempts WHERE campaign_id = $1 ORDER BY started_at, seq`, campaignID)
}

// AttemptMarks implements store.Store, streaming in start order.
func (s *Store) AttemptMarks(ctx context.Context, campaignID int64, fn func(store.AttemptMark) error) error {
	return each(ctx, s, func(rows pgx.Row) (store.AttemptMark, error) {
		var m store.AttemptMark
		var started int64
		err := rows.Scan(&started, &m.Batch, &m.State, &m.Code)
		m.StartedAt = tm(started)
		return m, err
	}, fn, `SELECT started_at, batch, state, code FROM attempts WHERE campaign_id = $1 ORDER BY started_at, seq`, campaignID)
}

// RecentAttempts implements store.Store: the last n attempts by start
// time, newest first (finished or not).
func (s *Store) RecentAttempts(ctx context.Context, campaignID int64, n int) ([]store.AttemptRecord, error) {
	var out []store.AttemptRecord
	err := each(ctx, s, scanAttempt, func(a store.AttemptRecord) error {
		out = append(out, a)
		return nil
	}, `SELECT `+attemptCols+` FROM attempts WHERE campaign_id = $1 ORDER BY started_at DESC, seq DESC LIMIT $2`, campaignID, n)
	return out, err
}

// LastSends implements store.Store.
func (s *Store) LastSends(ctx context.Context, phoneNumberID string, since time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	err := s.query(ctx, func(rows pgx.Rows) error {
		var p string
		var at int64
		err := rows.Scan(&p, &at)
		out[p] = tm(at)
		return err
	}, `SELECT to_phone, MAX(started_at) FROM attempts WHERE phone_number_id = $1 AND started_at >= $2 GROUP BY to_phone`,
		phoneNumberID, ts(since))
	return out, err
}

// assignLockKey is the first of the advisory lock keys AssignNumbers takes,
// one per campaign (assignLockKey + the campaign's id).
const assignLockKey = int64(0x77736e64) << 32

// AssignNumbers implements store.Store.
func (s *Store) AssignNumbers(ctx context.Context, campaignID int64, pool []string) (map[string]int, error) {
	given := map[string]int{}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		clear(given)
		// Assigners of one campaign take turns (the lock ends with the
		// transaction): the loads read below include the numbers the one
		// before gave.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, assignLockKey+campaignID); err != nil {
			return err
		}
		loads := map[string]int{}
		var k string
		var n int
		rows, err := tx.Query(ctx, `SELECT phone_number_id, COUNT(*) FROM recipients
			WHERE campaign_id = $1 AND state IN ('pending', 'retry', 'deferred', 'in_flight') AND phone_number_id <> ''
			GROUP BY phone_number_id`, campaignID)
		if err != nil {
			return err
		}
		if _, err := pgx.ForEachRow(rows, []any{&k, &n}, func() error { loads[k] = n; return nil }); err != nil {
			return err
		}
		// The recipients are locked: two workers assigning at once take
		// turns, and the second sees the first's numbers.
		// Each with the phone number of its latest attempt in another
		// campaign of its scope (the index of the attempts by number).
		rows, err = tx.Query(ctx, `SELECT r.id, r.phone_number_id, COALESCE((SELECT a.phone_number_id
				FROM attempts a JOIN campaigns c2 ON c2.id = a.campaign_id
				WHERE a.to_phone = r.phone AND a.campaign_id <> r.campaign_id AND c2.scope = c.scope
					AND a.phone_number_id <> ''
				ORDER BY a.started_at DESC LIMIT 1), '')
			FROM recipients r JOIN campaigns c ON c.id = r.campaign_id
			WHERE r.campaign_id = $1 AND r.state = 'pending' AND r.attempts = 0
				AND r.phone_number_id <> ALL ($2::text[])
			ORDER BY r.line FOR UPDATE OF r`, campaignID, pool)
		if err != nil {
			return err
		}
		var c store.AssignCandidate
		var cands []store.AssignCandidate
		if _, err := pgx.ForEachRow(rows, []any{&c.ID, &c.Current, &c.Previous}, func() error {
			cands = append(cands, c)
			return nil
		}); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for id, num := range store.AssignLeastLoaded(pool, loads, cands) {
			b.Queue(`UPDATE recipients SET phone_number_id = $1 WHERE id = $2`, num, id)
			given[num]++
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return given, err
}
