package campaign_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
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
				// When the requests reached the simulator (no latency):
				// those checkpointed ahead of their slot wait out the
				// back-off too.
				var prev time.Time
				var gap time.Duration
				for _, m := range e.sim.Messages() {
					if m.To == nums[20] {
						continue
					}
					if !prev.IsZero() {
						gap = max(gap, m.Time.Sub(prev))
					}
					prev = m.Time
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

// unreachable answers every send as the client does when the request
// never left (dial, DNS, TLS failure).
type unreachable struct {
	inner campaign.Sender
	calls atomic.Int64
}

func (u *unreachable) SendTemplate(ctx context.Context, m sender.Message) (sender.Accepted, error) {
	u.calls.Add(1)
	return sender.Accepted{}, &sender.TransportError{Op: "send", Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}
}

func (u *unreachable) PhoneHealth(ctx context.Context) (sender.Health, error) {
	return u.inner.PhoneHealth(ctx)
}

// TestRunSendsThatNeverLeftPause: sends failing before any byte left fail
// no recipient, use none of their attempts, leave the allowance and the
// warm-up untouched, and pause the campaign after a bounded number of
// tries naming the network.
func TestRunSendsThatNeverLeftPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: 10000})
		u := &unreachable{inner: e.client}
		c := e.campaign("n", phones(200, 0), campaign.Settings{Rate: 20, Tier: "api", MaxAttempts: 2})
		start := time.Now()
		_, err := e.run(c, u, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrPaused) {
			t.Fatalf("run: %v, want paused", err)
		}
		t.Logf("paused after %v of fake time and %d sends that could not leave", time.Since(start), u.calls.Load())
		if el := time.Since(start); el > time.Minute {
			t.Errorf("paused after %v of fake time, want within a minute", el)
		}
		if n := u.calls.Load(); n > 40 {
			t.Errorf("%d sends tried before the pause, want a bounded few", n)
		}
		got, _ := e.st.Campaign(t.Context(), c.ID)
		if got.State != store.CampaignPaused || !strings.Contains(got.PauseReason, "cannot reach the API") || !strings.Contains(got.PauseReason, "connection refused") {
			t.Errorf("campaign %s, reason %q: want paused naming the network cause", got.State, got.PauseReason)
		}
		if !campaign.RetriesItself(got) {
			t.Errorf("a network pause is not retried by resume --all")
		}
		if cn := e.counts(c); cn[store.StatePending] != 200 {
			t.Errorf("counts %v, want all 200 pending", cn)
		}
		_ = e.st.Recipients(t.Context(), c.ID, func(r store.Recipient) error {
			if r.Attempts != 0 {
				t.Errorf("recipient line %d used %d attempts, want 0", r.Line, r.Attempts)
			}
			return nil
		})
		if n, _ := e.st.WindowCount(t.Context(), c.Scope, start.Add(-time.Hour)); n != 0 {
			t.Errorf("WindowCount = %d, want 0: nothing reached Meta", n)
		}
		if _, ok, _ := e.st.WarmupStart(t.Context(), c.Scope); ok {
			t.Errorf("the warm-up started although nothing reached Meta")
		}
		// When the network is back, resume sends everything.
		if _, err := e.run(got, nil, campaign.RunOptions{}); err != nil {
			t.Fatalf("resume: %v", err)
		}
		if cn := e.counts(c); cn[store.StateSent] != 200 {
			t.Errorf("after resume counts %v, want 200 sent", cn)
		}
		if _, ok, _ := e.st.WarmupStart(t.Context(), c.Scope); !ok {
			t.Errorf("no warm-up start after real sends")
		}
	})
}

// downHealth fails the health read as an unreachable API does.
type downHealth struct{ unreachable }

func (d *downHealth) PhoneHealth(ctx context.Context) (sender.Health, error) {
	return sender.Health{}, &sender.TransportError{Op: "health", Err: errors.New("lookup graph.facebook.invalid: no such host")}
}

// TestRunPreflightNeedsTheAPI: without a successful health read nothing is
// sent; the run pauses within 30 s naming the cause.
func TestRunPreflightNeedsTheAPI(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: 1000})
		d := &downHealth{unreachable{inner: e.client}}
		c := e.campaign("p", phones(20, 0), campaign.Settings{Tier: "api"})
		start := time.Now()
		_, err := e.run(c, d, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrPaused) {
			t.Fatalf("run: %v, want paused", err)
		}
		if el := time.Since(start); el > 30*time.Second {
			t.Errorf("paused after %v, want within 30 s", el)
		}
		if n := d.calls.Load(); n != 0 {
			t.Errorf("%d sends tried, want none", n)
		}
		got, _ := e.st.Campaign(t.Context(), c.ID)
		if !strings.Contains(got.PauseReason, "cannot reach the API") || !strings.Contains(got.PauseReason, "no such host") {
			t.Errorf("pause reason %q, want the network cause", got.PauseReason)
		}
		if !campaign.RetriesItself(got) {
			t.Errorf("a network pause is not retried by resume --all")
		}
	})
}

// hung never answers a send until its context is cancelled, as a request
// written to a server that never replies.
type hung struct {
	unreachable
	started chan struct{}
}

func (h *hung) SendTemplate(ctx context.Context, m sender.Message) (sender.Accepted, error) {
	if h.calls.Add(1) == 1 {
		close(h.started)
	}
	<-ctx.Done()
	return sender.Accepted{}, &sender.TransportError{Op: "send", MayHaveReached: true, Err: ctx.Err()}
}

// TestRunShutdownWaitIsBounded: on a signal, requests still in flight are
// waited for at most ShutdownWait; then they are abandoned and their
// recipients are uncertain (never re-sent by default).
func TestRunShutdownWaitIsBounded(t *testing.T) {
	for _, wait := range []time.Duration{0, 3 * time.Second} {
		t.Run(fmt.Sprint(wait), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
				h := &hung{unreachable: unreachable{inner: e.client}, started: make(chan struct{})}
				c := e.campaign("h", phones(50, 0), campaign.Settings{Rate: 10})
				ctx, cancel := context.WithCancelCause(t.Context())
				defer cancel(nil)
				sigterm := errors.New("interrupted by SIGTERM")
				type ret struct {
					res campaign.Result
					err error
				}
				done := make(chan ret, 1)
				go func() {
					res, err := campaign.Run(ctx, e.deps(h), c.ID, campaign.RunOptions{ShutdownWait: wait})
					done <- ret{res, err}
				}()
				<-h.started
				time.Sleep(time.Second)
				cancel(sigterm)
				stopped := time.Now()
				got := <-done
				want := wait
				if want == 0 {
					want = campaign.DefaultShutdownWait
				}
				if el := time.Since(stopped); el < want || el > want+time.Second {
					t.Errorf("Run returned %v after the signal, want the shutdown wait %v", el, want)
				}
				if !errors.Is(got.err, sigterm) {
					t.Errorf("Run: %v, want the signal's cause", got.err)
				}
				cn := e.counts(c)
				if n := h.calls.Load(); cn[store.StateUncertain] != int(n) || cn[store.StateInFlight] != 0 {
					t.Errorf("counts %v after %d hung requests, want each uncertain and none in flight", cn, n)
				}
			})
		})
	}
}
