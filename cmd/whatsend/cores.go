package main

import (
	"runtime"
	"sync"
)

// oneCore is the run's campaign.Deps.LowRate: a run paced below
// campaign.LowRateBelow sends on one core (GOMAXPROCS 1) and gives the
// others back when it ends. A GOMAXPROCS the operator set in the
// environment is kept as it is. Runs that overlap in one process (the
// tests run several) share the setting: the last to end restores it.
func (a *app) oneCore() (restore func()) {
	if a.getenv("GOMAXPROCS") != "" {
		return func() {}
	}
	cores.mu.Lock()
	defer cores.mu.Unlock()
	if cores.held == 0 {
		cores.prev = runtime.GOMAXPROCS(1)
	}
	cores.held++
	var once sync.Once
	return func() {
		once.Do(func() {
			cores.mu.Lock()
			defer cores.mu.Unlock()
			if cores.held--; cores.held == 0 {
				runtime.GOMAXPROCS(cores.prev)
			}
		})
	}
}

// cores is the process's one-core setting while runs hold it.
var cores struct {
	mu   sync.Mutex
	held int
	prev int
}
