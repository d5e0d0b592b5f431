package postgres_test

import (
	"errors"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/postgres"
	"github.com/whatsend/whatsend/store/postgres/pgtest"
)

// admin connects to the test server outside any store, and returns the
// fresh schema a test DSN names.
func admin(t *testing.T, dsn string) (*pgx.Conn, string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), pgtest.Server(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(t.Context()) })
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return conn, u.Query().Get("schema")
}

// created makes a store in a fresh schema and closes it.
func created(t *testing.T) (string, *pgx.Conn, string) {
	t.Helper()
	dsn := pgtest.DSN(t)
	st, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	conn, schema := admin(t, dsn)
	return dsn, conn, schema
}

func execAll(t *testing.T, conn *pgx.Conn, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := conn.Exec(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// tables lists the tables of a schema.
func tables(t *testing.T, conn *pgx.Conn, schema string) []string {
	t.Helper()
	rows, err := conn.Query(t.Context(), `SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestRefusesForeignSchema: a schema holding another application's tables,
// or a schema_version table that is not whatsend's, is refused by Open and
// OpenReadOnly, and left as it was.
func TestRefusesForeignSchema(t *testing.T) {
	for name, setup := range map[string]string{
		"other tables":         `CREATE TABLE notes (id INT PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'keep')`,
		"other schema_version": `CREATE TABLE schema_version (id INT PRIMARY KEY, note TEXT)`,
	} {
		t.Run(name, func(t *testing.T) {
			dsn := pgtest.DSN(t)
			conn, schema := admin(t, dsn)
			execAll(t, conn, `CREATE SCHEMA `+schema, `SET search_path TO `+schema, setup)
			before := tables(t, conn, schema)
			for _, open := range []func() error{
				func() error { _, err := postgres.Open(t.Context(), dsn); return err },
				func() error { _, err := postgres.OpenReadOnly(t.Context(), dsn); return err },
			} {
				err := open()
				if !errors.Is(err, store.ErrIncompatible) || !strings.Contains(err.Error(), "is not a whatsend store") {
					t.Errorf("open = %v, want ErrIncompatible: not a whatsend store", err)
				}
			}
			if after := tables(t, conn, schema); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("tables %v became %v", before, after)
			}
		})
	}
}

// TestRefusesNewerSchema: a store migrated by a newer whatsend is refused
// by Open and OpenReadOnly.
func TestRefusesNewerSchema(t *testing.T) {
	dsn, conn, schema := created(t)
	execAll(t, conn, `INSERT INTO `+schema+`.schema_version (version, applied_at) VALUES (999, 0)`)
	if _, err := postgres.Open(t.Context(), dsn); !errors.Is(err, store.ErrIncompatible) || !strings.Contains(err.Error(), "newer whatsend (schema 999") {
		t.Errorf("Open = %v, want ErrIncompatible: newer whatsend", err)
	}
	if _, err := postgres.OpenReadOnly(t.Context(), dsn); !errors.Is(err, store.ErrIncompatible) {
		t.Errorf("OpenReadOnly = %v, want ErrIncompatible", err)
	}
}

// TestReopenAndReadOnly: opening again applies no migration twice; a
// read-only store reads and refuses writes; a read-only open of a schema
// with no store yet matches fs.ErrNotExist and creates nothing.
func TestReopenAndReadOnly(t *testing.T) {
	dsn := pgtest.DSN(t)
	conn, schema := admin(t, dsn)
	if _, err := postgres.OpenReadOnly(t.Context(), dsn); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenReadOnly of an empty schema = %v, want fs.ErrNotExist", err)
	}
	if got := tables(t, conn, schema); len(got) != 0 {
		t.Errorf("read-only open created %v", got)
	}
	for range 2 {
		st, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateCampaign(t.Context(), store.Campaign{Name: "c" + time.Now().Format("150405.000000000"), CSVHash: "h", Template: "t", Language: "en"}); err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	var versions, latest int
	if err := conn.QueryRow(t.Context(), `SELECT COUNT(*), MAX(version) FROM `+schema+`.schema_version`).Scan(&versions, &latest); err != nil {
		t.Fatal(err)
	}
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	if versions != len(files) || latest < 2 {
		t.Errorf("%d schema_version rows up to version %d after two opens, want one per migration (%d)", versions, latest, len(files))
	}
	ro, err := postgres.OpenReadOnly(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if cs, err := ro.Campaigns(t.Context()); err != nil || len(cs) != 2 {
		t.Errorf("read-only Campaigns = %d, %v; want 2", len(cs), err)
	}
	if _, err := ro.CreateCampaign(t.Context(), store.Campaign{Name: "x"}); err == nil {
		t.Error("read-only store accepted a write")
	}
}

// TestConcurrentOpen: processes opening one new store at once create and
// migrate it once, and all of them can use it.
func TestConcurrentOpen(t *testing.T) {
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := range 4 {
		wg.Go(func() {
			st, err := postgres.Open(t.Context(), dsn)
			if err != nil {
				errs <- err
				return
			}
			defer st.Close()
			errs <- st.AddOptOut(t.Context(), "+1"+string(rune('0'+i)), "manual", time.Unix(0, 0))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent open: %v", err)
		}
	}
}

// TestTwoStoresShareLeases: two stores on one database (two processes or
// hosts) see one lease, and their writes all land.
func TestTwoStoresShareLeases(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	p := store.LeasePolicy{Host: "h1", StaleAfter: time.Minute, Alive: func(int) bool { return true }}
	if err := a.AcquireLease(t.Context(), store.Lease{Key: "campaign:1", Owner: "a", PID: 1, Host: "h1", Heartbeat: now}, p); err != nil {
		t.Fatal(err)
	}
	err = b.AcquireLease(t.Context(), store.Lease{Key: "campaign:1", Owner: "b", PID: 2, Host: "h2", Heartbeat: now.Add(time.Second)}, p)
	if held, ok := errors.AsType[*store.LeaseHeldError](err); !ok || held.Holder.Owner != "a" {
		t.Fatalf("second store's AcquireLease = %v, want held by a", err)
	}
	// Both race for a stale lease: exactly one wins.
	later := now.Add(2 * time.Minute)
	results := make(chan error, 2)
	for _, st := range []*postgres.Store{a, b} {
		go func() {
			results <- st.AcquireLease(t.Context(), store.Lease{Key: "campaign:1", Owner: "x" + time.Now().String(), PID: 3, Host: "h3", Heartbeat: later}, p)
		}()
	}
	won := 0
	for range 2 {
		if err := <-results; err == nil {
			won++
		} else if _, ok := errors.AsType[*store.LeaseHeldError](err); !ok {
			t.Errorf("AcquireLease: %v", err)
		}
	}
	if won != 1 {
		t.Errorf("%d stores took the stale lease, want 1", won)
	}
}

// TestDSNErrors: a malformed DSN is refused as such, a server that does
// not answer is named by host and port; neither message shows the
// password. No server is needed.
func TestDSNErrors(t *testing.T) {
	const secret = "s3cr3t-pw"
	for _, dsn := range []string{
		"postgres://u:" + secret + "@h:notaport/db",
		"postgres://u:" + secret + "@127.0.0.1/db?schema=No-Good",
		"postgres://u:" + secret + "@127.0.0.1/db?sslmode=sometimes",
	} {
		_, err := postgres.Open(t.Context(), dsn)
		if !errors.Is(err, store.ErrBadDSN) || strings.Contains(err.Error(), secret) {
			t.Errorf("Open(%s) = %v, want ErrBadDSN without the password", store.Redact(dsn), err)
		}
	}
	_, err := postgres.Open(t.Context(), "postgres://u:"+secret+"@127.0.0.1:1/db?sslmode=disable&connect_timeout=5")
	switch {
	case err == nil, errors.Is(err, store.ErrBadDSN), errors.Is(err, store.ErrInaccessible):
		t.Errorf("server down: %v, want a plain error", err)
	case !strings.Contains(err.Error(), "127.0.0.1:1"), strings.Contains(err.Error(), secret):
		t.Errorf("server down: %q, want the host named and no password", err)
	}
}

// TestMigratesOlderStore: a store at schema 1 (before max_deferrals) is
// migrated on open, its campaigns keep the default cap.
func TestMigratesOlderStore(t *testing.T) {
	dsn, conn, schema := created(t)
	execAll(t, conn, `SET search_path TO `+schema,
		`DELETE FROM schema_version WHERE version > 1`,
		`ALTER TABLE campaigns DROP COLUMN max_deferrals`,
		`ALTER TABLE recipients DROP COLUMN resent_after_silence`, `DROP TABLE status_seen`, `DROP INDEX attempts_recipient`,
		`ALTER TABLE skipped DROP COLUMN params`, `ALTER TABLE recipients DROP COLUMN components`, `ALTER TABLE leases DROP COLUMN expiry_ms`,
		`DROP TABLE number_pauses`, `DROP TABLE allowance_reservations`, `DROP INDEX recipients_number_due`, `ALTER TABLE recipients DROP COLUMN phone_number_id`,
		`DROP INDEX attempts_to_phone`, `CREATE INDEX attempts_to ON attempts (to_phone, state)`,
		`INSERT INTO campaigns (name, csv_hash, template, language, state, created_at, updated_at) VALUES ('old', 'h', 't', 'en', 'ready', 1, 1)`)
	st, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("open a schema-1 store: %v", err)
	}
	defer st.Close()
	c, err := st.CampaignByName(t.Context(), "old")
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxDeferrals != store.DefaultMaxDeferrals {
		t.Errorf("migrated campaign MaxDeferrals = %d, want %d", c.MaxDeferrals, store.DefaultMaxDeferrals)
	}
}
