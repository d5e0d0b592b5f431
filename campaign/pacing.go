package campaign

import (
	"container/heap"
	"math/rand/v2"
	"time"
)

// pairSpacer keeps the per-recipient "next allowed time" for one sending
// number: never two messages to the same user closer than the pair interval
// (cloud-api.md §4.2, error 131056). Entries older than the interval are
// pruned in send order, so memory stays proportional to rate × interval, not
// to the campaign size.
type pairSpacer struct {
	interval time.Duration
	last     map[string]time.Time
	// order holds the sends in send order from head on (times never
	// decrease); the entries before head are pruned. They are dropped in
	// one copy once they are the larger part, so each entry is moved a
	// bounded number of times (a shift per prune cost a copy of the whole
	// interval's sends per send: 6,000 entries at 1,000 msg/s).
	order []pairEntry
	head  int
}

type pairEntry struct {
	phone string
	at    time.Time
}

func newPairSpacer(interval time.Duration, seen map[string]time.Time) *pairSpacer {
	p := &pairSpacer{interval: interval, last: make(map[string]time.Time, len(seen))}
	for phone, at := range seen {
		p.last[phone] = at
	}
	return p
}

// allowedAt returns the earliest time a message to phone may leave.
func (p *pairSpacer) allowedAt(phone string) time.Time {
	at, ok := p.last[phone]
	if !ok {
		return time.Time{}
	}
	return at.Add(p.interval)
}

// record notes a message to phone leaving at t.
func (p *pairSpacer) record(phone string, t time.Time) {
	p.last[phone] = t
	p.order = append(p.order, pairEntry{phone, t})
	p.prune(t)
}

func (p *pairSpacer) prune(now time.Time) {
	cut := now.Add(-p.interval)
	for ; p.head < len(p.order) && !p.order[p.head].at.After(cut); p.head++ {
		e := p.order[p.head]
		if p.last[e.phone].Equal(e.at) {
			delete(p.last, e.phone)
		}
		p.order[p.head] = pairEntry{}
	}
	if p.head > 0 && p.head >= len(p.order)-p.head {
		p.order = p.order[:copy(p.order, p.order[p.head:])]
		p.head = 0
	}
	// Entries loaded from the store at start have no order entry; drop
	// them once they are old, at most once per call's worth of work.
	if len(p.last) > 2*(len(p.order)-p.head)+1024 {
		for phone, at := range p.last {
			if !at.After(cut) {
				delete(p.last, phone)
			}
		}
	}
}

// Back-off bounds.
const (
	pairBackoffCap  = 10 * time.Minute // longest wait between 131056 retries of one recipient
	slowBackoffBase = time.Second
	slowBackoffCap  = time.Minute
	maintenanceWait = time.Minute // 131057: the number is in maintenance for about a minute
)

// pairRetryDelay is the wait before retrying a recipient answered 131056 on
// its n-th attempt: exponential back-off with full jitter, never sooner than
// the pair interval, capped.
func pairRetryDelay(interval time.Duration, attempt int, rnd func(int64) int64) time.Duration {
	return interval + fullJitter(interval, pairBackoffCap, attempt, rnd)
}

// slowDelay is how long the whole sender waits after the n-th consecutive
// slow-sender answer (130429, transient errors): exponential with full
// jitter, at least a tenth of a second.
func slowDelay(n int, rnd func(int64) int64) time.Duration {
	return 100*time.Millisecond + fullJitter(slowBackoffBase, slowBackoffCap, n, rnd)
}

// fullJitter returns a uniform random duration in [0, min(cap, base×2^(n-1))).
func fullJitter(base, limit time.Duration, n int, rnd func(int64) int64) time.Duration {
	d := base
	for i := 1; i < n && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	if d <= 0 {
		return 0
	}
	return time.Duration(rnd(int64(d)))
}

func defaultRand(n int64) int64 { return rand.Int64N(n) }

// waitQueue holds recipients that may not be sent yet (pair interval), by
// the time they become allowed.
type waitQueue []waiting

type waiting struct {
	at time.Time
	r  dueRecipient
}

func (q waitQueue) Len() int           { return len(q) }
func (q waitQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q waitQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *waitQueue) Push(x any)        { *q = append(*q, x.(waiting)) }
func (q *waitQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

func (q *waitQueue) add(w waiting) { heap.Push(q, w) }

// popReady removes and returns the first entry allowed at now.
func (q *waitQueue) popReady(now time.Time) (dueRecipient, bool) {
	if len(*q) == 0 || (*q)[0].at.After(now) {
		return dueRecipient{}, false
	}
	return heap.Pop(q).(waiting).r, true
}

// next returns the earliest allowed time in the queue.
func (q waitQueue) next() (time.Time, bool) {
	if len(q) == 0 {
		return time.Time{}, false
	}
	return q[0].at, true
}
