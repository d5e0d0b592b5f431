package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatsend/whatsend/store"
)

const campaignCols = `id, name, csv_path, csv_hash, template, language, params, phone_number_id, scope,
	settings, state, pause_reason, pause_detail, rows, created_at, updated_at, max_deferrals`

func scanCampaign(sc pgx.Row) (store.Campaign, error) {
	var c store.Campaign
	var params string
	var created, updated int64
	err := sc.Scan(&c.ID, &c.Name, &c.CSVPath, &c.CSVHash, &c.Template, &c.Language, &params,
		&c.PhoneNumberID, &c.Scope, &c.Settings, &c.State, &c.PauseReason, &c.PauseDetail, &c.Rows, &created, &updated, &c.MaxDeferrals)
	if err != nil {
		return c, notFound(err)
	}
	_ = json.Unmarshal([]byte(params), &c.Params)
	c.CreatedAt, c.UpdatedAt = tm(created), tm(updated)
	return c, nil
}

// CreateCampaign implements store.Store.
func (s *Store) CreateCampaign(ctx context.Context, c store.Campaign) (int64, error) {
	now := ts(time.Now())
	if !c.CreatedAt.IsZero() {
		now = ts(c.CreatedAt) // the caller's clock (--not-after counts from it)
	}
	var id int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO campaigns (name, csv_path, csv_hash, template, language, params,
			phone_number_id, scope, settings, state, created_at, updated_at, max_deferrals)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13) RETURNING id`,
			c.Name, c.CSVPath, c.CSVHash, c.Template, c.Language, jsonList(c.Params),
			c.PhoneNumberID, c.Scope, c.Settings, store.CampaignImporting, now, now,
			cmp.Or(c.MaxDeferrals, store.DefaultMaxDeferrals)).Scan(&id)
	})
	return id, err
}

// ImportBatch implements store.Store: the batch is copied (COPY) into a
// temporary table, then inserted in one statement that keeps, for each
// number, its earliest line and skips the numbers the campaign already
// has; every other row is returned as a Duplicate naming the line that
// holds its number.
func (s *Store) ImportBatch(ctx context.Context, campaignID int64, rs []store.Recipient, skipped []store.SkippedRow) ([]store.Duplicate, error) {
	var dups []store.Duplicate
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		dups = nil
		if len(rs) > 0 {
			if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE import_rows (line BIGINT NOT NULL, phone TEXT NOT NULL, params TEXT NOT NULL, components TEXT NOT NULL)
				ON COMMIT DROP`); err != nil {
				return err
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_rows"}, []string{"line", "phone", "params", "components"},
				pgx.CopyFromSlice(len(rs), func(i int) ([]any, error) {
					return []any{int64(rs[i].Line), rs[i].Phone, jsonList(rs[i].Params), string(rs[i].Components)}, nil
				})); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO recipients (campaign_id, line, phone, params, components)
				SELECT DISTINCT ON (phone) $1::bigint, line, phone, params, components FROM import_rows ORDER BY phone, line
				ON CONFLICT (campaign_id, phone) DO NOTHING`, campaignID); err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `SELECT t.line, t.phone, r.line FROM import_rows t
				JOIN recipients r ON r.campaign_id = $1 AND r.phone = t.phone WHERE r.line <> t.line`, campaignID)
			if err != nil {
				return err
			}
			var d store.Duplicate
			if _, err := pgx.ForEachRow(rows, []any{&d.Line, &d.Phone, &d.FirstLine}, func() error {
				dups = append(dups, d)
				return nil
			}); err != nil {
				return err
			}
			slices.SortFunc(dups, func(a, b store.Duplicate) int { return cmp.Compare(a.Line, b.Line) })
		}
		if len(skipped) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"skipped"}, []string{"campaign_id", "line", "reason", "detail", "raw", "params"},
				pgx.CopyFromSlice(len(skipped), func(i int) ([]any, error) {
					k := skipped[i]
					return []any{campaignID, int64(k.Line), k.Reason, k.Detail, k.Raw, jsonList(k.Params)}, nil
				})); err != nil {
				return err
			}
		}
		return nil
	})
	return dups, err
}

// ImportDuplicates implements store.Store: ImportBatch refused every
// repeated number (the unique (campaign, phone) index checks each batch
// against the rows before it), so there is nothing left to find.
func (s *Store) ImportDuplicates(ctx context.Context, campaignID int64, fn func([]store.Duplicate) error) error {
	return nil
}

// FinishImport implements store.Store.
func (s *Store) FinishImport(ctx context.Context, campaignID int64, rows int) error {
	return s.exec(ctx, `UPDATE campaigns SET state = $1, rows = $2, updated_at = $3 WHERE id = $4 AND state = $5`,
		store.CampaignReady, rows, ts(time.Now()), campaignID, store.CampaignImporting)
}

// DeleteCampaign implements store.Store.
func (s *Store) DeleteCampaign(ctx context.Context, campaignID int64) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM attempts WHERE campaign_id = $1`,
			`DELETE FROM retry_recipients WHERE campaign_id = $1`,
			`DELETE FROM retries WHERE campaign_id = $1`,
			`DELETE FROM skipped WHERE campaign_id = $1`,
			`DELETE FROM pauses WHERE campaign_id = $1`,
			`DELETE FROM number_pauses WHERE campaign_id = $1`,
			`DELETE FROM recipients WHERE campaign_id = $1`,
			`DELETE FROM campaigns WHERE id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, campaignID); err != nil {
				return err
			}
		}
		return nil
	})
}

// FindCampaign implements store.Store: the newest campaign with that key.
func (s *Store) FindCampaign(ctx context.Context, key store.CampaignKey) (store.Campaign, error) {
	q := `SELECT ` + campaignCols + ` FROM campaigns WHERE csv_hash = $1 AND template = $2 AND language = $3`
	args := []any{key.CSVHash, key.Template, key.Language}
	if key.Name != "" {
		q += ` AND name = $4`
		args = append(args, key.Name)
	}
	return scanCampaign(s.pool.QueryRow(ctx, q+` ORDER BY id DESC LIMIT 1`, args...))
}

// Campaign implements store.Store.
func (s *Store) Campaign(ctx context.Context, id int64) (store.Campaign, error) {
	return scanCampaign(s.pool.QueryRow(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE id = $1`, id))
}

// CampaignByName implements store.Store.
func (s *Store) CampaignByName(ctx context.Context, name string) (store.Campaign, error) {
	return scanCampaign(s.pool.QueryRow(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE name = $1`, name))
}

// Campaigns implements store.Store.
func (s *Store) Campaigns(ctx context.Context) ([]store.Campaign, error) {
	var out []store.Campaign
	err := s.query(ctx, func(rows pgx.Rows) error {
		c, err := scanCampaign(rows)
		out = append(out, c)
		return err
	}, `SELECT `+campaignCols+` FROM campaigns ORDER BY id`)
	return out, err
}

// UpdateSettings implements store.Store.
func (s *Store) UpdateSettings(ctx context.Context, campaignID int64, settings []byte) error {
	return s.exec(ctx, `UPDATE campaigns SET settings = $1, updated_at = $2 WHERE id = $3`, settings, ts(time.Now()), campaignID)
}

// lockCampaign reads a campaign's state and locks its row until the
// transaction ends, so that changes of state are made one at a time.
func lockCampaign(ctx context.Context, tx pgx.Tx, campaignID int64) (store.CampaignState, error) {
	var state store.CampaignState
	err := tx.QueryRow(ctx, `SELECT state FROM campaigns WHERE id = $1 FOR UPDATE`, campaignID).Scan(&state)
	return state, notFound(err)
}

// SetCampaignState implements store.Store.
func (s *Store) SetCampaignState(ctx context.Context, campaignID int64, state store.CampaignState, reason string, detail []byte, now time.Time) error {
	if state != store.CampaignPaused {
		reason, detail = "", nil
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		prev, err := lockCampaign(ctx, tx, campaignID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE campaigns SET state = $1, pause_reason = $2, pause_detail = $3, updated_at = $4 WHERE id = $5`,
			state, reason, detail, ts(now), campaignID); err != nil {
			return err
		}
		switch {
		case state == store.CampaignPaused:
			_, err := tx.Exec(ctx, `INSERT INTO pauses (campaign_id, at, reason, detail) VALUES ($1,$2,$3,$4)`, campaignID, ts(now), reason, detail)
			return err
		case prev == store.CampaignPaused:
			_, err := tx.Exec(ctx, `UPDATE pauses SET resumed_at = $1 WHERE campaign_id = $2 AND resumed_at = 0`, ts(now), campaignID)
			return err
		}
		return nil
	})
}

// Pauses implements store.Store.
func (s *Store) Pauses(ctx context.Context, campaignID int64) ([]store.Pause, error) {
	var out []store.Pause
	err := s.query(ctx, func(rows pgx.Rows) error {
		p := store.Pause{CampaignID: campaignID}
		var at, resumed int64
		if err := rows.Scan(&at, &p.Reason, &p.Detail, &resumed); err != nil {
			return err
		}
		p.At, p.ResumedAt = tm(at), tm(resumed)
		out = append(out, p)
		return nil
	}, `SELECT at, reason, detail, resumed_at FROM pauses WHERE campaign_id = $1 ORDER BY at, seq`, campaignID)
	return out, err
}

// Skipped implements store.Store.
func (s *Store) Skipped(ctx context.Context, campaignID int64) ([]store.SkippedRow, error) {
	var out []store.SkippedRow
	err := s.query(ctx, func(rows pgx.Rows) error {
		var k store.SkippedRow
		var params string
		if err := rows.Scan(&k.Line, &k.Reason, &k.Detail, &k.Raw, &params); err != nil {
			return err
		}
		_ = json.Unmarshal([]byte(params), &k.Params)
		out = append(out, k)
		return nil
	}, `SELECT line, reason, detail, raw, params FROM skipped WHERE campaign_id = $1 ORDER BY line, seq`, campaignID)
	return out, err
}
