// Package sqlite implements store.Store on SQLite (modernc.org/sqlite: pure
// Go, no cgo).
//
// One write connection per process (SetMaxOpenConns(1)) serialises writers
// inside the process, so they never meet SQLITE_BUSY among themselves;
// writers of other processes wait on the busy timeout. Readers use their own
// pool and, with WAL, never block a writer nor wait for one. The write
// connection runs with synchronous=FULL: the in_flight checkpoint must
// survive a power cut, and commits are grouped by the engine so the fsync
// per commit stays affordable at 1,000 msg/s.
//
// Times are stored as INTEGER Unix nanoseconds in UTC; 0 means never.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	msqlite "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/whatsend/whatsend/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite store.
type Store struct {
	w        *sql.DB // the one write connection
	r        *sql.DB // readers
	readOnly bool
	bulk     atomic.Bool // an import is loading: the writer has importCacheKiB

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // the writer's statements of the send path, prepared once
	rowsMu sync.Mutex
	rowsW  map[string]rowsWriter // the commit's statements of several rows (prepareRows), by head
}

// prepared returns query prepared on the writer, once per process instead
// of once per transaction (at 80 msg/s a checkpoint of one recipient spent
// a sixth of its CPU parsing its three statements again). Call it outside
// a transaction (the writer's one connection would be busy) and use the
// statement in one through tx.StmtContext.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if s.readOnly {
		return nil, errors.New("store opened read-only")
	}
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[query]; ok {
		return st, nil
	}
	st, err := s.w.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}

// preparedSet prepares each of queries (Store.prepared); call it outside a
// transaction, and use the set in one through withStmts.
func (s *Store) preparedSet(ctx context.Context, queries []string) (map[string]*sql.Stmt, error) {
	set := make(map[string]*sql.Stmt, len(queries))
	for _, q := range queries {
		st, err := s.prepared(ctx, q)
		if err != nil {
			return nil, err
		}
		set[q] = st
	}
	return set, nil
}

// txRunner is what the helpers shared by several transactions run their
// statements on: a *sql.Tx, or a stmtTx that runs the prepared ones.
type txRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// stmtTx is a transaction that runs the queries of a prepared set through
// the transaction's copies of their statements (closed with it), and any
// other query as *sql.Tx does.
type stmtTx struct {
	*sql.Tx
	stmts map[string]*sql.Stmt
}

// withStmts binds a prepared set (Store.preparedSet) to tx.
func withStmts(ctx context.Context, tx *sql.Tx, set map[string]*sql.Stmt) *stmtTx {
	t := &stmtTx{Tx: tx, stmts: make(map[string]*sql.Stmt, len(set))}
	for q, st := range set {
		t.stmts[q] = tx.StmtContext(ctx, st)
	}
	return t
}

func (t *stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := t.stmts[query]; ok {
		return st.ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := t.stmts[query]; ok {
		return st.QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

var _ store.Store = (*Store)(nil)

// BusyTimeout is how long a writer waits for another process's write lock.
const BusyTimeout = 10 * time.Second

func dsn(path string, extra ...string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	for _, e := range extra {
		k, v, _ := strings.Cut(e, "=")
		q.Add(k, v)
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating it with mode 0600 if needed) and migrates the store.
// A database it must not use is refused before anything is written to it
// (errors matching store.ErrIncompatible): one written by a newer whatsend,
// another application's database, a file that is not SQLite. A folder that
// does not exist or cannot be written is refused too (store.ErrInaccessible).
func Open(ctx context.Context, path string) (*Store, error) {
	if err := prepare(path); err != nil {
		return nil, err
	}
	// Inspect through a reader first: opening the writer switches the file
	// to WAL, a write a foreign database must never get.
	if err := probe(ctx, path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn(path, "_pragma=journal_mode(WAL)", "_pragma=synchronous(FULL)", "_txlock=immediate"))
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	mode, err := journalMode(ctx, w)
	if err != nil {
		w.Close()
		return nil, openError(path, err)
	}
	if mode != "wal" {
		w.Close()
		return nil, fmt.Errorf("open %s: journal mode is %q, want wal", path, mode)
	}
	s := &Store{w: w}
	if err := s.migrate(ctx, path); err != nil {
		w.Close()
		if _, ok := errors.AsType[*refusal](err); ok {
			return nil, err
		}
		if r := folderRefusal(path, err); r != nil {
			return nil, r
		}
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, "_pragma=query_only(1)"))
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(4)
	s.r = r
	return s, nil
}

// journalMode reads the journal mode of the write connection, whose DSN
// sets WAL. Turning a new database to WAL needs a moment alone with it and
// does not wait on the busy timeout: when another process is creating the
// same store at that instant, it is tried again until BusyTimeout.
func journalMode(ctx context.Context, w *sql.DB) (string, error) {
	deadline := time.Now().Add(BusyTimeout)
	for {
		var mode string
		err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return mode, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// isBusy reports a SQLITE_BUSY or SQLITE_LOCKED answer.
func isBusy(err error) bool {
	var se interface{ Code() int }
	if errors.As(err, &se) {
		c := se.Code() & 0xff
		return c == 5 || c == 6
	}
	return false
}

// probe checks, without writing, that path is empty or holds a whatsend
// store this version can use.
func probe(ctx context.Context, path string) error {
	if err := checkHeader(path); err != nil {
		return err
	}
	r, err := sql.Open("sqlite", dsn(path, "_pragma=query_only(1)"))
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = snapshotVersion(ctx, r, path)
	return err
}

// snapshotVersion reads the schema version in one read transaction: its
// several queries must see one state of the file, not a migration that
// another process commits between two of them (a store being created by
// two processes at once would look like another application's database).
func snapshotVersion(ctx context.Context, db *sql.DB, path string) (int, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return 0, openError(path, err)
	}
	defer tx.Rollback()
	return schemaVersion(ctx, tx, path)
}

// OpenReadOnly opens an existing store for reading only (reports): it never
// takes a write lock, so it never blocks a run in progress. It refuses what
// Open refuses; a file with no store in it yet matches fs.ErrNotExist.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	r, err := sql.Open("sqlite", dsn(path, "_pragma=query_only(1)"))
	if err != nil {
		return nil, err
	}
	r.SetMaxOpenConns(4)
	v, err := snapshotVersion(ctx, r, path)
	if err == nil && v == 0 {
		err = fmt.Errorf("%s holds no whatsend store yet: %w", path, fs.ErrNotExist)
	}
	if err != nil {
		r.Close()
		return nil, err
	}
	return &Store{w: r, r: r, readOnly: true}, nil
}

// prepare checks that the store's folder exists and that the store can be
// written there, and creates the file (mode 0600) when it does not exist
// yet. A missing folder is not created: a mistyped --db must not scatter
// stores.
func prepare(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return refuse(store.ErrInaccessible, "store %s: folder %s does not exist (it is not created)", path, dir)
	case err != nil:
		return refuse(store.ErrInaccessible, "store %s: folder %s: %v", path, dir, cause(err))
	case !fi.IsDir():
		return refuse(store.ErrInaccessible, "store %s: %s is not a folder", path, dir)
	}
	_, err = os.Stat(path)
	exists := err == nil
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	switch {
	case err == nil:
		return f.Close()
	case !exists:
		return refuse(store.ErrInaccessible, "store %s: cannot create it in folder %s: %v", path, dir, cause(err))
	}
	return refuse(store.ErrInaccessible, "store %s is not writable: %v", path, cause(err))
}

// cause drops the path an *fs.PathError repeats.
func cause(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// openError names the path in an error of opening the database, or
// returns the folder's refusal (see folderRefusal).
func openError(path string, err error) error {
	if r := folderRefusal(path, err); r != nil {
		return r
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// folderRefusal returns the refusal of a store whose folder is not
// writable, when err is SQLite's failure to write or open it; nil
// otherwise. SQLite keeps the -wal and -shm files beside the store, so it
// cannot open a store in a folder it cannot write even when the file itself
// is writable: that case is told apart by trying to create a file there.
func folderRefusal(path string, err error) error {
	e, ok := errors.AsType[*msqlite.Error](err)
	if !ok || (e.Code()&0xff != sqlite3.SQLITE_READONLY && e.Code()&0xff != sqlite3.SQLITE_CANTOPEN) {
		return nil
	}
	dir := filepath.Dir(path)
	f, werr := os.CreateTemp(dir, ".whatsend-probe-*")
	if werr != nil {
		return refuse(store.ErrInaccessible, "store %s: folder %s is not writable (SQLite keeps the store's -wal and -shm files beside it): %v",
			path, dir, cause(werr))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// refusal is an open refused for a reason the user can act on; it matches
// one of the store's sentinels.
type refusal struct {
	msg  string
	kind error
}

func (e *refusal) Error() string { return e.msg }
func (e *refusal) Unwrap() error { return e.kind }

func refuse(kind error, format string, args ...any) error {
	return &refusal{msg: fmt.Sprintf(format, args...), kind: kind}
}

// sqliteHeader starts every SQLite database file.
const sqliteHeader = "SQLite format 3\x00"

// checkHeader refuses a non-empty file that is not a SQLite database. Its
// content is never quoted: a file given by mistake may hold a secret.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	n, err := io.ReadFull(f, head)
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		return nil // empty: a store being created
	case err != nil && !errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("read %s: %w", path, err)
	case string(head[:n]) != sqliteHeader:
		return refuse(store.ErrIncompatible, "%s is not a SQLite database, so not a whatsend store; it was left as it is", path)
	}
	return nil
}

// latestVersion is the newest schema this whatsend knows: the highest
// numbered embedded migration.
func latestVersion() int {
	ms, _ := store.ReadMigrations(migrations, "migrations")
	return store.LatestVersion(ms)
}

// queryer is a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// schemaVersion returns the whatsend schema version of the database at
// path, 0 when it has no table yet. It refuses another application's
// database and one written by a newer whatsend.
func schemaVersion(ctx context.Context, q queryer, path string) (int, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		if e, ok := errors.AsType[*msqlite.Error](err); ok && e.Code() == sqlite3.SQLITE_NOTADB {
			return 0, refuse(store.ErrIncompatible, "%s is not a SQLite database, so not a whatsend store; it was left as it is", path)
		}
		return 0, openError(path, err)
	}
	var tables []string
	hasVersion := false
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return 0, err
		}
		if name == "schema_version" {
			hasVersion = true
		} else {
			tables = append(tables, name)
		}
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("open %s: %w", path, err)
	}
	// Another application may have a schema_version table of its own:
	// whatsend's has these two columns, and a campaigns table beside it
	// once migrated.
	v, ours := 0, !hasVersion
	if hasVersion {
		var cols int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info('schema_version') WHERE name IN ('version', 'applied_at')`).Scan(&cols); err != nil {
			return 0, openError(path, err)
		}
		if ours = cols == 2; ours {
			if err := q.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
				return 0, openError(path, err)
			}
			ours = v == 0 || slices.Contains(tables, "campaigns")
		}
	}
	switch {
	case !ours || (v == 0 && len(tables) > 0):
		if hasVersion {
			tables = append(tables, "schema_version")
		}
		if len(tables) > 3 {
			tables = append(tables[:3], "...")
		}
		return 0, refuse(store.ErrIncompatible, "%s is not a whatsend store: it has tables (%s) but no whatsend schema version; it was left as it is",
			path, strings.Join(tables, ", "))
	case v > latestVersion():
		return 0, refuse(store.ErrIncompatible, "%s: this store was written by a newer whatsend (schema %d; this one knows up to %d); use that whatsend or a newer one",
			path, v, latestVersion())
	}
	return v, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if s.readOnly {
		return s.r.Close()
	}
	s.stmtMu.Lock()
	var errs []error
	for _, st := range s.stmts {
		errs = append(errs, st.Close())
	}
	s.stmts = nil
	s.stmtMu.Unlock()
	s.rowsMu.Lock()
	s.rowsW = nil
	s.rowsMu.Unlock()
	return errors.Join(append(errs, s.r.Close(), s.w.Close())...)
}

// migrate applies every embedded migration not yet recorded, each in its own
// transaction with its version row. The version found is checked again
// under the write lock: a newer whatsend may have migrated since the probe.
func (s *Store) migrate(ctx context.Context, path string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := schemaVersion(ctx, tx, path); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`)
		return err
	})
	if err != nil {
		return err
	}
	ms, err := store.ReadMigrations(migrations, "migrations")
	if err != nil {
		return err
	}
	for _, m := range ms {
		v, name, body := m.Version, m.Name, m.SQL
		err = s.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version WHERE version = ?`, v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, body); err != nil {
				return fmt.Errorf("migration %s: %w", name, err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version, applied_at) VALUES (?, ?)`, v, ts(time.Now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in one write transaction (BEGIN IMMEDIATE via the DSN).
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.readOnly {
		return errors.New("store opened read-only")
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// ts converts a time to the stored form.
func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UTC().UnixNano()
}

// tm converts a stored time back.
func tm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// notFound translates sql.ErrNoRows at the boundary.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// placeholders returns "?,?,?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// chunks splits values into groups small enough for one IN (...) list.
func chunks[T any](xs []T, n int) [][]T {
	var out [][]T
	for len(xs) > n {
		out = append(out, xs[:n])
		xs = xs[n:]
	}
	if len(xs) > 0 {
		out = append(out, xs)
	}
	return out
}
