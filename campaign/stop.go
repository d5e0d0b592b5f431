package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// stopKind is the kind of condition that ends a run.
type stopKind int

const (
	stopInterrupted stopKind = iota + 1 // the context ended: a signal, or the lease was lost
	stopPaused                          // the guard, the recorder or a read paused the campaign
	stopExpired                         // --not-after passed: Run expires what is left
	stopDeadline                        // --max-duration reached
	stopAllowance                       // the messaging limit is used up (without --wait)
	stopWaiting                         // what is left is not due within the retry wait: deferred, retrying, outside its window, awaiting a status
	stopFinished                        // nothing left to settle
)

// stopReason is why a run ends. The dispatcher's stop conditions are
// decided by stopAt (before every send), idle and the allowance, and
// runner.stop turns each into the summary's line, the campaign's state and
// the run's error. A pause found by a read outside the loop (the
// pre-flight, a health or template read) goes straight to pauseNow, the
// step stop takes for stopPaused; an expired run's line is written by
// expire, which Run calls on errExpired.
type stopReason struct {
	kind   stopKind
	msg    string      // the summary's line (stopDeadline, stopAllowance, stopWaiting)
	nextAt time.Time   // when more can be done, if known
	pause  *pauseCause // stopPaused
	at     time.Time   // when it was decided (stopFinished)
}

// stopAt decides the conditions checked before every send, in order: the
// context, a pause set by the recorder or the guard, --not-after and
// --max-duration (deadline, zero when none). It returns the time it judged.
func (r *runner) stopAt(ctx context.Context, deadline time.Time) (time.Time, stopReason, bool) {
	if ctx.Err() != nil {
		return time.Time{}, stopReason{kind: stopInterrupted}, true
	}
	r.mu.Lock()
	p := r.pause
	r.mu.Unlock()
	if p != nil {
		return time.Time{}, stopReason{kind: stopPaused, pause: p}, true
	}
	now := r.d.Now()
	switch {
	case r.pastExpiry(now):
		return now, stopReason{kind: stopExpired}, true
	case !deadline.IsZero() && !now.Before(deadline):
		return now, stopReason{kind: stopDeadline, msg: fmt.Sprintf("--max-duration %s reached", r.o.MaxDuration)}, true
	}
	return now, stopReason{}, false
}

// stop ends the run for sr: it records why for the summary, persists the
// campaign's state when the reason changes it (paused, finished), and
// returns the run's error: the context's cause, ErrPaused, errExpired, nil
// when finished, ErrMoreWork otherwise.
func (r *runner) stop(ctx context.Context, sr stopReason) error {
	switch sr.kind {
	case stopInterrupted:
		return context.Cause(ctx)
	case stopPaused:
		return r.pauseNow(ctx, sr.pause)
	case stopExpired:
		return errExpired
	case stopFinished:
		r.stopMsg = "finished"
		return r.d.Store.SetCampaignState(ctx, r.c.ID, store.CampaignFinished, "", nil, sr.at)
	}
	r.stopMsg, r.nextAt = sr.msg, sr.nextAt
	r.pastDeadline = sr.kind == stopDeadline
	return ErrMoreWork
}

// pauseNow persists a pause and returns the error that ends the run.
func (r *runner) pauseNow(ctx context.Context, p *pauseCause) error {
	if r.wasPaused && r.sentAny.Load() == 0 && p.Kind != "store" && p.Kind != pauseKindNetwork {
		p.Reason = "resume refused, the cause is still there (whatsend resume --force sends anyway): " + p.Reason
	}
	detail := map[string]any{"kind": p.Kind}
	for k, v := range p.Detail {
		detail[k] = v
	}
	b, _ := json.Marshal(detail)
	if err := r.d.Store.SetCampaignState(context.WithoutCancel(ctx), r.c.ID, store.CampaignPaused, p.Reason, b, r.d.Now()); err != nil {
		return err
	}
	r.d.Logger.Error("campaign paused", "campaign", r.c.Name, "reason", p.Reason)
	r.stopMsg = "paused: " + p.Reason
	return fmt.Errorf("%w: %s", ErrPaused, p.Reason)
}

// recheckPause is called when resuming a paused campaign: the cause is
// re-checked by the health read that follows; here the pause is lifted.
func (r *runner) recheckPause(ctx context.Context) error {
	r.d.Logger.Info("resuming a paused campaign", "campaign", r.c.Name, "paused_for", r.c.PauseReason)
	return r.d.Store.SetCampaignState(ctx, r.c.ID, store.CampaignReady, "", nil, r.d.Now())
}

// readFailed handles a failed management read (health, template): the
// run's cause when interrupted, a pause when the error is campaign-fatal,
// otherwise a warning and the run goes on.
func (r *runner) readFailed(ctx context.Context, err error, warning string) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	if e := sender.Classify(err); e.Class == sender.ClassFatal {
		return r.pauseNow(ctx, pauseFromError(err, e))
	}
	r.d.Logger.Warn(warning, "err", err)
	return nil
}
