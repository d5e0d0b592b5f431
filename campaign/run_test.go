package campaign_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/storetest"
)

const testPhoneID = "100000000000001"

// env is one engine test's world: a store, the simulator and a client.
type env struct {
	t      testing.TB
	st     store.Store
	sim    *simulator.Sim
	client *sender.Client
	dir    string
}

// newEnv builds the world inside a synctest bubble: the simulator is reached
// through its in-process transport, so no goroutine blocks on a socket and
// fake time flows.
func newEnv(t testing.TB, cfg simulator.Config) *env {
	t.Helper()
	st, dir := openStore(t)
	if cfg.Latency == 0 {
		cfg.Latency = -1
	}
	sim := simulator.New(cfg)
	client, err := sender.New(sender.Config{
		BaseURL: "http://simulator.invalid", Token: "sim-token", PhoneNumberID: testPhoneID,
		WABAID: simulator.DefaultWABAID, Transport: sim.Transport(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, st: st, sim: sim, client: client, dir: dir}
}

// phones returns n distinct valid Brazilian mobile numbers.
func phones(n, offset int) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = fmt.Sprintf("+55119%08d", 10000000+offset+i)
	}
	return out
}

// campaign imports a CSV of the numbers and returns the campaign.
func (e *env) campaign(name string, nums []string, s campaign.Settings) store.Campaign {
	e.t.Helper()
	var b strings.Builder
	b.WriteString("name,phone,order_id\n")
	for i, p := range nums {
		fmt.Fprintf(&b, "Customer %d,%s,A-%05d\n", i, p, i)
	}
	path := filepath.Join(e.dir, name+".csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		e.t.Fatal(err)
	}
	s.Template = cmpStr(s.Template, "order_update")
	s.Language = cmpStr(s.Language, "en_US")
	s.Params = []string{"name", "order_id"}
	s.PhoneNumberID = testPhoneID
	switch s.Tier {
	case "":
		s.Tier = "unlimited"
	case "api": // the limit comes from the simulator's phone-number fields
		s.Tier = ""
	}
	res, err := campaign.Import(e.t.Context(), e.st, campaign.ImportConfig{
		File: path,
		CSV:  csvimport.Config{Params: s.Params},
		Campaign: store.Campaign{Name: name, Template: s.Template, Language: s.Language, Params: s.Params,
			PhoneNumberID: testPhoneID, Scope: s.Scope(), Settings: s.Encode()},
		ExplicitName: true,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Campaign
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (e *env) deps(s campaign.Sender) campaign.Deps {
	if s == nil {
		s = e.client
	}
	return campaign.Deps{
		Store: e.st, Sender: s,
		Owner: campaign.Owner{ID: "test-owner", PID: os.Getpid(), Host: "test", Alive: func(int) bool { return true }},
	}
}

func (e *env) run(c store.Campaign, s campaign.Sender, o campaign.RunOptions) (campaign.Result, error) {
	return campaign.Run(e.t.Context(), e.deps(s), c.ID, o)
}

func (e *env) counts(c store.Campaign) map[store.State]int {
	e.t.Helper()
	m, err := e.st.Counts(e.t.Context(), c.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// maxInWindow returns the most messages accepted in any window of length w.
func maxInWindow(times []time.Time, w time.Duration) int {
	best, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= w {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestRunPacesRateAndPairInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1, PairBurst: 1})
		nums := phones(120, 0)
		s := campaign.Settings{Rate: 40, BatchSize: 25}
		a := e.campaign("a", nums, s)
		b := e.campaign("b", nums, campaign.Settings{Rate: 40, Template: "order_update", Language: "en_US"})
		start := time.Now()
		if _, err := e.run(a, nil, campaign.RunOptions{}); err != nil {
			t.Fatalf("campaign a: %v", err)
		}
		if _, err := e.run(b, nil, campaign.RunOptions{}); err != nil {
			t.Fatalf("campaign b: %v", err)
		}
		msgs := e.sim.Messages()
		if len(msgs) != 240 {
			t.Fatalf("simulator accepted %d messages, want 240", len(msgs))
		}
		var times []time.Time
		last := map[string]time.Time{}
		for _, m := range msgs {
			times = append(times, m.Time)
			if prev, ok := last[m.To]; ok && m.Time.Sub(prev) < 6*time.Second {
				t.Errorf("%s got two messages %v apart, want at least the 6 s pair interval", m.To, m.Time.Sub(prev))
			}
			last[m.To] = m.Time
		}
		if got := maxInWindow(times, time.Second); got > 40 {
			t.Errorf("%d messages in one 1 s window, want at most the rate 40", got)
		}
		if st := e.sim.Stats(); st.ByCode["131056"] != 0 || st.ByCode["130429"] != 0 {
			t.Errorf("simulator answered %v, want no 131056 and no 130429", st.ByCode)
		}
		// 120 at 40/s is 3 s; b waits for the pair interval after a.
		if el := time.Since(start); el < 6*time.Second || el > 20*time.Second {
			t.Errorf("both campaigns took %v of fake time, want 6 to 20 s", el)
		}
	})
}

// At 80 msg/s, requests leave four together every 50 ms (one wake-up of
// the process each, not four), on the wall clock's 50 ms steps, and each
// wall-clock second still holds no more than the rate allows.
func TestRunSendsOnTheGridKeepingEachSecondsRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		c := e.campaign("c", phones(400, 0), campaign.Settings{Rate: 80})
		if _, err := e.run(c, nil, campaign.RunOptions{}); err != nil {
			t.Fatalf("run: %v", err)
		}
		msgs := e.sim.Messages()
		if len(msgs) != 400 {
			t.Fatalf("simulator accepted %d messages, want 400", len(msgs))
		}
		steps := map[time.Time]int{}
		seconds := map[time.Time]int{}
		var times []time.Time
		for _, m := range msgs {
			if off := m.Time.Sub(m.Time.Truncate(50 * time.Millisecond)); off != 0 {
				t.Fatalf("a message left %v after a 50 ms step (at %v), want on a step", off, m.Time)
			}
			steps[m.Time]++
			seconds[m.Time.Truncate(time.Second)]++
			times = append(times, m.Time)
		}
		// 400 at four a step: 100 steps, and one more for the limiter's
		// burst of one at the start.
		if len(steps) < 100 || len(steps) > 102 {
			t.Errorf("the messages left in %d steps of 50 ms, want about 100 (four a step)", len(steps))
		}
		for s, n := range steps {
			if n > 5 {
				t.Errorf("%d messages left together at %v, want at most 5 (a step's 4 and the burst)", n, s)
			}
		}
		for s, n := range seconds {
			if n > 81 {
				t.Errorf("%d messages in the wall-clock second from %v, want at most 81 (rate 80, burst 1)", n, s)
			}
		}
		if got := maxInWindow(times, time.Second); got > 85 {
			t.Errorf("%d messages in one 1 s window, want at most 85 (a step more than the rate and burst)", got)
		}
	})
}

// scripted wraps the client and answers some sends with a chosen error.
type scripted struct {
	inner campaign.Sender
	mu    sync.Mutex
	calls map[string]int
	fail  func(to string, call int) error
}

func (s *scripted) SendTemplate(ctx context.Context, m sender.Message) (sender.Accepted, error) {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]int{}
	}
	s.calls[m.To]++
	n := s.calls[m.To]
	s.mu.Unlock()
	if err := s.fail(m.To, n); err != nil {
		return sender.Accepted{}, err
	}
	return s.inner.SendTemplate(ctx, m)
}

func (s *scripted) PhoneHealth(ctx context.Context) (sender.Health, error) {
	return s.inner.PhoneHealth(ctx)
}

func apiErr(code int) error {
	return &sender.APIError{HTTPStatus: 400, Code: code, Message: fmt.Sprintf("(#%d) test", code)}
}

func TestRun131056BacksOffWhileOthersContinue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		nums := phones(60, 0)
		slow := nums[0]
		sc := &scripted{inner: e.client, fail: func(to string, n int) error {
			if to == slow && n <= 2 {
				return apiErr(131056)
			}
			return nil
		}}
		c := e.campaign("c", nums, campaign.Settings{Rate: 20, PauseShare: 0.5})
		if _, err := e.run(c, sc, campaign.RunOptions{}); err != nil {
			t.Fatalf("run: %v", err)
		}
		var slowTimes []time.Time
		othersBetween := 0
		err := e.st.Attempts(t.Context(), c.ID, func(a store.AttemptRecord) error {
			if a.To == slow {
				slowTimes = append(slowTimes, a.StartedAt)
			} else if len(slowTimes) == 1 {
				othersBetween++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(slowTimes) != 3 {
			t.Fatalf("the 131056 recipient had %d attempts, want 3", len(slowTimes))
		}
		for i := 1; i < len(slowTimes); i++ {
			if d := slowTimes[i].Sub(slowTimes[i-1]); d < 6*time.Second {
				t.Errorf("retry %d came %v after the previous attempt, want at least the 6 s pair interval", i, d)
			}
		}
		if othersBetween < 20 {
			t.Errorf("only %d other recipients were sent while the first waited, want the others to continue", othersBetween)
		}
		if got := e.counts(c)[store.StateSent]; got != 60 {
			t.Errorf("sent = %d, want all 60", got)
		}
	})
}

func TestRun131049DeferralSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		nums := phones(5, 0)
		capped := nums[2]
		sc := &scripted{inner: e.client, fail: func(to string, n int) error {
			if to == capped {
				return apiErr(131049)
			}
			return nil
		}}
		c := e.campaign("d", nums, campaign.Settings{DeferDays: 2})
		start := time.Now()
		_, err := e.run(c, sc, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrMoreWork) {
			t.Fatalf("first run: %v, want work left (a deferred recipient)", err)
		}
		var rc store.Recipient
		_ = e.st.Recipients(t.Context(), c.ID, func(r store.Recipient) error {
			if r.Phone == capped {
				rc = r
			}
			return nil
		})
		if rc.State != store.StateDeferred {
			t.Fatalf("capped recipient state %s, want deferred", rc.State)
		}
		if d := rc.NextAttemptAt.Sub(start); d < 24*time.Hour || d > 24*time.Hour+time.Minute {
			t.Errorf("first retry %v after the send, want 24 h", d)
		}
		// A run before the day has passed sends nothing.
		time.Sleep(12 * time.Hour)
		if _, err := e.run(c, sc, campaign.RunOptions{}); !errors.Is(err, campaign.ErrMoreWork) {
			t.Fatalf("run after 12 h: %v, want work left", err)
		}
		if sc.calls[capped] != 1 {
			t.Errorf("capped recipient tried %d times after 12 h, want 1", sc.calls[capped])
		}
		for day := 1; day <= 2; day++ {
			time.Sleep(24 * time.Hour)
			_, err = e.run(c, sc, campaign.RunOptions{})
		}
		if err != nil {
			t.Fatalf("last run: %v, want finished (the recipient failed after --defer-days)", err)
		}
		if sc.calls[capped] != 3 {
			t.Errorf("capped recipient tried %d times, want 3 (first send and 2 daily retries)", sc.calls[capped])
		}
		cn := e.counts(c)
		if cn[store.StateFailed] != 1 || cn[store.StateSent] != 4 {
			t.Errorf("counts %v, want 4 sent and 1 failed", cn)
		}
	})
}

func TestRunFatalErrorPausesAndKeepsTheRestPending(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		nums := phones(50, 0)
		sc := &scripted{inner: e.client, fail: func(to string, n int) error {
			if to == nums[10] {
				return apiErr(132015) // template paused
			}
			return nil
		}}
		c := e.campaign("f", nums, campaign.Settings{Rate: 10})
		_, err := e.run(c, sc, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrPaused) {
			t.Fatalf("run: %v, want paused", err)
		}
		got, _ := e.st.Campaign(t.Context(), c.ID)
		if got.State != store.CampaignPaused || !strings.Contains(got.PauseReason, "132015") {
			t.Errorf("campaign state %s reason %q, want paused naming 132015", got.State, got.PauseReason)
		}
		cn := e.counts(c)
		if cn[store.StateSent] > 12 || cn[store.StatePending] < 38 {
			t.Errorf("counts %v: want at most the requests already in flight sent, the rest pending", cn)
		}
	})
}

func TestRunAllowanceStopsAtWarmupDayZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		c := e.campaign("w", phones(60, 0), campaign.Settings{Tier: "250"})
		start := time.Now()
		res, err := e.run(c, nil, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrMoreWork) {
			t.Fatalf("run: %v, want work left", err)
		}
		if res.Sent != 25 {
			t.Errorf("sent %d on day 0 of tier 250, want 25", res.Sent)
		}
		if want := start.Add(24 * time.Hour); res.NextAt.Before(want.Add(-time.Second)) || res.NextAt.After(want.Add(time.Minute)) {
			t.Errorf("next capacity at %v, want about %v", res.NextAt, want)
		}
		// Day 1 allows 41 unique recipients per 24 h and the first 25 have
		// left the window: the 35 left are sent and the campaign finishes.
		time.Sleep(24 * time.Hour)
		res, err = e.run(c, nil, campaign.RunOptions{})
		if err != nil || res.Sent != 35 {
			t.Errorf("day 1: sent %d, err %v; want 35 and finished", res.Sent, err)
		}
	})
}

// Two campaigns in one scope share its rolling window: what the first used
// today is not available to the second.
func TestRunAllowanceSharedByCampaignsInAScope(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		a := e.campaign("a", phones(20, 0), campaign.Settings{Tier: "250"})
		b := e.campaign("b", phones(20, 1000), campaign.Settings{Tier: "250"})
		if res, err := e.run(a, nil, campaign.RunOptions{}); err != nil || res.Sent != 20 {
			t.Fatalf("campaign a: sent %d, err %v; want 20 and finished", res.Sent, err)
		}
		res, err := e.run(b, nil, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrMoreWork) || res.Sent != 5 {
			t.Fatalf("campaign b: sent %d, err %v; want 5 (25 on day 0 less a's 20) and work left", res.Sent, err)
		}
		if !strings.Contains(res.Stop, "25 unique recipients in the last 24 h of 25 allowed") {
			t.Errorf("stop message %q does not give the shared count", res.Stop)
		}
	})
}

// A recipient already sent a template in the scope's window uses no second
// unit of the allowance.
func TestRunAllowanceCountsARecipientOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		a := e.campaign("a", phones(20, 0), campaign.Settings{Tier: "250"})
		// b: the same 20 numbers first, then 20 new ones.
		b := e.campaign("b", append(phones(20, 0), phones(20, 1000)...), campaign.Settings{Tier: "250", Template: "order_update"})
		if _, err := e.run(a, nil, campaign.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute) // past the pair interval
		res, err := e.run(b, nil, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrMoreWork) {
			t.Fatalf("campaign b: %v, want work left", err)
		}
		// 20 already counted + 5 new = the 25 of day 0.
		if res.Sent != 25 {
			t.Errorf("campaign b sent %d, want 25 (20 counted before + 5 new)", res.Sent)
		}
		n, err := e.st.WindowCount(t.Context(), a.Scope, time.Now().Add(-24*time.Hour))
		if err != nil || n != 25 {
			t.Errorf("window count %d (%v), want 25 unique recipients", n, err)
		}
	})
}

// A lower messaging limit read from the API mid-run takes effect at once.
func TestRunTierDropMidRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: 1000})
		c := e.campaign("drop", phones(600, 0), campaign.Settings{Tier: "api", WarmupStart: "1999-01-01", Rate: 5})
		go func() {
			time.Sleep(30 * time.Second)
			tier := 250
			if err := e.sim.Control(simulator.Control{Tier: &tier}); err != nil {
				t.Error(err)
			}
		}()
		res, err := e.run(c, nil, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrMoreWork) {
			t.Fatalf("run: %v, want work left after the tier drop", err)
		}
		// At 5 msg/s the number's health is re-read within 60 s: by then
		// about 300 are sent, more than the new limit, so it stops there.
		if res.Sent < 250 || res.Sent > 310 {
			t.Errorf("sent %d, want the sends of the first minute only (about 300)", res.Sent)
		}
		if !strings.Contains(res.Stop, "limit 250") {
			t.Errorf("stop message %q does not name the new limit", res.Stop)
		}
	})
}

// A number sent --max-unanswered template messages that never replied is
// skipped with its own reason; once it replies it is sent again.
func TestRunSkipsTheUnanswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		nums := phones(2, 0)
		for i := range 3 {
			c := e.campaign(fmt.Sprintf("c%d", i), nums, campaign.Settings{})
			if res, err := e.run(c, nil, campaign.RunOptions{}); err != nil || res.Sent != 2 {
				t.Fatalf("campaign %d: sent %d, %v", i, res.Sent, err)
			}
			time.Sleep(time.Minute)
		}
		// nums[1] replied once, after the three messages.
		storetest.Inbound(t, e.st, store.Inbound{WAMID: "wamid.in", From: nums[1], At: time.Now(), Type: "text", Text: "ok"})
		time.Sleep(time.Minute)
		c := e.campaign("c3", nums, campaign.Settings{})
		res, err := e.run(c, nil, campaign.RunOptions{})
		if err != nil || res.Sent != 1 {
			t.Fatalf("fourth campaign: sent %d, %v; want 1", res.Sent, err)
		}
		sum, _ := e.st.Summary(t.Context(), c.ID)
		if sum.SkippedByReason[campaign.ReasonUnanswered] != 1 {
			t.Errorf("skipped %v, want one %s", sum.SkippedByReason, campaign.ReasonUnanswered)
		}
		// --max-unanswered 0 (stored as -1) never skips.
		time.Sleep(time.Minute)
		c = e.campaign("c4", nums, campaign.Settings{MaxUnanswered: -1})
		if res, err := e.run(c, nil, campaign.RunOptions{}); err != nil || res.Sent != 2 {
			t.Fatalf("with the check off: sent %d, %v; want 2", res.Sent, err)
		}
	})
}

// With --wait the run sleeps until the window frees capacity instead of
// stopping, and finishes the campaign across warm-up days.
func TestRunWaitSleepsUntilCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		c := e.campaign("wait", phones(60, 0), campaign.Settings{Tier: "250"})
		start := time.Now()
		res, err := e.run(c, nil, campaign.RunOptions{Wait: true})
		if err != nil || res.Sent != 60 {
			t.Fatalf("run --wait: sent %d, %v; want 60 and finished", res.Sent, err)
		}
		// Day 0 allows 25, day 1 allows 41: the last 35 go out a day later.
		if d := time.Since(start); d < 24*time.Hour || d > 25*time.Hour {
			t.Errorf("finished after %v, want about a day", d)
		}
	})
}

// A run calls Deps.Sending with its paced rate before its first send and
// the function it returned once, when it ends: the command tunes the
// runtime for sending there and gives the process back its settings.
func TestRunSendingHookWrapsTheSends(t *testing.T) {
	for _, tc := range []struct {
		rate float64
	}{{80}, {campaign.LowRateBelow}, {1000}} {
		t.Run(fmt.Sprint(tc.rate), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1, PairBurst: 1000, ThroughputLevel: "HIGH"})
				c := e.campaign("c", phones(30, 0), campaign.Settings{Rate: tc.rate})
				var calls, restored, sentAtCall int
				var rate float64
				d := e.deps(nil)
				d.Sending = func(r float64) func() {
					calls++
					rate = r
					sentAtCall = len(e.sim.Messages())
					return func() { restored++ }
				}
				res, err := campaign.Run(t.Context(), d, c.ID, campaign.RunOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if got := len(e.sim.Messages()); got != 30 || res.Summary.ByState[store.StateSent] != 30 {
					t.Fatalf("simulator accepted %d, store has %d sent, want 30", got, res.Summary.ByState[store.StateSent])
				}
				if calls != 1 || restored != 1 {
					t.Errorf("at %v msg/s Sending called %d times, restored %d, want 1 and 1", tc.rate, calls, restored)
				}
				if rate != tc.rate {
					t.Errorf("Sending told %v msg/s, want the run's %v", rate, tc.rate)
				}
				if sentAtCall != 0 {
					t.Errorf("Sending called after %d sends, want before the first", sentAtCall)
				}
			})
		})
	}
}
