package campaign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/whatsend/whatsend/store"
)

// A pair run (RunOptions.Number) sends the share of a pooled campaign
// assigned to one phone number, so that several processes (resume --all
// --worker on several machines) send one campaign together, each from its
// own numbers. It holds the pair's lease and the number's, not the
// campaign's: pair runs of different numbers run at once, and a whole run
// (which holds the campaign's lease and every pair lease) excludes them.
// What the processes must agree on is in the store: the assignment of the
// recipients (AssignNumbers), the numbers paused by their guard
// (PauseNumber), the campaign's state (polled every sharedPoll) and the
// scope's messaging limit.

// sharedPoll is how often a pair run reads what other processes may have
// changed: the campaign's state (paused, cancelled) and the numbers paused.
const sharedPoll = time.Second

// errNumberPaused ends a pair run whose number its guard paused; Run
// records the pause once the run has drained (endPair).
var errNumberPaused = errors.New("phone number paused")

// numberShare is the store as a pair run reads it: due recipients, counts
// and the crash recovery of its own number's share only. A pair run never
// marks uncertain what another live process has in flight.
type numberShare struct {
	store.Store
	id string
}

func (v numberShare) Due(ctx context.Context, campaignID int64, now time.Time, limit int) ([]store.Recipient, error) {
	return v.DueFor(ctx, campaignID, v.id, now, limit)
}

func (v numberShare) NextDue(ctx context.Context, campaignID int64) (time.Time, bool, error) {
	return v.NextDueFor(ctx, campaignID, v.id)
}

func (v numberShare) Counts(ctx context.Context, campaignID int64) (map[store.State]int, error) {
	return v.CountsFor(ctx, campaignID, v.id)
}

func (v numberShare) MarkUncertain(ctx context.Context, campaignID int64, now time.Time) (int, error) {
	return v.MarkUncertainFor(ctx, campaignID, v.id, now)
}

// lone reports whether the run sends a campaign of one number: that
// number's pause is the campaign's.
func (r *runner) lone() bool { return len(r.nums) == 1 && !r.pair }

// assignable returns the numbers recipients may be given now: those of
// the pool not paused, by this run or (a pair run) by another process.
func (r *runner) assignable() []string {
	if !r.pair {
		return ids(r.active())
	}
	var out []string
	for _, id := range r.pool {
		if n := r.byID[id]; r.othersPaused[id] || (n != nil && n.paused != nil) {
			continue
		}
		out = append(out, id)
	}
	return out
}

// startPair reads the numbers paused by other processes before a pair run
// sends. Its own number paused refuses the run (with --force the pause is
// lifted): a whole run (whatsend resume NAME) reads its health again.
func (r *runner) startPair(ctx context.Context) error {
	ps, err := r.whole.NumberPauses(ctx, r.c.ID)
	if err != nil {
		return err
	}
	r.othersPaused = map[string]bool{}
	for _, p := range ps {
		if p.PhoneNumberID != r.number {
			r.othersPaused[p.PhoneNumberID] = true
			continue
		}
		if !r.o.Force {
			r.stopMsg = fmt.Sprintf("phone number %s is paused: %s", r.number, p.Reason)
			return fmt.Errorf("%w: campaign %s: phone number %s is paused since %s: %s; whatsend resume %s (one run of all its numbers) reads its health again",
				ErrPaused, r.c.Name, r.number, LocalTime(p.At), p.Reason, QuoteArg(r.c.Name))
		}
		r.d.Logger.Warn("--force: sending from a paused phone number", "campaign", r.c.Name, "phone_number_id", r.number, "paused_for", p.Reason)
		if err := r.whole.ResumeNumber(ctx, r.c.ID, r.number); err != nil {
			return err
		}
	}
	return nil
}

// liftNumberPauses lifts, at the start of a whole run, the pauses pair
// runs recorded: the run reads each number's health again and pauses those
// whose cause is still there, as it does for the numbers it paused itself.
func (r *runner) liftNumberPauses(ctx context.Context) error {
	ps, err := r.whole.NumberPauses(ctx, r.c.ID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := r.whole.ResumeNumber(ctx, r.c.ID, p.PhoneNumberID); err != nil {
			return err
		}
		r.d.Logger.Info("phone number paused by an earlier run: its health is read again", "campaign", r.c.Name,
			"phone_number_id", p.PhoneNumberID, "paused_for", p.Reason)
	}
	return nil
}

// pausePair stops the pair run's number: the run ends (errNumberPaused)
// and, once drained, records the pause (endPair). Recorded before the
// drain, another process could give the number's recipients to another
// number while this one still commits their checkpoints.
func (r *runner) pausePair(n *number, p *pauseCause) error {
	n.paused = p
	for _, rc := range n.queue {
		delete(r.queued, rc.ID)
	}
	n.queue = nil
	r.pairPause = p
	return errNumberPaused
}

// pollShared reads, at most every sharedPoll (always with force), what
// other processes changed: a campaign paused or cancelled ends the pair
// run; a number newly paused has its recipients never attempted given to
// the numbers still sending, this one among them.
func (r *runner) pollShared(ctx context.Context, now time.Time, force bool) error {
	if !r.pair || (!force && now.Sub(r.lastShared) < sharedPoll) {
		return nil
	}
	r.lastShared = now
	c, err := r.whole.Campaign(ctx, r.c.ID)
	if err != nil {
		return err
	}
	switch c.State {
	case store.CampaignPaused:
		r.stopMsg = "paused by another process: " + c.PauseReason
		return fmt.Errorf("%w: %s", ErrPaused, c.PauseReason)
	case store.CampaignCancelled:
		r.stopMsg = "cancelled by another process"
		return &StateError{Campaign: c.Name, State: c.State, Action: "send"}
	}
	ps, err := r.whole.NumberPauses(ctx, r.c.ID)
	if err != nil {
		return err
	}
	changed := false
	for _, p := range ps {
		if p.PhoneNumberID != r.number && !r.othersPaused[p.PhoneNumberID] {
			r.othersPaused[p.PhoneNumberID] = true
			changed = true
			r.d.Logger.Warn("another phone number of the campaign is paused: its recipients not yet sent move to the numbers still sending",
				"campaign", r.c.Name, "phone_number_id", p.PhoneNumberID, "reason", p.Reason)
		}
	}
	if changed {
		return r.assign(ctx)
	}
	return nil
}

// shareDone is the stop of a pair run whose number's share is settled:
// the campaign is finished when nothing is left for any number; otherwise
// the run ends with work left for the others.
func (r *runner) shareDone(ctx context.Context, now time.Time) (stopReason, error) {
	all, err := r.whole.Counts(ctx, r.c.ID)
	if err != nil {
		return stopReason{}, err
	}
	if left := toSettle(all); left > 0 {
		return stopReason{kind: stopWaiting,
			msg: fmt.Sprintf("nothing left for phone number %s; %d recipients left for the other numbers of the campaign", r.number, left)}, nil
	}
	return stopReason{kind: stopFinished, at: now}, nil
}

// endPair records the pause of a pair run's number once the run has
// drained, and pauses the campaign when every number of its pool is
// paused.
func (r *runner) endPair(ctx context.Context, err error) error {
	if !errors.Is(err, errNumberPaused) {
		return err
	}
	ctx = context.WithoutCancel(ctx)
	p := r.pairPause
	if err := r.d.Store.PauseNumber(ctx, r.c.ID, r.number, p.Reason, r.d.Now()); err != nil {
		return err
	}
	r.d.Logger.Error("phone number paused: it sends no more; its recipients not yet sent move to the other numbers",
		"campaign", r.c.Name, "phone_number_id", r.number, "reason", p.Reason)
	ps, err := r.whole.NumberPauses(ctx, r.c.ID)
	if err != nil {
		return err
	}
	paused := map[string]string{}
	for _, q := range ps {
		paused[q.PhoneNumberID] = q.PhoneNumberID + ": " + q.Reason
	}
	var why []string
	for _, id := range r.pool {
		if paused[id] == "" {
			r.stopMsg = fmt.Sprintf("phone number %s paused: %s", r.number, p.Reason)
			return fmt.Errorf("%w: phone number %s: %s", ErrPaused, r.number, p.Reason)
		}
		why = append(why, paused[id])
	}
	all := *p
	all.Reason = "every phone number of the campaign is paused (" + strings.Join(why, "; ") + ")"
	return r.pauseNow(ctx, &all)
}
