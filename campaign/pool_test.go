package campaign_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
)

// poolIDs are the phone numbers of the pool tests, testPhoneID first.
var poolIDs = []string{testPhoneID, "100000000000002", "100000000000003"}

// poolEnv is a world with one simulated number per phone number id (each
// its own throughput, pair rate and quality, as at Meta) and a client for
// each.
type poolEnv struct {
	*env
	sims    map[string]*simulator.Sim
	clients map[string]*sender.Client
}

// newPoolEnv builds the world; cfg(id) configures each number's simulator.
func newPoolEnv(t *testing.T, cfg func(id string) simulator.Config) *poolEnv {
	t.Helper()
	e := &poolEnv{env: newEnv(t, cfg(testPhoneID)), sims: map[string]*simulator.Sim{}, clients: map[string]*sender.Client{}}
	e.sims[testPhoneID], e.clients[testPhoneID] = e.sim, e.client
	for _, id := range poolIDs[1:] {
		c := cfg(id)
		c.PhoneNumberID = id
		if c.Latency == 0 {
			c.Latency = -1
		}
		sim := simulator.New(c)
		client, err := sender.New(sender.Config{
			BaseURL: "http://simulator.invalid", Token: "sim-token", PhoneNumberID: id,
			WABAID: simulator.DefaultWABAID, Transport: sim.Transport(),
		})
		if err != nil {
			t.Fatal(err)
		}
		e.sims[id], e.clients[id] = sim, client
	}
	return e
}

// poolCampaign imports a campaign sending from the three numbers of one
// business portfolio.
func (e *poolEnv) poolCampaign(name string, nums []string, s campaign.Settings) store.Campaign {
	e.t.Helper()
	s.PhoneNumberIDs, s.BusinessID = poolIDs, "biz1"
	return e.campaign(name, nums, s)
}

func (e *poolEnv) runPool(c store.Campaign, o campaign.RunOptions) (campaign.Result, error) {
	d := e.deps(nil)
	if os.Getenv("POOL_DEBUG") != "" {
		d.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	d.SenderFor = func(id string) (campaign.Sender, error) { return e.clients[id], nil }
	return campaign.Run(e.t.Context(), d, c.ID, o)
}

// sentFrom returns, for each recipient phone, the numbers whose simulator
// accepted a message to it (in order), and each number's send times.
func (e *poolEnv) sentFrom() (map[string][]string, map[string][]time.Time) {
	by := map[string][]string{}
	times := map[string][]time.Time{}
	for _, id := range poolIDs {
		for _, m := range e.sims[id].Messages() {
			by[m.To] = append(by[m.To], id)
			times[id] = append(times[id], m.Time)
		}
	}
	return by, times
}

// numbersOf returns each recipient's stored number by phone.
func (e *poolEnv) numbersOf(c store.Campaign) map[string]store.Recipient {
	e.t.Helper()
	out := map[string]store.Recipient{}
	if err := e.st.Recipients(e.t.Context(), c.ID, func(r store.Recipient) error {
		out[r.Phone] = r
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestPoolStickyLeastLoadedPaced: 300 recipients over three numbers at
// 20 msg/s each are split evenly, each number keeps its pace and the
// pair rate, every recipient is sent once by the number stored for it, and
// a second campaign of the portfolio to the same phones sends each from
// the same number.
func TestPoolStickyLeastLoadedPaced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newPoolEnv(t, func(string) simulator.Config { return simulator.Config{MPS: 1000, Tier: -1, PairBurst: 1} })
		nums := phones(300, 0)
		a := e.poolCampaign("a", nums, campaign.Settings{Rate: 20})
		start := time.Now()
		res, err := e.runPool(a, campaign.RunOptions{})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Errorf("300 recipients at 3 × 20 msg/s took %v of fake time, want about 5 s (the numbers send side by side)", el)
		}
		if res.Rate != 60 {
			t.Errorf("run rate %g, want 60 (3 × 20)", res.Rate)
		}
		by, times := e.sentFrom()
		stored := e.numbersOf(a)
		for _, p := range nums {
			if got := by[p]; len(got) != 1 || got[0] != stored[p].PhoneNumberID {
				t.Fatalf("%s was sent by %v, want once by its stored number %q", p, got, stored[p].PhoneNumberID)
			}
		}
		for _, id := range poolIDs {
			if n := len(times[id]); n != 100 {
				t.Errorf("number %s sent %d, want 100 (least-loaded: an even split)", id, n)
			}
			if got := maxInWindow(times[id], time.Second); got > 20 {
				t.Errorf("number %s sent %d in one second, want at most its 20 msg/s", id, got)
			}
		}
		sum, err := e.st.Summary(t.Context(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range poolIDs {
			if f := sum.ByNumber[id]; f.Sent != 100 || f.Attempts != 100 {
				t.Errorf("figures of %s: %+v, want 100 sent of 100 attempts", id, f)
			}
		}

		// A later campaign of the portfolio: each phone hears from the
		// number that sent to it before, whatever the load.
		b := e.poolCampaign("b", nums[:150], campaign.Settings{Rate: 20, Template: "order_update", Language: "en_US", Params: []string{"name", "order_id"}})
		if _, err := e.runPool(b, campaign.RunOptions{}); err != nil {
			t.Fatalf("run b: %v", err)
		}
		by, times = e.sentFrom()
		for _, p := range nums[:150] {
			if got := by[p]; len(got) != 2 || got[0] != got[1] {
				t.Fatalf("%s was sent by %v over both campaigns, want twice by the same number", p, got)
			}
		}
		for _, id := range poolIDs {
			last := map[string]time.Time{}
			for _, m := range e.sims[id].Messages() {
				if prev, ok := last[m.To]; ok && m.Time.Sub(prev) < 6*time.Second {
					t.Errorf("number %s sent to %s twice %v apart, want at least the 6 s pair interval", id, m.To, m.Time.Sub(prev))
				}
				last[m.To] = m.Time
			}
		}
	})
}

// TestPoolNumberPausedOthersSend: one number answers every send 131056;
// its guard pauses it alone, its recipients never attempted move to the
// two others, which send everything else; the recipients it attempted
// keep it and wait for it, so the run ends paused naming it.
func TestPoolNumberPausedOthersSend(t *testing.T) {
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
		c := e.poolCampaign("c", nums, campaign.Settings{Rate: 50})
		_, err := e.runPool(c, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrPaused) {
			t.Fatalf("run: %v, want paused (the bad number's recipients wait for it)", err)
		}
		stored := e.numbersOf(c)
		by, _ := e.sentFrom()
		moved, waiting := 0, 0
		for _, p := range nums {
			r := stored[p]
			switch {
			case r.PhoneNumberID == bad:
				waiting++
				if r.Attempts == 0 {
					t.Errorf("%s never attempted still assigned to the paused number", p)
				}
				if len(by[p]) != 0 {
					t.Errorf("%s accepted by %v, want nothing: only its own number answers it", p, by[p])
				}
			case r.State != store.StateSent:
				t.Errorf("%s on %s is %s, want sent", p, r.PhoneNumberID, r.State)
			case len(by[p]) != 1 || by[p][0] != r.PhoneNumberID:
				t.Errorf("%s sent by %v, want once by %s", p, by[p], r.PhoneNumberID)
			default:
				moved++
			}
		}
		if waiting == 0 || waiting > 100 || moved != 600-waiting {
			t.Errorf("%d recipients wait for the paused number and %d were sent by the others, want a few waiting and the rest sent", waiting, moved)
		}
		cc, err := e.st.Campaign(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cc.State != store.CampaignPaused {
			t.Errorf("campaign %s, want paused", cc.State)
		}
	})
}

// TestPoolSharedAllowance: the portfolio's allowance (250 unique users per
// 24 h) is shared by the three numbers: 250 are sent in all, not 250 each.
func TestPoolSharedAllowance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newPoolEnv(t, func(string) simulator.Config { return simulator.Config{MPS: 1000, Tier: -1} })
		nums := phones(400, 0)
		c := e.poolCampaign("d", nums, campaign.Settings{Rate: 100, Tier: "250", WarmupDays: -1})
		_, err := e.runPool(c, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrMoreWork) {
			t.Fatalf("run: %v, want work left (allowance used up)", err)
		}
		by, times := e.sentFrom()
		if len(by) != 250 {
			t.Errorf("%d unique users messaged, want the shared allowance 250", len(by))
		}
		for _, id := range poolIDs {
			if len(times[id]) == 0 {
				t.Errorf("number %s sent nothing, want the allowance shared by all three", id)
			}
		}
	})
}

// flipAfter sends through inner and, after n sends, sets its simulated
// number's quality RED.
type flipAfter struct {
	campaign.Sender
	sim  *simulator.Sim
	n    int64
	sent atomic.Int64 // sends run at once
}

func (f *flipAfter) SendTemplate(ctx context.Context, m sender.Message) (sender.Accepted, error) {
	acc, err := f.Sender.SendTemplate(ctx, m)
	if f.sent.Add(1) == f.n {
		if err := f.sim.Control(simulator.Control{Quality: "RED"}); err != nil {
			panic(err)
		}
	}
	return acc, err
}

// TestPoolQualityRedMidRun: one number turns RED mid-run; its next health
// read pauses it alone, its recipients never attempted move to the two
// others, and the campaign finishes with every recipient sent once by its
// stored number.
func TestPoolQualityRedMidRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		red := poolIDs[2]
		e := newPoolEnv(t, func(string) simulator.Config { return simulator.Config{MPS: 1000, Tier: -1} })
		nums := phones(900, 0)
		c := e.poolCampaign("q", nums, campaign.Settings{Rate: 10})
		flip := &flipAfter{Sender: e.clients[red], sim: e.sims[red], n: 50}
		d := e.deps(nil)
		d.SenderFor = func(id string) (campaign.Sender, error) {
			if id == red {
				return flip, nil
			}
			return e.clients[id], nil
		}
		if _, err := campaign.Run(t.Context(), d, c.ID, campaign.RunOptions{}); err != nil {
			t.Fatalf("run: %v, want finished by the two other numbers", err)
		}
		by, times := e.sentFrom()
		stored := e.numbersOf(c)
		for _, p := range nums {
			if got := by[p]; len(got) != 1 || got[0] != stored[p].PhoneNumberID {
				t.Fatalf("%s sent by %v, want once by its stored number %q", p, got, stored[p].PhoneNumberID)
			}
		}
		if n := len(times[red]); n < 50 || n >= 300 {
			t.Errorf("the number turned RED sent %d, want from the 50 before it turned to fewer than its 300", n)
		}
		for _, id := range poolIDs[:2] {
			if n := len(times[id]); n <= 300 {
				t.Errorf("number %s sent %d, want more than its 300: it took over the RED number's recipients", id, n)
			}
		}
	})
}
