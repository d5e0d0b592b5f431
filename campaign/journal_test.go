package campaign_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/journal"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/storetest"
)

// A run that was killed left four recipients in flight; its send journal
// says the first was answered, the next two left unanswered, the fourth
// never left. The next run records the answer, re-sends only the one that
// never left, and leaves uncertain only the two in flight at the kill.
func TestRunRecoversDeadRunsJournal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		c := e.campaign("c", phones(5, 0), campaign.Settings{Rate: 20})
		ctx := t.Context()
		due, err := e.st.Due(ctx, c.ID, time.Now(), 10)
		if err != nil || len(due) != 5 {
			t.Fatalf("due = %d, %v", len(due), err)
		}
		dir := filepath.Join(e.dir, "whatsend.db.sends")
		jr, err := journal.Open(dir, journal.Key{Campaign: c.ID, Created: c.CreatedAt})
		if err != nil {
			t.Fatal(err)
		}
		var as []store.Attempt
		for _, r := range due[:4] {
			as = append(as, store.Attempt{ID: fmt.Sprintf("%d-%d-1", c.ID, r.ID), CampaignID: c.ID, RecipientID: r.ID, Number: 1,
				PhoneNumberID: testPhoneID, To: r.Phone, Scope: c.Scope, Batch: 1, StartedAt: time.Now()})
		}
		if _, err := jr.Begin(as); err != nil {
			t.Fatal(err)
		}
		if err := e.st.BeginAttempts(ctx, as); err != nil {
			t.Fatal(err)
		}
		for _, a := range as[:3] {
			if err := jr.Leaving(a.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := jr.Answer(store.Outcome{AttemptID: as[0].ID, RecipientID: as[0].RecipientID, State: store.StateSent,
			WAMID: "wamid.before-the-kill", MessageStatus: "accepted", FinishedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := jr.Close(false); err != nil { // the process died: its lock is gone, its file stays
			t.Fatal(err)
		}

		d := e.deps(nil)
		d.Journal = dir
		if _, err := campaign.Run(ctx, d, c.ID, campaign.RunOptions{}); err != nil {
			t.Fatalf("run: %v", err)
		}
		byPhone := map[string]int{}
		for _, m := range e.sim.Messages() {
			byPhone[m.To]++
		}
		want := []struct {
			state store.State
			sends int
		}{{store.StateSent, 0}, {store.StateUncertain, 0}, {store.StateUncertain, 0}, {store.StateSent, 1}, {store.StateSent, 1}}
		for i, w := range want {
			r := storetest.Recipient(t, e.st, c.ID, due[i].ID)
			if r.State != w.state || byPhone[r.Phone] != w.sends {
				t.Errorf("recipient %d: %s, sent %d times by this run; want %s, %d", i+1, r.State, byPhone[r.Phone], w.state, w.sends)
			}
		}
		if r := storetest.Recipient(t, e.st, c.ID, due[0].ID); r.WAMID != "wamid.before-the-kill" {
			t.Errorf("the answered recipient's wamid = %q, want the journal's", r.WAMID)
		}
		if es, _ := os.ReadDir(dir); len(es) != 0 {
			t.Errorf("journals left after a settled run: %v", es)
		}
	})
}

// A signal stops the requests checkpointed ahead of their slot that have
// not left: none leaves after it, and their recipients are pending again,
// neither in flight nor uncertain.
func TestRunSignalWithdrawsRequestsNotLeft(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		c := e.campaign("c", phones(40, 0), campaign.Settings{Rate: 5})
		d := e.deps(nil)
		d.Journal = filepath.Join(e.dir, "whatsend.db.sends")
		ctx, cancel := context.WithCancel(t.Context())
		stopAt := time.Now().Add(2*time.Second + 50*time.Millisecond) // between two slots, within the lead of the next
		time.AfterFunc(time.Until(stopAt), cancel)
		_, _ = campaign.Run(ctx, d, c.ID, campaign.RunOptions{ShutdownWait: time.Second})
		msgs := e.sim.Messages()
		for _, m := range msgs {
			if m.Received.After(stopAt) {
				t.Errorf("a request left %v after the signal", m.Received.Sub(stopAt))
			}
		}
		cn := e.counts(c)
		if cn[store.StateSent] != len(msgs) || cn[store.StateInFlight] != 0 || cn[store.StateUncertain] != 0 || cn[store.StatePending] != 40-len(msgs) {
			t.Errorf("counts %v after %d sends, want every other recipient pending", cn, len(msgs))
		}
		if len(msgs) < 5 {
			t.Errorf("only %d sends before the signal", len(msgs))
		}
	})
}

// slowSummary is a store whose Summary takes a second, as on a campaign
// of millions.
type slowSummary struct{ store.Store }

func (s slowSummary) Summary(ctx context.Context, id int64) (store.Summary, error) {
	time.Sleep(time.Second)
	return s.Store.Summary(ctx, id)
}

// With a journal, answers ride with the next checkpoints, but once the
// last request is out none are coming: the run's last answers are
// committed as they arrive, so the run ends one latency after its last
// slot (not journalHold later) and its achieved rate is its pace: the
// campaign's figures read after it are not in its time.
func TestRunEndsOneLatencyAfterLastSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, rate, latency = 200, 80, 100 * time.Millisecond // 80: the simulator's default throughput
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1, Latency: latency})
		c := e.campaign("c", phones(n, 0), campaign.Settings{Rate: rate})
		d := e.deps(nil)
		d.Journal = filepath.Join(e.dir, "whatsend.db.sends")
		d.Store = slowSummary{d.Store} // the figures read after the sending are not in its time
		res, err := campaign.Run(t.Context(), d, c.ID, campaign.RunOptions{})
		if err != nil || res.Sent != n {
			t.Fatalf("run: sent %d, %v", res.Sent, err)
		}
		// The last of n slots at rate/s (the first ones are a burst),
		// then its answer.
		lastSlot := time.Duration(n-1) * time.Second / rate
		if max := lastSlot + latency + 20*time.Millisecond; res.Elapsed > max {
			t.Errorf("elapsed %v, want at most %v (last slot %v + latency %v)", res.Elapsed, max, lastSlot, latency)
		}
		if got := e.counts(c)[store.StateSent]; got != n {
			t.Errorf("sent in the store %d, want %d", got, n)
		}
	})
}

// groupSizes is a store that notes how many checkpoints each commit of
// the run's writer holds.
type groupSizes struct {
	store.Store
	mu      sync.Mutex
	groups  []int
	commits int // all commits, of answers alone too
}

func (g *groupSizes) CommitAttempts(ctx context.Context, begins []store.Attempt, outcomes []store.Outcome) error {
	g.note(begins)
	return g.Store.CommitAttempts(ctx, begins, outcomes)
}

func (g *groupSizes) CommitAttemptsHolding(ctx context.Context, begins []store.Attempt, outcomes []store.Outcome, key, owner string) error {
	g.note(begins)
	return g.Store.CommitAttemptsHolding(ctx, begins, outcomes, key, owner)
}

func (g *groupSizes) note(begins []store.Attempt) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.commits++
	if len(begins) > 0 {
		g.groups = append(g.groups, len(begins))
	}
}

// runJournalGrouped sends n recipients at rate with a journal (fake time,
// a simulator answering in 150 ms) and returns the run's commits.
func runJournalGrouped(t *testing.T, n int, rate float64, level string) *groupSizes {
	t.Helper()
	e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1, Latency: 150 * time.Millisecond, ThroughputLevel: level})
	c := e.campaign("c", phones(n, 0), campaign.Settings{Rate: rate})
	d := e.deps(nil)
	d.Journal = filepath.Join(e.dir, "whatsend.db.sends")
	g := &groupSizes{Store: d.Store}
	d.Store = g
	res, err := campaign.Run(t.Context(), d, c.ID, campaign.RunOptions{})
	if err != nil || res.Sent != n {
		t.Fatalf("run: sent %d, %v", res.Sent, err)
	}
	return g
}

// At the default 80 msg/s with a journal, a commit holds about a second of
// checkpoints (the lead) with the answers that came meanwhile, and the
// answers of the last second, when no checkpoints are coming, are
// committed a step's worth at a time, not one by one: each commit is a
// synced transaction, the largest part of the CPU at this rate (README
// "Performance").
func TestRunJournalCommitsAtLowRateHoldASecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 800
		g := runJournalGrouped(t, n, 80, "")
		// 10 s of sends: a commit a second. Reading the next page of 100
		// recipients does not commit what was dispatched before it (that
		// made it 16, groups of about 77 and 23); 200 ms groups made it
		// 50.
		if len(g.groups) > 12 {
			t.Errorf("%d commits of checkpoints for %d sends, want about 10 (a second of sends each): %v", len(g.groups), n, g.groups)
		}
		// The last second's 80 answers: about one commit per 100 ms,
		// not 80.
		if tail := g.commits - len(g.groups); tail > 15 {
			t.Errorf("%d commits of answers alone, want at most 15 (the last second's answers, 100 ms at a time)", tail)
		}
	})
}

// At 1,000 msg/s with a journal, a commit holds the checkpoints of the
// lead (journalLeadSends, 256), as the per-send store figures of make
// bench assume: reading the next page of recipients, which first commits
// what was dispatched, does not cut the groups to a batch of 100.
func TestRunJournalCommitsAtHighRateHoldTheLead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 3000
		g := runJournalGrouped(t, n, 1000, "HIGH")
		// 3,000 at 1,000 msg/s in groups of 256: 12, and a few more
		// at the start and the end; pages of 100 made it 30.
		if len(g.groups) > 17 {
			t.Errorf("%d commits of checkpoints for %d sends, want about 12 (256 sends each): %v", len(g.groups), n, g.groups)
		}
	})
}

// --max-duration stops the sending at the deadline: the requests already
// checkpointed ahead of their slot (a second of them with the journal)
// are withdrawn, pending again for the next run, not sent past it.
func TestRunJournalDeadlineWithdrawsTheLead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, maxDur, latency = 1000, 3 * time.Second, 150 * time.Millisecond
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1, Latency: latency})
		c := e.campaign("c", phones(n, 0), campaign.Settings{Rate: 80})
		d := e.deps(nil)
		d.Journal = filepath.Join(e.dir, "whatsend.db.sends")
		start := time.Now()
		res, err := campaign.Run(t.Context(), d, c.ID, campaign.RunOptions{MaxDuration: maxDur})
		if !errors.Is(err, campaign.ErrMoreWork) {
			t.Fatalf("run: %v, want ErrMoreWork", err)
		}
		deadline := start.Add(maxDur)
		msgs := e.sim.Messages()
		for _, m := range msgs {
			if m.Received.After(deadline.Add(campaign.SendGrid)) {
				t.Fatalf("a request reached the API %v after the --max-duration deadline, want none past it", m.Received.Sub(deadline))
			}
		}
		counts := e.counts(c)
		if counts[store.StateSent] != len(msgs) || counts[store.StateSent]+counts[store.StatePending] != n {
			t.Errorf("counts %v with %d accepted: want every recipient sent or pending again", counts, len(msgs))
		}
		if max := maxDur + latency + 100*time.Millisecond; res.Elapsed > max {
			t.Errorf("elapsed %v, want at most %v", res.Elapsed, max)
		}
	})
}

// slowCheckpoints delays each commit that holds checkpoints: the
// dispatcher reads its next pages while the recipients it handed over
// are still pending in the store.
type slowCheckpoints struct {
	store.Store
	delay time.Duration
}

func (s slowCheckpoints) CommitAttempts(ctx context.Context, begins []store.Attempt, outcomes []store.Outcome) error {
	if len(begins) > 0 {
		time.Sleep(s.delay)
	}
	return s.Store.CommitAttempts(ctx, begins, outcomes)
}

func (s slowCheckpoints) CommitAttemptsHolding(ctx context.Context, begins []store.Attempt, outcomes []store.Outcome, key, owner string) error {
	if len(begins) > 0 {
		time.Sleep(s.delay)
	}
	return s.Store.CommitAttemptsHolding(ctx, begins, outcomes, key, owner)
}

// A page of recipients read while the checkpoints of the last are not
// committed yet leaves out those handed to the writer (the store still
// has them due): each recipient is sent once, though commits take longer
// than a page of sends.
func TestRunPageLeavesOutUncommittedCheckpoints(t *testing.T) {
	for _, rate := range []float64{80, 1000} {
		t.Run(fmt.Sprint(rate), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const n = 600
				e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1, Latency: 150 * time.Millisecond, ThroughputLevel: "HIGH"})
				c := e.campaign("c", phones(n, 0), campaign.Settings{Rate: rate})
				d := e.deps(nil)
				d.Journal = filepath.Join(e.dir, "whatsend.db.sends")
				d.Store = slowCheckpoints{Store: d.Store, delay: 2 * time.Second}
				res, err := campaign.Run(t.Context(), d, c.ID, campaign.RunOptions{})
				if err != nil || res.Sent != n {
					t.Fatalf("run: sent %d, %v; want %d", res.Sent, err, n)
				}
				byPhone := map[string]int{}
				for _, m := range e.sim.Messages() {
					byPhone[m.To]++
				}
				for phone, k := range byPhone {
					if k != 1 {
						t.Errorf("%s sent %d times", phone, k)
					}
				}
				if len(byPhone) != n {
					t.Errorf("%d recipients reached, want %d", len(byPhone), n)
				}
			})
		})
	}
}
