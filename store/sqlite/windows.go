package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// HoldRecipients implements store.Store.
func (s *Store) HoldRecipients(ctx context.Context, ids []int64, until time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, part := range chunks(ids, 500) {
			args := append([]any{ts(until)}, anys(part)...)
			if _, err := tx.ExecContext(ctx, `UPDATE recipients SET next_attempt_at = ?
				WHERE state IN ('pending', 'retry', 'deferred') AND id IN (`+placeholders(len(part))+`)`, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReleaseHolds implements store.Store.
func (s *Store) ReleaseHolds(ctx context.Context, campaignID int64) error {
	return s.exec(ctx, `UPDATE recipients SET next_attempt_at = 0
		WHERE campaign_id = ? AND state = 'pending' AND next_attempt_at > 0`, campaignID)
}

// ExpireRecipients implements store.Store.
func (s *Store) ExpireRecipients(ctx context.Context, campaignID int64, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recipients SET state = 'expired', updated_at = ?
			WHERE campaign_id = ? AND state IN ('pending', 'retry', 'deferred')`, ts(now), campaignID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// lastStart is the start of a recipient's latest attempt, in SQL.
const lastStart = `(SELECT MAX(a.started_at) FROM attempts a WHERE a.recipient_id = recipients.id)`

// ResendSilent implements store.Store.
func (s *Store) ResendSilent(ctx context.Context, campaignID int64, phoneNumberID string, sentBefore, now time.Time) (int, time.Time, error) {
	var n int64
	var next time.Time
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var seen sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT last_at FROM status_seen WHERE phone_number_id = ?`, phoneNumberID).Scan(&seen); err != nil && err != sql.ErrNoRows {
			return err
		}
		if !seen.Valid {
			return nil // no receiver ever applied a status for this number
		}
		res, err := tx.ExecContext(ctx, `UPDATE recipients SET state = 'pending', next_attempt_at = 0,
			resent_after_silence = 1, updated_at = ?1
			WHERE campaign_id = ?2 AND state = 'uncertain' AND delivery = '' AND resent_after_silence = 0
			AND phone_number_id IN (?5, '')
			AND `+lastStart+` <= ?3 AND `+lastStart+` < ?4`, ts(now), campaignID, ts(sentBefore), seen.Int64, phoneNumberID)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		var first sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MIN(`+lastStart+`) FROM recipients
			WHERE campaign_id = ? AND state = 'uncertain' AND delivery = '' AND resent_after_silence = 0
			AND phone_number_id IN (?, '')`, campaignID, phoneNumberID).Scan(&first); err != nil {
			return err
		}
		if first.Valid && first.Int64 > ts(sentBefore) {
			next = tm(first.Int64)
		}
		return nil
	})
	return int(n), next, err
}

// statusSeen records that the webhook receiver applied a status, received
// at at, to recipient id: evidence that it is up for the recipient's
// sending phone number.
func statusSeen(ctx context.Context, tx txRunner, id int64, at time.Time) error {
	_, err := tx.ExecContext(ctx, statusSeenSQL, ts(at), id)
	return err
}

const statusSeenSQL = `INSERT INTO status_seen (phone_number_id, last_at)
		SELECT CASE WHEN r.phone_number_id <> '' THEN r.phone_number_id ELSE c.phone_number_id END, ?
		FROM recipients r JOIN campaigns c ON c.id = r.campaign_id WHERE r.id = ?
		ON CONFLICT (phone_number_id) DO UPDATE SET last_at = MAX(last_at, excluded.last_at)`
