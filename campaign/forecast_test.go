package campaign

import (
	"testing"
	"time"
)

func TestBuildForecast(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	f := BuildForecast("phone:1", Limit{Users: 250, Source: "--tier"}, 14, time.Time{}, now, 0, 200)
	// Day 0: 25, day 1: 41, day 2: 57 (0.10+0.9×2/14 = 0.2286 → 57), day 3: 73 → 200 reached on day 3.
	want := []ForecastDay{
		{"2026-03-01", 0, 25, 25},
		{"2026-03-02", 1, 41, 41},
		{"2026-03-03", 2, 57, 57},
		{"2026-03-04", 3, 73, 73},
		{"2026-03-05", 4, 89, 4},
	}
	if len(f.Days) != len(want) {
		t.Fatalf("forecast has %d days, want %d: %+v", len(f.Days), len(want), f.Days)
	}
	for i := range want {
		if f.Days[i] != want[i] {
			t.Errorf("day %d = %+v, want %+v", i, f.Days[i], want[i])
		}
	}
	if f.Finish != "2026-03-05" {
		t.Errorf("finish = %q, want 2026-03-05", f.Finish)
	}
}

func TestBuildForecastSharedScope(t *testing.T) {
	now := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) // day 19: full allowance
	f := BuildForecast("business:9", Limit{Users: 2000}, 14, start, now, 1500, 1200)
	if f.Days[0].Recipients != 500 || f.Days[1].Recipients != 700 {
		t.Errorf("shared scope: days %+v, want 500 then 700", f.Days)
	}
	u := BuildForecast("business:9", Limit{Users: -1}, 14, start, now, 1500, 1200)
	if len(u.Days) != 1 || u.Days[0].Recipients != 1200 || u.Finish != "2026-03-20" {
		t.Errorf("unlimited: %+v", u)
	}
	z := BuildForecast("business:9", Limit{Users: 0}, 14, start, now, 0, 10)
	if z.Finish != "" || len(z.Days) != maxForecastDays {
		t.Errorf("a zero limit never finishes: finish %q after %d days", z.Finish, len(z.Days))
	}
}
