package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/whatsend/whatsend/store"
)

// CancelCampaign implements store.Store.
func (s *Store) CancelCampaign(ctx context.Context, campaignID int64, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var state store.CampaignState
		if err := tx.QueryRowContext(ctx, `SELECT state FROM campaigns WHERE id = ?`, campaignID).Scan(&state); err != nil {
			return notFound(err)
		}
		at := ts(now)
		// In flight with the lease held by the canceller: left by a process
		// that is gone, so the request may or may not have reached Meta.
		if _, err := tx.ExecContext(ctx, `UPDATE attempts SET state = 'uncertain', finished_at = ?
			WHERE campaign_id = ? AND state = 'in_flight'`, at, campaignID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE recipients SET state = 'uncertain', updated_at = ?
			WHERE campaign_id = ? AND state = 'in_flight'`, at, campaignID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE recipients SET state = 'cancelled', updated_at = ?
			WHERE campaign_id = ? AND state IN ('pending', 'retry', 'deferred')`, at, campaignID)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET state = ?, pause_reason = '', pause_detail = NULL, updated_at = ? WHERE id = ?`,
			store.CampaignCancelled, at, campaignID); err != nil {
			return err
		}
		if state == store.CampaignPaused {
			// The pause ends here: its history says when.
			_, err = tx.ExecContext(ctx, `UPDATE pauses SET resumed_at = ? WHERE campaign_id = ? AND resumed_at = 0`, at, campaignID)
		}
		return err
	})
	return int(n), err
}

// failedWith selects the failed recipients of campaign ?1 whose last code is
// in the list bound from ?2 on.
const failedWith = `FROM recipients r WHERE r.campaign_id = ?1 AND r.state = 'failed' AND r.last_code IN (%s)`

// RequeueFailed implements store.Store.
func (s *Store) RequeueFailed(ctx context.Context, campaignID int64, codes []int, now time.Time) (store.RetryRun, error) {
	run := store.RetryRun{CampaignID: campaignID, Codes: codes, ByCode: map[int]int{}}
	if len(codes) == 0 {
		return run, nil
	}
	in := make([]string, len(codes))
	for i := range codes {
		in[i] = "?" + strconv.Itoa(i+2)
	}
	sel := fmt.Sprintf(failedWith, strings.Join(in, ", "))
	args := append([]any{campaignID}, anys(codes)...)
	const optedOut = `EXISTS (SELECT 1 FROM optouts o WHERE o.phone = r.phone)`
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) `+sel+` AND `+optedOut, args...).Scan(&run.OptedOut); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM retries WHERE campaign_id = ?`, campaignID).Scan(&run.Number); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO retry_recipients (campaign_id, number, recipient_id, code)
			SELECT r.campaign_id, `+strconv.Itoa(run.Number)+`, r.id, r.last_code `+sel+` AND NOT `+optedOut, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if run.Requeued = int(n); n == 0 {
			run.Number = 0
			return nil
		}
		at := ts(now)
		if _, err := tx.ExecContext(ctx, `UPDATE recipients SET state = 'pending', retry_base = attempts, deferrals = 0,
			next_attempt_at = 0, delivery = '', wamid = '', sent_at = 0, delivered_at = 0, read_at = 0, updated_at = ?1
			WHERE id IN (SELECT recipient_id FROM retry_recipients WHERE campaign_id = ?2 AND number = ?3)`,
			at, campaignID, run.Number); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO retries (campaign_id, number, at, codes, requeued, opted_out) VALUES (?,?,?,?,?,?)`,
			campaignID, run.Number, at, jsonInts(codes), run.Requeued, run.OptedOut); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET state = ?, updated_at = ? WHERE id = ? AND state = ?`,
			store.CampaignReady, at, campaignID, store.CampaignFinished); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT code, COUNT(*) FROM retry_recipients WHERE campaign_id = ? AND number = ? GROUP BY code`, campaignID, run.Number)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var code, k int
			if err := rows.Scan(&code, &k); err != nil {
				return err
			}
			run.ByCode[code] = k
		}
		return rows.Err()
	})
	if err != nil {
		return store.RetryRun{}, err
	}
	run.At = now.UTC()
	return run, nil
}

// Retries implements store.Store.
func (s *Store) Retries(ctx context.Context, campaignID int64) ([]store.RetryRun, error) {
	var out []store.RetryRun
	idx := map[int]int{} // number → index in out
	err := s.query(ctx, func(rows *sql.Rows) error {
		var run store.RetryRun
		var at int64
		var codes string
		if err := rows.Scan(&run.Number, &at, &codes, &run.Requeued, &run.OptedOut); err != nil {
			return err
		}
		run.CampaignID, run.At = campaignID, tm(at)
		_ = json.Unmarshal([]byte(codes), &run.Codes)
		run.ByCode, run.Outcome = map[int]int{}, map[store.State]int{}
		idx[run.Number] = len(out)
		out = append(out, run)
		return nil
	}, `SELECT number, at, codes, requeued, opted_out FROM retries WHERE campaign_id = ? ORDER BY number`, campaignID)
	if err != nil || len(out) == 0 {
		return out, err
	}
	err = s.query(ctx, func(rows *sql.Rows) error {
		var number, code, n int
		if err := rows.Scan(&number, &code, &n); err != nil {
			return err
		}
		if i, ok := idx[number]; ok {
			out[i].ByCode[code] = n
		}
		return nil
	}, `SELECT number, code, COUNT(*) FROM retry_recipients WHERE campaign_id = ? GROUP BY number, code`, campaignID)
	if err != nil {
		return nil, err
	}
	// A recipient a later run re-queued again had failed again.
	err = s.query(ctx, func(rows *sql.Rows) error {
		var number, n int
		var st store.State
		if err := rows.Scan(&number, &st, &n); err != nil {
			return err
		}
		if i, ok := idx[number]; ok {
			out[i].Outcome[st] += n
		}
		return nil
	}, `SELECT rr.number,
			CASE WHEN EXISTS (SELECT 1 FROM retry_recipients l WHERE l.campaign_id = rr.campaign_id
				AND l.recipient_id = rr.recipient_id AND l.number > rr.number) THEN 'failed' ELSE r.state END,
			COUNT(*)
		FROM retry_recipients rr JOIN recipients r ON r.id = rr.recipient_id
		WHERE rr.campaign_id = ? GROUP BY 1, 2`, campaignID)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// query runs a read and calls fn for every row.
func (s *Store) query(ctx context.Context, fn func(*sql.Rows) error, q string, args ...any) error {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func jsonInts(xs []int) string {
	if xs == nil {
		xs = []int{}
	}
	b, _ := json.Marshal(xs)
	return string(b)
}
