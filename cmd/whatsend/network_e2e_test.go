package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// An unreachable API (nothing listens on the port) pauses the run within
// 30 s, exit 3, naming the network; nothing is sent, counted against the
// scope's allowance, or starts its warm-up. resume --all (cron) retries
// such a pause by itself and continues once the API answers.
func TestUnreachableAPIPausesAndCronRetries(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	later := ln.Addr().String() // nothing listens here until the simulator starts
	ln.Close()
	p := newProc(t, &simProc{url: "http://127.0.0.1:1"})
	const n = 20 // within day 0 of tier 250's warm-up (25)
	limited := func(csv, api string) []string {
		args := p.runArgs(csv)
		args = args[:len(args)-4] // no --api-url, no --tier unlimited
		return append(args, "--api-url", api, "--tier", "250")
	}
	for _, tc := range []struct{ csv, api string }{
		{writeCSV(t, p.dir, n, 0), "http://127.0.0.1:1"},
		{writeCSV(t, p.dir, n, 1000), "http://" + later},
	} {
		start := time.Now()
		if code := p.exec(limited(tc.csv, tc.api)...); code != exitPaused {
			t.Fatalf("run --api-url %s exited %d, want 3\n%s%s", tc.api, code, &p.stdout, &p.stderr)
		}
		if el := time.Since(start); el > 30*time.Second {
			t.Errorf("run --api-url %s took %v, want at most 30 s", tc.api, el)
		}
		if out := p.stdout.String() + p.stderr.String(); !strings.Contains(out, "cannot reach the API") {
			t.Errorf("run --api-url %s does not say it cannot reach the API:\n%s", tc.api, out)
		}
	}
	st, cs := p.openStore(2)
	scope := cs[0].Scope
	if used, _ := st.WindowCount(t.Context(), scope, time.Now().Add(-48*time.Hour)); used != 0 {
		t.Errorf("scope %s used count %d, want 0", scope, used)
	}
	if _, ok, _ := st.WarmupStart(t.Context(), scope); ok {
		t.Errorf("scope %s has a warm-up start although nothing was sent", scope)
	}
	for _, c := range cs {
		cn, _ := st.Counts(t.Context(), c.ID)
		if cn[store.StatePending] != n {
			t.Errorf("campaign %s counts %v, want %d pending", c.Name, cn, n)
		}
	}

	// The second campaign's API comes up; the first stays unreachable.
	sim := startSim(t, "--addr", later, "--latency", "1ms", "--tier", "250")
	if code := p.exec("resume", "--all"); code != exitPaused {
		t.Fatalf("resume --all exited %d, want 3 (the first API still unreachable)\n%s%s", code, &p.stdout, &p.stderr)
	}
	if strings.Contains(p.stdout.String(), "paused, skipped") {
		t.Errorf("resume --all skipped a network pause instead of retrying it:\n%s", &p.stdout)
	}
	var stats simStats
	sim.getJSON(t, "/_sim/stats", &stats)
	if stats.Accepted != n {
		t.Errorf("simulator accepted %d, want the second campaign's %d", stats.Accepted, n)
	}
	for i, want := range []store.CampaignState{store.CampaignPaused, store.CampaignFinished} {
		if c, _ := st.Campaign(t.Context(), cs[i].ID); c.State != want {
			t.Errorf("campaign %s is %s after resume --all, want %s", c.Name, c.State, want)
		}
	}
}

// openStore opens the invocations' store (closed when the test ends) and
// returns it with its campaigns, which must number want.
func (p *proc) openStore(want int) (store.Store, []store.Campaign) {
	p.t.Helper()
	st, err := sqlite.Open(p.t.Context(), filepath.Join(p.dir, "whatsend.db"))
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { st.Close() })
	cs, err := st.Campaigns(p.t.Context())
	if err != nil || len(cs) != want {
		p.t.Fatalf("campaigns %d (%v), want %d", len(cs), err, want)
	}
	return st, cs
}
