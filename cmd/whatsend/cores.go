package main

import (
	"runtime"
	"runtime/debug"
	"sync"

	"github.com/whatsend/whatsend/campaign"
)

// sendingGCPercent is the garbage collector's target (GOGC) while a run
// sends. The engine's live heap is small (about 10 MB at 1,000 msg/s: a
// page of recipients, the requests in flight) and each collection costs
// about as much whatever the garbage: with the default 100 a run at
// 1,000 msg/s collected 88 times in 30 s, and the collections were
// about a tenth of its CPU. With 400 the heap may grow to five times what
// is live instead of twice: 150 MB of resident memory at 1,000 msg/s
// instead of 80 (README, "Performance"). sendingMemoryLimit caps that
// growth (GOMEMLIMIT) for a run whose live heap is larger.
const (
	sendingGCPercent   = 400
	sendingMemoryLimit = 256 << 20
)

// sending is the run's campaign.Deps.Sending: while a run sends, the
// process collects garbage less often (sendingGCPercent, under
// sendingMemoryLimit) and, below campaign.LowRateBelow msg/s, runs on one
// core (GOMAXPROCS 1); the function it returns gives the settings back.
// A GOGC, GOMEMLIMIT or GOMAXPROCS the operator set in the environment is
// kept as it is. Runs that overlap in one process (the tests run several)
// share the settings: the last to end restores them.
func (a *app) sending(rate float64) (restore func()) {
	var undo []func()
	if rate < campaign.LowRateBelow && a.getenv("GOMAXPROCS") == "" {
		undo = append(undo, oneCore.take())
	}
	if a.getenv("GOGC") == "" {
		undo = append(undo, sparseGC.take())
	}
	if a.getenv("GOMEMLIMIT") == "" {
		undo = append(undo, memoryLimit.take())
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
	set func(int64) int64 // sets the value and returns the one before
	to  int64

	mu   sync.Mutex
	held int
	prev int64
}

var (
	oneCore     = &runtimeHold{set: intSetting(runtime.GOMAXPROCS), to: 1}
	sparseGC    = &runtimeHold{set: intSetting(debug.SetGCPercent), to: sendingGCPercent}
	memoryLimit = &runtimeHold{set: debug.SetMemoryLimit, to: sendingMemoryLimit}
)

// intSetting is a runtime setting of type int as a runtimeHold's.
func intSetting(set func(int) int) func(int64) int64 {
	return func(n int64) int64 { return int64(set(int(n))) }
}

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
