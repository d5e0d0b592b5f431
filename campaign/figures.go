package campaign

import (
	"cmp"
	"slices"

	"github.com/whatsend/whatsend/store"
)

// The figures every view of a campaign shows (the run's summary, status,
// the reports, the forecast) are defined here once, so that they agree.

// RemainingStates are the states of recipients still to be sent: pending,
// waiting to retry, or deferred. A recipient in flight (a run was killed
// while its request was out) is not among them: its outcome is unknown
// until the next run settles it, and it is shown on its own.
var RemainingStates = []store.State{store.StatePending, store.StateRetry, store.StateDeferred}

// Remaining counts the recipients still to be sent (RemainingStates) in
// counts by state, keyed by store.State or by its string (a report's).
func Remaining[K ~string](by map[K]int) int {
	n := 0
	for _, s := range RemainingStates {
		n += by[K(s)]
	}
	return n
}

// toSettleState reports whether a run still has to send or settle a
// recipient in state s: remaining (RemainingStates) or in flight.
func toSettleState(s store.State) bool {
	return s == store.StateInFlight || slices.Contains(RemainingStates, s)
}

// CampaignShare is the share of a campaign's send attempts answered 131056,
// over all its runs. The guard judges another figure, its ShareWindow's share
// over the last attempts: a pause names that one.
func CampaignShare(sum store.Summary) float64 {
	if sum.Attempts == 0 {
		return 0
	}
	return float64(sum.RateLimited) / float64(sum.Attempts)
}

// ShareWindow is the guard's sliding window: whether each of the last Size
// answered send attempts was answered 131056.
type ShareWindow struct {
	ring    []bool
	next, n int
	hits    int
}

// NewShareWindow returns a window over the last size attempts (the guard's
// --guard-window; DefaultGuardWindow when size is 0).
func NewShareWindow(size int) *ShareWindow {
	return &ShareWindow{ring: make([]bool, cmp.Or(size, DefaultGuardWindow))}
}

// Observe records one answered attempt.
func (w *ShareWindow) Observe(rateLimited bool) {
	if w.n == len(w.ring) {
		if w.ring[w.next] {
			w.hits--
		}
	} else {
		w.n++
	}
	w.ring[w.next] = rateLimited
	if rateLimited {
		w.hits++
	}
	w.next = (w.next + 1) % len(w.ring)
}

// Len is the number of attempts in the window (at most its size).
func (w *ShareWindow) Len() int { return w.n }

// Hits is the number of 131056 answers in the window.
func (w *ShareWindow) Hits() int { return w.hits }

// Share is the 131056 share of the attempts in the window.
func (w *ShareWindow) Share() float64 {
	if w.n == 0 {
		return 0
	}
	return float64(w.hits) / float64(w.n)
}
