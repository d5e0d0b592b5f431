// Package postgres implements store.Store on PostgreSQL (github.com/jackc/pgx/v5),
// for several processes or hosts sharing campaigns.
//
// The DSN is a PostgreSQL URL, postgres://user[:password]@host[:port]/db
// with libpq's parameters (sslmode, connect_timeout, ...), plus one of
// whatsend's own: schema=NAME, the PostgreSQL schema that holds the
// store's tables (default whatsend; lower-case letters, digits and _). The
// store creates that schema when it does not exist, and refuses one that
// holds another application's tables or a newer whatsend's schema, as the
// SQLite store refuses such a file. Several stores can live in one
// database under different schemas.
//
// Every write is one transaction committed with synchronous_commit=on
// (PostgreSQL's default, set on every connection): committed means on disk
// before the call returns. A transaction that meets a deadlock or a
// serialization failure is run again, a bounded number of times.
//
// Times are stored as BIGINT Unix nanoseconds in UTC; 0 means never, as in
// the SQLite store.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/whatsend/whatsend/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DefaultSchema is the PostgreSQL schema of the store when the DSN names
// none.
const DefaultSchema = "whatsend"

// ConnectTimeout bounds each connection attempt when the DSN sets no
// connect_timeout: a server that does not answer is reported, not waited
// for.
const ConnectTimeout = 10 * time.Second

// IdleInTransaction is the server's idle_in_transaction_session_timeout on
// whatsend's sessions (a DSN may set another): a session stopped inside a
// transaction this long is ended and its locks released.
const IdleInTransaction = "5s"

// Store is the PostgreSQL store.
type Store struct {
	pool     *pgxpool.Pool
	schema   string
	where    string // the redacted DSN, for messages
	readOnly bool
}

var _ store.Store = (*Store)(nil)

func init() {
	b := store.Backend{
		Open: func(ctx context.Context, dsn string) (store.Store, error) {
			st, err := Open(ctx, dsn)
			if err != nil {
				return nil, err
			}
			return st, nil
		},
		OpenReadOnly: func(ctx context.Context, dsn string) (store.Store, error) {
			st, err := OpenReadOnly(ctx, dsn)
			if err != nil {
				return nil, err
			}
			return st, nil
		},
	}
	store.Register("postgres", b)
	store.Register("postgresql", b)
}

var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// config parses a DSN into a pool configuration and the store's schema.
// Its errors match store.ErrBadDSN and never show the password.
func config(dsn string, readOnly bool) (*pgxpool.Config, string, error) {
	where := store.Redact(dsn)
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, "", fmt.Errorf("store %s: not a PostgreSQL URL: %s: %w", where, scrub(urlErr(err), dsn), store.ErrBadDSN)
	}
	q := u.Query()
	schema := DefaultSchema
	if q.Has("schema") {
		schema = q.Get("schema")
		q.Del("schema")
		u.RawQuery = q.Encode()
	}
	if !schemaRE.MatchString(schema) {
		return nil, "", fmt.Errorf("store %s: schema %q: want lower-case letters, digits and _, starting with a letter or _: %w",
			where, schema, store.ErrBadDSN)
	}
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, "", fmt.Errorf("store %s: %s: %w", where, scrub(err.Error(), dsn), store.ErrBadDSN)
	}
	rp := cfg.ConnConfig.RuntimeParams
	rp["search_path"] = schema
	rp["synchronous_commit"] = "on"
	rp["application_name"] = "whatsend"
	// A process stopped inside a transaction (a paused VM, SIGSTOP) would
	// keep its row locks, the lease row's among them, and no other worker
	// could take its leases over when they expire: the server ends such a
	// session. whatsend's transactions never wait on anything but the
	// database, so none is idle this long while its process runs.
	if _, set := rp["idle_in_transaction_session_timeout"]; !set {
		rp["idle_in_transaction_session_timeout"] = IdleInTransaction
	}
	if readOnly {
		rp["default_transaction_read_only"] = "on"
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = ConnectTimeout
	}
	cfg.MaxConns = max(cfg.MaxConns, 8)
	return cfg, schema, nil
}

// urlErr drops the URL that a *url.Error repeats.
func urlErr(err error) string {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err.Error()
	}
	return err.Error()
}

// scrub removes the DSN and its password from a message of the driver.
func scrub(msg, dsn string) string {
	msg = strings.ReplaceAll(msg, dsn, store.Redact(dsn))
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// scrubbed is a driver error whose message was rewritten without the
// password; it still matches what the driver's error matches.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string { return e.msg }
func (e *scrubbed) Unwrap() error { return e.err }

// Open connects to the database, creates the store's schema when it does
// not exist and migrates it. A schema it must not use is refused before
// anything is written to it (store.ErrIncompatible); a server that does
// not answer is an error naming its host; a database that does not exist,
// a login refused or a schema that cannot be created match
// store.ErrInaccessible.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s, err := connect(ctx, dsn, false)
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, s.refusal(err)
	}
	return s, nil
}

// OpenReadOnly opens an existing store for reading only (reports): every
// transaction is read-only, and no lock is taken. It refuses what Open
// refuses; a schema with no store in it yet matches fs.ErrNotExist.
func OpenReadOnly(ctx context.Context, dsn string) (*Store, error) {
	s, err := connect(ctx, dsn, true)
	if err != nil {
		return nil, err
	}
	v, err := schemaVersion(ctx, s.pool, s.schema, s.where)
	if err == nil && v.version == 0 {
		err = fmt.Errorf("%s holds no whatsend store yet (schema %s): %w", s.where, s.schema, fs.ErrNotExist)
	}
	if err != nil {
		s.pool.Close()
		return nil, s.refusal(err)
	}
	return s, nil
}

func connect(ctx context.Context, dsn string, readOnly bool) (*Store, error) {
	cfg, schema, err := config(dsn, readOnly)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store %s: %s", store.Redact(dsn), scrub(err.Error(), dsn))
	}
	s := &Store{pool: pool, schema: schema, where: store.Redact(dsn), readOnly: readOnly}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		c := cfg.ConnConfig
		cause := err
		if ce, ok := errors.AsType[*pgconn.ConnectError](err); ok {
			cause = ce.Unwrap() // without the user and database said below
		}
		return nil, s.refusal(&scrubbed{
			msg: fmt.Sprintf("PostgreSQL server %s (database %s, user %s): %s", hostPort(c.Host, c.Port), c.Database, c.User, scrub(cause.Error(), dsn)),
			err: err,
		})
	}
	return s, nil
}

func hostPort(host string, port uint16) string {
	if strings.HasPrefix(host, "/") {
		return host // a Unix socket folder
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(int(port))
}

// refusal names the store in an error of opening it, and makes a database
// that does not exist, a login refused or missing rights match
// store.ErrInaccessible.
func (s *Store) refusal(err error) error {
	if _, ok := errors.AsType[*refused](err); ok || errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch {
		case pe.Code == "3D000", strings.HasPrefix(pe.Code, "28"), pe.Code == "42501":
			return fmt.Errorf("store %s: %w", s.where, &refused{msg: err.Error(), kind: store.ErrInaccessible})
		}
	}
	return fmt.Errorf("store %s: %w", s.where, err)
}

// refused is an open refused for a reason the user can act on; it matches
// one of the store's sentinels.
type refused struct {
	msg  string
	kind error
}

func (e *refused) Error() string { return e.msg }
func (e *refused) Unwrap() error { return e.kind }

func refuse(kind error, format string, args ...any) error {
	return &refused{msg: fmt.Sprintf(format, args...), kind: kind}
}

// latestVersion is the newest schema this whatsend knows: the highest
// numbered embedded migration.
func latestVersion() int {
	ms, _ := store.ReadMigrations(migrations, "migrations")
	return store.LatestVersion(ms)
}

// querier is a pool, a connection or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// found is what schemaVersion saw.
type found struct {
	exists  bool // the schema exists
	version int  // whatsend schema version, 0 when none yet
}

// schemaVersion returns the whatsend schema version in the store's
// schema, 0 when it has no table yet. It refuses a schema holding another
// application's tables and one written by a newer whatsend.
func schemaVersion(ctx context.Context, q querier, schema, where string) (found, error) {
	var f found
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, schema).Scan(&f.exists); err != nil || !f.exists {
		return f, err
	}
	rows, err := q.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname`, schema)
	if err != nil {
		return f, err
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return f, err
	}
	hasVersion := slices.Contains(tables, "schema_version")
	tables = slices.DeleteFunc(tables, func(t string) bool { return t == "schema_version" })
	// Another application may have a schema_version table of its own:
	// whatsend's has these two columns, and a campaigns table beside it
	// once migrated.
	v, ours := 0, !hasVersion
	if hasVersion {
		var cols int
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relname = 'schema_version' AND a.attnum > 0 AND NOT a.attisdropped
			AND a.attname IN ('version', 'applied_at')`, schema).Scan(&cols); err != nil {
			return f, err
		}
		if ours = cols == 2; ours {
			if err := q.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+pgx.Identifier{schema, "schema_version"}.Sanitize()).Scan(&v); err != nil {
				return f, err
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
		return f, refuse(store.ErrIncompatible, "%s: schema %s is not a whatsend store: it has tables (%s) but no whatsend schema version; it was left as it is (name another with ?schema=NAME)",
			where, schema, strings.Join(tables, ", "))
	case v > latestVersion():
		return f, refuse(store.ErrIncompatible, "%s: schema %s was written by a newer whatsend (schema %d; this one knows up to %d); use that whatsend or a newer one",
			where, schema, v, latestVersion())
	}
	f.version = v
	return f, nil
}

// migrate creates the schema when needed and applies every embedded
// migration not yet recorded, in one transaction under an advisory lock:
// processes opening the same store at once migrate it once, and a newer
// whatsend's migration is seen under the lock.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := store.ReadMigrations(migrations, "migrations")
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('whatsend.migrate.' || $1::text))`, s.schema); err != nil {
			return err
		}
		f, err := schemaVersion(ctx, tx, s.schema, s.where)
		if err != nil {
			return err
		}
		if f.version == store.LatestVersion(ms) {
			return nil
		}
		if !f.exists {
			if _, err := tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
				return fmt.Errorf("create schema %s: %w", s.schema, err)
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+pgx.Identifier{s.schema, "schema_version"}.Sanitize()+
			` (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SET LOCAL search_path TO `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
			return err
		}
		for _, m := range ms {
			if m.Version <= f.version {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)`, m.Version, ts(time.Now())); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// maxTries bounds the runs of one transaction that meets a deadlock or a
// serialization failure.
const maxTries = 8

// inTx runs fn in one transaction, again when PostgreSQL aborted it for a
// deadlock or a serialization failure: fn must start from scratch on each
// run.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	if s.readOnly {
		return errors.New("store opened read-only")
	}
	for try := 1; ; try++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil || try == maxTries || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(try) * 5 * time.Millisecond):
		}
	}
}

// retryable reports a deadlock or a serialization failure.
func retryable(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (pe.Code == "40P01" || pe.Code == "40001")
}

// exec runs one write statement in its own transaction.
func (s *Store) exec(ctx context.Context, q string, args ...any) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, q, args...)
		return err
	})
}

// query runs a read and calls fn for every row.
func (s *Store) query(ctx context.Context, fn func(pgx.Rows) error, q string, args ...any) error {
	rows, err := s.pool.Query(ctx, q, args...)
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

// each runs a query and calls fn with each row as scan reads it.
func each[T any](ctx context.Context, s *Store, scan func(pgx.Row) (T, error), fn func(T) error, q string, args ...any) error {
	return s.query(ctx, func(rows pgx.Rows) error {
		x, err := scan(rows)
		if err != nil {
			return err
		}
		return fn(x)
	}, q, args...)
}

// jsonList is the stored form of a list (params, codes): a JSON array,
// [] when empty.
func jsonList[T any](xs []T) string {
	if xs == nil {
		xs = []T{}
	}
	b, _ := json.Marshal(xs)
	return string(b)
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

// notFound translates pgx.ErrNoRows at the boundary.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}
