package campaign_test

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
)

// attemptsIn counts a campaign's attempts started within d of the first.
func (e *env) attemptsIn(c store.Campaign, d time.Duration) int {
	e.t.Helper()
	var first time.Time
	n := 0
	err := e.st.Attempts(e.t.Context(), c.ID, func(a store.AttemptRecord) error {
		if first.IsZero() {
			first = a.StartedAt
		}
		if a.StartedAt.Sub(first) < d {
			n++
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestRunTransientErrorsBackOffTheRecipientOnly: 2 % of sends answered
// 500/131000 must not slow the whole sender down; each failing recipient
// is retried on its own back-off.
func TestRunTransientErrorsBackOffTheRecipientOnly(t *testing.T) {
	const rate, n = 100, 5000
	sends := func(failRate float64) (int, map[store.State]int) {
		var got int
		var counts map[store.State]int
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1, FailRate: failRate, Seed: 7})
			c := e.campaign("t", phones(n, 0), campaign.Settings{Rate: rate, BatchSize: 500})
			_, _ = e.run(c, nil, campaign.RunOptions{MaxDuration: 61 * time.Second})
			got = e.attemptsIn(c, time.Minute)
			counts = e.counts(c)
		})
		return got, counts
	}
	clean, _ := sends(0)
	faulty, counts := sends(0.02)
	t.Logf("attempts in a simulated minute at --rate %d: %d fault-free, %d with 2 %% 131000", rate, clean, faulty)
	if float64(faulty) < 0.95*float64(clean) {
		t.Errorf("with 2 %% transient errors %d attempts in a minute, want within 5 %% of the fault-free %d", faulty, clean)
	}
	if counts[store.StateFailed] != 0 {
		t.Errorf("counts %v: a transient error failed a recipient, want it retried", counts)
	}
}

// TestRunThroughputErrorsStillSlowEveryone: 130429 (and 131057) pause the
// whole sender; a transient 131000 does not.
func TestRunThroughputErrorsStillSlowEveryone(t *testing.T) {
	for _, tc := range []struct {
		code     int
		wantSlow bool
	}{{130429, true}, {131057, true}, {131000, false}} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
				nums := phones(150, 0)
				sc := &scripted{inner: e.client, fail: func(to string, n int) error {
					if to == nums[20] && n == 1 {
						return &sender.APIError{HTTPStatus: 500, Code: tc.code, Message: "test"}
					}
					return nil
				}}
				c := e.campaign("s", nums, campaign.Settings{Rate: 50})
				if _, err := e.run(c, sc, campaign.RunOptions{}); err != nil {
					t.Fatalf("run: %v", err)
				}
				var prev time.Time
				var gap time.Duration
				err := e.st.Attempts(t.Context(), c.ID, func(a store.AttemptRecord) error {
					if !prev.IsZero() && a.To != nums[20] {
						gap = max(gap, a.StartedAt.Sub(prev))
					}
					if a.To != nums[20] {
						prev = a.StartedAt
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				if slow := gap >= 100*time.Millisecond; slow != tc.wantSlow {
					t.Errorf("code %d: longest gap between sends %v; want the sender slowed down: %v", tc.code, gap, tc.wantSlow)
				}
				if got := e.counts(c)[store.StateSent]; got != 150 {
					t.Errorf("sent %d, want 150", got)
				}
			})
		})
	}
}
