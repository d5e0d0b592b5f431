package main

import (
	"database/sql"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// A run killed with SIGKILL in the middle of its import leaves a campaign in
// state importing that no command sends from, and the next run replaces it
// with a complete import.
func TestKilledImportIsReplaced(t *testing.T) {
	sim := startSim(t, "--latency", "0")
	p := newProc(t, sim)
	const rows = 150000
	csv := writeCSV(t, p.dir, rows, 0)

	count := storeCount(t, p)
	cmd, exited, _ := startHalfImport(t, p, csv, count)
	_ = cmd.Process.Kill()
	<-exited
	partial := count(`SELECT count(*) FROM recipients`)
	if partial <= 0 || partial >= rows {
		t.Fatalf("killed with %d of %d rows imported; the test wants a half import", partial, rows)
	}

	// Nothing sends from the half import.
	if code := p.exec("resume", "--all"); code != 0 {
		t.Fatalf("resume --all with only a half import exited %d, want 0\n%s%s", code, &p.stdout, &p.stderr)
	}
	if st := countAccepted(t, sim); st != 0 {
		t.Fatalf("the simulator accepted %d messages from a half import", st)
	}

	// The next run replaces it with the whole list.
	if code := p.exec(p.runArgs(csv, "--tier", "10")...); code != exitMoreWork {
		t.Fatalf("second run exited %d, want 10\n%s%s", code, &p.stdout, &p.stderr)
	}
	if !strings.Contains(p.stderr.String(), fmt.Sprintf("%d rows, %d valid", rows, rows)) {
		t.Errorf("second run did not import the whole list again:\n%s", &p.stderr)
	}
	if n := count(`SELECT count(*) FROM campaigns`); n != 1 {
		t.Errorf("%d campaigns after the re-import, want 1", n)
	}
	if n := count(`SELECT count(*) FROM recipients`); n != rows {
		t.Errorf("%d recipients after the re-import, want %d", n, rows)
	}
	if n := count(`SELECT count(*) FROM campaigns WHERE state = 'importing'`); n != 0 {
		t.Errorf("%d campaigns still importing", n)
	}
}

func countAccepted(t *testing.T, sim *simProc) int {
	t.Helper()
	var st simStats
	sim.getJSON(t, "/_sim/stats", &st)
	return st.Accepted
}

// run refuses a FIFO and a device at once (exit 2, naming the file), as
// validate does, instead of blocking or reading for ever.
func TestRunRefusesNonRegularFiles(t *testing.T) {
	sim := startSim(t, "--latency", "0")
	p := newProc(t, sim)
	fifo := filepath.Join(p.dir, "pipe.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{fifo, "/dev/zero"} {
		for _, cmd := range [][]string{p.runArgs(file), {"validate", file, "--params", "name,order_id"}} {
			start := time.Now()
			if code := p.exec(cmd...); code != exitUsage {
				t.Errorf("%s exited %d, want 2\n%s", strings.Join(cmd[:2], " "), code, &p.stderr)
			}
			if !strings.Contains(p.stderr.String(), file+": not a regular file") {
				t.Errorf("%s: stderr does not say %s is not a regular file:\n%s", cmd[0], file, &p.stderr)
			}
			if d := time.Since(start); d > 30*time.Second {
				t.Errorf("%s %s took %v", cmd[0], file, d)
			}
		}
	}
}

// SIGTERM in the middle of an import stops it (exit 143) and leaves no
// campaign behind.
func TestSigtermDuringImport(t *testing.T) {
	sim := startSim(t, "--latency", "0")
	p := newProc(t, sim)
	csv := writeCSV(t, p.dir, 150000, 0)
	count := storeCount(t, p)
	cmd, exited, out := startHalfImport(t, p, csv, count)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if code := exitCodeOf(err); code != 143 {
			t.Errorf("exit %d after SIGTERM during the import, want 143\n%s", code, out.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatal("run did not stop within 30 s of SIGTERM during its import")
	}
	if n := count(`SELECT count(*) FROM campaigns`); n != 0 {
		t.Errorf("%d campaigns after an interrupted import, want 0", n)
	}
	if n := countAccepted(t, sim); n != 0 {
		t.Errorf("%d messages sent by an interrupted import", n)
	}
}

// storeCount returns a function that counts with a query on the store of a
// proc, read-only; -1 when the query fails (e.g. no store yet).
func storeCount(t *testing.T, p *proc) func(q string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(p.dir, "whatsend.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return func(q string) int {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			return -1
		}
		return n
	}
}

// startHalfImport starts a run of csv and returns once part of its import
// is committed and the campaign is still importing.
func startHalfImport(t *testing.T, p *proc, csv string, count func(string) int) (*exec.Cmd, <-chan error, *syncBuffer) {
	t.Helper()
	cmd := p.command(p.runArgs(csv, "--tier", "10")...)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	waitFor(t, "a partly committed import", time.Minute, func() bool {
		return count(`SELECT count(*) FROM recipients`) > 0 &&
			count(`SELECT count(*) FROM campaigns WHERE state = 'importing'`) == 1
	})
	return cmd, exited, out
}
