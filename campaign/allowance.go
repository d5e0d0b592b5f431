//go:build wip

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

// Window is the messaging limit's moving period (cloud-api.md §4.3).
const Window = 24 * time.Hour

// LowestTier is the limit used when Meta's value is unknown (TIER_NOT_SET).
const LowestTier = 250

// WarmupFraction is the share of the limit allowed on a warm-up day:
// min(0.10 + 0.90 × day / days, 1). Day 0 sends 10 %, day `days` and later
// 100 % (DESIGN.md "Limits" §4).
func WarmupFraction(day, days int) float64 {
	if days <= 0 || day >= days {
		return 1
	}
	if day < 0 {
		day = 0
	}
	return math.Min(0.10+0.90*float64(day)/float64(days), 1)
}

// Allowance is the number of unique recipients allowed per rolling 24 h:
// floor(limit × WarmupFraction). A limit below 0 is unlimited (returned as -1).
func Allowance(limit, day, days int) int {
	if limit < 0 {
		return -1
	}
	// The small epsilon keeps floor(250 × 0.1) at 25 despite binary fractions.
	return int(math.Floor(float64(limit)*WarmupFraction(day, days) + 1e-9))
}

// WarmupDay is the number of whole 24 h periods since the warm-up start.
func WarmupDay(start, now time.Time) int {
	if now.Before(start) {
		return 0
	}
	return int(now.Sub(start) / Window)
}

// Limit is a messaging limit and where it came from.
type Limit struct {
	Users  int    // unique users per 24 h; -1 unlimited
	Source string // "--tier", the API field, or the fallback
}

// ResolveLimit picks the messaging limit: --tier wins, then the API's value;
// an unknown value falls back to the lowest tier. --daily-limit caps it (and
// is the limit when the tier is unlimited).
func ResolveLimit(s Settings, h sender.Limit, fromAPI bool) Limit {
	var l Limit
	switch {
	case s.Tier != "":
		n, _ := ParseTier(s.Tier)
		l = Limit{n, "--tier"}
	case fromAPI && h.Unlimited:
		l = Limit{-1, "the API (" + h.Tier + ")"}
	case fromAPI && h.Users > 0:
		l = Limit{h.Users, "the API (" + h.Tier + ")"}
	default:
		l = Limit{LowestTier, "the lowest tier: the API gave no usable messaging limit; set --tier"}
	}
	if s.DailyLimit > 0 && (l.Users < 0 || s.DailyLimit < l.Users) {
		l = Limit{s.DailyLimit, "--daily-limit"}
	}
	return l
}

// allowance enforces the rolling 24 h unique-recipient budget of a
// messaging-limit scope, shared by every campaign and number in it through
// the store. Used by the dispatcher goroutine only.
type allowance struct {
	st    store.Store
	log   *slog.Logger
	s     Settings
	scope string
	limit Limit
	start time.Time // warm-up start; zero until the scope's first send
	// flush waits until every dispatched recipient is committed, so the
	// store's window count includes them.
	flush func(context.Context) error

	left     int
	fresh    bool // left was computed and not used up since
	allowed  int
	used     int
	day      int
	nextFree time.Time
}

func newAllowance(ctx context.Context, st store.Store, s Settings, c store.Campaign, log *slog.Logger, h sender.Health, fromAPI bool) (*allowance, error) {
	a := &allowance{st: st, log: log, s: s, scope: c.Scope, limit: ResolveLimit(s, h.Limit, fromAPI)}
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
		// The scope's first send starts its warm-up.
		if err := a.st.SetWarmupStart(ctx, a.scope, now, true); err != nil {
			return false, err
		}
		t, _, err := a.st.WarmupStart(ctx, a.scope)
		if err != nil {
			return false, err
		}
		a.start = t
	}
	in, err := a.st.WindowContains(ctx, a.scope, now.Add(-Window), []string{phone})
	if err != nil {
		return false, err
	}
	if in[phone] {
		return true, nil
	}
	if !a.fresh || a.left <= 0 {
		if err := a.refresh(ctx, now); err != nil {
			return false, err
		}
	}
	if a.left <= 0 {
		return false, nil
	}
	a.left--
	a.used++
	return true, nil
}

// giveBack returns a unit taken for a recipient that did not leave.
func (a *allowance) giveBack(string) {
	if !a.unlimited() {
		a.left++
		a.used--
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
	if !a.nextFree.IsZero() {
		msg += "; capacity frees at " + a.nextFree.UTC().Format(time.RFC3339)
	}
	return msg
}
