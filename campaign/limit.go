package campaign

import (
	"time"

	"github.com/whatsend/whatsend/sender"
)

// Window is the messaging limit's moving period (cloud-api.md §4.3).
const Window = 24 * time.Hour

// LowestTier is the limit used when Meta's value is unknown (TIER_NOT_SET).
const LowestTier = 250

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
