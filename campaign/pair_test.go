package campaign_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/storetest"
)

// pairDeps are the parts of a pair run of number as its own process (its
// own lease owner) builds them: the store fenced by the pair's lease.
func (e *poolEnv) pairDeps(c store.Campaign, number string) campaign.Deps {
	d := e.deps(nil)
	d.Owner.ID = "worker-" + number
	d.Store = campaign.Fenced(e.st, d.Owner, c.ID, number)
	d.SenderFor = func(id string) (campaign.Sender, error) { return e.clients[id], nil }
	return d
}

// pairResult is how one pair run ended.
type pairResult struct {
	res campaign.Result
	err error
}

// runPairs runs the pair runs of numbers at once, as several workers do,
// and returns how each ended, by number.
func (e *poolEnv) runPairs(c store.Campaign, numbers ...string) map[string]pairResult {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := map[string]pairResult{}
	for _, n := range numbers {
		wg.Go(func() {
			res, err := campaign.Run(e.t.Context(), e.pairDeps(c, n), c.ID, campaign.RunOptions{Number: n})
			mu.Lock()
			out[n] = pairResult{res, err}
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// checkOnceByStored fails unless every phone of nums the simulators
// accepted was accepted once, by the number stored for it.
func (e *poolEnv) checkOnceByStored(c store.Campaign, nums []string) map[string][]string {
	e.t.Helper()
	by, _ := e.sentFrom()
	stored := e.numbersOf(c)
	for _, p := range nums {
		if got := by[p]; len(got) > 1 || (len(got) == 1 && got[0] != stored[p].PhoneNumberID) {
			e.t.Fatalf("%s was sent by %v, want at most once, by its stored number %q", p, got, stored[p].PhoneNumberID)
		}
	}
	return by
}

// TestPairRunsShareOneCampaign: the pair runs of two numbers of a pool of
// three send the campaign together, each only the recipients assigned to
// its number, nothing twice; each ends with "nothing left" for its number
// while the third number's share waits; the third's pair run then
// finishes the campaign.
func TestPairRunsShareOneCampaign(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newPoolEnv(t, func(string) simulator.Config { return simulator.Config{MPS: 1000, Tier: -1, PairBurst: 1} })
		nums := phones(300, 0)
		c := e.poolCampaign("pairs", nums, campaign.Settings{Rate: 20})
		a, b, third := poolIDs[0], poolIDs[1], poolIDs[2]
		start := time.Now()
		got := e.runPairs(c, a, b)
		if el := time.Since(start); el > 8*time.Second {
			t.Errorf("two shares of 100 at 20 msg/s each took %v of fake time, want about 5 s (side by side)", el)
		}
		for _, n := range []string{a, b} {
			r := got[n]
			if !errors.Is(r.err, campaign.ErrMoreWork) || !strings.Contains(r.res.Stop, "nothing left for phone number "+n) {
				t.Errorf("pair run of %s: %v, stop %q; want work left, nothing left for its number", n, r.err, r.res.Stop)
			}
			if r.res.Sent != 100 {
				t.Errorf("pair run of %s sent %d, want its share of 100", n, r.res.Sent)
			}
		}
		by := e.checkOnceByStored(c, nums)
		_, times := e.sentFrom()
		if len(by) != 200 || len(times[third]) != 0 {
			t.Fatalf("%d phones sent, %d by the third number; want 200 by the two pair runs and none by the third", len(by), len(times[third]))
		}
		for _, id := range []string{a, b} {
			if m := maxInWindow(times[id], time.Second); m > 20 {
				t.Errorf("number %s sent %d in one second, want at most its 20 msg/s", id, m)
			}
		}
		if cc, _ := e.st.Campaign(t.Context(), c.ID); cc.State == store.CampaignFinished {
			t.Fatalf("campaign finished with the third number's share unsent")
		}

		if r := e.runPairs(c, third)[third]; r.err != nil || r.res.Sent != 100 {
			t.Fatalf("pair run of the third number: %v, sent %d; want finished after its 100", r.err, r.res.Sent)
		}
		if by = e.checkOnceByStored(c, nums); len(by) != 300 {
			t.Fatalf("%d phones sent, want 300", len(by))
		}
		if cc, _ := e.st.Campaign(t.Context(), c.ID); cc.State != store.CampaignFinished {
			t.Fatalf("campaign %s after every share was sent, want finished", cc.State)
		}
	})
}

// TestPairRunStopsOnCampaignPause: another process pauses the campaign
// (here written straight to the store) while a pair run sends; the pair
// run notices within about a second and stops, paused, without writing a
// pause of its own.
func TestPairRunStopsOnCampaignPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newPoolEnv(t, func(string) simulator.Config { return simulator.Config{MPS: 1000, Tier: -1} })
		nums := phones(300, 0)
		c := e.poolCampaign("paused", nums, campaign.Settings{Rate: 10})
		n := poolIDs[0]
		var pausedAt time.Time
		go func() {
			time.Sleep(3 * time.Second)
			pausedAt = time.Now()
			if err := e.st.SetCampaignState(t.Context(), c.ID, store.CampaignPaused, "paused by another worker", nil, pausedAt); err != nil {
				panic(err)
			}
		}()
		r := e.runPairs(c, n)[n]
		if !errors.Is(r.err, campaign.ErrPaused) || !strings.Contains(r.err.Error(), "paused by another worker") {
			t.Fatalf("pair run: %v, want paused for the other worker's reason", r.err)
		}
		_, times := e.sentFrom()
		late := 0
		for _, at := range times[n] {
			if at.After(pausedAt.Add(1500 * time.Millisecond)) {
				late++
			}
		}
		if late > 0 || len(times[n]) == 0 {
			t.Errorf("%d sends, %d of them more than 1.5 s after the pause; want some, none late", len(times[n]), late)
		}
		ps, err := e.st.Pauses(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 1 {
			t.Errorf("%d pauses recorded, want the other worker's only", len(ps))
		}
	})
}

// TestWholeRunExcludesPairRuns: a whole run refuses (busy) while another
// process holds the pair lease of one number of the pool, and a pair run
// refuses while a whole run holds the campaign; pair runs of other numbers
// are not excluded by a pair run.
func TestWholeRunExcludesPairRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newPoolEnv(t, func(string) simulator.Config { return simulator.Config{MPS: 1000, Tier: -1} })
		c := e.poolCampaign("excl", phones(30, 0), campaign.Settings{Rate: 100})
		other := store.LeasePolicy{Host: "test", StaleAfter: time.Minute, Alive: func(int) bool { return true }}
		hold := func(key, owner string) {
			t.Helper()
			if err := e.st.AcquireLease(t.Context(), store.Lease{Key: key, Owner: owner, PID: 1, Host: "test", Heartbeat: time.Now(), Expiry: time.Minute}, other); err != nil {
				t.Fatal(err)
			}
		}
		release := func(key, owner string) {
			t.Helper()
			if err := e.st.ReleaseLease(t.Context(), key, owner); err != nil {
				t.Fatal(err)
			}
		}
		pairKey := campaign.PairLeasePrefix(c.ID) + poolIDs[1]
		hold(pairKey, "pair-worker")
		if _, err := e.runPool(c, campaign.RunOptions{}); !errors.Is(err, campaign.ErrBusy) || !strings.Contains(err.Error(), pairKey) {
			t.Fatalf("whole run beside a pair run: %v, want busy naming %s", err, pairKey)
		}
		// A pair run of another number runs beside it.
		if r := e.runPairs(c, poolIDs[0])[poolIDs[0]]; !errors.Is(r.err, campaign.ErrMoreWork) || r.res.Sent != 10 {
			t.Fatalf("pair run of another number: %v, sent %d; want its 10 sent", r.err, r.res.Sent)
		}
		release(pairKey, "pair-worker")

		campaignKey := strings.TrimSuffix(campaign.PairLeasePrefix(c.ID), ":")
		hold(campaignKey, "whole-run")
		hold(pairKey, "whole-run")
		if r := e.runPairs(c, poolIDs[1])[poolIDs[1]]; !errors.Is(r.err, campaign.ErrBusy) {
			t.Fatalf("pair run beside a whole run: %v, want busy", r.err)
		}
		release(campaignKey, "whole-run")
		release(pairKey, "whole-run")
		if _, err := e.runPool(c, campaign.RunOptions{}); err != nil {
			t.Fatalf("whole run once the leases are free: %v", err)
		}
		e.checkOnceByStored(c, phones(30, 0))
	})
}

// TestPairNumberPauseSeenByOthers: three pair runs send at once; one
// number answers every send 131056, its guard pauses it; the pause is
// recorded for every process, the two other pair runs take its recipients
// never attempted, and a later pair run of the paused number is refused.
func TestPairNumberPauseSeenByOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := poolIDs[1]
		e := newPoolEnv(t, func(id string) simulator.Config {
			c := simulator.Config{MPS: 1000, Tier: -1}
			if id == bad {
				c.Fault131056 = 1
			}
			return c
		})
		nums := phones(600, 0)
		c := e.poolCampaign("npause", nums, campaign.Settings{Rate: 50})
		got := e.runPairs(c, poolIDs...)
		if r := got[bad]; !errors.Is(r.err, campaign.ErrPaused) {
			t.Fatalf("pair run of the failing number: %v, want paused", r.err)
		}
		ps, err := e.st.NumberPauses(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 1 || ps[0].PhoneNumberID != bad {
			t.Fatalf("number pauses %+v, want %s's", ps, bad)
		}
		by := e.checkOnceByStored(c, nums)
		stored := e.numbersOf(c)
		waiting := 0
		for _, p := range nums {
			r := stored[p]
			switch {
			case r.PhoneNumberID == bad:
				waiting++
				if r.Attempts == 0 {
					t.Errorf("%s never attempted still assigned to the paused number", p)
				}
			case r.State != store.StateSent || len(by[p]) != 1:
				t.Errorf("%s on %s is %s, sent by %v; want sent once", p, r.PhoneNumberID, r.State, by[p])
			}
		}
		if waiting == 0 || waiting > 100 {
			t.Errorf("%d recipients wait for the paused number, want a few (those it attempted)", waiting)
		}
		for _, n := range []string{poolIDs[0], poolIDs[2]} {
			if r := got[n]; !errors.Is(r.err, campaign.ErrMoreWork) || r.res.Sent <= 200 {
				t.Errorf("pair run of %s: %v, sent %d; want work left (the paused number's) and more than its first 200 sent", n, r.err, r.res.Sent)
			}
		}
		if r := e.runPairs(c, bad)[bad]; !errors.Is(r.err, campaign.ErrPaused) || !strings.Contains(r.err.Error(), "is paused since") {
			t.Fatalf("a later pair run of the paused number: %v, want refused, paused", r.err)
		}
	})
}

// TestPairRunLeavesOthersInFlight: a pair run's crash recovery marks
// uncertain only what its own number left in flight, never what another
// live process has in flight from another number.
func TestPairRunLeavesOthersInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newPoolEnv(t, func(string) simulator.Config { return simulator.Config{MPS: 1000, Tier: -1} })
		nums := phones(30, 0)
		c := e.poolCampaign("inflight", nums, campaign.Settings{Rate: 100})
		ctx := t.Context()
		if _, err := e.st.AssignNumbers(ctx, c.ID, poolIDs); err != nil {
			t.Fatal(err)
		}
		// One recipient of each of the first two numbers is in flight: the
		// first number's process was killed, the second's is sending.
		var as []store.Attempt
		for _, n := range poolIDs[:2] {
			due, err := e.st.DueFor(ctx, c.ID, n, time.Now(), 1)
			if err != nil || len(due) != 1 {
				t.Fatalf("due for %s: %v %v", n, due, err)
			}
			as = append(as, store.Attempt{ID: "x-" + n, CampaignID: c.ID, RecipientID: due[0].ID, Number: 1, PhoneNumberID: n,
				To: due[0].Phone, Scope: c.Scope, Batch: 1, StartedAt: time.Now()})
		}
		if err := e.st.BeginAttempts(ctx, as); err != nil {
			t.Fatal(err)
		}
		r := e.runPairs(c, poolIDs[0])[poolIDs[0]]
		if !errors.Is(r.err, campaign.ErrMoreWork) || r.res.Uncertain != 1 || r.res.Sent != 9 {
			t.Fatalf("pair run: %v, %d uncertain, %d sent; want its own in-flight recipient uncertain and its 9 others sent", r.err, r.res.Uncertain, r.res.Sent)
		}
		if got := storetest.Recipient(t, e.st, c.ID, as[1].RecipientID).State; got != store.StateInFlight {
			t.Fatalf("the other number's recipient in flight is %s, want still in flight", got)
		}
		if got := storetest.Recipient(t, e.st, c.ID, as[0].RecipientID).State; got != store.StateUncertain {
			t.Fatalf("the pair run's own recipient left in flight is %s, want uncertain", got)
		}
	})
}

// TestPairRunsShareTheAllowance: three pair runs at once draw from the
// portfolio's one allowance (250 unique users per 24 h): 250 are sent in
// all, not 250 each, and every run stops with work left.
func TestPairRunsShareTheAllowance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newPoolEnv(t, func(string) simulator.Config { return simulator.Config{MPS: 1000, Tier: -1} })
		nums := phones(600, 0)
		c := e.poolCampaign("allow", nums, campaign.Settings{Rate: 100, Tier: "250", WarmupDays: -1})
		got := e.runPairs(c, poolIDs...)
		by := e.checkOnceByStored(c, nums)
		if len(by) > 250 || len(by) < 240 {
			t.Errorf("%d unique users messaged by three pair runs, want the shared allowance of 250 (not above)", len(by))
		}
		for _, n := range poolIDs {
			if r := got[n]; !errors.Is(r.err, campaign.ErrMoreWork) || r.res.Sent == 0 {
				t.Errorf("pair run of %s: %v, sent %d; want some sent, then work left", n, r.err, r.res.Sent)
			}
		}
	})
}
