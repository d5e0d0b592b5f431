package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// TestTestToSendsOnlyToTheTestNumbers: --test-to sends the first valid
// row's message once to each test number, prints the message ids and
// exits 0; the campaign's recipients, allowance and reports are untouched:
// a run afterwards sends the whole list within a tier equal to its size.
func TestTestToSendsOnlyToTheTestNumbers(t *testing.T) {
	sim := startSim(t)
	p := newProc(t, sim)
	csv := writeCSV(t, p.dir, 10, 0)
	tests := []string{"+5511988880001", "+5511988880002"}
	if code := p.exec(p.runArgs(csv, "--test-to", "12")...); code != 2 || !regexp.MustCompile(`--test-to "12"`).MatchString(p.stderr.String()) {
		t.Errorf("--test-to 12: exit %d, stderr %q; want 2 naming the number", code, p.stderr.String())
	}
	args := p.runArgs(csv, "--test-to", tests[0]+","+tests[1])
	if code := p.exec(args...); code != 0 {
		t.Fatalf("run --test-to: exit %d, want 0\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}
	out := p.stdout.String()
	for _, n := range tests {
		if !regexp.MustCompile(`test message to \` + n + `: wamid\.\S+`).MatchString(out) {
			t.Errorf("stdout does not give the message id sent to %s:\n%s", n, out)
		}
	}
	var msgs simMessages
	sim.getJSON(t, "/_sim/messages", &msgs)
	var to []string
	for _, m := range msgs.Messages {
		to = append(to, m.To)
		if m.Callback != "" || !slices.Equal(m.Params, []string{"Customer 0", "A-00000"}) {
			t.Errorf("test message %+v: want the first row's values and no callback data", m)
		}
	}
	if slices.Sort(to); !slices.Equal(to, tests) {
		t.Errorf("the simulator accepted messages to %v, want one to each of %v", to, tests)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "reports")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reports after --test-to: %v, want none written", err)
	}
	count := storeCount(t, p)
	if n := count(`SELECT count(*) FROM attempts`); n != 0 {
		t.Errorf("%d attempts stored, want none", n)
	}
	if n := count(`SELECT count(*) FROM recipients WHERE state = 'pending' AND attempts = 0`); n != 10 {
		t.Errorf("%d recipients pending and never attempted, want all 10", n)
	}
	if n := count(`SELECT count(*) FROM campaigns WHERE state NOT IN ('ready')`); n != 0 {
		t.Errorf("%d campaigns not ready after a test send, want none", n)
	}

	// The allowance is whole: a tier of exactly the list's size sends it all.
	if code := p.exec(append(p.runArgs(csv), "--tier", "10", "--warmup-days", "0", "--update")...); code != 0 {
		t.Fatalf("run after the test: exit %d, want 0\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}
	var s simStats
	sim.getJSON(t, "/_sim/stats", &s)
	if s.Accepted != 12 {
		t.Errorf("the simulator accepted %d messages, want 2 tests and 10 recipients", s.Accepted)
	}
	if n := count(`SELECT count(*) FROM recipients WHERE state = 'sent'`); n != 10 {
		t.Errorf("%d recipients sent, want 10", n)
	}
}
