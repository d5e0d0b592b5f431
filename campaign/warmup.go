package campaign

import (
	"math"
	"time"
)

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

// WarmupDay is the number of whole 24 h periods since the warm-up start.
func WarmupDay(start, now time.Time) int {
	if now.Before(start) {
		return 0
	}
	return int(now.Sub(start) / Window)
}
