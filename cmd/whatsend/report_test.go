package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// reportStore creates a store holding one ready campaign, "spring", of 3
// recipients and one row skipped at import, and returns its path.
func reportStore(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "whatsend.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, _ := json.Marshal(campaign.Settings{Template: "order_update", Language: "en_US", Params: []string{"name"}, PhoneNumberID: "123", Tier: "1000"})
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "spring", CSVHash: "h", Template: "order_update", Language: "en_US",
		Params: []string{"name"}, PhoneNumberID: "123", Scope: "phone:123", Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	rs := []store.Recipient{
		{Line: 2, Phone: "+5511987654321", Params: []string{"Ana"}},
		{Line: 3, Phone: "+5511987654322", Params: []string{"=1+1"}},
		{Line: 5, Phone: "+5511987654323", Params: []string{"Caio"}},
	}
	skipped := []store.SkippedRow{{Line: 4, Reason: "invalid_number", Detail: "phone: not a phone number", Raw: "abc"}}
	if _, err := st.ImportBatch(ctx, id, rs, skipped); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishImport(ctx, id, 4); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCLI runs whatsend in-process as main does and returns the exit code
// and the output streams.
func runCLI(t *testing.T, db string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := map[string]string{"WHATSEND_DB": db, "WHATSEND_NOW": "2026-03-02T09:00:00Z"}
	a := newApp(strings.NewReader(""), &out, &errOut, func(k string) string { return env[k] })
	root := newRootCmd(a)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if err != nil && !a.ran {
		if _, ok := errors.AsType[*usageError](err); !ok {
			err = &usageError{err}
		}
	}
	return a.finish(err), out.String(), errOut.String()
}

func TestReportCommand(t *testing.T) {
	db := reportStore(t)
	for _, c := range []struct {
		args       []string
		code       int
		out, err   string // substrings expected
		csvRows    int    // data rows expected in a CSV answer (-1: not CSV)
		jsonObject bool
	}{
		{args: []string{"report"}, out: "campaign spring (id 1): ready", csvRows: -1},
		{args: []string{"report", "spring"}, out: "recipients  4", csvRows: -1},
		{args: []string{"report", "1", "--format", "json"}, out: `"recipients": 4`, csvRows: -1, jsonObject: true},
		{args: []string{"report", "--format", "csv"}, out: "line,phone,name,state", csvRows: 4},
		{args: []string{"report", "--format", "csv", "--only", "skipped"}, out: "4,abc,,skipped,invalid_number", csvRows: 1},
		{args: []string{"report", "--format", "csv", "--only", "remaining"}, out: "3,+5511987654322,'=1+1,pending", csvRows: 3},
		{args: []string{"report", "--format", "csv", "--only", "sent"}, csvRows: 0},
		{args: []string{"report", "--format", "csv", "--mask"}, out: "2,+55*********21,Ana,pending", csvRows: 4},
		{args: []string{"report", "--format", "html"}, out: "<!doctype html>", csvRows: -1},
		{args: []string{"report", "--format", "xml"}, code: exitUsage, err: "--format", csvRows: -1},
		{args: []string{"report", "--only", "failed"}, code: exitUsage, err: "add --format csv", csvRows: -1},
		{args: []string{"report", "--format", "csv", "--only", "gone"}, code: exitUsage, err: `unknown state "gone"`, csvRows: -1},
		{args: []string{"report", "autumn"}, code: exitUsage, err: `no campaign "autumn"`, csvRows: -1},
		{args: []string{"report", "7"}, code: exitUsage, err: `no campaign "7"`, csvRows: -1},
		{args: []string{"report", "1", "2"}, code: exitUsage, err: "accepts at most 1 arg", csvRows: -1},
	} {
		name := strings.Join(c.args, " ")
		code, out, errOut := runCLI(t, db, c.args...)
		if code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s%s", name, code, c.code, out, errOut)
			continue
		}
		if !strings.Contains(out, c.out) || !strings.Contains(errOut, c.err) {
			t.Errorf("%s: stdout %q, stderr %q; want %q and %q in them", name, out, errOut, c.out, c.err)
		}
		if c.code != 0 && out != "" {
			t.Errorf("%s: failed but wrote %q on stdout", name, out)
		}
		if c.csvRows >= 0 {
			recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil || len(recs)-1 != c.csvRows {
				t.Errorf("%s: %d CSV rows (%v), want %d", name, len(recs)-1, err, c.csvRows)
			}
		}
		if c.jsonObject {
			var m map[string]any
			if err := json.Unmarshal([]byte(out), &m); err != nil {
				t.Errorf("%s: not one JSON object: %v", name, err)
			}
		}
	}
}

func TestReportNoStore(t *testing.T) {
	db := filepath.Join(t.TempDir(), "none.db")
	code, _, errOut := runCLI(t, db, "report")
	if code != exitUsage || !strings.Contains(errOut, "no store at") {
		t.Errorf("exit %d, stderr %q; want 2 and 'no store at'", code, errOut)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("report created a store")
	}
}

// -o writes the file through a rename (mode 0600, nothing on stdout); a
// failed write leaves nothing behind.
func TestReportOutputFile(t *testing.T) {
	db := reportStore(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "r.csv")
	code, stdout, errOut := runCLI(t, db, "report", "--format", "csv", "-o", out)
	if code != 0 || stdout != "" || !strings.Contains(errOut, "report written to "+out) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, errOut)
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, %v; want mode 0600", out, fi, err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("%d files beside the report, want none (no temporary file left)", len(es)-1)
	}
	missing := filepath.Join(dir, "no", "such", "r.csv")
	if code, _, errOut := runCLI(t, db, "report", "-o", missing); code != exitUsage || !strings.Contains(errOut, filepath.Dir(missing)) {
		t.Errorf("-o into a missing directory: exit %d (%s), want 2 naming the folder", code, errOut)
	}
}

// A report reads while another process holds the store's write lock (a run
// in progress between BEGIN and COMMIT): it neither fails nor waits for it.
func TestReportWhileWriteLockHeld(t *testing.T) {
	db := reportStore(t)
	ctx := context.Background()
	w, err := sql.Open("sqlite", "file:"+db+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	conn, err := w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "UPDATE recipients SET state = 'in_flight' WHERE line = 2"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "ROLLBACK")

	for _, format := range []string{"text", "csv", "json", "html"} {
		code, out, errOut := runCLI(t, db, "report", "--format", format)
		if code != 0 {
			t.Errorf("--format %s while a writer holds the lock: exit %d\n%s", format, code, errOut)
			continue
		}
		// The report sees the last committed state, not the open transaction.
		if format == "text" && (!strings.Contains(out, "pending 3, retry 0, deferred 0") || strings.Contains(out, "in flight")) {
			t.Errorf("the report saw an uncommitted write:\n%s", out)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, db, "report")
	if code != 0 || !strings.Contains(out, "pending 2, retry 0, deferred 0") || !regexp.MustCompile(`in flight +1 `).MatchString(out) {
		t.Errorf("after the commit: exit %d\n%s", code, out)
	}
}
