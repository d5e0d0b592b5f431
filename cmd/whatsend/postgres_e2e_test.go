package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/whatsend/whatsend/store/postgres/pgtest"
)

// TestPostgresRunStatusReport: run --simulate, status and report against
// one PostgreSQL DSN (WHATSEND_DB, then --db) share the campaign, and no
// SQLite file is made.
func TestPostgresRunStatusReport(t *testing.T) {
	dsn := pgtest.DSN(t)
	p := newProc(t, nil)
	p.extra = []string{"WHATSEND_DB=" + dsn}
	csv, err := filepath.Abs("../../testdata/campaign.csv")
	if err != nil {
		t.Fatal(err)
	}
	if code := p.exec("run", csv, "--template", "order_update", "--lang", "en_US", "--params", "name,order_id",
		"--simulate", "--name", "rehearsal", "--tier", "10000", "--warmup-start", "2020-01-01"); code != 0 {
		t.Fatalf("run exited %d\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}
	if out := p.stdout.String(); !strings.Contains(out, "192 sent") || !strings.Contains(out, "0 remaining") {
		t.Errorf("run summary:\n%s", out)
	}
	p.extra = nil
	if code := p.exec("--db", dsn, "status", "rehearsal"); code != 0 {
		t.Fatalf("status exited %d: %s", code, p.stderr.String())
	}
	if out := p.stdout.String(); !strings.Contains(out, "192 sent") {
		t.Errorf("status:\n%s", out)
	}
	if code := p.exec("--db", dsn, "report", "rehearsal", "--format", "json"); code != 0 {
		t.Fatalf("report exited %d: %s", code, p.stderr.String())
	}
	var rep struct {
		Campaign   string `json:"campaign"`
		Recipients int    `json:"recipients"`
		Sent       int    `json:"sent"`
		Delivered  int    `json:"delivered"`
	}
	if err := json.Unmarshal(p.stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, p.stdout.String())
	}
	if rep.Campaign != "rehearsal" || rep.Sent != 192 || rep.Delivered == 0 {
		t.Errorf("report = %+v, want campaign rehearsal, 192 sent, some delivered", rep)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "whatsend.db")); err == nil {
		t.Error("a SQLite store was made beside the PostgreSQL one")
	}
	conn, err := pgx.Connect(t.Context(), pgtest.Server(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("schema")
	var sent int
	if err := conn.QueryRow(t.Context(), `SELECT COUNT(*) FROM `+pgx.Identifier{schema, "recipients"}.Sanitize()+
		` WHERE state = 'sent'`).Scan(&sent); err != nil {
		t.Fatal(err)
	}
	if sent != 192 {
		t.Errorf("%d recipients sent in schema %s, want 192", sent, schema)
	}
}

// TestStoreDSNErrors: a malformed DSN is refused with exit 2, a server
// that does not answer fails with exit 1 naming its host; no message shows
// the DSN's password. No PostgreSQL server is needed.
func TestStoreDSNErrors(t *testing.T) {
	p := newProc(t, nil)
	const secret = "s3cr3t-pw"
	cases := []struct {
		dsn  string
		code int
		want string
	}{
		{"postgres://app:" + secret + "@db.example:notaport/whatsend", 2, "db.example:notaport"},
		{"postgres://app:" + secret + "@127.0.0.1:5432/whatsend?schema=Bad-Name", 2, `schema "Bad-Name"`},
		{"mysql://app:" + secret + "@127.0.0.1/whatsend", 2, `unknown scheme "mysql"`},
		{"postgres://app:" + secret + "@127.0.0.1:1/whatsend?sslmode=disable&connect_timeout=5", 1, "127.0.0.1:1"},
	}
	for _, c := range cases {
		for _, args := range [][]string{{"status"}, {"report"}} {
			code := p.exec(append([]string{"--db", c.dsn}, args...)...)
			out := p.stdout.String() + p.stderr.String()
			if code != c.code {
				t.Errorf("%s %v exited %d, want %d\n%s", c.dsn, args, code, c.code, out)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("%s %v: output does not say %q:\n%s", c.dsn, args, c.want, out)
			}
			if strings.Contains(out, secret) {
				t.Errorf("%s %v: output shows the password:\n%s", c.dsn, args, out)
			}
		}
	}
}

// TestSQLiteDSN: --db sqlite://PATH is the SQLite file at PATH.
func TestSQLiteDSN(t *testing.T) {
	p := newProc(t, nil)
	path := filepath.Join(p.dir, "sub.db")
	csv := writeCSV(t, p.dir, 3, 0)
	if code := p.exec("--db", "sqlite://"+path, "run", csv, "--template", "order_update", "--lang", "en_US",
		"--params", "name,order_id", "--simulate", "--dry-run"); code != 0 {
		t.Fatalf("run exited %d: %s", code, p.stderr.String())
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("sqlite://%s: %v", path, err)
	}
	if code := p.exec("--db", "sqlite://"+path, "report", "--format", "json"); code != 0 {
		t.Errorf("report exited %d: %s", code, p.stderr.String())
	}
}
