package campaign

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/whatsend/whatsend/store"
)

// A campaign sends from a pool of phone numbers (--phone-number-id A,B,C):
// each recipient is assigned one (store.AssignNumbers: the number that
// sent to the phone before in the scope, else the least-loaded), kept
// from its first send on. The dispatcher keeps a queue per number and
// sends next from the number whose pace allows it first; the scope's
// allowance is shared by all.

// refetchEvery bounds how often the dispatcher reads a page for a number
// whose queue ran empty while others still hold recipients.
const refetchEvery = 50 * time.Millisecond

// A page of due recipients holds a batch per number, or at high rates
// about fetchSpan of sends (at most maxPage): one query a second at 1,000
// msg/s instead of ten. (A page read used to commit the checkpoints
// dispatched since the last first, and pages of 100 cut the writer's
// groups in two; it now leaves those recipients out: runner.fetch.)
const (
	fetchSpan = time.Second
	maxPage   = 2000
)

// fetchPage is the page size for batches (a batch per number) at a total
// rate in msg/s.
func fetchPage(batches int, rate float64) int {
	return max(batches, min(int(rate*fetchSpan.Seconds()), maxPage))
}

// ids returns the ids of numbers.
func ids(ns []*number) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.id
	}
	return out
}

// active returns the numbers still sending this run.
func (r *runner) active() []*number {
	out := make([]*number, 0, len(r.nums))
	for _, n := range r.nums {
		if n.paused == nil {
			out = append(out, n)
		}
	}
	return out
}

// assign gives the recipients never attempted whose number is not sending
// this run one of the sending numbers (a campaign with one number needs
// none: its attempts write it).
func (r *runner) assign(ctx context.Context) error {
	if r.lone() {
		return nil
	}
	act := r.assignable()
	if len(act) == 0 {
		return nil
	}
	given, err := r.d.Store.AssignNumbers(ctx, r.c.ID, act)
	if err != nil {
		return fmt.Errorf("assign phone numbers: %w", err)
	}
	for id, n := range given {
		r.d.Logger.Info("recipients assigned to a phone number", "campaign", r.c.Name, "phone_number_id", id, "count", n)
	}
	return nil
}

// pauseNumber stops one number for the rest of the run: its recipients
// never attempted move to the other numbers, those attempted (sent,
// uncertain, waiting to retry) keep it. The campaign pauses when it was
// the last number sending (or the only one).
func (r *runner) pauseNumber(ctx context.Context, n *number, p *pauseCause) error {
	if r.lone() {
		return r.pauseNow(ctx, p)
	}
	if r.pair {
		return r.pausePair(n, p)
	}
	n.paused = p
	for _, rc := range n.queue {
		delete(r.queued, rc.ID)
	}
	n.queue = nil
	r.d.Logger.Error("phone number paused: it sends no more this run; its recipients not yet sent move to the other numbers",
		"campaign", r.c.Name, "phone_number_id", n.id, "reason", p.Reason)
	if len(r.active()) == 0 {
		all := *p
		all.Reason = "every phone number of the campaign is paused (" + r.pausedNumbers() + ")"
		return r.pauseNow(ctx, &all)
	}
	return r.assign(ctx)
}

// pausedNumbers names the paused numbers and why.
func (r *runner) pausedNumbers() string {
	var out []string
	for _, n := range r.nums {
		if n.paused != nil {
			out = append(out, n.id+": "+n.paused.Reason)
		}
	}
	return strings.Join(out, "; ")
}

// applyNumberPauses applies the pauses the recorder asked for.
func (r *runner) applyNumberPauses(ctx context.Context) error {
	if r.lone() {
		return nil // a lone number's pause is the campaign's (judge)
	}
	for _, n := range r.nums {
		r.mu.Lock()
		p := n.toPause
		r.mu.Unlock()
		if p != nil && n.paused == nil {
			if err := r.pauseNumber(ctx, n, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// numberOf returns the number a recipient is sent from this run, nil when
// its number is not sending (paused, or not in the campaign's pool).
func (r *runner) numberOf(rc store.Recipient) *number {
	if len(r.nums) == 1 {
		return r.nums[0]
	}
	if rc.PhoneNumberID == "" {
		// Not assigned yet (imported after this run's assignment): the
		// number with the shortest queue; its checkpoint records it.
		var best *number
		for _, n := range r.active() {
			if best == nil || len(n.queue) < len(best.queue) {
				best = n
			}
		}
		return best
	}
	if n := r.byID[rc.PhoneNumberID]; n != nil && n.paused == nil {
		return n
	}
	return nil
}

// route puts a recipient on its number's queue (first when front), or
// parks it when its number is not sending.
func (r *runner) route(rc store.Recipient, front bool) bool {
	n := r.numberOf(rc)
	if n == nil {
		r.parked[rc.ID] = true
		return false
	}
	r.queued[rc.ID] = true
	if front {
		n.queue = append([]store.Recipient{rc}, n.queue...)
	} else {
		n.queue = append(n.queue, rc)
	}
	return true
}

// clearQueues forgets every fetched recipient: they are read again.
func (r *runner) clearQueues() {
	for _, n := range r.nums {
		n.queue = nil
	}
	clear(r.queued)
}

// wantFetch reports whether the dispatcher reads a page: nothing is
// queued, or a sending number's queue ran empty and the last read is not
// recent.
func (r *runner) wantFetch(now time.Time) bool {
	if len(r.queued) == 0 {
		return true
	}
	if now.Sub(r.lastFetch) < refetchEvery {
		return false
	}
	for _, n := range r.nums {
		if n.paused == nil && len(n.queue) == 0 {
			return true
		}
	}
	return false
}

// refill reads pages of due recipients onto the numbers' queues until one
// is queued or none is left; it returns how many it queued.
func (r *runner) refill(ctx context.Context, now time.Time) (int, error) {
	r.lastFetch = now
	for {
		page, err := r.fetch(ctx, now)
		if err != nil || len(page) == 0 {
			return 0, err
		}
		added := 0
		for _, rc := range page {
			if r.route(rc, false) {
				added++
			}
		}
		if added > 0 {
			return added, nil
		}
	}
}

// nextNumber returns the sending number with a queued recipient that may
// send first, and when.
func (r *runner) nextNumber(now time.Time) (*number, time.Time) {
	var best *number
	var bestAt time.Time
	for _, n := range r.nums {
		if n.paused != nil || len(n.queue) == 0 {
			continue
		}
		if at := r.readyAt(n, now); best == nil || at.Before(bestAt) {
			best, bestAt = n, at
		}
	}
	return best, bestAt
}

// parkedStop is the stop of a run whose only work left waits for numbers
// not sending: recipients attempted from a number paused this run (or no
// longer in the campaign's pool) keep it.
func (r *runner) parkedStop(ctx context.Context, counts map[store.State]int) (stopReason, bool, error) {
	if len(r.parked) == 0 && len(r.active()) == len(r.nums) {
		return stopReason{}, false, nil
	}
	sum, err := r.d.Store.Summary(ctx, r.c.ID)
	if err != nil {
		return stopReason{}, false, err
	}
	idle := 0
	for id, f := range sum.ByNumber {
		if n := r.byID[id]; n == nil || n.paused != nil {
			idle += f.ToSend
		}
	}
	if idle == 0 || toSettle(counts) > idle {
		return stopReason{}, false, nil
	}
	if paused := r.pausedNumbers(); paused != "" {
		return stopReason{kind: stopPaused, pause: &pauseCause{Kind: "number",
			Reason: fmt.Sprintf("%d recipients wait for their phone number, paused (%s)", idle, paused)}}, true, nil
	}
	return stopReason{kind: stopWaiting, msg: fmt.Sprintf("%d recipients were sent from a phone number no longer in the campaign (%s)",
		idle, strings.Join(ids(r.nums), ","))}, true, nil
}

// newNumbers builds the sending state of each number of the campaign's
// pool, each with its client; with only non-empty, of that one number.
func newNumbers(c store.Campaign, s Settings, d Deps, only string) ([]*number, error) {
	var out []*number
	for _, id := range s.Numbers(c.PhoneNumberID) {
		if only != "" && id != only {
			continue
		}
		send := d.Sender
		if d.SenderFor != nil {
			var err error
			if send, err = d.SenderFor(id); err != nil {
				return nil, fmt.Errorf("campaign %s: phone number %s: %w", c.Name, id, err)
			}
		} else if id != c.PhoneNumberID {
			return nil, fmt.Errorf("campaign %s: no client for phone number %s", c.Name, id)
		}
		out = append(out, newNumber(id, send, s, d.Now))
	}
	return out, nil
}

// rates is the run's send rate (the sum of the numbers') and why.
func (r *runner) rates() (float64, string) {
	if len(r.nums) == 1 {
		return r.nums[0].baseRate, r.nums[0].rateReason
	}
	total := 0.0
	var why []string
	for _, n := range r.nums {
		if n.paused != nil {
			why = append(why, n.id+": paused")
			continue
		}
		total += n.baseRate
		why = append(why, fmt.Sprintf("%s: %g msg/s, %s", n.id, n.baseRate, n.rateReason))
	}
	return total, strings.Join(why, "; ")
}

// leaseKeys are the leases a whole run of the campaign holds: the
// campaign's, each pair lease of its pool, then each of its numbers' (the
// numbers of the stored pool).
func leaseKeys(c store.Campaign) []string {
	pool := poolOf(c)
	keys := []string{campaignLeaseKey(c.ID)}
	for _, id := range pool {
		keys = append(keys, pairLeaseKey(c.ID, id))
	}
	for _, id := range pool {
		keys = append(keys, phoneLeaseKey(id))
	}
	return keys
}

// poolOf is the campaign's stored pool of numbers.
func poolOf(c store.Campaign) []string {
	s, _ := DecodeSettings(c.Settings) // unreadable: the campaign's number
	return s.Numbers(c.PhoneNumberID)
}
