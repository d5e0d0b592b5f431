package postgres

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatsend/whatsend/store"
)

// WindowCount implements store.Store: unique recipients with a counted send
// since the given time.
func (s *Store) WindowCount(ctx context.Context, scope string, since time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT COUNT(DISTINCT phone) FROM window_log WHERE scope = $1 AND sent_at >= $2 AND NOT in_csw`,
		scope, ts(since)).Scan(&n)
	return n, err
}

// phoneSet runs a query selecting one phone column, and returns the
// phones it selected.
func (s *Store) phoneSet(ctx context.Context, q string, args ...any) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.query(ctx, func(rows pgx.Rows) error {
		var p string
		err := rows.Scan(&p)
		out[p] = true
		return err
	}, q, args...)
	return out, err
}

// WindowContains implements store.Store.
func (s *Store) WindowContains(ctx context.Context, scope string, since time.Time, phones []string) (map[string]bool, error) {
	return s.phoneSet(ctx, `SELECT DISTINCT phone FROM window_log WHERE scope = $1 AND sent_at >= $2 AND NOT in_csw
		AND phone = ANY ($3::text[])`, scope, ts(since), phones)
}

// WindowTimes implements store.Store. Each unique recipient's time is its
// latest counted send: it leaves the window 24 h after that.
func (s *Store) WindowTimes(ctx context.Context, scope string, since time.Time) ([]time.Time, error) {
	var out []time.Time
	err := s.query(ctx, func(rows pgx.Rows) error {
		var t int64
		err := rows.Scan(&t)
		out = append(out, tm(t))
		return err
	}, `SELECT MAX(sent_at) AS t FROM window_log WHERE scope = $1 AND sent_at >= $2 AND NOT in_csw
		GROUP BY phone ORDER BY t`, scope, ts(since))
	return out, err
}

// WarmupStart implements store.Store.
func (s *Store) WarmupStart(ctx context.Context, scope string) (time.Time, bool, error) {
	var t int64
	err := s.pool.QueryRow(ctx, `SELECT start FROM warmup WHERE scope = $1`, scope).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	return tm(t), err == nil, err
}

// SetWarmupStart implements store.Store.
func (s *Store) SetWarmupStart(ctx context.Context, scope string, t time.Time, onlyIfAbsent bool) error {
	q := `INSERT INTO warmup (scope, start) VALUES ($1, $2) ON CONFLICT (scope) DO UPDATE SET start = excluded.start`
	if onlyIfAbsent {
		q = `INSERT INTO warmup (scope, start) VALUES ($1, $2) ON CONFLICT (scope) DO NOTHING`
	}
	return s.exec(ctx, q, scope, ts(t))
}

// SavePhone implements store.Store.
func (s *Store) SavePhone(ctx context.Context, p store.PhoneRecord) error {
	return s.exec(ctx, `INSERT INTO phones (phone_number_id, quality, status, throughput, on_biz_app, limit_users, limit_source, checked_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (phone_number_id) DO UPDATE SET quality = excluded.quality, status = excluded.status,
		throughput = excluded.throughput, on_biz_app = excluded.on_biz_app, limit_users = excluded.limit_users,
		limit_source = excluded.limit_source, checked_at = excluded.checked_at`,
		p.PhoneNumberID, p.Quality, p.Status, p.ThroughputLevel, p.OnBizApp, p.Limit, p.LimitSource, ts(p.CheckedAt))
}

// Phone implements store.Store.
func (s *Store) Phone(ctx context.Context, phoneNumberID string) (store.PhoneRecord, error) {
	p := store.PhoneRecord{PhoneNumberID: phoneNumberID}
	var at int64
	err := s.pool.QueryRow(ctx, `SELECT quality, status, throughput, on_biz_app, limit_users, limit_source, checked_at
		FROM phones WHERE phone_number_id = $1`, phoneNumberID).Scan(&p.Quality, &p.Status, &p.ThroughputLevel, &p.OnBizApp, &p.Limit, &p.LimitSource, &at)
	p.CheckedAt = tm(at)
	return p, notFound(err)
}

// AcquireLease implements store.Store in one transaction: a free key is
// taken by an INSERT, a held one is read with SELECT ... FOR UPDATE, so
// that two processes deciding on the same holder decide one after the
// other.
func (s *Store) AcquireLease(ctx context.Context, l store.Lease, p store.LeasePolicy) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// A holder that releases between the INSERT and the SELECT leaves
		// the key free: the INSERT is tried again, a bounded number of times.
		for range 3 {
			tag, err := tx.Exec(ctx, `INSERT INTO leases (key, owner, pid, started, host, heartbeat, expiry_ms) VALUES ($1,$2,$3,$4,$5,$6,$7)
				ON CONFLICT (key) DO NOTHING`, l.Key, l.Owner, l.PID, l.Started, l.Host, ts(l.Heartbeat), l.Expiry.Milliseconds())
			if err != nil || tag.RowsAffected() == 1 {
				return err
			}
			cur, err := leaseIn(ctx, tx, l.Key, " FOR UPDATE")
			switch {
			case errors.Is(err, store.ErrNotFound):
				continue
			case err != nil:
				return err
			case cur.Owner != l.Owner && !p.Gone(cur, l.Heartbeat):
				return &store.LeaseHeldError{Holder: cur}
			}
			_, err = tx.Exec(ctx, `UPDATE leases SET owner = $2, pid = $3, started = $4, host = $5, heartbeat = $6, expiry_ms = $7 WHERE key = $1`,
				l.Key, l.Owner, l.PID, l.Started, l.Host, ts(l.Heartbeat), l.Expiry.Milliseconds())
			return err
		}
		return errors.New("lease " + l.Key + ": taken and released again and again; try again")
	})
}

// leaseIn reads the lease on key, or ErrNotFound; lock is "" or " FOR UPDATE".
func leaseIn(ctx context.Context, q querier, key, lock string) (store.Lease, error) {
	l := store.Lease{Key: key}
	var hb, exp int64
	err := q.QueryRow(ctx, `SELECT owner, pid, started, host, heartbeat, expiry_ms FROM leases WHERE key = $1`+lock, key).
		Scan(&l.Owner, &l.PID, &l.Started, &l.Host, &hb, &exp)
	l.Heartbeat = tm(hb)
	l.Expiry = time.Duration(exp) * time.Millisecond
	return l, notFound(err)
}

// Lease implements store.Store.
func (s *Store) Lease(ctx context.Context, key string) (store.Lease, error) {
	return leaseIn(ctx, s.pool, key, "")
}

// BreakLease implements store.Store. The lease is read FOR UPDATE and
// removed in one transaction, so a holder that renews meanwhile keeps it.
func (s *Store) BreakLease(ctx context.Context, key, owner string, now time.Time, staleAfter time.Duration) (store.Lease, error) {
	var cur store.Lease
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		cur, err = leaseIn(ctx, tx, key, " FOR UPDATE")
		switch {
		case err != nil:
			return err
		case owner != "" && cur.Owner != owner:
			return store.ErrNotFound
		case now.Sub(cur.Heartbeat) <= cur.StaleAfter(staleAfter):
			return &store.LeaseHeldError{Holder: cur}
		}
		_, err = tx.Exec(ctx, `DELETE FROM leases WHERE key = $1 AND owner = $2`, key, cur.Owner)
		return err
	})
	if err != nil {
		return store.Lease{}, err
	}
	return cur, nil
}

// RenewLease implements store.Store.
func (s *Store) RenewLease(ctx context.Context, key, owner string, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE leases SET heartbeat = $1 WHERE key = $2 AND owner = $3`, ts(now), key, owner)
		if err == nil && tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return err
	})
}

// ReleaseLease implements store.Store.
func (s *Store) ReleaseLease(ctx context.Context, key, owner string) error {
	return s.exec(ctx, `DELETE FROM leases WHERE key = $1 AND owner = $2`, key, owner)
}

// AddOptOut implements store.Store.
func (s *Store) AddOptOut(ctx context.Context, phone, source string, at time.Time) error {
	return s.exec(ctx, `INSERT INTO optouts (phone, source, at) VALUES ($1,$2,$3) ON CONFLICT (phone) DO NOTHING`, phone, source, ts(at))
}

// RemoveOptOut implements store.Store.
func (s *Store) RemoveOptOut(ctx context.Context, phone string) error {
	return s.exec(ctx, `DELETE FROM optouts WHERE phone = $1`, phone)
}

// OptOuts implements store.Store.
func (s *Store) OptOuts(ctx context.Context) ([]store.OptOut, error) {
	var out []store.OptOut
	err := s.query(ctx, func(rows pgx.Rows) error {
		var o store.OptOut
		var at int64
		err := rows.Scan(&o.Phone, &o.Source, &at)
		o.At = tm(at)
		out = append(out, o)
		return err
	}, `SELECT phone, source, at FROM optouts ORDER BY phone COLLATE "C"`)
	return out, err
}

// OptedOut implements store.Store.
func (s *Store) OptedOut(ctx context.Context, phones []string) (map[string]bool, error) {
	return s.phoneSet(ctx, `SELECT phone FROM optouts WHERE phone = ANY ($1::text[])`, phones)
}

// Unanswered implements store.Store.
func (s *Store) Unanswered(ctx context.Context, phones []string) (map[string]int, error) {
	out := map[string]int{}
	err := s.query(ctx, func(rows pgx.Rows) error {
		var p string
		var n int
		err := rows.Scan(&p, &n)
		out[p] = n
		return err
	}, `SELECT a.to_phone, COUNT(*) FROM attempts a LEFT JOIN contacts c ON c.phone = a.to_phone
		WHERE a.state = 'sent' AND a.to_phone = ANY ($1::text[])
		AND a.started_at > COALESCE(c.last_reply_at, 0) GROUP BY a.to_phone`, phones)
	return out, err
}

// saveBody keeps a webhook body and reports whether it is new.
func saveBody(ctx context.Context, tx pgx.Tx, hash string, body []byte, at time.Time) (bool, error) {
	if body == nil {
		body = []byte{}
	}
	tag, err := tx.Exec(ctx, `INSERT INTO webhooks (hash, body, received_at) VALUES ($1,$2,$3) ON CONFLICT (hash) DO NOTHING`, hash, body, ts(at))
	return err == nil && tag.RowsAffected() == 1, err
}

// recordInbound records a user's message in tx: its number (see
// store.Inbound) has replied, which opens its 24 h customer-service
// window, and a keyword STOP opts it out.
func recordInbound(ctx context.Context, tx pgx.Tx, m store.Inbound) error {
	phone, err := inboundPhone(ctx, tx, m)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO inbound (wamid, from_phone, at, type, text, phone, user_id, context)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (wamid) DO NOTHING`,
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
		if _, err := tx.Exec(ctx, `INSERT INTO contacts (phone, last_reply_at) VALUES ($1, $2)
			ON CONFLICT (phone) DO UPDATE SET last_reply_at = GREATEST(contacts.last_reply_at, excluded.last_reply_at)`, p, ts(m.At)); err != nil {
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
func inboundPhone(ctx context.Context, tx pgx.Tx, m store.Inbound) (string, error) {
	if m.Context != "" {
		var phone string
		err := tx.QueryRow(ctx, `SELECT phone FROM recipients WHERE wamid = $1 AND wamid <> '' LIMIT 1`, m.Context).Scan(&phone)
		if err == nil {
			return phone, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return "", err
		}
	}
	if m.From != "" {
		return m.From, nil
	}
	return userPhone(ctx, tx, m.UserID)
}

// userPhone is the number last seen with a user id, or "".
func userPhone(ctx context.Context, tx pgx.Tx, userID string) (string, error) {
	if userID == "" {
		return "", nil
	}
	var phone string
	err := tx.QueryRow(ctx, `SELECT phone FROM user_ids WHERE user_id = $1`, userID).Scan(&phone)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return phone, err
}

// linkUser records that a user id goes with a number, and applies an
// opt-out that was waiting for that user id's number.
func linkUser(ctx context.Context, tx pgx.Tx, u store.User, at time.Time) error {
	if u.Phone == "" || u.UserID == "" {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO user_ids (user_id, phone, seen_at) VALUES ($1,$2,$3)
		ON CONFLICT (user_id) DO UPDATE SET phone = excluded.phone, seen_at = excluded.seen_at WHERE excluded.seen_at >= user_ids.seen_at`,
		u.UserID, u.Phone, ts(at)); err != nil {
		return err
	}
	var waitingSince int64
	err := tx.QueryRow(ctx, `DELETE FROM user_optouts WHERE user_id = $1 RETURNING at`, u.UserID).Scan(&waitingSince)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return addOptOut(ctx, tx, u.Phone, tm(waitingSince))
}

// addOptOut adds a number to the opt-out list as the webhook's.
func addOptOut(ctx context.Context, tx pgx.Tx, phone string, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO optouts (phone, source, at) VALUES ($1,'webhook',$2) ON CONFLICT (phone) DO NOTHING`, phone, ts(at))
	return err
}

// userOptOut keeps an opt-out by user id until its number is known.
func userOptOut(ctx context.Context, tx pgx.Tx, userID string, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO user_optouts (user_id, source, at) VALUES ($1,'webhook',$2) ON CONFLICT (user_id) DO NOTHING`, userID, ts(at))
	return err
}

// preference applies a marketing stop or resume to the number it names,
// or to the number known for its user id; a stop by an unknown user id
// waits for the link, a resume cancels a waiting stop.
func preference(ctx context.Context, tx pgx.Tx, u store.User, stop bool, at time.Time) error {
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
		_, err := tx.Exec(ctx, `DELETE FROM optouts WHERE phone = $1 AND source = 'webhook'`, phone)
		return err
	case stop:
		return userOptOut(ctx, tx, u.UserID, at)
	default:
		_, err := tx.Exec(ctx, `DELETE FROM user_optouts WHERE user_id = $1`, u.UserID)
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
	var fresh []bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		fresh = make([]bool, len(ns))
		for i, n := range ns {
			ok, err := saveBody(ctx, tx, n.Hash, n.Body, n.At)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			fresh[i] = true
			for _, l := range n.Links {
				if err := linkUser(ctx, tx, l, n.At); err != nil {
					return err
				}
			}
			for _, u := range n.Statuses {
				if _, err := applyStatus(ctx, tx, u, n.At); err != nil {
					return err
				}
			}
			for _, m := range n.Inbound {
				if err := recordInbound(ctx, tx, m); err != nil {
					return err
				}
			}
			for _, u := range n.OptOuts {
				if err := preference(ctx, tx, u, true, n.At); err != nil {
					return err
				}
			}
			for _, u := range n.OptIns {
				if err := preference(ctx, tx, u, false, n.At); err != nil {
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
const deliveryRank = `CASE delivery WHEN '' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3 ELSE 4 END`

// applyStatus applies one status, received at received, in tx and reports
// whether a recipient matched. Statuses never move backwards: the rule is
// in the UPDATE's WHERE clause, so a late or duplicate notification cannot
// downgrade a recipient whatever the order of arrival.
func applyStatus(ctx context.Context, tx pgx.Tx, u store.StatusUpdate, received time.Time) (bool, error) {
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
		tag, err := tx.Exec(ctx, `UPDATE recipients SET delivery = 'failed', state = $1::text, last_code = $2, last_error = $3,
			next_attempt_at = $4, deferrals = deferrals + CASE WHEN $1::text = 'deferred' THEN 1 ELSE 0 END,
			wamid = CASE WHEN wamid = '' THEN $5::text ELSE wamid END, updated_at = $6
			WHERE id = $7 AND delivery IN ('', 'sent')`,
			fail, u.Code, detail, ts(next), u.WAMID, at, id)
		if err != nil || fail != store.StateDeferred || tag.RowsAffected() == 0 {
			return true, err
		}
		// A deferral reopens a finished campaign: it has work again, and
		// resume --all sends it when due.
		_, err = tx.Exec(ctx, `UPDATE campaigns SET state = 'ready', updated_at = $1
			WHERE id = (SELECT campaign_id FROM recipients WHERE id = $2) AND state = 'finished'`, at, id)
		return true, err
	}
	newRank := map[store.DeliveryStatus]int{store.DeliverySent: 1, store.DeliveryDelivered: 2, store.DeliveryRead: 3}[u.Status]
	if newRank == 0 {
		return true, nil
	}
	if u.Status == store.DeliveryDelivered {
		// Read may arrive first (Meta does not order notifications); it
		// stands in for the delivered time until the real one comes.
		if _, err := tx.Exec(ctx, `UPDATE recipients SET delivered_at = $1 WHERE id = $2 AND delivery = 'read'
			AND (delivered_at = 0 OR delivered_at > $1)`, at, id); err != nil {
			return true, err
		}
	}
	_, err = tx.Exec(ctx, `UPDATE recipients SET delivery = $1::text,
		state = CASE WHEN state IN ('in_flight', 'uncertain') THEN 'sent' ELSE state END,
		sent_at = CASE WHEN sent_at = 0 THEN $2::bigint ELSE sent_at END,
		delivered_at = CASE WHEN $3::int >= 2 AND delivered_at = 0 THEN $2::bigint ELSE delivered_at END,
		read_at = CASE WHEN $3::int = 3 AND read_at = 0 THEN $2::bigint ELSE read_at END,
		wamid = CASE WHEN wamid = '' THEN $4::text ELSE wamid END, updated_at = $2::bigint
		WHERE id = $5 AND `+deliveryRank+` < $3::int`, string(u.Status), at, newRank, u.WAMID, id)
	return true, err
}

// matchRecipient finds a status's recipient by wamid, else by the attempt
// named in biz_opaque_callback_data ("c=<campaign>;r=<recipient>;a=<attempt>").
func matchRecipient(ctx context.Context, tx pgx.Tx, u store.StatusUpdate) (int64, error) {
	var id int64
	if u.WAMID != "" {
		err := tx.QueryRow(ctx, `SELECT id FROM recipients WHERE wamid = $1 AND wamid <> ''`, u.WAMID).Scan(&id)
		if err == nil || !errors.Is(err, pgx.ErrNoRows) {
			return id, err
		}
	}
	c, r, ok := store.ParseCallback(u.Callback)
	if !ok {
		return 0, nil
	}
	err := tx.QueryRow(ctx, `SELECT id FROM recipients WHERE id = $1 AND campaign_id = $2`, r, c).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// parseCallback reads the campaign and recipient of a
// biz_opaque_callback_data "c=<campaign>;r=<recipient>;a=<attempt>".

// Summary implements store.Store with aggregate queries.
func (s *Store) Summary(ctx context.Context, campaignID int64) (store.Summary, error) {
	sum := store.Summary{
		ByDelivery: map[store.DeliveryStatus]int{}, FailedByCode: map[int]int{}, SkippedByReason: map[string]int{},
	}
	var err error
	if sum.ByState, err = s.Counts(ctx, campaignID); err != nil {
		return sum, err
	}
	var k string
	var code, n int
	var first, last int64
	queries := []struct {
		sql  string
		dest []any
		fn   func()
	}{
		{`SELECT delivery, COUNT(*) FROM recipients WHERE campaign_id = $1 AND delivery <> '' GROUP BY delivery`,
			[]any{&k, &n}, func() { sum.ByDelivery[store.DeliveryStatus(k)] = n }},
		{`SELECT last_code, COUNT(*) FROM recipients WHERE campaign_id = $1 AND state = 'failed' GROUP BY last_code`,
			[]any{&code, &n}, func() { sum.FailedByCode[code] = n }},
		{`SELECT reason, COUNT(*) FROM skipped WHERE campaign_id = $1 GROUP BY reason`,
			[]any{&k, &n}, func() { sum.SkippedByReason[k] += n; sum.ImportSkipped += n }},
		{`SELECT skip_reason, COUNT(*) FROM recipients WHERE campaign_id = $1 AND state = 'skipped' GROUP BY skip_reason`,
			[]any{&k, &n}, func() { sum.SkippedByReason[k] += n }},
		{`SELECT COUNT(*) FROM recipients r JOIN contacts c ON c.phone = r.phone WHERE r.campaign_id = $1`,
			[]any{&sum.Replied}, func() {}},
		{`SELECT COUNT(*) FROM recipients WHERE campaign_id = $1 AND resent_after_silence`,
			[]any{&sum.ResentAfterSilence}, func() {}},
		{`SELECT COUNT(*), COUNT(*) FILTER (WHERE code = 131056), COALESCE(MIN(started_at), 0), COALESCE(MAX(started_at), 0)
			FROM attempts WHERE campaign_id = $1`,
			[]any{&sum.Attempts, &sum.RateLimited, &first, &last}, func() { sum.FirstSend, sum.LastSend = tm(first), tm(last) }},
	}
	for _, q := range queries {
		rows, err := s.pool.Query(ctx, q.sql, campaignID)
		if err != nil {
			return sum, err
		}
		if _, err := pgx.ForEachRow(rows, q.dest, func() error { q.fn(); return nil }); err != nil {
			return sum, err
		}
	}
	return sum, nil
}
