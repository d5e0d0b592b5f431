package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatsend/whatsend/store"
)

// The methods of pair runs: one process sends the share of a campaign
// assigned to one phone number of its pool.

// DueFor implements store.Store.
func (s *Store) DueFor(ctx context.Context, campaignID int64, phoneNumberID string, now time.Time, limit int) ([]store.Recipient, error) {
	var out []store.Recipient
	err := each(ctx, s, scanRecipient, func(r store.Recipient) error {
		out = append(out, r)
		return nil
	}, `SELECT `+recipientCols+` FROM recipients
			WHERE campaign_id = $1 AND phone_number_id = $4 AND state = 'pending' AND next_attempt_at <= $2
		UNION ALL SELECT `+recipientCols+` FROM recipients
			WHERE campaign_id = $1 AND phone_number_id = $4 AND state = 'retry' AND next_attempt_at <= $2
		UNION ALL SELECT `+recipientCols+` FROM recipients
			WHERE campaign_id = $1 AND phone_number_id = $4 AND state = 'deferred' AND next_attempt_at <= $2
		ORDER BY next_attempt_at, line LIMIT $3`, campaignID, ts(now), limit, phoneNumberID)
	return out, err
}

// NextDueFor implements store.Store.
func (s *Store) NextDueFor(ctx context.Context, campaignID int64, phoneNumberID string) (time.Time, bool, error) {
	var n *int64
	err := s.pool.QueryRow(ctx, `SELECT MIN(next_attempt_at) FROM recipients
		WHERE campaign_id = $1 AND phone_number_id = $2 AND state IN ('pending', 'retry', 'deferred')
		AND (state <> 'pending' OR next_attempt_at > 0)`, campaignID, phoneNumberID).Scan(&n)
	if err != nil || n == nil {
		return time.Time{}, false, err
	}
	return tm(*n), true, nil
}

// CountsFor implements store.Store.
func (s *Store) CountsFor(ctx context.Context, campaignID int64, phoneNumberID string) (map[store.State]int, error) {
	return s.counts(ctx, ` AND phone_number_id = $2`, campaignID, phoneNumberID)
}

// MarkUncertainFor implements store.Store.
func (s *Store) MarkUncertainFor(ctx context.Context, campaignID int64, phoneNumberID string, now time.Time) (int, error) {
	return s.markUncertain(ctx, ` AND phone_number_id = $3`, ts(now), campaignID, phoneNumberID)
}

// PauseNumber implements store.Store.
func (s *Store) PauseNumber(ctx context.Context, campaignID int64, phoneNumberID, reason string, at time.Time) error {
	return s.exec(ctx, `INSERT INTO number_pauses (campaign_id, phone_number_id, reason, paused_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (campaign_id, phone_number_id) DO UPDATE SET reason = excluded.reason, paused_at = excluded.paused_at`,
		campaignID, phoneNumberID, reason, ts(at))
}

// ResumeNumber implements store.Store.
func (s *Store) ResumeNumber(ctx context.Context, campaignID int64, phoneNumberID string) error {
	return s.exec(ctx, `DELETE FROM number_pauses WHERE campaign_id = $1 AND phone_number_id = $2`, campaignID, phoneNumberID)
}

// NumberPauses implements store.Store.
func (s *Store) NumberPauses(ctx context.Context, campaignID int64) ([]store.NumberPause, error) {
	var out []store.NumberPause
	err := s.query(ctx, func(rows pgx.Rows) error {
		var p store.NumberPause
		var at int64
		if err := rows.Scan(&p.PhoneNumberID, &p.Reason, &at); err != nil {
			return err
		}
		p.At = tm(at)
		out = append(out, p)
		return nil
	}, `SELECT phone_number_id, reason, paused_at FROM number_pauses WHERE campaign_id = $1 ORDER BY phone_number_id`, campaignID)
	return out, err
}

// allowanceLockKey is the first key of the advisory locks ReserveAllowance
// takes, the second being the scope's hash: reservers of a scope take turns.
const allowanceLockKey = int32(0x77736e64)

// ReserveAllowance implements store.Store.
func (s *Store) ReserveAllowance(ctx context.Context, scope, owner string, n, limit int, since, now, until time.Time) (granted, used int, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		granted, used = 0, 0
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, allowanceLockKey, scope); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM allowance_reservations WHERE scope = $1 AND (until_at <= $2 OR owner = $3)`,
			scope, ts(now), owner); err != nil {
			return err
		}
		var others int
		if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(DISTINCT phone) FROM window_log WHERE scope = $1 AND sent_at >= $2 AND NOT in_csw),
			(SELECT COALESCE(SUM(units), 0)::bigint FROM allowance_reservations WHERE scope = $1)`, scope, ts(since)).Scan(&used, &others); err != nil {
			return err
		}
		granted = store.Grant(n, limit, used, others)
		if granted == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO allowance_reservations (scope, owner, units, until_at) VALUES ($1, $2, $3, $4)`,
			scope, owner, granted, ts(until))
		return err
	})
	return granted, used, err
}

// ReleaseAllowance implements store.Store.
func (s *Store) ReleaseAllowance(ctx context.Context, scope, owner string) error {
	return s.exec(ctx, `DELETE FROM allowance_reservations WHERE scope = $1 AND owner = $2`, scope, owner)
}
