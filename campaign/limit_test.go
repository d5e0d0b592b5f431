package campaign

import (
	"testing"

	"github.com/whatsend/whatsend/sender"
)

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
