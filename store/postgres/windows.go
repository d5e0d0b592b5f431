package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// HoldRecipients implements store.Store.
func (s *Store) HoldRecipients(ctx context.Context, ids []int64, until time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return s.exec(ctx, `UPDATE recipients SET next_attempt_at = $1
		WHERE state IN ('pending', 'retry', 'deferred') AND id = ANY ($2::bigint[])`, ts(until), ids)
}

// ReleaseHolds implements store.Store.
func (s *Store) ReleaseHolds(ctx context.Context, campaignID int64) error {
	return s.exec(ctx, `UPDATE recipients SET next_attempt_at = 0
		WHERE campaign_id = $1 AND state = 'pending' AND next_attempt_at > 0`, campaignID)
}

// ExpireRecipients implements store.Store.
func (s *Store) ExpireRecipients(ctx context.Context, campaignID int64, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE recipients SET state = 'expired', updated_at = $1
			WHERE campaign_id = $2 AND state IN ('pending', 'retry', 'deferred')`, ts(now), campaignID)
		n = tag.RowsAffected()
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
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var seen int64
		err := tx.QueryRow(ctx, `SELECT last_at FROM status_seen WHERE phone_number_id = $1`, phoneNumberID).Scan(&seen)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // no receiver ever applied a status for this number
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE recipients SET state = 'pending', next_attempt_at = 0,
			resent_after_silence = TRUE, updated_at = $1
			WHERE campaign_id = $2 AND state = 'uncertain' AND delivery = '' AND NOT resent_after_silence
			AND phone_number_id IN ($5, '')
			AND `+lastStart+` <= $3 AND `+lastStart+` < $4`, ts(now), campaignID, ts(sentBefore), seen, phoneNumberID)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		var first *int64
		if err := tx.QueryRow(ctx, `SELECT MIN(`+lastStart+`) FROM recipients
			WHERE campaign_id = $1 AND state = 'uncertain' AND delivery = '' AND NOT resent_after_silence
			AND phone_number_id IN ($2, '')`, campaignID, phoneNumberID).Scan(&first); err != nil {
			return err
		}
		if first != nil && *first > ts(sentBefore) {
			next = tm(*first)
		}
		return nil
	})
	return int(n), next, err
}

// statusSeen records that the webhook receiver applied a status, received
// at at, to recipient id: evidence that it is up for the recipient's
// sending phone number.
func statusSeen(ctx context.Context, tx pgx.Tx, id int64, at time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO status_seen (phone_number_id, last_at)
		SELECT CASE WHEN r.phone_number_id <> '' THEN r.phone_number_id ELSE c.phone_number_id END, $1
		FROM recipients r JOIN campaigns c ON c.id = r.campaign_id WHERE r.id = $2
		ON CONFLICT (phone_number_id) DO UPDATE SET last_at = GREATEST(status_seen.last_at, excluded.last_at)`, ts(at), id)
	return err
}
