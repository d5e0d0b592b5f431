package postgres

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatsend/whatsend/store"
)

// CancelCampaign implements store.Store.
func (s *Store) CancelCampaign(ctx context.Context, campaignID int64, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		state, err := lockCampaign(ctx, tx, campaignID)
		if err != nil {
			return err
		}
		at := ts(now)
		// In flight with the lease held by the canceller: left by a process
		// that is gone, so the request may or may not have reached Meta.
		if _, err := tx.Exec(ctx, `UPDATE attempts SET state = 'uncertain', finished_at = $1
			WHERE campaign_id = $2 AND state = 'in_flight'`, at, campaignID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE recipients SET state = 'uncertain', updated_at = $1
			WHERE campaign_id = $2 AND state = 'in_flight'`, at, campaignID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE recipients SET state = 'cancelled', updated_at = $1
			WHERE campaign_id = $2 AND state IN ('pending', 'retry', 'deferred')`, at, campaignID)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, `UPDATE campaigns SET state = $1, pause_reason = '', pause_detail = NULL, updated_at = $2 WHERE id = $3`,
			store.CampaignCancelled, at, campaignID); err != nil {
			return err
		}
		if state == store.CampaignPaused {
			// The pause ends here: its history says when.
			_, err = tx.Exec(ctx, `UPDATE pauses SET resumed_at = $1 WHERE campaign_id = $2 AND resumed_at = 0`, at, campaignID)
		}
		return err
	})
	return int(n), err
}

// failedWith selects the failed recipients of campaign $1 whose last code
// is in the array $2.
const failedWith = `FROM recipients r WHERE r.campaign_id = $1 AND r.state = 'failed' AND r.last_code = ANY ($2::bigint[])`

// RequeueFailed implements store.Store.
func (s *Store) RequeueFailed(ctx context.Context, campaignID int64, codes []int, now time.Time) (store.RetryRun, error) {
	run := store.RetryRun{CampaignID: campaignID, Codes: codes, ByCode: map[int]int{}}
	if len(codes) == 0 {
		return run, nil
	}
	codes64 := make([]int64, len(codes))
	for i, c := range codes {
		codes64[i] = int64(c)
	}
	const optedOut = `EXISTS (SELECT 1 FROM optouts o WHERE o.phone = r.phone)`
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		run.ByCode, run.Requeued, run.OptedOut = map[int]int{}, 0, 0
		// The campaign's row lock numbers concurrent retry runs one after
		// the other.
		if _, err := lockCampaign(ctx, tx, campaignID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) `+failedWith+` AND `+optedOut, campaignID, codes64).Scan(&run.OptedOut); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM retries WHERE campaign_id = $1`, campaignID).Scan(&run.Number); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO retry_recipients (campaign_id, number, recipient_id, code)
			SELECT r.campaign_id, $3::bigint, r.id, r.last_code `+failedWith+` AND NOT `+optedOut, campaignID, codes64, run.Number)
		if err != nil {
			return err
		}
		if run.Requeued = int(tag.RowsAffected()); run.Requeued == 0 {
			run.Number = 0
			return nil
		}
		at := ts(now)
		if _, err := tx.Exec(ctx, `UPDATE recipients SET state = 'pending', retry_base = attempts, deferrals = 0,
			next_attempt_at = 0, delivery = '', wamid = '', sent_at = 0, delivered_at = 0, read_at = 0, updated_at = $1
			WHERE id IN (SELECT recipient_id FROM retry_recipients WHERE campaign_id = $2 AND number = $3)`,
			at, campaignID, run.Number); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO retries (campaign_id, number, at, codes, requeued, opted_out) VALUES ($1,$2,$3,$4,$5,$6)`,
			campaignID, run.Number, at, jsonList(codes), run.Requeued, run.OptedOut); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE campaigns SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4`,
			store.CampaignReady, at, campaignID, store.CampaignFinished); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT code, COUNT(*) FROM retry_recipients WHERE campaign_id = $1 AND number = $2 GROUP BY code`, campaignID, run.Number)
		if err != nil {
			return err
		}
		var code, k int
		_, err = pgx.ForEachRow(rows, []any{&code, &k}, func() error {
			run.ByCode[code] = k
			return nil
		})
		return err
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
	err := s.query(ctx, func(rows pgx.Rows) error {
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
	}, `SELECT number, at, codes, requeued, opted_out FROM retries WHERE campaign_id = $1 ORDER BY number`, campaignID)
	if err != nil || len(out) == 0 {
		return out, err
	}
	err = s.query(ctx, func(rows pgx.Rows) error {
		var number, code, n int
		if err := rows.Scan(&number, &code, &n); err != nil {
			return err
		}
		if i, ok := idx[number]; ok {
			out[i].ByCode[code] = n
		}
		return nil
	}, `SELECT number, code, COUNT(*) FROM retry_recipients WHERE campaign_id = $1 GROUP BY number, code`, campaignID)
	if err != nil {
		return nil, err
	}
	// A recipient a later run re-queued again had failed again.
	err = s.query(ctx, func(rows pgx.Rows) error {
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
		WHERE rr.campaign_id = $1 GROUP BY 1, 2`, campaignID)
	if err != nil {
		return nil, err
	}
	return out, nil
}
