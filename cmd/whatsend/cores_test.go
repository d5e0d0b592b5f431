package main

import (
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/whatsend/whatsend/campaign"
)

// gcPercent reads the garbage collector's target.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// softLimit reads the soft memory limit.
func softLimit() int64 { return debug.SetMemoryLimit(-1) }

// Two slow runs sending in one process: the process keeps one core and
// the sparser collection until the last ends, then gets its settings
// back; a restore called twice does not give back another run's hold.
func TestSendingHoldsUntilTheLastRunEnds(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	if before < 2 {
		runtime.GOMAXPROCS(2)
		t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	}
	wantProcs, wantGC, wantLimit := runtime.GOMAXPROCS(0), gcPercent(), softLimit()
	a := newApp(nil, nil, nil, func(string) string { return "" })
	first := a.sending(80)
	second := a.sending(80)
	t.Cleanup(func() { first(); second() })
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS %d while runs send at 80 msg/s, want 1", got)
	}
	if got := gcPercent(); got != sendingGCPercent {
		t.Fatalf("GC percent %d while runs send, want %d", got, sendingGCPercent)
	}
	if got := softLimit(); got != sendingMemoryLimit {
		t.Fatalf("memory limit %d while runs send, want %d", got, sendingMemoryLimit)
	}
	first()
	first()
	if got, gc := runtime.GOMAXPROCS(0), gcPercent(); got != 1 || gc != sendingGCPercent {
		t.Fatalf("GOMAXPROCS %d, GC percent %d after the first run ended (twice), want 1 and %d while the second sends", got, gc, sendingGCPercent)
	}
	second()
	if got, gc, limit := runtime.GOMAXPROCS(0), gcPercent(), softLimit(); got != wantProcs || gc != wantGC || limit != wantLimit {
		t.Fatalf("GOMAXPROCS %d, GC percent %d, memory limit %d after both ended, want %d, %d and %d back", got, gc, limit, wantProcs, wantGC, wantLimit)
	}
}

// A run from LowRateBelow up keeps the cores and collects less often.
func TestSendingFastKeepsTheCores(t *testing.T) {
	wantProcs, wantGC := runtime.GOMAXPROCS(0), gcPercent()
	a := newApp(nil, nil, nil, func(string) string { return "" })
	restore := a.sending(campaign.LowRateBelow)
	if got, gc := runtime.GOMAXPROCS(0), gcPercent(); got != wantProcs || gc != sendingGCPercent {
		t.Errorf("at %d msg/s: GOMAXPROCS %d, GC percent %d; want %d and %d", campaign.LowRateBelow, got, gc, wantProcs, sendingGCPercent)
	}
	restore()
	if gc := gcPercent(); gc != wantGC {
		t.Errorf("GC percent %d after the run, want %d back", gc, wantGC)
	}
}

// An operator's GOMAXPROCS, GOGC and GOMEMLIMIT stand.
func TestSendingKeepsTheOperatorsSettings(t *testing.T) {
	wantProcs, wantGC, wantLimit := runtime.GOMAXPROCS(0), gcPercent(), softLimit()
	a := newApp(nil, nil, nil, func(k string) string {
		switch k {
		case "GOMAXPROCS":
			return "2"
		case "GOGC":
			return "100"
		case "GOMEMLIMIT":
			return "1GiB"
		}
		return ""
	})
	restore := a.sending(80)
	if got, gc, limit := runtime.GOMAXPROCS(0), gcPercent(), softLimit(); got != wantProcs || gc != wantGC || limit != wantLimit {
		t.Errorf("GOMAXPROCS %d, GC percent %d, memory limit %d with the operator's set, want %d, %d and %d untouched", got, gc, limit, wantProcs, wantGC, wantLimit)
	}
	restore()
}
