package campaign

import (
	"testing"
	"time"
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
