package campaign_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
)

// BenchmarkRunTransientErrors measures the send rate reached at --rate 300
// against the in-process simulator, fault-free and with 2 % of sends
// answered 500/131000 (issue 21.7: a transient error backs off its
// recipient only, so the rate should barely move).
func BenchmarkRunTransientErrors(b *testing.B) {
	for _, fail := range []float64{0, 0.02} {
		b.Run(fmt.Sprintf("fail=%g", fail), func(b *testing.B) {
			const n, rate = 3000, 300
			var res campaign.Result
			var pace float64
			i := 0
			for b.Loop() {
				b.StopTimer()
				e := newEnv(b, simulator.Config{MPS: 1000, Tier: -1, ThroughputLevel: "HIGH", PairBurst: 1000, FailRate: fail, Seed: 7})
				c := e.campaign(fmt.Sprintf("bench%d", i), phones(n, 0), campaign.Settings{Rate: rate, BatchSize: 500})
				i++
				b.StartTimer()
				var err error
				res, err = e.run(c, nil, campaign.RunOptions{RetryWait: time.Minute})
				if err != nil {
					b.Fatalf("run: %v", err)
				}
				if got := e.counts(c)[store.StateSent]; got != n {
					b.Errorf("sent %d, want %d", got, n)
				}
				pace = firstAttemptRate(b, e, c)
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(res.Achieved(), "msg/s")  // retries' back-off tail included
			b.ReportMetric(pace, "first-attempts/s") // while the list is going out
		})
	}
}

// firstAttemptRate is the rate at which recipients got their first attempt.
func firstAttemptRate(b *testing.B, e *env, c store.Campaign) float64 {
	var first, last time.Time
	n := 0
	err := e.st.Attempts(b.Context(), c.ID, func(a store.AttemptRecord) error {
		if a.Number == 1 {
			if first.IsZero() {
				first = a.StartedAt
			}
			last = a.StartedAt
			n++
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if !last.After(first) {
		return 0
	}
	return float64(n-1) / last.Sub(first).Seconds()
}
