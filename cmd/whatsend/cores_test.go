package main

import (
	"runtime"
	"testing"
)

// Two runs holding one core in one process: the process keeps one core
// until the last ends, then gets its cores back; a restore called twice
// does not give back another run's hold.
func TestOneCoreHeldUntilTheLastRunEnds(t *testing.T) {
	before := runtime.GOMAXPROCS(0)
	if before < 2 {
		runtime.GOMAXPROCS(2)
		t.Cleanup(func() { runtime.GOMAXPROCS(before) })
	}
	want := runtime.GOMAXPROCS(0)
	a := newApp(nil, nil, nil, func(string) string { return "" })
	first := a.oneCore()
	second := a.oneCore()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS %d while runs hold one core, want 1", got)
	}
	first()
	first()
	if got := runtime.GOMAXPROCS(0); got != 1 {
		t.Fatalf("GOMAXPROCS %d after the first run ended (twice), want 1 while the second runs", got)
	}
	second()
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Fatalf("GOMAXPROCS %d after both ended, want %d back", got, want)
	}
}

// An operator's GOMAXPROCS stands.
func TestOneCoreKeepsTheOperatorsGOMAXPROCS(t *testing.T) {
	want := runtime.GOMAXPROCS(0)
	a := newApp(nil, nil, nil, func(k string) string {
		if k == "GOMAXPROCS" {
			return "2"
		}
		return ""
	})
	restore := a.oneCore()
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Errorf("GOMAXPROCS %d with the operator's set, want %d untouched", got, want)
	}
	restore()
}
