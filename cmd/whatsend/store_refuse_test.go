package main

import (
	"bytes"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whatsend/whatsend/store/sqlite"
)

// TestRefusesStoresItCannotUse: a store from a newer whatsend, another
// application's SQLite database and a file that is not SQLite are refused
// with exit 2 by every command that opens the store, and not written.
func TestRefusesStoresItCannotUse(t *testing.T) {
	p := newProc(t, nil)
	csv := writeCSV(t, p.dir, 3, 0)
	files := map[string]struct {
		path string
		want string
	}{
		"newer":   {filepath.Join(p.dir, "newer.db"), "this store was written by a newer whatsend (schema 999; this one knows up to"},
		"foreign": {filepath.Join(p.dir, "notes.db"), "is not a whatsend store"},
		"not SQL": {filepath.Join(p.dir, "token.txt"), "is not a SQLite database"},
	}
	st, err := sqlite.Open(t.Context(), files["newer"].path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for path, q := range map[string]string{
		files["newer"].path:   `INSERT INTO schema_version (version, applied_at) VALUES (999, 0)`,
		files["foreign"].path: `CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('keep')`,
	} {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
		db.Close()
	}
	if err := os.WriteFile(files["not SQL"].path, []byte("EAAG-not-a-database\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	commands := [][]string{
		{"status"},
		{"report"},
		{"resume", "--all"},
		{"run", csv, "--template", "order_update", "--lang", "en_US", "--params", "name,order_id", "--simulate"},
	}
	for name, f := range files {
		for _, args := range commands {
			before, err := os.ReadFile(f.path)
			if err != nil {
				t.Fatal(err)
			}
			code := p.exec(append([]string{"--db", f.path}, args...)...)
			if code != 2 {
				t.Errorf("%s on the %s file exited %d, want 2\nstderr: %s", args[0], name, code, p.stderr.String())
			}
			if msg := p.stderr.String(); !strings.Contains(msg, f.want) || !strings.Contains(msg, f.path) {
				t.Errorf("%s on the %s file said %q, want it to name %s and say %q", args[0], name, msg, f.path, f.want)
			}
			if strings.Contains(p.stderr.String(), "EAAG") {
				t.Errorf("%s quoted the file's content: %q", args[0], p.stderr.String())
			}
			after, err := os.ReadFile(f.path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("%s changed the %s file", args[0], name)
			}
		}
	}
}
