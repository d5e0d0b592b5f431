//go:build torture

package main

import (
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestTorture kills whatsend with SIGKILL at random moments while it sends
// at 300 msg/s against a simulator that drops 2 % of answers and fails 2 %
// with 500/131000, then resumes until the campaign finishes, and checks
// that nothing was sent twice and nothing was lost. It runs with
// `make torture` (build tag torture), not in `make test`:
// WHATSEND_TORTURE_KILLS sets the number of kills (default 50).
func TestTorture(t *testing.T) {
	kills := 50
	if v := os.Getenv("WHATSEND_TORTURE_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("WHATSEND_TORTURE_KILLS=%q: want a positive number", v)
		}
		kills = n
	}
	sim := startSim(t, "--mps", "1000", "--throughput", "HIGH", "--tier", "unlimited", "--latency", "20ms", "--jitter", "10ms",
		"--drop-rate", "0.02", "--fail-rate", "0.02", "--seed", "11")
	p := newProc(t, sim)
	rows := 1000 + kills*300 // enough that the campaign outlasts the kills
	csv := writeCSV(t, p.dir, rows, 0)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	start := time.Now()
	count, inFlightAtKills := storeCount(t, p), 0
	for i := range kills {
		args := []string{"resume"}
		if i == 0 {
			args = p.runArgs(csv, "--rate", "300")
		}
		cmd := p.command(args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			t.Fatalf("kill %d: whatsend ended before it was killed (%v); the list is too short", i+1, err)
		case <-time.After(300*time.Millisecond + time.Duration(rng.Int64N(int64(1200*time.Millisecond)))):
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		inFlightAtKills += count(`SELECT count(*) FROM recipients WHERE state = 'in_flight'`)
	}
	killed := time.Since(start)
	p.resumeUntilFinished(30)
	accepted, uncertain := checkNothingSentTwice(t, sim, p)
	if uncertain > inFlightAtKills {
		t.Errorf("%d recipients uncertain without an ambiguous answer, more than the %d in flight at the kills", uncertain, inFlightAtKills)
	}
	var st simStats
	sim.getJSON(t, "/_sim/stats", &st)
	t.Logf("torture: %d SIGKILLs in %v, %d recipients, %d messages accepted, 0 accepted twice, %d left uncertain by kills (%.1f per kill; %d were in flight at the kills), simulator answers by code %v, finished in %v",
		kills, killed.Round(time.Second), rows, accepted, uncertain, float64(uncertain)/float64(kills), inFlightAtKills, st.ByCode, time.Since(start).Round(time.Second))
}
