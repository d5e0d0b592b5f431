package main

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
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

	db, err := sql.Open("sqlite", "file:"+filepath.Join(p.dir, "whatsend.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string) int {
		var n int
		if err := db.QueryRow(q).Scan(&n); err != nil {
			return -1
		}
		return n
	}

	cmd := p.command(p.runArgs(csv, "--tier", "10")...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Kill once some rows are committed but the import is not finished.
	waitFor(t, "a partly committed import", time.Minute, func() bool {
		return count(`SELECT count(*) FROM recipients`) > 0 &&
			count(`SELECT count(*) FROM campaigns WHERE state = 'importing'`) == 1
	})
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
