package main

import (
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/whatsend/whatsend/campaign"
)

// sendingGCPercent is the garbage collector's target (GOGC) while a run
// sends. The engine's live heap is small (a page of recipients, the
// requests in flight) and each collection costs about as much whatever
// the garbage: at 1,000 msg/s the default 100 spent a tenth of the
// process's CPU collecting, and 400 about a third of that. The heap may
// grow to five times what is live instead of twice: about 140 MB of
// resident memory at 1,000 msg/s instead of 90 (README, "Performance").
const sendingGCPercent = 400

// sending is the run's campaign.Deps.Sending: while a run sends, the
// process collects garbage less often (sendingGCPercent) and, below
// campaign.LowRateBelow msg/s, runs on one core (GOMAXPROCS 1); the
// function it returns gives the settings back. A GOGC or GOMAXPROCS the
// operator set in the environment is kept as it is. Runs that overlap in
// one process (the tests run several) share the settings: the last to
// end restores them.
func (a *app) sending(rate float64) (restore func()) {
	var undo []func()
	if rate < campaign.LowRateBelow && a.getenv("GOMAXPROCS") == "" {
		undo = append(undo, oneCore.take())
	}
	if a.getenv("GOGC") == "" {
		undo = append(undo, sparseGC.take())
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			for _, f := range undo {
				f()
			}
		})
	}
}

// A runtimeHold is a process-wide runtime setting that runs hold while
// they send: the first to take it sets it, the last to give it back
// restores the value from before.
type runtimeHold struct {
	set func(int) int // sets the value and returns the one before
	to  int

	mu   sync.Mutex
	held int
	prev int
}

var (
	oneCore  = &runtimeHold{set: runtime.GOMAXPROCS, to: 1}
	sparseGC = &runtimeHold{set: debug.SetGCPercent, to: sendingGCPercent}
)

func (h *runtimeHold) take() (release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.held == 0 {
		h.prev = h.set(h.to)
	}
	h.held++
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.held--; h.held == 0 {
			h.set(h.prev)
		}
	}
}
