package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/whatsend/whatsend/store"
)

// WindowCount implements store.Store: unique recipients with a counted send
// since the given time.
func (s *Store) WindowCount(ctx context.Context, scope string, since time.Time) (int, error) {
	var n int
	// GROUP BY, not COUNT(DISTINCT): SQLite sorts the numbers once instead
	// of inserting each into a temporary b-tree, four times less work on a
	// window of a million numbers in no order (a report, a forecast).
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM window_log WHERE scope = ? AND sent_at >= ? AND in_csw = 0 GROUP BY phone)`,
		scope, ts(since)).Scan(&n)
	return n, err
}

// WindowContains implements store.Store.
func (s *Store) WindowContains(ctx context.Context, scope string, since time.Time, phones []string) (map[string]bool, error) {
	return s.stringSet(ctx, phones, func(in string) string {
		return `SELECT DISTINCT phone FROM window_log WHERE scope = ? AND sent_at >= ? AND in_csw = 0 AND phone IN (` + in + `)`
	}, scope, ts(since))
}

// stringSet runs the query query(in) for each chunk of keys (in: the
// chunk's placeholders, after the arguments lead) and returns the strings
// its rows hold.
func (s *Store) stringSet(ctx context.Context, keys []string, query func(in string) string, lead ...any) (map[string]bool, error) {
	out := map[string]bool{}
	for _, part := range chunks(keys, 500) {
		rows, err := s.r.QueryContext(ctx, query(placeholders(len(part))), append(slices.Clone(lead), anys(part)...)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, err
			}
			out[k] = true
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// WindowTimes implements store.Store. Each unique recipient's time is its
// latest counted send: it leaves the window 24 h after that.
func (s *Store) WindowTimes(ctx context.Context, scope string, since time.Time) ([]time.Time, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT MAX(sent_at) AS t FROM window_log WHERE scope = ? AND sent_at >= ? AND in_csw = 0
		GROUP BY phone ORDER BY t`, scope, ts(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var t int64
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, tm(t))
	}
	return out, rows.Err()
}

// WarmupStart implements store.Store.
func (s *Store) WarmupStart(ctx context.Context, scope string) (time.Time, bool, error) {
	var t int64
	err := s.r.QueryRowContext(ctx, `SELECT start FROM warmup WHERE scope = ?`, scope).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	return tm(t), err == nil, err
}

// SetWarmupStart implements store.Store.
func (s *Store) SetWarmupStart(ctx context.Context, scope string, t time.Time, onlyIfAbsent bool) error {
	q := `INSERT INTO warmup (scope, start) VALUES (?, ?) ON CONFLICT (scope) DO UPDATE SET start = excluded.start`
	if onlyIfAbsent {
		q = `INSERT INTO warmup (scope, start) VALUES (?, ?) ON CONFLICT (scope) DO NOTHING`
	}
	return s.exec(ctx, q, scope, ts(t))
}

// SavePhone implements store.Store.
func (s *Store) SavePhone(ctx context.Context, p store.PhoneRecord) error {
	return s.exec(ctx, `INSERT INTO phones (phone_number_id, quality, status, throughput, on_biz_app, limit_users, limit_source, checked_at)
		VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (phone_number_id) DO UPDATE SET quality = excluded.quality, status = excluded.status,
		throughput = excluded.throughput, on_biz_app = excluded.on_biz_app, limit_users = excluded.limit_users,
		limit_source = excluded.limit_source, checked_at = excluded.checked_at`,
		p.PhoneNumberID, p.Quality, p.Status, p.ThroughputLevel, p.OnBizApp, p.Limit, p.LimitSource, ts(p.CheckedAt))
}

// Phone implements store.Store.
func (s *Store) Phone(ctx context.Context, phoneNumberID string) (store.PhoneRecord, error) {
	p := store.PhoneRecord{PhoneNumberID: phoneNumberID}
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT quality, status, throughput, on_biz_app, limit_users, limit_source, checked_at
		FROM phones WHERE phone_number_id = ?`, phoneNumberID).Scan(&p.Quality, &p.Status, &p.ThroughputLevel, &p.OnBizApp, &p.Limit, &p.LimitSource, &at)
	p.CheckedAt = tm(at)
	return p, notFound(err)
}

// AcquireLease implements store.Store.
func (s *Store) AcquireLease(ctx context.Context, l store.Lease, p store.LeasePolicy) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := leaseIn(ctx, tx, l.Key)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		case cur.Owner != l.Owner && !p.Gone(cur, l.Heartbeat):
			return &store.LeaseHeldError{Holder: cur}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO leases (key, owner, pid, started, host, heartbeat, expiry_ms) VALUES (?,?,?,?,?,?,?)
			ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, pid = excluded.pid, started = excluded.started,
			host = excluded.host, heartbeat = excluded.heartbeat, expiry_ms = excluded.expiry_ms`,
			l.Key, l.Owner, l.PID, l.Started, l.Host, ts(l.Heartbeat), l.Expiry.Milliseconds())
		return err
	})
}

// leaseIn reads the lease on key, or ErrNotFound.
func leaseIn(ctx context.Context, q queryer, key string) (store.Lease, error) {
	l := store.Lease{Key: key}
	var hb, exp int64
	err := q.QueryRowContext(ctx, `SELECT owner, pid, started, host, heartbeat, expiry_ms FROM leases WHERE key = ?`, key).
		Scan(&l.Owner, &l.PID, &l.Started, &l.Host, &hb, &exp)
	l.Heartbeat = tm(hb)
	l.Expiry = time.Duration(exp) * time.Millisecond
	return l, notFound(err)
}

// Lease implements store.Store.
func (s *Store) Lease(ctx context.Context, key string) (store.Lease, error) {
	return leaseIn(ctx, s.r, key)
}

// BreakLease implements store.Store. The lease is read and removed in one
// write transaction, so a holder that renews meanwhile keeps it.
func (s *Store) BreakLease(ctx context.Context, key, owner string, now time.Time, staleAfter time.Duration) (store.Lease, error) {
	var cur store.Lease
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		cur, err = leaseIn(ctx, tx, key)
		switch {
		case err != nil:
			return err
		case owner != "" && cur.Owner != owner:
			return store.ErrNotFound
		case now.Sub(cur.Heartbeat) <= cur.StaleAfter(staleAfter):
			return &store.LeaseHeldError{Holder: cur}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM leases WHERE key = ? AND owner = ?`, key, cur.Owner)
		return err
	})
	if err != nil {
		return store.Lease{}, err
	}
	return cur, nil
}

// RenewLease implements store.Store.
func (s *Store) RenewLease(ctx context.Context, key, owner string, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE leases SET heartbeat = ? WHERE key = ? AND owner = ?`, ts(now), key, owner)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}

// ReleaseLease implements store.Store.
func (s *Store) ReleaseLease(ctx context.Context, key, owner string) error {
	return s.exec(ctx, `DELETE FROM leases WHERE key = ? AND owner = ?`, key, owner)
}

// AddOptOut implements store.Store.
func (s *Store) AddOptOut(ctx context.Context, phone, source string, at time.Time) error {
	return s.exec(ctx, `INSERT INTO optouts (phone, source, at) VALUES (?,?,?) ON CONFLICT (phone) DO NOTHING`, phone, source, ts(at))
}

// RemoveOptOut implements store.Store.
func (s *Store) RemoveOptOut(ctx context.Context, phone string) error {
	return s.exec(ctx, `DELETE FROM optouts WHERE phone = ?`, phone)
}

// OptOuts implements store.Store.
func (s *Store) OptOuts(ctx context.Context) ([]store.OptOut, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT phone, source, at FROM optouts ORDER BY phone`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.OptOut
	for rows.Next() {
		var o store.OptOut
		var at int64
		if err := rows.Scan(&o.Phone, &o.Source, &at); err != nil {
			return nil, err
		}
		o.At = tm(at)
		out = append(out, o)
	}
	return out, rows.Err()
}

// phoneSet runs a query selecting one phone column for each chunk of phones.
func (s *Store) phoneSet(ctx context.Context, q string, phones []string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, part := range chunks(phones, 500) {
		rows, err := s.r.QueryContext(ctx, strings.Replace(q, "(?)", "("+placeholders(len(part))+")", 1), anys(part)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				rows.Close()
				return nil, err
			}
			out[p] = true
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// OptedOut implements store.Store. A list of more numbers than one
// query takes (an import's batch) is first checked against an empty
// opt-out list: one read instead of a lookup per number.
func (s *Store) OptedOut(ctx context.Context, phones []string) (map[string]bool, error) {
	if len(phones) > 500 {
		var some bool
		if err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM optouts)`).Scan(&some); err != nil {
			return nil, err
		}
		if !some {
			return map[string]bool{}, nil
		}
	}
	return s.phoneSet(ctx, `SELECT phone FROM optouts WHERE phone IN (?)`, phones)
}

// unansweredSQL counts the sent attempts of n numbers since each one's
// last reply.
func unansweredSQL(n int) string {
	return `SELECT a.to_phone, COUNT(*) FROM attempts a LEFT JOIN contacts c ON c.phone = a.to_phone
			WHERE a.state = 'sent' AND a.to_phone IN (` + placeholders(n) + `)
			AND a.started_at > COALESCE(c.last_reply_at, 0) GROUP BY a.to_phone`
}

// Unanswered implements store.Store.
func (s *Store) Unanswered(ctx context.Context, phones []string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range chunks(phones, 500) {
		rows, err := s.r.QueryContext(ctx, unansweredSQL(len(part)), anys(part)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var p string
			var n int
			if err := rows.Scan(&p, &n); err != nil {
				rows.Close()
				return nil, err
			}
			out[p] = n
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// recordInbound records a user's message in tx: its number (see
// store.Inbound) has replied, which opens its 24 h customer-service
// window, and a keyword STOP opts it out.
func recordInbound(ctx context.Context, tx *sql.Tx, m store.Inbound) error {
	phone, err := inboundPhone(ctx, tx, m)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO inbound (wamid, from_phone, at, type, text, phone, user_id, context)
		VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (wamid) DO NOTHING`,
		m.WAMID, m.From, ts(m.At), m.Type, m.Text, phone, m.UserID, m.Context); err != nil {
		return err
	}
	if phone == "" {
		// Only a user id nobody has linked to a number yet: its opt-out
		// waits for the link; there is no number to mark as replied.
		if m.OptOut && m.UserID != "" {
			return userOptOut(ctx, tx, m.UserID, m.At)
		}
		return nil
	}
	if m.UserID != "" {
		if err := linkUser(ctx, tx, store.User{Phone: phone, UserID: m.UserID}, m.At); err != nil {
			return err
		}
	}
	for _, p := range distinct(phone, m.From) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO contacts (phone, last_reply_at) VALUES (?, ?)
			ON CONFLICT (phone) DO UPDATE SET last_reply_at = MAX(last_reply_at, excluded.last_reply_at)`, p, ts(m.At)); err != nil {
			return err
		}
		if m.OptOut {
			if err := addOptOut(ctx, tx, p, m.At); err != nil {
				return err
			}
		}
	}
	return nil
}

// inboundPhone is the number an inbound message is about: the recipient
// whose message it answers, else the number it came from, else the number
// known for its user id; empty when none is known.
func inboundPhone(ctx context.Context, tx *sql.Tx, m store.Inbound) (string, error) {
	if m.Context != "" {
		var phone string
		err := tx.QueryRowContext(ctx, `SELECT phone FROM recipients WHERE wamid = ? AND wamid <> '' LIMIT 1`, m.Context).Scan(&phone)
		if err == nil {
			return phone, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	if m.From != "" {
		return m.From, nil
	}
	return userPhone(ctx, tx, m.UserID)
}

// userPhone is the number last seen with a user id, or "".
func userPhone(ctx context.Context, tx *sql.Tx, userID string) (string, error) {
	if userID == "" {
		return "", nil
	}
	var phone string
	err := tx.QueryRowContext(ctx, `SELECT phone FROM user_ids WHERE user_id = ?`, userID).Scan(&phone)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return phone, err
}

// linkUser records that a user id goes with a number, and applies an
// opt-out that was waiting for that user id's number.
func linkUser(ctx context.Context, tx *sql.Tx, u store.User, at time.Time) error {
	if u.Phone == "" || u.UserID == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO user_ids (user_id, phone, seen_at) VALUES (?,?,?)
		ON CONFLICT (user_id) DO UPDATE SET phone = excluded.phone, seen_at = excluded.seen_at WHERE excluded.seen_at >= user_ids.seen_at`,
		u.UserID, u.Phone, ts(at)); err != nil {
		return err
	}
	var waitingSince int64
	err := tx.QueryRowContext(ctx, `DELETE FROM user_optouts WHERE user_id = ? RETURNING at`, u.UserID).Scan(&waitingSince)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return addOptOut(ctx, tx, u.Phone, tm(waitingSince))
}

// addOptOut adds a number to the opt-out list as the webhook's.
func addOptOut(ctx context.Context, tx *sql.Tx, phone string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO optouts (phone, source, at) VALUES (?,'webhook',?) ON CONFLICT (phone) DO NOTHING`, phone, ts(at))
	return err
}

// userOptOut keeps an opt-out by user id until its number is known.
func userOptOut(ctx context.Context, tx *sql.Tx, userID string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO user_optouts (user_id, source, at) VALUES (?,'webhook',?) ON CONFLICT (user_id) DO NOTHING`, userID, ts(at))
	return err
}

// preference applies a marketing stop or resume to the number it names,
// or to the number known for its user id; a stop by an unknown user id
// waits for the link, a resume cancels a waiting stop.
func preference(ctx context.Context, tx *sql.Tx, u store.User, stop bool, at time.Time) error {
	phone := u.Phone
	if phone == "" {
		var err error
		if phone, err = userPhone(ctx, tx, u.UserID); err != nil {
			return err
		}
	}
	switch {
	case phone != "" && stop:
		return addOptOut(ctx, tx, phone, at)
	case phone != "":
		_, err := tx.ExecContext(ctx, `DELETE FROM optouts WHERE phone = ? AND source = 'webhook'`, phone)
		return err
	case stop:
		return userOptOut(ctx, tx, u.UserID, at)
	default:
		_, err := tx.ExecContext(ctx, `DELETE FROM user_optouts WHERE user_id = ?`, u.UserID)
		return err
	}
}

// distinct returns the non-empty values, each once.
func distinct(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// SaveNotifications implements store.Store.
func (s *Store) SaveNotifications(ctx context.Context, ns []store.Notification) ([]bool, error) {
	fresh := make([]bool, len(ns))
	prepared, err := s.preparedSet(ctx, notificationSQL)
	if err != nil {
		return nil, err
	}
	err = s.inTx(ctx, func(sqlTx *sql.Tx) error {
		tx := withStmts(ctx, sqlTx, prepared)
		for i, n := range ns {
			res, err := tx.ExecContext(ctx, webhookInsertSQL, n.Hash, n.Body, ts(n.At))
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k != 1 {
				continue
			}
			fresh[i] = true
			for _, l := range n.Links {
				if err := linkUser(ctx, sqlTx, l, n.At); err != nil {
					return err
				}
			}
			for _, u := range n.Statuses {
				if _, err := applyStatus(ctx, tx, u, n.At); err != nil {
					return err
				}
			}
			for _, m := range n.Inbound {
				if err := recordInbound(ctx, sqlTx, m); err != nil {
					return err
				}
			}
			for _, u := range n.OptOuts {
				if err := preference(ctx, sqlTx, u, true, n.At); err != nil {
					return err
				}
			}
			for _, u := range n.OptIns {
				if err := preference(ctx, sqlTx, u, false, n.At); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// deliveryRank orders delivery statuses in SQL; failed ranks last so that
// nothing moves a failed message, and failed itself is checked separately.
const deliveryRank = `CASE %s WHEN '' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 ELSE 4 END`

// applyStatus applies one status, received at received, in tx and reports
// whether a recipient matched. Statuses never move backwards: the rule is
// in the UPDATE's WHERE clause, so a late or duplicate notification cannot
// downgrade a recipient whatever the order of arrival.
func applyStatus(ctx context.Context, tx txRunner, u store.StatusUpdate, received time.Time) (bool, error) {
	id, err := matchRecipient(ctx, tx, u)
	if err != nil || id == 0 {
		return false, err
	}
	if err := statusSeen(ctx, tx, id, received); err != nil {
		return true, err
	}
	at := ts(u.At)
	if u.Status == store.DeliveryFailed {
		fail, next, detail := u.FailState, u.NextAttemptAt, u.Error
		if fail == "" {
			fail = store.StateFailed
		}
		if fail == store.StateDeferred {
			if fail, next, detail, err = deferral(ctx, tx, id, u.At, u.Error); err != nil {
				return true, err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE recipients SET delivery = 'failed', state = ?, last_code = ?, last_error = ?,
			next_attempt_at = ?, deferrals = deferrals + CASE WHEN ? = 'deferred' THEN 1 ELSE 0 END,
			wamid = CASE WHEN wamid = '' THEN ? ELSE wamid END, updated_at = ?
			WHERE id = ? AND delivery IN ('', 'sent')`,
			fail, u.Code, detail, ts(next), fail, u.WAMID, at, id)
		if err != nil || fail != store.StateDeferred {
			return true, err
		}
		// A deferral reopens a finished campaign: it has work again, and
		// resume --all sends it when due.
		if k, _ := res.RowsAffected(); k > 0 {
			_, err = tx.ExecContext(ctx, `UPDATE campaigns SET state = 'ready', updated_at = ?
				WHERE id = (SELECT campaign_id FROM recipients WHERE id = ?) AND state = 'finished'`, at, id)
		}
		return true, err
	}
	newRank := map[store.DeliveryStatus]int{store.DeliverySent: 1, store.DeliveryDelivered: 2, store.DeliveryRead: 3}[u.Status]
	if newRank == 0 {
		return true, nil
	}
	if u.Status == store.DeliveryDelivered {
		// Read may arrive first (Meta does not order notifications); it
		// stands in for the delivered time until the real one comes.
		if _, err := tx.ExecContext(ctx, deliveredAtSQL, at, id, at); err != nil {
			return true, err
		}
	}
	_, err = tx.ExecContext(ctx, deliverySQL, string(u.Status), at, newRank, u.WAMID, id)
	return true, err
}

// The statements SaveNotifications runs for every notification and status
// (notificationSQL), prepared once per process: a webhook batch otherwise
// spent about a quarter of its CPU parsing them again for each status.
const (
	webhookInsertSQL = `INSERT INTO webhooks (hash, body, received_at) VALUES (?,?,?) ON CONFLICT (hash) DO NOTHING`
	wamidMatchSQL    = `SELECT id FROM recipients WHERE wamid = ? AND wamid <> ''`
	callbackMatchSQL = `SELECT id FROM recipients WHERE id = ? AND campaign_id = ?`
	deliveredAtSQL   = `UPDATE recipients SET delivered_at = ? WHERE id = ? AND delivery = 'read'
			AND (delivered_at = 0 OR delivered_at > ?)`
)

// deliverySQL moves a recipient's delivery forward, never backwards (the
// old rank below the new one).
var deliverySQL = `UPDATE recipients SET delivery = ?1,
		state = CASE WHEN state IN ('in_flight', 'uncertain') THEN 'sent' ELSE state END,
		sent_at = CASE WHEN sent_at = 0 THEN ?2 ELSE sent_at END,
		delivered_at = CASE WHEN ?3 >= 2 AND delivered_at = 0 THEN ?2 ELSE delivered_at END,
		read_at = CASE WHEN ?3 = 3 AND read_at = 0 THEN ?2 ELSE read_at END,
		wamid = CASE WHEN wamid = '' THEN ?4 ELSE wamid END, updated_at = ?2
		WHERE id = ?5 AND ` + strings.Replace(deliveryRank, "%s", "delivery", 1) + ` < ?3`

var notificationSQL = []string{webhookInsertSQL, wamidMatchSQL, callbackMatchSQL, statusSeenSQL, deliveredAtSQL, deliverySQL}

// matchRecipient finds a status's recipient by wamid, else by the attempt
// named in biz_opaque_callback_data ("c=<campaign>;r=<recipient>;a=<attempt>").
func matchRecipient(ctx context.Context, tx txRunner, u store.StatusUpdate) (int64, error) {
	var id int64
	if u.WAMID != "" {
		err := tx.QueryRowContext(ctx, wamidMatchSQL, u.WAMID).Scan(&id)
		if err == nil || !errors.Is(err, sql.ErrNoRows) {
			return id, err
		}
	}
	c, r, ok := store.ParseCallback(u.Callback)
	if !ok {
		return 0, nil
	}
	err := tx.QueryRowContext(ctx, callbackMatchSQL, r, c).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// Summary's reads of a campaign's recipients that must not read every
// row of a big campaign (TestSummaryUsesIndexes checks their plans).
const (
	summaryDeliverySQL = `SELECT delivery, resent_after_silence, COUNT(*) FROM recipients
			WHERE campaign_id = ? AND (delivery <> '' OR resent_after_silence = 1) GROUP BY delivery, resent_after_silence`
	summaryRepliedSQL = `SELECT COUNT(*) FROM contacts c WHERE EXISTS (SELECT 1 FROM campaign_numbers n WHERE n.campaign_id = ?1 AND n.phone = c.phone)`
	// One count per number and state, in the index's order (one
	// aggregate per entry: five SUMs over a million entries took 2.5
	// times as long).
	summaryByNumberSQL = `SELECT phone_number_id, state, COUNT(*)
			FROM recipients WHERE campaign_id = ? AND phone_number_id > '' GROUP BY phone_number_id, state`
	// The attempts by number, and from them the campaign's: one pass over
	// its attempts (two took 1.6 times as long on 900,000 attempts).
	summaryAttemptsSQL = `SELECT phone_number_id, COUNT(*), SUM(code = 131056), MIN(started_at), MAX(started_at)
			FROM attempts WHERE campaign_id = ? GROUP BY phone_number_id`
)

// Summary implements store.Store with aggregate queries.
func (s *Store) Summary(ctx context.Context, campaignID int64) (store.Summary, error) {
	sum := store.Summary{
		ByDelivery: map[store.DeliveryStatus]int{}, FailedByCode: map[int]int{}, SkippedByReason: map[string]int{},
		ByNumber: map[string]store.NumberFigures{},
	}
	var err error
	if sum.ByState, err = s.Counts(ctx, campaignID); err != nil {
		return sum, err
	}
	type q struct {
		sql string
		fn  func(*sql.Rows) error
	}
	queries := []q{
		// The delivery statuses and the resends from the partial index
		// recipients_delivery (its WHERE repeated, so SQLite may use it):
		// as many entries as the campaign has statuses, not one per row
		// (a million rows: a scan of the table was most of a report). The
		// figures by number below read the range of recipients_number_due
		// past the unassigned ones ('' sorts first).
		{summaryDeliverySQL, func(r *sql.Rows) error {
			var d store.DeliveryStatus
			var resent bool
			var n int
			if err := r.Scan(&d, &resent, &n); err != nil {
				return err
			}
			if resent {
				sum.ResentAfterSilence += n
			}
			switch d {
			case store.DeliverySent, store.DeliveryDelivered, store.DeliveryRead, store.DeliveryFailed:
				sum.ByDelivery[d] += n
			}
			return nil
		}},
		{`SELECT last_code, COUNT(*) FROM recipients WHERE campaign_id = ? AND state = 'failed' GROUP BY last_code`, func(r *sql.Rows) error {
			var k, n int
			err := r.Scan(&k, &n)
			sum.FailedByCode[k] = n
			return err
		}},
		{`SELECT reason, COUNT(*) FROM skipped WHERE campaign_id = ? GROUP BY reason`, func(r *sql.Rows) error {
			var k string
			var n int
			err := r.Scan(&k, &n)
			sum.SkippedByReason[k] += n
			sum.ImportSkipped += n
			return err
		}},
		{`SELECT skip_reason, COUNT(*) FROM recipients WHERE campaign_id = ? AND state = 'skipped' GROUP BY skip_reason`, func(r *sql.Rows) error {
			var k string
			var n int
			err := r.Scan(&k, &n)
			sum.SkippedByReason[k] += n
			return err
		}},
		// From the contacts (the numbers that replied, fewer than a big
		// campaign's rows), each looked up in the campaign: a join from the
		// campaign's side looked up every one of its rows.
		{summaryRepliedSQL, func(r *sql.Rows) error {
			return r.Scan(&sum.Replied)
		}},
		{summaryByNumberSQL, func(r *sql.Rows) error {
			var k string
			var state store.State
			var n int
			if err := r.Scan(&k, &state, &n); err != nil {
				return err
			}
			g := sum.ByNumber[k]
			g.Assigned += n
			switch state {
			case store.StateSent:
				g.Sent += n
			case store.StateFailed:
				g.Failed += n
			case store.StateUncertain:
				g.Uncertain += n
			case store.StatePending, store.StateRetry, store.StateDeferred, store.StateInFlight:
				g.ToSend += n
			}
			sum.ByNumber[k] = g
			return nil
		}},
		{summaryAttemptsSQL, func(r *sql.Rows) error {
			var k string
			var n, limited int
			var first, last int64
			if err := r.Scan(&k, &n, &limited, &first, &last); err != nil {
				return err
			}
			g := sum.ByNumber[k]
			g.Attempts, g.RateLimited = n, limited
			sum.ByNumber[k] = g
			sum.Attempts += n
			sum.RateLimited += limited
			if f := tm(first); sum.FirstSend.IsZero() || f.Before(sum.FirstSend) {
				sum.FirstSend = f
			}
			if l := tm(last); l.After(sum.LastSend) {
				sum.LastSend = l
			}
			return nil
		}},
	}
	for _, qq := range queries {
		rows, err := s.r.QueryContext(ctx, qq.sql, campaignID)
		if err != nil {
			return sum, err
		}
		for rows.Next() {
			if err := qq.fn(rows); err != nil {
				rows.Close()
				return sum, err
			}
		}
		if err := rows.Close(); err != nil {
			return sum, err
		}
	}
	return sum, nil
}
