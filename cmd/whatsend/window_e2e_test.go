package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// TestWindowForecastMatchesCronE2E: `run --dry-run --format json` of a
// campaign with a send window forecasts, day by day over a week, exactly
// what an every-two-hours cron of `resume --all` then sends, with the clock
// moved by WHATSEND_NOW from Saturday 11:00 UTC. The windows of São Paulo,
// Lisbon and Jakarta open on even UTC hours, when cron runs; the forecast's
// days start at the odd hour of the dry run, so no opening sits on a day's
// edge (the few milliseconds a process takes to start would decide it).
func TestWindowForecastMatchesCronE2E(t *testing.T) {
	p := newProc(t, nil)
	var b strings.Builder
	b.WriteString("name,phone,order_id\n")
	for i := range 4 {
		fmt.Fprintf(&b, "SP %d,+55119%08d,A-%d\nPT %d,+3519123456%02d,B-%d\nID %d,+6281234567%03d,C-%d\n", i, 20000000+i, i, i, i, i, i, i, i)
	}
	csv := filepath.Join(p.dir, "zones.csv")
	if err := os.WriteFile(csv, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 12, 5, 11, 0, 0, 0, time.UTC) // a Saturday
	at := func(d time.Duration) {
		p.extra = []string{"WHATSEND_NOW=" + start.Add(d).Format(time.RFC3339), "TZ=UTC"}
	}
	at(0)
	args := []string{"run", csv, "--name", "zones", "--template", "order_update", "--lang", "en_US", "--params", "name,order_id",
		"--simulate", "--tier", "unlimited", "--window", "09:00-20:00", "--days", "mon-fri"}
	if code := p.exec(append(args, "--dry-run", "--format", "json")...); code != 0 {
		t.Fatalf("dry run exited %d: %s", code, p.stderr.String())
	}
	var f struct {
		Days []struct {
			Recipients int `json:"recipients"`
		} `json:"days"`
		NextOpen time.Time `json:"next_open"`
	}
	if err := json.Unmarshal(p.stdout.Bytes(), &f); err != nil {
		t.Fatalf("dry-run JSON: %v\n%s", err, p.stdout.String())
	}
	forecast := make([]int, 7)
	for i, d := range f.Days {
		if i < 7 {
			forecast[i] = d.Recipients
		}
	}
	if !f.NextOpen.Equal(time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)) {
		t.Errorf("next_open %v, want Monday 09:00 in Jakarta (02:00 UTC)", f.NextOpen)
	}

	for h := 1; h < 7*24; h += 2 {
		at(time.Duration(h) * time.Hour)
		if code := p.exec("resume", "--all"); code != 0 && code != 10 {
			t.Fatalf("cron at +%dh exited %d\nstdout: %s\nstderr: %s", h, code, p.stdout.String(), p.stderr.String())
		}
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(p.dir, "whatsend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := campaignNamed(t, st, "zones")
	sent := make([]int, 7)
	err = st.Attempts(t.Context(), c.ID, func(a store.AttemptRecord) error {
		sent[int(a.StartedAt.Sub(start)/(24*time.Hour))]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(forecast) != fmt.Sprint(sent) {
		t.Errorf("forecast per day %v, cron sent per day %v", forecast, sent)
	}
	if forecast[0] != 0 || forecast[1] != 8 || forecast[2] != 4 {
		t.Errorf("forecast %v: want nothing on Saturday, Jakarta and Lisbon (8) by Monday 11:00 UTC, São Paulo (4) the day after", forecast)
	}
}

// TestNotAfterExpiresPausedE2E: resume --all does not skip a paused
// campaign whose --not-after passed: it expires it and exits 0.
func TestNotAfterExpiresPausedE2E(t *testing.T) {
	sim := startSim(t, "--quality", "RED", "--tier", "unlimited")
	p := newProc(t, sim)
	csv := writeCSV(t, p.dir, 5, 0)
	now := time.Now().UTC()
	p.extra = []string{"WHATSEND_NOW=" + now.Format(time.RFC3339)}
	if code := p.exec(p.runArgs(csv, "--name", "red", "--not-after", "1h")...); code != 3 {
		t.Fatalf("run exited %d, want 3 (paused: quality RED)\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}
	p.extra = []string{"WHATSEND_NOW=" + now.Add(2*time.Hour).Format(time.RFC3339)}
	if code := p.exec("resume", "--all"); code != 0 {
		t.Fatalf("resume --all after --not-after exited %d, want 0\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}
	if out := p.stdout.String(); !strings.Contains(out, "5 expired") || !strings.Contains(out, "--not-after passed: expiring it") {
		t.Errorf("resume --all output lacks the expiry:\n%s", out)
	}
	var msgs simMessages
	sim.getJSON(t, "/_sim/messages", &msgs)
	if len(msgs.Messages) != 0 {
		t.Errorf("%d messages sent, want none", len(msgs.Messages))
	}
}
