package campaign

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/time/rate"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// number is the sending state of one phone number in a run: the lease
// that makes it this process's to send from, its pace (a rate limiter at a
// base rate the guard scales down), its pair spacer, its guard (health,
// quality, 131056 share) and the sender-wide back-off its answers set. A
// campaign with a pool of numbers (--phone-number-id A,B,C) has one each;
// a number paused (quality, status, its 131056 share) stops only itself.
type number struct {
	id   string // the phone number id
	send Sender // the Cloud API client sending from it

	lim        *rate.Limiter
	baseRate   float64 // the rate chosen at the start, before the guard's factor
	rateReason string
	pair       *pairSpacer
	g          *guard

	// Written by the recorder, under the runner's mu.
	slowUntil  time.Time // the whole number waits until then (130429, 131057, no network)
	slowStreak int       // throughput answers in a row
	netStreak  int       // sends in a row that could not leave (the API unreachable)
	// throttledUntil: the number's throughput back-off (130429, 131057);
	// requests checkpointed ahead of their slot wait for it too.
	throttledUntil time.Time
	// toPause is a pause the recorder asked for (the number's 131056
	// share); the dispatcher applies it.
	toPause *pauseCause

	// The dispatcher's own.
	paused *pauseCause       // the number sends no more this run
	queue  []store.Recipient // fetched recipients assigned to it, in order
}

func newNumber(id string, send Sender, s Settings, now func() time.Time) *number {
	return &number{id: id, send: send, g: newGuard(s, now)}
}

// chooseRate reads the number's health (the pre-flight: nothing is sent
// without it) and picks the send rate: the lowest of --rate and the
// number's throughput from the API, and says why.
func (r *runner) chooseRate(ctx context.Context, n *number) (sender.Health, error) {
	rt, why := r.s.Rate, fmt.Sprintf("--rate %g", r.s.Rate)
	h, err := r.preflightHealth(ctx, n)
	if err != nil {
		return h, err
	}
	n.g.observeHealth(h)
	r.savePhone(ctx, n, h)
	if capRate, capWhy := throughputCap(h); capRate > 0 && capRate <= rt {
		rt, why = capRate, capWhy
	}
	n.baseRate, n.rateReason = rt, why
	if p := n.g.healthPause(h); p != nil && !r.o.Force {
		return h, r.pauseNumber(ctx, n, p)
	}
	// A burst of 10 ms of sends: a stall longer than one interval (a page
	// fetch, a late timer) is made up instead of lost; far under the
	// one-second budget Meta measures.
	n.lim = rate.NewLimiter(rate.Limit(rt), max(1, int(rt/100)))
	r.d.Logger.Info("send rate", "campaign", r.c.Name, "phone_number_id", n.id, "rate", rt, "reason", why)
	return h, nil
}

// preflightBudget bounds the pre-flight's health reads: an unreachable API
// pauses the run within it (and within 30 s of the start).
const preflightBudget = 15 * time.Second

// preflightHealth reads the number's health before any send, retrying with
// back-off within preflightBudget. Nothing is sent without a successful
// read: an API that cannot be reached, or that keeps failing the read,
// pauses the campaign with the cause (a network pause, which resume --all
// retries by itself, when the request could not leave or got no answer).
func (r *runner) preflightHealth(ctx context.Context, num *number) (sender.Health, error) {
	rctx, cancel := context.WithTimeout(ctx, preflightBudget)
	defer cancel()
	for n := 1; ; n++ {
		h, err := num.send.PhoneHealth(rctx)
		if err == nil {
			return h, nil
		}
		if ctx.Err() != nil {
			return h, context.Cause(ctx)
		}
		e := sender.Classify(err)
		if e.Class == sender.ClassFatal {
			return h, r.pauseNow(ctx, pauseFromError(err, e))
		}
		wait := slowDelay(n, r.d.Rand)
		if dl, _ := rctx.Deadline(); rctx.Err() != nil || time.Until(dl) < wait {
			if _, ok := errors.AsType[*sender.TransportError](err); ok || errors.Is(err, context.DeadlineExceeded) {
				return h, r.pauseNow(ctx, networkPause(err, fmt.Sprintf("the phone number's health could not be read (%d tries)", n)))
			}
			return h, r.pauseNow(ctx, &pauseCause{Kind: "health", Detail: map[string]any{"error": errorDetail(err)},
				Reason: fmt.Sprintf("pre-flight: the phone number's health could not be read (%d tries): %s", n, errorDetail(err))})
		}
		r.d.Logger.Warn("could not read the phone number's health; trying again", "try", n, "wait", wait.Round(time.Millisecond), "err", err)
		if err := sleepCtx(ctx, wait); err != nil {
			return h, context.Cause(ctx)
		}
	}
}

// throughputCap is the number's throughput from its health (cloud-api.md §4.1).
func throughputCap(h sender.Health) (float64, string) {
	switch {
	case h.OnBizApp:
		return CoexistenceRate, "the number is shared with the WhatsApp Business app (20 msg/s)"
	case h.ThroughputLevel == "HIGH":
		return MaxRate, "throughput level HIGH (1,000 msg/s)"
	case h.ThroughputLevel == "STANDARD":
		return DefaultRate, "throughput level STANDARD (80 msg/s)"
	}
	return 0, ""
}

func (r *runner) savePhone(ctx context.Context, n *number, h sender.Health) {
	savePhone(ctx, r.d.Store, n.id, h, r.d.Now())
}

// savePhone records the number's health as last read, so that status and
// the reports name the limit the API gave, as the run and the dry run do
// ("the API (TIER_250)") (best effort: a failure only
// leaves the previous reading).
func savePhone(ctx context.Context, st store.Store, phoneNumberID string, h sender.Health, now time.Time) {
	lim := h.Limit.Users
	if h.Limit.Unlimited {
		lim = -1
	}
	_ = st.SavePhone(ctx, store.PhoneRecord{
		PhoneNumberID: phoneNumberID, Quality: h.Quality, Status: h.Status,
		ThroughputLevel: h.ThroughputLevel, OnBizApp: h.OnBizApp, Limit: lim,
		LimitSource: cmp.Or(h.Limit.Tier, h.LimitField), CheckedAt: now,
	})
}

// pace takes the number's rate limiter's next slot and returns it: the
// time the request leaves. It waits until the run's lead before the slot
// (at high rates, the lead is 0: until the slot). The slot is not before
// backoff, the number's back-off as the dispatcher read it with readyAt;
// pace does not wait for one set since, so that a pause set with it stops
// the dispatcher at once.
func (r *runner) pace(ctx context.Context, n *number, backoff time.Time) (time.Time, error) {
	n.lim.SetLimit(rate.Limit(r.currentRate(n)))
	res := n.lim.Reserve()
	now := r.d.Now()
	slot := onGrid(later(now.Add(res.Delay()), backoff))
	if d := slot.Sub(now) - r.lead; d > 0 {
		if err := sleepCtx(ctx, d); err != nil {
			res.Cancel()
			return time.Time{}, context.Cause(ctx)
		}
	}
	if r.lead == 0 {
		return r.d.Now(), nil
	}
	return slot, nil
}

func (r *runner) currentRate(n *number) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return max(n.baseRate*n.g.rateFactor(), 0.1)
}

// backoff is when the number's back-off ends (130429, 131057, no network).
func (r *runner) backoff(n *number) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return n.slowUntil
}

// throttled is when the number's throughput back-off ends.
func (r *runner) throttled(n *number) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return n.throttledUntil
}

// readyAt is when the number may send next: after its back-off and its
// rate limiter's next slot.
func (r *runner) readyAt(n *number, now time.Time) time.Time {
	r.mu.Lock()
	at := later(now, n.slowUntil)
	r.mu.Unlock()
	rt := r.currentRate(n)
	n.lim.SetLimit(rate.Limit(rt))
	if tok := n.lim.TokensAt(at); tok < 1 {
		at = at.Add(time.Duration((1 - tok) / rt * float64(time.Second)))
	}
	return at
}

// healthOverdue reports whether the number's health was last read a minute
// ago or more (the guard reads it at least every minute).
func (r *runner) healthOverdue(n *number, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return now.Sub(n.g.lastHealth) >= healthMaxInterval
}

// betweenBatches reads each sending number's health at most every 15 s.
func (r *runner) betweenBatches(ctx context.Context) error {
	for _, n := range r.active() {
		r.mu.Lock()
		due := r.d.Now().Sub(n.g.lastHealth) >= healthMinInterval
		r.mu.Unlock()
		if !due {
			continue
		}
		if err := r.readHealth(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// readHealth reads the number's health and applies it to the guard and the
// allowance.
func (r *runner) readHealth(ctx context.Context, n *number) error {
	h, err := n.send.PhoneHealth(ctx)
	if err != nil {
		r.mu.Lock()
		n.g.lastHealth = r.d.Now()
		r.mu.Unlock()
		return r.readFailed(ctx, err, "could not read the phone number's health")
	}
	r.savePhone(ctx, n, h)
	r.mu.Lock()
	prev := n.g.quality
	n.g.observeHealth(h)
	p := n.g.healthPause(h)
	r.mu.Unlock()
	if h.Quality == "YELLOW" && prev != "YELLOW" {
		r.d.Logger.Warn("quality rating MEDIUM (YELLOW): send rate halved", "campaign", r.c.Name, "phone_number_id", n.id)
	}
	r.allowance.observeLimit(h.Limit)
	if p != nil {
		if r.o.Force {
			r.d.Logger.Warn("--force: sending although "+p.Reason, "campaign", r.c.Name)
			return nil
		}
		return r.pauseNumber(ctx, n, p)
	}
	return nil
}

// onGrid returns t rounded up to the next multiple of SendGrid.
func onGrid(t time.Time) time.Time {
	if u := t.Truncate(SendGrid); u.Before(t) {
		return u.Add(SendGrid)
	}
	return t
}
