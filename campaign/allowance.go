package campaign

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// Allowance is the number of unique recipients allowed per rolling 24 h:
// floor(limit × WarmupFraction). A limit below 0 is unlimited (returned as -1).
func Allowance(limit, day, days int) int {
	if limit < 0 {
		return -1
	}
	// The small epsilon keeps floor(250 × 0.1) at 25 despite binary fractions.
	return int(math.Floor(float64(limit)*WarmupFraction(day, days) + 1e-9))
}

// allowance enforces the rolling 24 h unique-recipient budget of a
// messaging-limit scope, shared by every campaign and number in it through
// the store. Used by the dispatcher goroutine only.
type allowance struct {
	st    ScopeReader
	log   *slog.Logger
	s     Settings
	scope string
	limit Limit
	start time.Time // warm-up start; zero until the scope's first send
	// starting: the scope had no warm-up start when this run began; its
	// attempts carry StartsWarmup.
	starting bool
	// flush waits until every dispatched recipient is committed, so the
	// store's window count includes them.
	flush func(context.Context) error

	// res, when set, reserves the units in the store before they are
	// taken (several processes sending in the scope); owner names this
	// run's reservation, chunk how many units it reserves at a time.
	res     reserver
	owner   string
	chunk   int
	granted int // units reserved and not taken yet

	left     int
	fresh    bool // left was computed and not used up since
	allowed  int
	used     int
	day      int
	nextFree time.Time
}

// newAllowance builds the scope's allowance from the pre-flight's health
// read (a run never starts without one).
func newAllowance(ctx context.Context, st scopeStore, s Settings, c store.Campaign, log *slog.Logger, h sender.Health) (*allowance, error) {
	a := &allowance{st: st, log: log, s: s, scope: c.Scope, limit: ResolveLimit(s, h.Limit, true)}
	if s.WarmupStart != "" {
		t, err := time.Parse(time.DateOnly, s.WarmupStart)
		if err != nil {
			return nil, fmt.Errorf("--warmup-start: %w", err)
		}
		if err := st.SetWarmupStart(ctx, a.scope, t, false); err != nil {
			return nil, err
		}
	}
	t, ok, err := st.WarmupStart(ctx, a.scope)
	if err != nil {
		return nil, err
	}
	if ok {
		a.start = t
	}
	return a, nil
}

// unlimited reports whether there is no cap at all.
func (a *allowance) unlimited() bool { return a.limit.Users < 0 }

// observeLimit applies a limit re-read from the API: a lower value takes
// effect at once.
func (a *allowance) observeLimit(h sender.Limit) {
	if a.s.Tier != "" || !h.Known() {
		return
	}
	l := ResolveLimit(a.s, h, true)
	if l != a.limit {
		a.log.Info("messaging limit changed", "scope", a.scope, "from", a.limit.Users, "to", l.Users)
		a.limit, a.fresh = l, false
	}
}

// take reserves one unit for a recipient about to be sent, or reports that
// the allowance is used up. A recipient already counted in the window uses
// no unit.
func (a *allowance) take(ctx context.Context, phone string, now time.Time) (bool, error) {
	if a.unlimited() {
		return true, nil
	}
	if a.start.IsZero() {
		// The scope's first send starts its warm-up: its checkpoint records
		// the start (StartsWarmup), and a send that never leaves gives it
		// back, so an unreachable API starts no warm-up.
		a.start, a.starting = now, true
	}
	in, err := a.st.WindowContains(ctx, a.scope, now.Add(-Window), []string{phone})
	if err != nil {
		return false, err
	}
	if in[phone] {
		return true, nil
	}
	if !a.fresh || a.left <= 0 || (a.res != nil && a.granted <= 0) {
		if err := a.refresh(ctx, now); err != nil {
			return false, err
		}
		if err := a.reserve(ctx, now); err != nil {
			return false, err
		}
	}
	if a.left <= 0 {
		return false, nil
	}
	a.left--
	a.used++
	a.granted--
	return true, nil
}

// giveBack returns a unit taken for a recipient that did not leave.
func (a *allowance) giveBack() {
	if !a.unlimited() {
		a.left++
		a.used--
		a.granted++
	}
}

// reserver is what the allowance shared across processes needs of the
// store.
type reserver interface {
	ReserveAllowance(ctx context.Context, scope, owner string, n, limit int, since, now, until time.Time) (granted, used int, err error)
	ReleaseAllowance(ctx context.Context, scope, owner string) error
}

// ReservationLapse is how long a reservation of the scope's allowance is
// held: a killed process's units are free again after it.
const ReservationLapse = 30 * time.Second

// maxReservation caps the units reserved at a time.
const maxReservation = 250

// reserveChunk is how many units a run reserves at a time: about a quarter
// second of its sends at rate, capped, at least one.
func reserveChunk(rate float64) int { return min(max(int(rate/4), 1), maxReservation) }

// reserve, after a refresh, reserves the next chunk of what is left in the
// store, so that the processes sending in the scope never send more
// together than the limit. What others hold is not left for this run.
func (a *allowance) reserve(ctx context.Context, now time.Time) error {
	if a.res == nil || a.left <= 0 {
		return nil
	}
	granted, used, err := a.res.ReserveAllowance(ctx, a.scope, a.owner, min(a.chunk, a.left), a.allowed, now.Add(-Window), now, now.Add(ReservationLapse))
	if err != nil {
		return err
	}
	a.used, a.granted = used, granted
	a.left = granted
	if at := now.Add(ReservationLapse); granted == 0 && (!a.nextFree.After(now) || a.nextFree.After(at)) {
		// Other processes hold what is left: theirs is sent or lapses.
		a.nextFree = at
	}
	return nil
}

// release gives back what this run reserved and did not take.
func (a *allowance) release(ctx context.Context) {
	if a.res != nil && !a.unlimited() {
		_ = a.res.ReleaseAllowance(context.WithoutCancel(ctx), a.scope, a.owner) // it lapses anyway
	}
}

// refresh recomputes what is left from the store.
func (a *allowance) refresh(ctx context.Context, now time.Time) error {
	if a.flush != nil {
		if err := a.flush(ctx); err != nil {
			return err
		}
	}
	since := now.Add(-Window)
	used, err := a.st.WindowCount(ctx, a.scope, since)
	if err != nil {
		return err
	}
	a.day = WarmupDay(a.start, now)
	a.allowed = Allowance(a.limit.Users, a.day, a.s.WarmupDays)
	a.used = used
	a.left = a.allowed - used
	a.fresh = true
	if a.left > 0 {
		return nil
	}
	a.nextFree, err = a.nextCapacity(ctx, now)
	return err
}

// nextCapacity is when the window next frees a unit: when enough of the
// oldest sends leave the 24 h window, or the next warm-up day, whichever
// comes first.
func (a *allowance) nextCapacity(ctx context.Context, now time.Time) (time.Time, error) {
	times, err := a.st.WindowTimes(ctx, a.scope, now.Add(-Window))
	if err != nil {
		return time.Time{}, err
	}
	var next time.Time
	if k := len(times) - a.allowed; k >= 0 && k < len(times) {
		next = times[k].Add(Window)
	}
	if a.day < a.s.WarmupDays {
		nd := a.start.Add(time.Duration(a.day+1) * Window)
		if next.IsZero() || nd.Before(next) {
			next = nd
		}
	}
	return next, nil
}

// stopMessage says why the allowance stopped the run.
func (a *allowance) stopMessage() string {
	pct := WarmupFraction(a.day, a.s.WarmupDays) * 100
	msg := fmt.Sprintf("allowance used up: %d unique recipients in the last 24 h of %d allowed (limit %d from %s × warm-up day %d = %.0f%%)",
		a.used, a.allowed, a.limit.Users, a.limit.Source, a.day, pct)
	if a.res != nil && a.used < a.allowed {
		msg += fmt.Sprintf("; the other %d are reserved by other runs sending in the scope", a.allowed-a.used)
	}
	if !a.nextFree.IsZero() {
		msg += "; capacity frees at " + a.nextFree.UTC().Format(time.RFC3339)
	}
	return msg
}

// ScopeStatus is a messaging-limit scope's allowance at one instant, as
// `whatsend status` shows it.
type ScopeStatus struct {
	Scope       string
	Limit       Limit
	WarmupStart time.Time // zero: no send yet in the scope
	Day         int       // warm-up day
	Allowed     int       // unique recipients allowed per 24 h today (-1 unlimited)
	Used        int       // unique recipients sent in the last 24 h
	Left        int       // what can be sent now (-1 unlimited)
	NextFree    time.Time // when capacity frees next, when Left is 0
}

// ScopeReader is what reading a messaging-limit scope needs of the store.
type ScopeReader interface {
	WindowCount(ctx context.Context, scope string, since time.Time) (int, error)
	WindowTimes(ctx context.Context, scope string, since time.Time) ([]time.Time, error)
	WindowContains(ctx context.Context, scope string, since time.Time, phones []string) (map[string]bool, error)
	WarmupStart(ctx context.Context, scope string) (time.Time, bool, error)
}

// scopeStore is what the allowance of a sending run needs of the store:
// reading the scope, and recording its warm-up start (--warmup-start).
type scopeStore interface {
	ScopeReader
	SetWarmupStart(ctx context.Context, scope string, t time.Time, onlyIfAbsent bool) error
}

// ReadScope computes a scope's allowance from the store without sending:
// the limit from the campaign's settings (--tier, --daily-limit) or else the
// last value the API gave for its number (phone; nil when never read).
func ReadScope(ctx context.Context, st ScopeReader, s Settings, scope string, phone *store.PhoneRecord, now time.Time) (ScopeStatus, error) {
	s = s.WithDefaults()
	var h sender.Limit
	if phone != nil {
		h = sender.Limit{Tier: phone.LimitSource, Users: max(phone.Limit, 0), Unlimited: phone.Limit < 0}
		if h.Tier == "" {
			h.Tier = "last read"
		}
	}
	a := &allowance{st: st, s: s, scope: scope, limit: ResolveLimit(s, h, phone != nil)}
	ss := ScopeStatus{Scope: scope, Limit: a.limit, Allowed: -1, Left: -1}
	used, err := st.WindowCount(ctx, scope, now.Add(-Window))
	if err != nil {
		return ss, err
	}
	ss.Used = used
	start, ok, err := st.WarmupStart(ctx, scope)
	if err != nil {
		return ss, err
	}
	if ok {
		ss.WarmupStart = start
		a.start = start
	} else {
		a.start = now // the first send starts the warm-up
	}
	if a.unlimited() {
		return ss, nil
	}
	if err := a.refresh(ctx, now); err != nil {
		return ss, err
	}
	ss.Day, ss.Allowed, ss.Left, ss.NextFree = a.day, a.allowed, max(a.left, 0), a.nextFree
	return ss, nil
}
