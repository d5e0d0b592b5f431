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
