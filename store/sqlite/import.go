package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/whatsend/whatsend/store"
)

// The writer's settings while an import loads, and the defaults it goes
// back to. Sending keeps SQLite's defaults: a small page cache (every
// transaction touches a few pages), synchronous FULL, a checkpoint every
// 1000 pages (4 MB). Loading an import takes importCacheKiB of cache (each
// row lands at a random place of the (campaign, phone) and (phone)
// indexes: a small cache turns every insert into page reads), unsynced
// commits, the statement journal in memory, and a checkpoint every
// importCheckpointPages (128 MB) so the WAL is not copied back every few
// thousand rows. Foreign keys are not checked while loading (the import's
// own campaign exists) and the INSERT is OR IGNORE: no row of a statement
// can then abort it, so SQLite keeps no statement journal for the
// statements of many rows (copying every page they touch cost more than
// the inserts).
const (
	defaultCacheKiB        = 2000
	importCacheKiB         = 32 << 10
	defaultCheckpointPages = 1000
	importCheckpointPages  = 32768
)

// importRowsPerInsert is how many rows one INSERT statement carries (5
// parameters each, far below SQLite's 32766): one statement per row spent
// most of a load in the statement machinery.
const importRowsPerInsert = 250

// setBulk switches the writer to loading an import and back (see
// importCacheKiB). A crash mid-import leaves the campaign importing, which
// the next run replaces, so its batches need not survive one.
// FinishImport syncs (the WAL is one file: syncing it at FinishImport's
// commit makes every batch before it durable too) and restores the
// defaults; so does DeleteCampaign, where a refused or failed import
// ends. No send shares a Store with an import in progress: run imports,
// then sends.
func (s *Store) setBulk(ctx context.Context, on bool) error {
	if s.bulk.Swap(on) == on {
		return nil
	}
	kib, sync, temp, pages, fk := defaultCacheKiB, "FULL", "DEFAULT", defaultCheckpointPages, "ON"
	if on {
		kib, sync, temp, pages, fk = importCacheKiB, "OFF", "MEMORY", importCheckpointPages, "OFF"
	}
	_, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d; PRAGMA synchronous = %s; PRAGMA temp_store = %s; PRAGMA wal_autocheckpoint = %d; PRAGMA foreign_keys = %s",
		kib, sync, temp, pages, fk))
	if err != nil {
		s.bulk.Store(!on) // not switched: the next call tries again
	}
	return err
}

// insertRecipientsSQL is the INSERT of n recipients; a number already in
// the campaign is not inserted (the first line that holds it wins: the
// unique (campaign, phone) index is the only constraint a row can break).
//
// Rows go in line order and SQLite picks their ids. Two other shapes were
// measured and are slower. An explicit id column (to insert a batch in
// number order and still have ids follow lines) makes SQLite keep a
// statement journal for every INSERT of several rows, since a value that
// is not an integer would abort it halfway: 1.4 to 1.5 times the time of
// a scattered import of 1M or 3M rows (2026-12-05, machine under load). Inserting a batch in number order
// walks the unique index in order, but turns the appends to the table and
// to the three line-keyed indexes into inserts all over the batch's range
// (page splits): about 7 µs more per row, while the unique index gains
// nothing as long as a transaction holds fewer rows than that index has
// leaf pages (6,434 at 1M rows, so some 65,000 at 10M); a transaction
// that large would not fit the memory an import may take.
func insertRecipientsSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT OR IGNORE INTO recipients (campaign_id, line, phone, params, components) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?,?,?,?,?)`)
	}
	return b.String()
}

// ImportBatch implements store.Store. The recipients are stored in the
// order given (the CSV's line order: ids follow lines), many per
// statement. A number repeated within the batch is found in memory, one
// already stored by an earlier batch by the unique (campaign, phone)
// index; either way the first line keeps it and the later ones come back
// as duplicates, in the order given.
func (s *Store) ImportBatch(ctx context.Context, campaignID int64, rs []store.Recipient, skipped []store.SkippedRow) ([]store.Duplicate, error) {
	if err := s.setBulk(ctx, true); err != nil {
		return nil, err
	}
	var full *sql.Stmt
	if len(rs) >= importRowsPerInsert {
		var err error
		if full, err = s.prepared(ctx, insertRecipientsSQL(importRowsPerInsert)); err != nil {
			return nil, err
		}
	}
	// first is the line that holds each number of the batch; a later row
	// with that number is a duplicate of it.
	first := make(map[string]int, len(rs))
	uniq := make([]int32, 0, len(rs)) // the rows to insert, by index in rs
	var inBatch []store.Duplicate
	for i, r := range rs {
		if l, ok := first[r.Phone]; ok {
			inBatch = append(inBatch, store.Duplicate{Line: r.Line, Phone: r.Phone, FirstLine: l})
			continue
		}
		first[r.Phone] = r.Line
		uniq = append(uniq, int32(i))
	}
	var dups []store.Duplicate
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		dups = dups[:0]
		earlier := map[string]int{} // numbers an earlier batch holds: their line
		args := make([]any, 0, 5*importRowsPerInsert)
		var ins *sql.Stmt
		if full != nil {
			ins = tx.StmtContext(ctx, full)
			defer ins.Close()
		}
		for start := 0; start < len(uniq); start += importRowsPerInsert {
			part := uniq[start:min(start+importRowsPerInsert, len(uniq))]
			args = args[:0]
			for _, i := range part {
				r := &rs[i]
				args = append(args, campaignID, r.Line, r.Phone, jsonStrings(r.Params), string(r.Components))
			}
			var res sql.Result
			var err error
			if len(part) == importRowsPerInsert {
				res, err = ins.ExecContext(ctx, args...)
			} else {
				res, err = tx.ExecContext(ctx, insertRecipientsSQL(len(part)), args...)
			}
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || int(n) == len(part) {
				if err != nil {
					return err
				}
				continue
			}
			// Some numbers were stored by an earlier batch: find them.
			for _, i := range part {
				r := &rs[i]
				var line int
				if err := tx.QueryRowContext(ctx, `SELECT line FROM recipients WHERE campaign_id = ? AND phone = ?`, campaignID, r.Phone).Scan(&line); err != nil {
					return err
				}
				if line != r.Line {
					earlier[r.Phone] = line
				}
			}
		}
		// In the order given: each refused row after the row it repeats.
		dups = mergeDuplicates(rs, first, earlier, inBatch, dups)
		if len(skipped) > 0 {
			ins, err := tx.PrepareContext(ctx, `INSERT INTO skipped (campaign_id, line, reason, detail, raw, params) VALUES (?,?,?,?,?,?)`)
			if err != nil {
				return err
			}
			defer ins.Close()
			for _, k := range skipped {
				if _, err := ins.ExecContext(ctx, campaignID, k.Line, k.Reason, k.Detail, k.Raw, jsonStrings(k.Params)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return dups, err
}

// mergeDuplicates lists the duplicates of a batch in the order of rs:
// the rows whose number an earlier batch holds (earlier: number -> its
// line) and the rows repeating a number earlier in the batch (inBatch, in
// order), whose first line is the earlier batch's when that row was
// refused too.
func mergeDuplicates(rs []store.Recipient, first, earlier map[string]int, inBatch, out []store.Duplicate) []store.Duplicate {
	if len(earlier) == 0 {
		return append(out, inBatch...)
	}
	i := 0
	for _, r := range rs {
		if i < len(inBatch) && inBatch[i].Line == r.Line {
			d := inBatch[i]
			if l, ok := earlier[r.Phone]; ok {
				d.FirstLine = l
			}
			out = append(out, d)
			i++
			continue
		}
		if l, ok := earlier[r.Phone]; ok && first[r.Phone] == r.Line {
			out = append(out, store.Duplicate{Line: r.Line, Phone: r.Phone, FirstLine: l})
		}
	}
	return out
}

// FinishImport implements store.Store.
func (s *Store) FinishImport(ctx context.Context, campaignID int64, rows int) error {
	if err := s.setBulk(ctx, false); err != nil {
		return err
	}
	return s.exec(ctx, `UPDATE campaigns SET state = ?, rows = ?, updated_at = ? WHERE id = ? AND state = ?`,
		store.CampaignReady, rows, ts(time.Now()), campaignID, store.CampaignImporting)
}
