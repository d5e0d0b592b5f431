package campaign

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/store"
)

// DefaultImportBatch is how many rows one import transaction holds.
const DefaultImportBatch = 25000

// ImportConfig says what to import and how to name the campaign.
type ImportConfig struct {
	File         string
	CSV          csvimport.Config
	Campaign     store.Campaign // Name, Template, Language, Params, PhoneNumberID, Scope, Settings
	ExplicitName bool           // the user gave --name: it is part of the campaign's identity
	BatchSize    int            // rows per transaction, default DefaultImportBatch
	// Owner holds the import's lease; the zero Owner is this process, with
	// its liveness judged by the heartbeat alone.
	Owner Owner
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
// already holds it (same content hash, template and language and, when
// given, name). A refused file leaves no campaign behind.
//
// The import is owned: it holds the lease "import:<hash>:<template>:<lang>"
// from before it looks for the campaign until the campaign is ready, so two
// runs of one new CSV never both import it; the second gets an error
// matching ErrBusy that names the holder. A half import (state importing)
// is replaced only by the holder of that lease, which means its importer
// is gone, and never when the campaign has any attempt.
func Import(ctx context.Context, st store.Store, cfg ImportConfig) (ImportResult, error) {
	var res ImportResult
	f, err := csvimport.Open(cfg.File)
	if err != nil {
		return res, err
	}
	defer f.Close()
	hash, err := fileHash(ctx, f)
	if err != nil {
		return res, &ImportError{File: cfg.File, Err: err}
	}
	key := store.CampaignKey{CSVHash: hash, Template: cfg.Campaign.Template, Language: cfg.Campaign.Language}
	if cfg.ExplicitName {
		key.Name = cfg.Campaign.Name
	}

	ls := &leases{st: st, owner: cfg.Owner, now: time.Now}
	if ls.owner.ID == "" {
		ls.owner = anonymousOwner()
	}
	ctx, stop, err := ls.hold(ctx, importLeaseKey(key))
	if err != nil {
		if errors.Is(err, ErrBusy) {
			return res, fmt.Errorf("%s is being imported by another process; try again when it is done: %w", cfg.File, err)
		}
		return res, err
	}
	defer stop()

	c, err := st.FindCampaign(ctx, key)
	switch {
	case err == nil && c.State != store.CampaignImporting:
		res.Campaign, res.Existing = c, true
		return res, nil
	case err == nil:
		if err := removeHalfImport(ctx, st, c); err != nil {
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
		c.MaxDeferrals = s.WithDefaults().DeferDays
	}
	id, err := st.CreateCampaign(ctx, c)
	if err != nil {
		return res, err
	}
	c.ID = id
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return res, &ImportError{File: cfg.File, Err: err}
	}
	rr, dups, opted, err := importRows(ctx, st, id, f, cfg)
	if err == nil {
		var late int
		late, err = importDuplicates(ctx, st, id)
		dups += late
	}
	res.Result, res.Duplicates, res.OptedOut = rr, dups, opted
	if err == nil && rr.Valid-dups-opted <= 0 {
		err = &ImportError{File: cfg.File, Err: fmt.Errorf("no valid row among %d rows (duplicates or opted out)", rr.Rows)}
	}
	if err != nil {
		// Nothing half written stays behind (a kill here leaves the
		// campaign importing, which the next run replaces). The campaign
		// is this import's own: nothing can have been sent from it.
		_ = st.DeleteCampaign(context.WithoutCancel(ctx), id)
		// Once the import is cancelled (a signal), the store may report
		// the cancellation in its own words ("statement is closed" from a
		// statement the cancelled transaction closed): the cause is the
		// signal.
		if cause := context.Cause(ctx); cause != nil {
			return res, cause
		}
		return res, err
	}
	if err := st.FinishImport(ctx, id, rr.Rows); err != nil {
		return res, err
	}
	res.Campaign, err = st.Campaign(ctx, id)
	return res, err
}

// importRows streams the file into the store in batches. It stops when ctx
// is done, between two rows. Three steps overlap, each in its own
// goroutine: the reader fills a batch (the CSV's checks, phone
// normalisation on every core, in file order), the next batch's numbers
// are checked against the opt-out list (a read, beside the writer under
// WAL), and the one before is written. Memory holds three batches at most.
func importRows(ctx context.Context, st store.Store, id int64, f io.Reader, cfg ImportConfig) (csvimport.Result, int, int, error) {
	size := cfg.BatchSize
	if size <= 0 {
		size = DefaultImportBatch
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	parts := make(chan importPart)   // unbuffered: the opt-out step holds one, the reader fills one
	checked := make(chan importPart) // unbuffered: the writer holds one
	var (
		dups, opts int
		werr       error
		errOnce    sync.Once
		wg         sync.WaitGroup
	)
	fail := func(err error) {
		errOnce.Do(func() { werr = err })
		cancel(err)
	}
	wg.Go(func() {
		defer close(checked)
		for p := range parts {
			if ctx.Err() != nil {
				continue // drain: the reader stops at its next row
			}
			if err := p.optOut(ctx, st); err != nil {
				fail(err)
				continue
			}
			select {
			case checked <- p:
			case <-ctx.Done():
			}
		}
	})
	wg.Go(func() {
		for p := range checked {
			if ctx.Err() != nil {
				continue
			}
			d, err := p.write(ctx, st, id)
			dups, opts = dups+d, opts+p.opts
			if err != nil {
				fail(err)
			}
		}
	})
	p := importPart{values: map[int][]string{}}
	hand := func() error {
		if len(p.rows) == 0 && len(p.skips) == 0 {
			return nil
		}
		select {
		case parts <- p:
		case <-ctx.Done():
			return ctx.Err()
		}
		// The next steps own the handed batch now.
		p = importPart{rows: make([]store.Recipient, 0, size), values: map[int][]string{}}
		return nil
	}
	res, err := csvimport.Read(f, cfg.File, cfg.CSV, func(r csvimport.Row) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.rows = append(p.rows, store.Recipient{Line: r.Line, Phone: r.Phone, Params: r.Params, Components: r.Components})
		if r.Values != nil {
			p.values[r.Line] = r.Values
		}
		if len(p.rows)+len(p.skips) >= size {
			return hand()
		}
		return nil
	}, func(s csvimport.Skip) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.skips = append(p.skips, store.SkippedRow{Line: s.Line, Reason: s.Reason, Detail: s.Detail, Raw: s.Raw, Params: s.Params})
		if len(p.rows)+len(p.skips) >= size {
			return hand()
		}
		return nil
	})
	if err == nil {
		err = hand()
	}
	close(parts)
	wg.Wait()
	if werr != nil {
		return res, dups, opts, werr
	}
	if err == nil {
		// A step may have stopped on a cancellation the reader did not see.
		err = context.Cause(ctx)
	}
	return res, dups, opts, err
}

// importPart is one batch of an import: its rows and skips, and the rows'
// component column values by line, for the export of a row skipped after
// the read; opts counts its rows found opted out.
type importPart struct {
	rows   []store.Recipient
	skips  []store.SkippedRow
	values map[int][]string
	opts   int
}

// exported is a row's values as a skip exports them.
func (p importPart) exported(r store.Recipient) []string {
	if v := p.values[r.Line]; v != nil {
		return append(slices.Clone(r.Params), v...)
	}
	return r.Params
}

// optOut moves the batch's opted-out rows to its skips.
func (p *importPart) optOut(ctx context.Context, st store.Store) error {
	phones := make([]string, len(p.rows))
	for i, r := range p.rows {
		phones[i] = r.Phone
	}
	out, err := st.OptedOut(ctx, phones)
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return nil
	}
	keep := p.rows[:0]
	for _, r := range p.rows {
		if out[r.Phone] {
			p.opts++
			p.skips = append(p.skips, store.SkippedRow{Line: r.Line, Reason: csvimport.ReasonOptedOut, Detail: r.Phone + " is on the opt-out list", Raw: r.Phone, Params: p.exported(r)})
			continue
		}
		keep = append(keep, r)
	}
	p.rows = keep
	return nil
}

// write stores the batch, its opted-out rows already moved to its skips:
// the numbers the store refused (earlier in this batch, or in an earlier
// one for a store that checks that now) are recorded as duplicates of
// their first line. It returns the
// duplicates count.
func (p importPart) write(ctx context.Context, st store.Store, id int64) (dups int, err error) {
	d, err := st.ImportBatch(ctx, id, p.rows, p.skips)
	if err != nil || len(d) == 0 {
		return 0, err
	}
	params := make(map[int][]string, len(d)) // by line
	for _, x := range d {
		params[x.Line] = nil
	}
	for _, r := range p.rows {
		if _, ok := params[r.Line]; ok {
			params[r.Line] = p.exported(r)
		}
	}
	dupSkips := make([]store.SkippedRow, len(d))
	for i, x := range d {
		dupSkips[i] = duplicateSkip(x, params[x.Line])
	}
	if _, err := st.ImportBatch(ctx, id, nil, dupSkips); err != nil {
		return 0, err
	}
	return len(d), nil
}

// importDuplicates records as skipped the rows whose number an earlier
// batch holds that the store found only once every batch was in
// (Store.ImportDuplicates): they are exported with their stored
// parameters (the values of a component column are not stored). It
// returns their count.
func importDuplicates(ctx context.Context, st store.Store, id int64) (int, error) {
	n := 0
	err := st.ImportDuplicates(ctx, id, func(ds []store.Duplicate) error {
		skips := make([]store.SkippedRow, len(ds))
		for i, x := range ds {
			skips[i] = duplicateSkip(x, x.Params)
		}
		n += len(ds)
		_, err := st.ImportBatch(ctx, id, nil, skips)
		return err
	})
	return n, err
}

// duplicateSkip is the skipped row of a duplicate, exported with params.
func duplicateSkip(x store.Duplicate, params []string) store.SkippedRow {
	return store.SkippedRow{Line: x.Line, Reason: csvimport.ReasonDuplicate,
		Detail: fmt.Sprintf("%s is the same number as line %d", x.Phone, x.FirstLine), Raw: x.Phone, Params: params}
}

// fileHash is the hex SHA-256 of the file's bytes. It stops when ctx is
// done, between two reads.
func fileHash(ctx context.Context, f io.Reader) (string, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return "", context.Cause(ctx)
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			return hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// importLeaseKey is the lease an import holds: one per CSV content,
// template and language, whatever the name, since a run without --name
// continues the newest campaign with that content.
func importLeaseKey(k store.CampaignKey) string {
	return "import:" + k.CSVHash + ":" + k.Template + ":" + k.Language
}

// removeHalfImport deletes a campaign left importing by a process that is
// gone. A campaign that has any attempt is never deleted.
func removeHalfImport(ctx context.Context, st store.Store, c store.Campaign) error {
	sum, err := st.Summary(ctx, c.ID)
	if err != nil {
		return err
	}
	if sum.Attempts > 0 {
		return fmt.Errorf("campaign %s is still marked importing but has %d send attempts; it is kept", c.Name, sum.Attempts)
	}
	return st.DeleteCampaign(ctx, c.ID)
}

// anonymousOwner is this process as a lease owner when the caller gave
// none: its liveness is judged by its heartbeat.
func anonymousOwner() Owner {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	return Owner{ID: fmt.Sprintf("%s:%d:%x", host, os.Getpid(), b), PID: os.Getpid(), Host: host}
}
