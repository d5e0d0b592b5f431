package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/whatsend/whatsend/store"
)

const campaignCols = `id, name, csv_path, csv_hash, template, language, params, phone_number_id, scope,
	settings, state, pause_reason, pause_detail, rows, created_at, updated_at, max_deferrals`

func scanCampaign(sc interface{ Scan(...any) error }) (store.Campaign, error) {
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

func jsonStrings(xs []string) string {
	if xs == nil {
		xs = []string{}
	}
	b, _ := json.Marshal(xs)
	return string(b)
}

// CreateCampaign implements store.Store.
func (s *Store) CreateCampaign(ctx context.Context, c store.Campaign) (int64, error) {
	now := ts(time.Now())
	if !c.CreatedAt.IsZero() {
		now = ts(c.CreatedAt) // the caller's clock (--not-after counts from it)
	}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO campaigns (name, csv_path, csv_hash, template, language, params,
			phone_number_id, scope, settings, state, created_at, updated_at, max_deferrals) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			c.Name, c.CSVPath, c.CSVHash, c.Template, c.Language, jsonStrings(c.Params),
			c.PhoneNumberID, c.Scope, c.Settings, store.CampaignImporting, now, now, cmp.Or(c.MaxDeferrals, store.DefaultMaxDeferrals))
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	return id, err
}

// DeleteCampaign implements store.Store.
func (s *Store) DeleteCampaign(ctx context.Context, campaignID int64) error {
	if err := s.setBulk(ctx, false); err != nil { // a refused import ends here
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM attempts WHERE campaign_id = ?`,
			`DELETE FROM retry_recipients WHERE campaign_id = ?`,
			`DELETE FROM retries WHERE campaign_id = ?`,
			`DELETE FROM skipped WHERE campaign_id = ?`,
			`DELETE FROM pauses WHERE campaign_id = ?`,
			`DELETE FROM number_pauses WHERE campaign_id = ?`,
			`DELETE FROM recipients WHERE campaign_id = ?`,
			`DELETE FROM campaign_numbers WHERE campaign_id = ?`,
			`DELETE FROM campaigns WHERE id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, campaignID); err != nil {
				return err
			}
		}
		return nil
	})
}

// exec runs one write statement in its own transaction.
func (s *Store) exec(ctx context.Context, q string, args ...any) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, q, args...)
		return err
	})
}

// FindCampaign implements store.Store: the newest campaign with that key.
func (s *Store) FindCampaign(ctx context.Context, key store.CampaignKey) (store.Campaign, error) {
	q := `SELECT ` + campaignCols + ` FROM campaigns WHERE csv_hash = ? AND template = ? AND language = ?`
	args := []any{key.CSVHash, key.Template, key.Language}
	if key.Name != "" {
		q += ` AND name = ?`
		args = append(args, key.Name)
	}
	return scanCampaign(s.r.QueryRowContext(ctx, q+` ORDER BY id DESC LIMIT 1`, args...))
}

// Campaign implements store.Store.
func (s *Store) Campaign(ctx context.Context, id int64) (store.Campaign, error) {
	return scanCampaign(s.r.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE id = ?`, id))
}

// CampaignByName implements store.Store.
func (s *Store) CampaignByName(ctx context.Context, name string) (store.Campaign, error) {
	return scanCampaign(s.r.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE name = ?`, name))
}

// Campaigns implements store.Store.
func (s *Store) Campaigns(ctx context.Context) ([]store.Campaign, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+campaignCols+` FROM campaigns ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Campaign
	for rows.Next() {
		c, err := scanCampaign(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateSettings implements store.Store.
func (s *Store) UpdateSettings(ctx context.Context, campaignID int64, settings []byte) error {
	return s.exec(ctx, `UPDATE campaigns SET settings = ?, updated_at = ? WHERE id = ?`, settings, ts(time.Now()), campaignID)
}

// SetCampaignState implements store.Store.
func (s *Store) SetCampaignState(ctx context.Context, campaignID int64, state store.CampaignState, reason string, detail []byte, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var prev store.CampaignState
		if err := tx.QueryRowContext(ctx, `SELECT state FROM campaigns WHERE id = ?`, campaignID).Scan(&prev); err != nil {
			return notFound(err)
		}
		if state != store.CampaignPaused {
			reason, detail = "", nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE campaigns SET state = ?, pause_reason = ?, pause_detail = ?, updated_at = ? WHERE id = ?`,
			state, reason, detail, ts(now), campaignID); err != nil {
			return err
		}
		switch {
		case state == store.CampaignPaused:
			_, err := tx.ExecContext(ctx, `INSERT INTO pauses (campaign_id, at, reason, detail) VALUES (?,?,?,?)`, campaignID, ts(now), reason, detail)
			return err
		case prev == store.CampaignPaused:
			_, err := tx.ExecContext(ctx, `UPDATE pauses SET resumed_at = ? WHERE campaign_id = ? AND resumed_at = 0`, ts(now), campaignID)
			return err
		}
		return nil
	})
}

// Pauses implements store.Store.
func (s *Store) Pauses(ctx context.Context, campaignID int64) ([]store.Pause, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT at, reason, detail, resumed_at FROM pauses WHERE campaign_id = ? ORDER BY at, rowid`, campaignID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Pause
	for rows.Next() {
		p := store.Pause{CampaignID: campaignID}
		var at, resumed int64
		if err := rows.Scan(&at, &p.Reason, &p.Detail, &resumed); err != nil {
			return nil, err
		}
		p.At, p.ResumedAt = tm(at), tm(resumed)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Skipped implements store.Store.
func (s *Store) Skipped(ctx context.Context, campaignID int64) ([]store.SkippedRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT line, reason, detail, raw, params FROM skipped WHERE campaign_id = ? ORDER BY line, rowid`, campaignID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.SkippedRow
	for rows.Next() {
		var k store.SkippedRow
		var params string
		if err := rows.Scan(&k.Line, &k.Reason, &k.Detail, &k.Raw, &params); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(params), &k.Params)
		out = append(out, k)
	}
	return out, rows.Err()
}
