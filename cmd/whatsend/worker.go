package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
)

// DefaultPoll is how often resume --worker looks for work when it has none.
const DefaultPoll = 5 * time.Second

// workerBackoff is how long a worker leaves a campaign alone after an
// unexpected error or a pause for an unreachable API, so that one campaign
// cannot keep it busy failing.
const workerBackoff = time.Minute

// worker is resume --all --worker: one of several processes, on one machine
// or several, sharing the campaigns of one database. It drives up to
// --pairs campaign/number pairs at once: the share of a campaign assigned
// to one phone number of its pool (a pair run), any pair whose leases it
// can take (the pair's and its number's; none while a whole run holds the
// campaign's), each until that share is done, paused or waiting, then
// looks again. Three workers thus send one campaign of three numbers
// together, one number each.
type worker struct {
	a     *app
	cmd   *cobra.Command
	st    store.Store
	o     *resumeOptions
	slots chan struct{} // one per pair driven now
	freed chan struct{} // a drive ended: look again without waiting --poll
	runs  sync.WaitGroup

	mu sync.Mutex // guards the maps, and newClient (the rehearsal state)
	// notBefore is when a pair is worth trying again: when its run said
	// more can be sent, or after a backoff.
	notBefore map[pairKey]time.Time
	told      map[pairKey]string // the skip last printed per pair (number "": the campaign)
	driving   map[pairKey]bool
}

// pairKey names a campaign/number pair.
type pairKey struct {
	id     int64
	number string
}

// runWorker drives pairs until a signal, then exits 0 once the pairs in
// hand are handed over: their requests in flight answered or left
// uncertain (--shutdown-wait), their leases released.
func (a *app) runWorker(cmd *cobra.Command, st store.Store, o *resumeOptions) error {
	ctx := cmd.Context()
	a.endsOnSignal = true
	w := &worker{
		a: a, cmd: cmd, st: st, o: o,
		slots: make(chan struct{}, o.pairs), freed: make(chan struct{}, 1),
		notBefore: map[pairKey]time.Time{}, told: map[pairKey]string{}, driving: map[pairKey]bool{},
	}
	fmt.Fprintf(a.out, "worker on %s: up to %d campaign/number pairs at once, looking for more every %s, lease expiry %s; SIGINT or SIGTERM stops it\n",
		store.Redact(a.dbPath), o.pairs, o.poll, o.exec.leaseExpiry)
	for ctx.Err() == nil {
		if err := w.round(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintf(a.errOut, "whatsend: worker: %v; trying again in %s\n", a.storeContext(err), o.poll)
		}
		t := time.NewTimer(o.poll)
		select {
		case <-ctx.Done():
		case <-t.C:
		case <-w.freed:
		}
		t.Stop()
	}
	w.runs.Wait() // each run ends on the signal: in flight settled, leases released
	fmt.Fprintf(a.out, "worker stopped (%v): campaigns handed over\n", context.Cause(ctx))
	return nil
}

// round starts driving, campaigns in creation order and each campaign's
// numbers in pool order, the pairs that may have work and whose leases are
// free, while this worker has a free slot.
func (w *worker) round(ctx context.Context) error {
	cs, err := w.st.Campaigns(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if !w.wanted(c) {
			continue
		}
		s, err := campaign.DecodeSettings(c.Settings)
		if err != nil {
			return err
		}
		pool := s.Numbers(c.PhoneNumberID)
		paused := map[string]string{}
		if len(pool) > 1 {
			ps, err := w.st.NumberPauses(ctx, c.ID)
			if err != nil {
				return err
			}
			for _, p := range ps {
				paused[p.PhoneNumberID] = p.Reason
			}
		}
		idle, err := w.idleShares(ctx, c, pool, len(paused) > 0)
		if err != nil {
			return err
		}
		for _, number := range pool {
			k := pairKey{c.ID, number}
			if !w.due(k) || idle[number] {
				continue
			}
			if why := paused[number]; why != "" {
				w.say(c, number, fmt.Sprintf("phone number %s paused, skipped: %s; after fixing the cause: whatsend resume %s", number, why, campaign.QuoteArg(c.Name)))
				continue
			}
			if h, held, err := campaign.Holder(ctx, w.st, c, number, w.o.exec.owner(), w.a.now()); err != nil {
				return err
			} else if held {
				w.say(c, number, fmt.Sprintf("number %s driven by pid %d on %s", number, h.PID, h.Host))
				continue
			}
			select {
			case w.slots <- struct{}{}:
			default:
				return nil // busy enough: the rest waits for a free slot
			}
			w.mu.Lock()
			delete(w.told, k)
			w.driving[k] = true
			w.mu.Unlock()
			w.runs.Go(func() {
				res, err := w.drive(c, number)
				if ctx.Err() == nil {
					w.after(c, k, res, err)
				}
				w.mu.Lock()
				delete(w.driving, k)
				w.mu.Unlock()
				<-w.slots
				select {
				case w.freed <- struct{}{}:
				default:
				}
			})
		}
	}
	return nil
}

// idleShares returns the numbers of a pooled campaign with nothing to
// send or settle: a pair run of one would only say so, after a pre-flight.
// None is idle while recipients wait for a number (never assigned, or on a
// paused number: a pair run gives them one) or when nothing is left at all
// (the campaign is not finished yet: a pair run marks it).
func (w *worker) idleShares(ctx context.Context, c store.Campaign, pool []string, anyPaused bool) (map[string]bool, error) {
	idle := map[string]bool{}
	if len(pool) < 2 || anyPaused {
		return idle, nil
	}
	toSettle := func(number string) (int, error) {
		m, err := w.st.CountsFor(ctx, c.ID, number)
		return campaign.Remaining(m) + m[store.StateInFlight], err
	}
	if n, err := toSettle(""); err != nil || n > 0 {
		return idle, err
	}
	left := 0
	for _, number := range pool {
		n, err := toSettle(number)
		if err != nil {
			return nil, err
		}
		idle[number] = n == 0
		left += n
	}
	if left == 0 {
		clear(idle)
	}
	return idle, nil
}

// wanted reports whether c may have work for this worker now.
func (w *worker) wanted(c store.Campaign) bool {
	now := w.a.now()
	switch {
	case c.State.Closed() || c.State == store.CampaignImporting:
		return false
	case c.State == store.CampaignPaused && !campaign.PastNotAfter(c, now) && !campaign.RetriesItself(c):
		// As resume --all: a person resumes it by name after fixing the cause.
		w.say(c, "", fmt.Sprintf("paused, skipped: %s; after fixing the cause: whatsend resume %s", c.PauseReason, campaign.QuoteArg(c.Name)))
		return false
	}
	if skip := w.a.otherNumber(c); skip != "" {
		w.say(c, "", skip+", skipped")
		return false
	}
	return true
}

// due reports whether pair k is not driven by this worker now nor left
// alone until later.
func (w *worker) due(k pairKey) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.driving[k] && !w.a.now().Before(w.notBefore[k])
}

// drive runs the pair of c and number once as resume does, retries due
// later than --poll ending the run with work left rather than keeping the
// worker waiting.
func (w *worker) drive(c store.Campaign, number string) (campaign.Result, error) {
	s, err := campaign.DecodeSettings(c.Settings)
	if err != nil {
		return campaign.Result{}, err
	}
	if err := campaign.CheckPhoneNumberID(c.Name, s, "WHATSEND_PHONE_NUMBER_ID", w.a.getenv("WHATSEND_PHONE_NUMBER_ID")); err != nil {
		return campaign.Result{}, err
	}
	w.mu.Lock()
	client, err := w.a.newClient(s, w.o.api)
	w.mu.Unlock()
	if err != nil {
		return campaign.Result{}, err
	}
	e := w.o.exec
	e.retryWait = w.o.poll
	e.number = number
	return w.a.driveResult(w.cmd, w.st, client, c, e)
}

// after records when pair k of c is worth trying again. A pair whose lease
// another worker took first (ErrBusy) is looked at again at the next
// round; one whose campaign finished is never driven again (the campaign
// is closed).
func (w *worker) after(c store.Campaign, k pairKey, res campaign.Result, err error) {
	now := w.a.now()
	var next time.Time
	switch {
	case err == nil, errors.Is(err, campaign.ErrBusy):
		return
	case errors.Is(err, campaign.ErrMoreWork):
		next = now.Add(w.o.poll)
		if res.NextAt.After(now) {
			next = res.NextAt
		}
	case errors.Is(err, campaign.ErrPaused):
		next = now.Add(workerBackoff) // a network pause is tried again then
	default:
		fmt.Fprintf(w.a.errOut, "whatsend: worker: campaign %s, phone number %s: %v; trying it again in %s\n", c.Name, k.number, err, workerBackoff)
		next = now.Add(workerBackoff)
	}
	w.mu.Lock()
	w.notBefore[k] = next
	w.mu.Unlock()
}

// say prints why c (number "") or its pair of number is left alone, once
// until the reason changes.
func (w *worker) say(c store.Campaign, number, why string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := pairKey{c.ID, number}
	if w.told[k] == why {
		return
	}
	w.told[k] = why
	fmt.Fprintf(w.a.out, "campaign %s (id %d): %s\n", c.Name, c.ID, why)
}
