//go:build wip

package campaign

import (
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender"
)

func TestAllowanceWarmupCurve(t *testing.T) {
	// allowance = floor(limit × min(0.10 + 0.90 × day / 14, 1))
	tests := []struct {
		day       int
		tier250   int
		tier2000  int
		tier10000 int
	}{
		{0, 25, 200, 1000},
		{1, 41, 328, 1642},    // 0.10 + 0.9/14 = 0.1642857
		{7, 137, 1100, 5500},  // 0.55
		{13, 233, 1871, 9357}, // 0.9357142
		{14, 250, 2000, 10000},
		{20, 250, 2000, 10000},
	}
	for _, tt := range tests {
		for _, c := range []struct{ limit, want int }{{250, tt.tier250}, {2000, tt.tier2000}, {10000, tt.tier10000}} {
			if got := Allowance(c.limit, tt.day, 14); got != c.want {
				t.Errorf("Allowance(%d, day %d, 14) = %d, want %d", c.limit, tt.day, got, c.want)
			}
		}
	}
	if got := Allowance(-1, 0, 14); got != -1 {
		t.Errorf("Allowance(unlimited) = %d, want -1", got)
	}
	if got := Allowance(1000, 3, 0); got != 1000 {
		t.Errorf("Allowance with no warm-up = %d, want 1000", got)
	}
}

func TestWarmupDay(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		now  time.Time
		want int
	}{
		{start.Add(-time.Hour), 0},
		{start, 0},
		{start.Add(23*time.Hour + 59*time.Minute), 0},
		{start.Add(24 * time.Hour), 1},
		{start.Add(14*24*time.Hour - time.Second), 13},
		{start.Add(14 * 24 * time.Hour), 14},
	} {
		if got := WarmupDay(start, tt.now); got != tt.want {
			t.Errorf("WarmupDay(%s) = %d, want %d", tt.now.Sub(start), got, tt.want)
		}
	}
}

func TestResolveLimit(t *testing.T) {
	for _, tt := range []struct {
		name    string
		s       Settings
		api     sender.Limit
		fromAPI bool
		want    int
	}{
		{"tier flag wins", Settings{Tier: "2000"}, sender.Limit{Users: 10000}, true, 2000},
		{"api value", Settings{}, sender.Limit{Tier: "TIER_10K", Users: 10000}, true, 10000},
		{"api unlimited", Settings{}, sender.Limit{Tier: "TIER_UNLIMITED", Unlimited: true}, true, -1},
		{"unknown falls back to lowest", Settings{}, sender.Limit{Tier: "TIER_NOT_SET"}, true, LowestTier},
		{"health unreadable", Settings{}, sender.Limit{}, false, LowestTier},
		{"daily limit caps", Settings{DailyLimit: 100}, sender.Limit{Users: 2000}, true, 100},
		{"daily limit above tier", Settings{DailyLimit: 5000}, sender.Limit{Users: 2000}, true, 2000},
		{"daily limit with unlimited", Settings{Tier: "unlimited", DailyLimit: 300}, sender.Limit{}, false, 300},
		{"unlimited flag", Settings{Tier: "unlimited"}, sender.Limit{Users: 250}, true, -1},
	} {
		if got := ResolveLimit(tt.s, tt.api, tt.fromAPI); got.Users != tt.want {
			t.Errorf("%s: ResolveLimit = %d (%s), want %d", tt.name, got.Users, got.Source, tt.want)
		}
	}
}

func TestPairSpacer(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPairSpacer(6*time.Second, map[string]time.Time{"+1": t0.Add(-2 * time.Second)})
	if got, want := p.allowedAt("+1"), t0.Add(4*time.Second); !got.Equal(want) {
		t.Errorf("loaded recipient allowed at %v, want %v", got, want)
	}
	if got := p.allowedAt("+2"); !got.IsZero() {
		t.Errorf("unknown recipient allowed at %v, want zero", got)
	}
	p.record("+2", t0)
	if got, want := p.allowedAt("+2"), t0.Add(6*time.Second); !got.Equal(want) {
		t.Errorf("after a send allowed at %v, want %v", got, want)
	}
	// Old entries are pruned: memory follows rate × interval.
	for i := range 10000 {
		p.record("+x"+string(rune('a'+i%26))+time.Duration(i).String(), t0.Add(time.Duration(i)*10*time.Millisecond))
	}
	if n := len(p.last); n > 700 {
		t.Errorf("spacer keeps %d entries after 100 s at 100 msg/s with a 6 s interval, want about 600", n)
	}
}

func TestBackoffBounds(t *testing.T) {
	maxRand := func(n int64) int64 { return n - 1 }
	zeroRand := func(int64) int64 { return 0 }
	for attempt := 1; attempt <= 12; attempt++ {
		lo := pairRetryDelay(6*time.Second, attempt, zeroRand)
		hi := pairRetryDelay(6*time.Second, attempt, maxRand)
		if lo != 6*time.Second {
			t.Errorf("attempt %d: shortest 131056 retry %v, want the pair interval", attempt, lo)
		}
		if hi > 6*time.Second+pairBackoffCap {
			t.Errorf("attempt %d: longest 131056 retry %v exceeds the cap", attempt, hi)
		}
		if s := slowDelay(attempt, maxRand); s > 100*time.Millisecond+slowBackoffCap {
			t.Errorf("attempt %d: slow-down %v exceeds the cap", attempt, s)
		}
	}
	if a, b := pairRetryDelay(6*time.Second, 1, maxRand), pairRetryDelay(6*time.Second, 3, maxRand); b <= a {
		t.Errorf("back-off does not grow: attempt 1 %v, attempt 3 %v", a, b)
	}
}
