package sqlite_test

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// newerStore writes a whatsend store that claims schema 999 and returns its
// path.
func newerStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "newer.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	execSQL(t, path, `INSERT INTO schema_version (version, applied_at) VALUES (999, 0)`)
	return path
}

// execSQL runs q on the database at path through a plain connection.
func execSQL(t *testing.T, path, q string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
}

// foreignDB writes another application's SQLite database (rollback
// journal, one table) and returns its path.
func foreignDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notes.db")
	execSQL(t, path, `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep me')`)
	return path
}

// foreignVersioned writes another application's database that keeps its
// own schema_version table.
func foreignVersioned(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app.db")
	execSQL(t, path, `CREATE TABLE schema_version (version INTEGER); INSERT INTO schema_version VALUES (20240101);
		CREATE TABLE users (id INTEGER PRIMARY KEY)`)
	return path
}

func notSQLite(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "campaign.csv")
	if err := os.WriteFile(path, []byte("name,phone\nAna,+5511987654321\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenRefusesWhatIsNotItsStore(t *testing.T) {
	cases := []struct {
		name string
		make func(*testing.T) string
		want string // in the error
	}{
		{"newer schema", newerStore, "this store was written by a newer whatsend (schema 999; this one knows up to "},
		{"another application's database", foreignDB, "not a whatsend store"},
		{"another application's versioned database", foreignVersioned, "not a whatsend store"},
		{"not SQLite", notSQLite, "not a SQLite database"},
	}
	opens := []struct {
		name string
		open func(*testing.T, string) (*sqlite.Store, error)
	}{
		{"Open", func(t *testing.T, p string) (*sqlite.Store, error) { return sqlite.Open(t.Context(), p) }},
		{"OpenReadOnly", func(t *testing.T, p string) (*sqlite.Store, error) { return sqlite.OpenReadOnly(t.Context(), p) }},
	}
	for _, c := range cases {
		for _, o := range opens {
			t.Run(c.name+"/"+o.name, func(t *testing.T) {
				path := c.make(t)
				before, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				st, err := o.open(t, path)
				if err == nil {
					st.Close()
				}
				if !errors.Is(err, store.ErrIncompatible) {
					t.Errorf("%s(%s) = %v, want an error matching store.ErrIncompatible", o.name, c.name, err)
				} else {
					if !strings.Contains(err.Error(), c.want) {
						t.Errorf("error %q does not say %q", err, c.want)
					}
					if !strings.Contains(err.Error(), path) {
						t.Errorf("error %q does not name the file %s", err, path)
					}
				}
				after, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(before, after) {
					t.Errorf("%s changed the file (%d bytes before, %d after)", o.name, len(before), len(after))
				}
				for _, side := range []string{"-wal", "-journal"} {
					if fi, err := os.Stat(path + side); err == nil && fi.Size() > 0 {
						t.Errorf("%s left %s%s with %d bytes", o.name, path, side, fi.Size())
					}
				}
			})
		}
	}
}

// An empty file (what a first Open creates before migrating) is a store
// being made, not another application's database.
func TestOpenMigratesAnEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(empty file) = %v", err)
	}
	defer st.Close()
	if _, err := st.Campaigns(t.Context()); err != nil {
		t.Errorf("Campaigns after migrating an empty file: %v", err)
	}
}

// A store written by schema 1 (leases without a start time) is migrated:
// its leases read back with Started 0, unknown.
func TestMigratesSchema1Leases(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	v1, err := os.ReadFile("migrations/001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	execSQL(t, path, `PRAGMA journal_mode=WAL;
		CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
		INSERT INTO schema_version VALUES (1, 1);`+string(v1)+`
		INSERT INTO leases (key, owner, pid, host, heartbeat) VALUES ('campaign:1', 'old', 42, 'h1', 1)`)
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open a schema 1 store: %v", err)
	}
	defer st.Close()
	l, err := st.Lease(t.Context(), "campaign:1")
	if err != nil || l.PID != 42 || l.Started != 0 {
		t.Errorf("lease after migration = %+v, %v; want pid 42, start time 0", l, err)
	}
}

// A store of schema 13 (a unique (campaign, phone) index on recipients)
// is migrated to schema 14: its recipients keep their ids and columns,
// campaign_numbers holds each campaign's numbers with their lines, and no
// unique index is left on recipients.
func TestMigratesSchema13Recipients(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v13.db")
	files, err := filepath.Glob("migrations/0*.sql")
	if err != nil {
		t.Fatal(err)
	}
	q := `PRAGMA journal_mode=WAL; CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);`
	for _, f := range files {
		var v int
		if _, err := fmt.Sscanf(filepath.Base(f), "%03d_", &v); err != nil || v > 13 {
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		q += string(body) + fmt.Sprintf(";\nINSERT INTO schema_version VALUES (%d, 1);\n", v)
	}
	execSQL(t, path, q+`
		INSERT INTO campaigns (id, name, csv_hash, template, language, state, created_at, updated_at) VALUES (7, 'old', 'h', 't', 'en', 'ready', 1, 1);
		INSERT INTO recipients (id, campaign_id, line, phone, params, state, attempts, wamid, phone_number_id, components)
			VALUES (40, 7, 2, '+5511900000002', '["Ana"]', 'sent', 1, 'wamid.A', 'pn1', '{"lang":"pt_BR"}'),
			       (41, 7, 3, '+5511900000001', '["Bia"]', 'pending', 0, '', '', '');`)
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open a schema 13 store: %v", err)
	}
	defer st.Close()
	var got []string
	if err := st.Recipients(t.Context(), 7, func(r store.Recipient) error {
		got = append(got, fmt.Sprintf("%d %d %s %v %s %s %s", r.ID, r.Line, r.Phone, r.Params, r.State, r.WAMID, r.Components))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{`40 2 +5511900000002 [Ana] sent wamid.A {"lang":"pt_BR"}`, `41 3 +5511900000001 [Bia] pending  `}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("recipients after migration = %q, want %q", got, want)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var numbers, unique int
	if err := db.QueryRow(`SELECT (SELECT COUNT(*) FROM campaign_numbers WHERE campaign_id = 7 AND ((phone = '+5511900000002' AND line = 2) OR (phone = '+5511900000001' AND line = 3))),
		(SELECT COUNT(*) FROM pragma_index_list('recipients') WHERE "unique")`).Scan(&numbers, &unique); err != nil {
		t.Fatal(err)
	}
	if numbers != 2 || unique != 0 {
		t.Errorf("campaign_numbers holds %d of the 2 numbers; %d unique indexes left on recipients, want 0", numbers, unique)
	}
}

// Two opens of one new store at once (two processes starting together)
// both succeed: neither takes the other's half-made store for another
// application's database, nor fails on the switch to WAL.
func TestConcurrentOpenOfANewStore(t *testing.T) {
	for i := range 40 {
		path := filepath.Join(t.TempDir(), fmt.Sprintf("new%d.db", i))
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				st, err := sqlite.Open(t.Context(), path)
				if err == nil {
					err = st.Close()
				}
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("open %d: %v", i, err)
			}
		}
	}
}
