package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/whatsend/whatsend/store"
)

// The methods of pair runs: one process sends the share of a campaign
// assigned to one phone number of its pool.

// DueFor implements store.Store.
func (s *Store) DueFor(ctx context.Context, campaignID int64, phoneNumberID string, now time.Time, limit int) ([]store.Recipient, error) {
	return s.queryRecipients(ctx, `SELECT `+recipientCols+` FROM recipients
			WHERE campaign_id = ?1 AND phone_number_id = ?4 AND state = 'pending' AND next_attempt_at <= ?2
		UNION ALL SELECT `+recipientCols+` FROM recipients
			WHERE campaign_id = ?1 AND phone_number_id = ?4 AND state = 'retry' AND next_attempt_at <= ?2
		UNION ALL SELECT `+recipientCols+` FROM recipients
			WHERE campaign_id = ?1 AND phone_number_id = ?4 AND state = 'deferred' AND next_attempt_at <= ?2
		ORDER BY next_attempt_at, line LIMIT ?3`, campaignID, ts(now), limit, phoneNumberID)
}

// NextDueFor implements store.Store.
func (s *Store) NextDueFor(ctx context.Context, campaignID int64, phoneNumberID string) (time.Time, bool, error) {
	var n sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM recipients
		WHERE campaign_id = ? AND phone_number_id = ? AND state IN ('pending', 'retry', 'deferred')
		AND (state <> 'pending' OR next_attempt_at > 0)`, campaignID, phoneNumberID).Scan(&n)
	if err != nil || !n.Valid {
		return time.Time{}, false, err
	}
	return tm(n.Int64), true, nil
}

// CountsFor implements store.Store.
func (s *Store) CountsFor(ctx context.Context, campaignID int64, phoneNumberID string) (map[store.State]int, error) {
	return s.counts(ctx, ` AND phone_number_id = ?`, campaignID, phoneNumberID)
}

// MarkUncertainFor implements store.Store.
func (s *Store) MarkUncertainFor(ctx context.Context, campaignID int64, phoneNumberID string, now time.Time) (int, error) {
	return s.markUncertain(ctx, ` AND phone_number_id = ?`, ts(now), campaignID, phoneNumberID)
}

// PauseNumber implements store.Store.
func (s *Store) PauseNumber(ctx context.Context, campaignID int64, phoneNumberID, reason string, at time.Time) error {
	return s.exec(ctx, `INSERT INTO number_pauses (campaign_id, phone_number_id, reason, paused_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (campaign_id, phone_number_id) DO UPDATE SET reason = excluded.reason, paused_at = excluded.paused_at`,
		campaignID, phoneNumberID, reason, ts(at))
}

// ResumeNumber implements store.Store.
func (s *Store) ResumeNumber(ctx context.Context, campaignID int64, phoneNumberID string) error {
	return s.exec(ctx, `DELETE FROM number_pauses WHERE campaign_id = ? AND phone_number_id = ?`, campaignID, phoneNumberID)
}

// NumberPauses implements store.Store.
func (s *Store) NumberPauses(ctx context.Context, campaignID int64) ([]store.NumberPause, error) {
	var out []store.NumberPause
	err := s.query(ctx, func(rows *sql.Rows) error {
		var p store.NumberPause
		var at int64
		if err := rows.Scan(&p.PhoneNumberID, &p.Reason, &at); err != nil {
			return err
		}
		p.At = tm(at)
		out = append(out, p)
		return nil
	}, `SELECT phone_number_id, reason, paused_at FROM number_pauses WHERE campaign_id = ? ORDER BY phone_number_id`, campaignID)
	return out, err
}

// ReserveAllowance implements store.Store; the transaction takes the
// database's write lock at BEGIN (_txlock=immediate): reservers take turns.
func (s *Store) ReserveAllowance(ctx context.Context, scope, owner string, n, limit int, since, now, until time.Time) (granted, used int, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM allowance_reservations WHERE scope = ? AND (until_at <= ? OR owner = ?)`,
			scope, ts(now), owner); err != nil {
			return err
		}
		var others int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM window_log WHERE scope = ?1 AND sent_at >= ?2 AND in_csw = 0 GROUP BY phone)),
			(SELECT COALESCE(SUM(units), 0) FROM allowance_reservations WHERE scope = ?1)`, scope, ts(since)).Scan(&used, &others); err != nil {
			return err
		}
		granted = store.Grant(n, limit, used, others)
		if granted == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO allowance_reservations (scope, owner, units, until_at) VALUES (?, ?, ?, ?)`,
			scope, owner, granted, ts(until))
		return err
	})
	return granted, used, err
}

// ReleaseAllowance implements store.Store.
func (s *Store) ReleaseAllowance(ctx context.Context, scope, owner string) error {
	return s.exec(ctx, `DELETE FROM allowance_reservations WHERE scope = ? AND owner = ?`, scope, owner)
}
