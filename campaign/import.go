package campaign

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/store"
)

// DefaultImportBatch is how many rows one import transaction holds.
const DefaultImportBatch = 10000

// ImportConfig says what to import and how to name the campaign.
type ImportConfig struct {
	File         string
	CSV          csvimport.Config
	Campaign     store.Campaign // Name, Template, Language, Params, PhoneNumberID, Scope, Settings
	ExplicitName bool           // the user gave --name: it is part of the campaign's identity
	BatchSize    int            // rows per transaction, default DefaultImportBatch
}

// ImportResult is what an import did.
type ImportResult struct {
	Campaign   store.Campaign
	Existing   bool // the same CSV, template and language were imported before
	Result     csvimport.Result
	Duplicates int
	OptedOut   int
}

// Import imports a CSV into a new campaign, or finds the campaign that
// already holds it (same content hash, template, language and, when given,
// name). A half import left by a killed process stays in state importing and
// is replaced. A refused file leaves no campaign behind.
func Import(ctx context.Context, st store.Store, cfg ImportConfig) (ImportResult, error) {
	var res ImportResult
	hash, err := fileHash(cfg.File)
	if err != nil {
		return res, &ImportError{File: cfg.File, Err: err}
	}
	key := store.CampaignKey{CSVHash: hash, Template: cfg.Campaign.Template, Language: cfg.Campaign.Language}
	if cfg.ExplicitName {
		key.Name = cfg.Campaign.Name
	}
	c, err := st.FindCampaign(ctx, key)
	switch {
	case err == nil && c.State != store.CampaignImporting:
		res.Campaign, res.Existing = c, true
		return res, nil
	case err == nil:
		if err := st.DeleteCampaign(ctx, c.ID); err != nil {
			return res, fmt.Errorf("remove the half import of %s: %w", cfg.File, err)
		}
	case !errors.Is(err, store.ErrNotFound):
		return res, err
	}

	c = cfg.Campaign
	c.CSVHash, c.CSVPath = hash, cfg.File
	if !cfg.ExplicitName || c.Name == "" {
		base := strings.TrimSuffix(filepath.Base(cfg.File), filepath.Ext(cfg.File))
		c.Name = fmt.Sprintf("%s-%s-%s", base, c.Template, hash[:8])
		if c.Language != "" {
			c.Name = fmt.Sprintf("%s-%s-%s-%s", base, c.Template, c.Language, hash[:8])
		}
	} else if other, err := st.CampaignByName(ctx, c.Name); err == nil {
		return res, &ImportError{File: cfg.File, Err: fmt.Errorf("campaign name %q is taken by campaign %d (another CSV, template or language)", c.Name, other.ID)}
	}
	// The store applies the 131049 cap to send answers and webhooks alike.
	if s, err := DecodeSettings(c.Settings); err == nil {
		c.MaxDeferrals = s.withDefaults().DeferDays
	}
	id, err := st.CreateCampaign(ctx, c)
	if err != nil {
		return res, err
	}
	c.ID = id
	rr, dups, opted, err := importRows(ctx, st, id, cfg)
	res.Result, res.Duplicates, res.OptedOut = rr, dups, opted
	if err == nil && rr.Valid-dups-opted <= 0 {
		err = &ImportError{File: cfg.File, Err: fmt.Errorf("no valid row among %d rows (duplicates or opted out)", rr.Rows)}
	}
	if err != nil {
		// Nothing half written stays behind (a kill here leaves the
		// campaign importing, which the next run replaces).
		_ = st.DeleteCampaign(context.WithoutCancel(ctx), id)
		if re, ok := errors.AsType[*csvimport.RefusalError](err); ok {
			return res, &ImportError{File: re.File, Line: re.Line, Column: re.Column, Err: re.Err}
		}
		return res, err
	}
	if err := st.FinishImport(ctx, id, rr.Rows); err != nil {
		return res, err
	}
	res.Campaign, err = st.Campaign(ctx, id)
	return res, err
}

// importRows streams the reader into the store in batches.
func importRows(ctx context.Context, st store.Store, id int64, cfg ImportConfig) (csvimport.Result, int, int, error) {
	f, err := os.Open(cfg.File)
	if err != nil {
		return csvimport.Result{}, 0, 0, &ImportError{File: cfg.File, Err: err}
	}
	defer f.Close()
	size := cfg.BatchSize
	if size <= 0 {
		size = DefaultImportBatch
	}
	var (
		rows       []store.Recipient
		skips      []store.SkippedRow
		dups, opts int
	)
	flush := func() error {
		if len(rows) == 0 && len(skips) == 0 {
			return nil
		}
		phones := make([]string, len(rows))
		for i, r := range rows {
			phones[i] = r.Phone
		}
		out, err := st.OptedOut(ctx, phones)
		if err != nil {
			return err
		}
		keep := rows[:0]
		for _, r := range rows {
			if out[r.Phone] {
				opts++
				skips = append(skips, store.SkippedRow{Line: r.Line, Reason: csvimport.ReasonOptedOut, Detail: r.Phone + " is on the opt-out list", Raw: r.Phone})
				continue
			}
			keep = append(keep, r)
		}
		d, err := st.ImportBatch(ctx, id, keep, skips)
		if err != nil {
			return err
		}
		if len(d) > 0 {
			dupSkips := make([]store.SkippedRow, len(d))
			for i, x := range d {
				dupSkips[i] = store.SkippedRow{Line: x.Line, Reason: csvimport.ReasonDuplicate,
					Detail: fmt.Sprintf("%s is the same number as line %d", x.Phone, x.FirstLine), Raw: x.Phone}
			}
			if _, err := st.ImportBatch(ctx, id, nil, dupSkips); err != nil {
				return err
			}
			dups += len(d)
		}
		rows, skips = rows[:0], skips[:0]
		return nil
	}
	res, err := csvimport.Read(f, cfg.File, cfg.CSV, func(r csvimport.Row) error {
		rows = append(rows, store.Recipient{Line: r.Line, Phone: r.Phone, Params: r.Params})
		if len(rows)+len(skips) >= size {
			return flush()
		}
		return nil
	}, func(s csvimport.Skip) error {
		skips = append(skips, store.SkippedRow{Line: s.Line, Reason: s.Reason, Detail: s.Detail, Raw: s.Raw})
		if len(rows)+len(skips) >= size {
			return flush()
		}
		return nil
	})
	if err != nil {
		return res, dups, opts, err
	}
	return res, dups, opts, flush()
}

func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
