package campaign

import (
	"math"
	"time"

	"github.com/whatsend/whatsend/sender"
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
