package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/whatsend/whatsend/store"
)

// The writer's settings while an import loads, and the defaults it goes
// back to. Sending keeps SQLite's defaults: a small page cache (every
// transaction touches a few pages), synchronous FULL, a checkpoint every
// 1000 pages (4 MB). Loading an import appends to the table and to its
// line-keyed indexes (no index takes a row at a random place while
// loading: a campaign's numbers are checked once, at the end, by
// settleNumbers), so importCacheKiB only holds the pages being filled;
// 32 MiB ran no faster than 8 on 1M scattered rows (5.6 to 6.2 s either
// way, 2026-12-06) and took 50 MB more. Commits are unsynced, the
// statement journal in memory, and a checkpoint comes every
// importCheckpointPages (128 MB) so the WAL is not copied back every few
// thousand rows. Foreign keys are not checked while loading (the import's
// own campaign exists) and the INSERT is OR IGNORE: no row of a statement
// can then abort it, so SQLite keeps no statement journal for the
// statements of many rows (copying every page they touch cost more than
// the inserts).
const (
	defaultCacheKiB        = 2000
	importCacheKiB         = 8 << 10
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

// insertRecipientsSQL is the INSERT of n recipients. Rows go in line
// order and SQLite picks their ids, so the table and its line-keyed
// indexes are appended to. No constraint of recipients can refuse a row
// (a campaign's numbers are checked once its rows are in: settleNumbers);
// the OR IGNORE only spares SQLite a statement journal for a statement of
// many rows, and a row it did ignore would fail the batch.
//
// Two other shapes were measured, when a unique (campaign, phone) index
// still took each row (schema 13), and were slower: an explicit id column
// (SQLite then keeps a statement journal: 1.4 to 1.5 times the time of a
// scattered import of 1M or 3M rows), and batches in number order (the
// appends to the table and the line-keyed indexes became inserts all
// over the batch's range, about 7 µs more per row).
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
// statement, and none is refused: ImportDuplicates finds the repeated
// numbers once every batch is in, each naming the first line of the file
// that holds it (a repeat within a batch included), so ImportBatch
// returns no duplicates.
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		args := make([]any, 0, 5*importRowsPerInsert)
		var ins *sql.Stmt
		if full != nil {
			ins = tx.StmtContext(ctx, full)
			defer ins.Close()
		}
		for start := 0; start < len(rs); start += importRowsPerInsert {
			part := rs[start:min(start+importRowsPerInsert, len(rs))]
			args = args[:0]
			for i := range part {
				r := &part[i]
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
			if n, err := res.RowsAffected(); err != nil || int(n) != len(part) {
				return errors.Join(err, fmt.Errorf("import: %d of %d rows stored", n, len(part)))
			}
		}
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
	return nil, err
}

// settleTemp readies the writer for settleNumbers: SQLite's temporary
// files (a sort's runs, the temporary tables) on disk, where a sort of ten
// million numbers in memory (temp_store MEMORY while loading) would take
// the memory of the file, and a page cache of settleCacheKiB, which also
// bounds the memory of each sorted run (SQLite sizes them by the cache):
// the sort reads the rows once and the numbers are appended, so a large
// cache buys nothing and its runs would add 50 MB to a 1M import's peak.
// setBulk sets both back.
func (s *Store) settleTemp(ctx context.Context) error {
	_, err := s.w.ExecContext(ctx, fmt.Sprintf(`PRAGMA temp_store = FILE; PRAGMA cache_size = -%d`, settleCacheKiB))
	return err
}

// settleCacheKiB is the writer's page cache while settleNumbers sorts.
const settleCacheKiB = 8 << 10

// importDupChunk is how many duplicates ImportDuplicates hands over at a
// time: memory holds one chunk, whatever the file repeats.
const importDupChunk = 10000

// ImportDuplicates implements store.Store: it fills campaign_numbers from
// the campaign's rows (settleNumbers), then, if some number is held by
// more than one row, removes every row after the first of its number and
// hands them over in line order, importDupChunk at a time, each with its
// stored parameters. The rows found are kept in a temporary table of the
// writer's connection (the only one it has) between two chunks, so fn may
// write to the store.
func (s *Store) ImportDuplicates(ctx context.Context, campaignID int64, fn func([]store.Duplicate) error) error {
	if err := s.setBulk(ctx, true); err != nil {
		return err
	}
	if err := s.settleTemp(ctx); err != nil {
		return err
	}
	defer s.w.ExecContext(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS temp.import_dups; DROP TABLE IF EXISTS temp.import_dup_numbers`)
	var found bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		dup, err := settleNumbers(ctx, tx, campaignID)
		if err != nil || !dup {
			return err
		}
		found = true
		return moveDuplicates(ctx, tx, campaignID)
	})
	if err != nil || !found {
		return err
	}
	for after := int64(0); ; {
		rows, err := s.w.QueryContext(ctx, `SELECT rowid, line, phone, first, params FROM temp.import_dups WHERE rowid > ? ORDER BY rowid LIMIT ?`, after, importDupChunk)
		if err != nil {
			return err
		}
		var chunk []store.Duplicate
		for rows.Next() {
			var d store.Duplicate
			var params string
			if err := rows.Scan(&after, &d.Line, &d.Phone, &d.FirstLine, &params); err != nil {
				rows.Close()
				return err
			}
			_ = json.Unmarshal([]byte(params), &d.Params) // written by jsonStrings
			chunk = append(chunk, d)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if len(chunk) == 0 {
			return nil
		}
		if err := fn(chunk); err != nil {
			return err
		}
	}
}

// settleNumbers fills campaign_numbers with each number of the campaign
// and the first line that holds it, unless that is done, and reports
// whether some number is held by more than one row. It is one statement:
// SQLite sorts the rows by number and appends to the table in that order.
// The caller sets temp_store (settleTemp) before the transaction: SQLite
// refuses to change it within one.
func settleNumbers(ctx context.Context, tx *sql.Tx, campaignID int64) (dup bool, err error) {
	var done bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM campaign_numbers WHERE campaign_id = ?)`, campaignID).Scan(&done); err != nil || done {
		return false, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO campaign_numbers (campaign_id, phone, line)
		SELECT ?1, phone, MIN(line) FROM recipients WHERE campaign_id = ?1 GROUP BY phone ORDER BY phone`, campaignID)
	if err != nil {
		return false, err
	}
	numbers, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	var rows int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM recipients WHERE campaign_id = ?`, campaignID).Scan(&rows); err != nil {
		return false, err
	}
	return rows > numbers, nil
}

// moveDuplicates copies the rows whose number an earlier line holds to
// temp.import_dups (in line order) and deletes them from recipients. The
// numbers held more than once are few: they go to a small table first,
// looked up from one pass over the campaign's rows.
func moveDuplicates(ctx context.Context, tx *sql.Tx, campaignID int64) error {
	for _, q := range []string{
		`DROP TABLE IF EXISTS temp.import_dups`,
		`DROP TABLE IF EXISTS temp.import_dup_numbers`,
		`CREATE TEMP TABLE import_dup_numbers (phone TEXT PRIMARY KEY, first INTEGER NOT NULL) WITHOUT ROWID`,
		`INSERT INTO temp.import_dup_numbers (phone, first)
			SELECT phone, MIN(line) FROM recipients WHERE campaign_id = ?1 GROUP BY phone HAVING COUNT(*) > 1`,
		// CROSS JOIN: the campaign's rows outside, each looked up in the
		// small table (recipients has no index on a campaign's numbers).
		`CREATE TEMP TABLE import_dups AS SELECT r.line AS line, r.phone AS phone, d.first AS first, r.params AS params
			FROM recipients r CROSS JOIN temp.import_dup_numbers d
			WHERE r.campaign_id = ?1 AND d.phone = r.phone AND r.line <> d.first ORDER BY r.line`,
		`DELETE FROM recipients WHERE campaign_id = ?1 AND line IN (SELECT line FROM temp.import_dups)`,
	} {
		var args []any
		if strings.Contains(q, "?1") {
			args = []any{campaignID}
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// FinishImport implements store.Store. A campaign whose numbers
// ImportDuplicates did not settle is settled here, and refused if two of
// its rows hold one number.
func (s *Store) FinishImport(ctx context.Context, campaignID int64, rows int) error {
	if err := s.settleTemp(ctx); err != nil {
		return err
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		dup, err := settleNumbers(ctx, tx, campaignID)
		if err == nil && dup {
			err = fmt.Errorf("campaign %d: a number is held by more than one row (ImportDuplicates removes the later ones)", campaignID)
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := s.setBulk(ctx, false); err != nil {
		return err
	}
	return s.exec(ctx, `UPDATE campaigns SET state = ?, rows = ?, updated_at = ? WHERE id = ? AND state = ?`,
		store.CampaignReady, rows, ts(time.Now()), campaignID, store.CampaignImporting)
}
