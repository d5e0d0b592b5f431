package campaign_test

import (
	"context"
	"errors"
	"strconv"
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

// Every campaign-fatal code of the catalog pauses the campaign with the
// code and its advice, and leaves the recipients not yet sent pending.
func TestRunEveryFatalCodePauses(t *testing.T) {
	var fatal []int
	for _, code := range sender.Codes() {
		if sender.Lookup(code).Class == sender.ClassFatal {
			fatal = append(fatal, code)
		}
	}
	if len(fatal) < 20 {
		t.Fatalf("only %d fatal codes in the catalog", len(fatal))
	}
	for _, code := range fatal {
		t.Run(sender.Lookup(code).Meaning, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
				nums := phones(40, 0)
				sc := &scripted{inner: e.client, fail: func(to string, n int) error {
					if to == nums[5] {
						return apiErr(code)
					}
					return nil
				}}
				c := e.campaign("f", nums, campaign.Settings{Rate: 10})
				_, err := e.run(c, sc, campaign.RunOptions{})
				if !errors.Is(err, campaign.ErrPaused) {
					t.Fatalf("code %d: run %v, want paused", code, err)
				}
				got, _ := e.st.Campaign(t.Context(), c.ID)
				entry := sender.Lookup(code)
				if got.State != store.CampaignPaused || !strings.Contains(got.PauseReason, entry.Advice) {
					t.Errorf("code %d: state %s reason %q, want paused with the advice", code, got.State, got.PauseReason)
				}
				if !strings.Contains(got.PauseReason, "answered "+strconv.Itoa(code)) {
					t.Errorf("code %d: reason %q does not name the code", code, got.PauseReason)
				}
				cn := e.counts(c)
				if cn[store.StatePending] < 30 {
					t.Errorf("code %d: counts %v, want the rest pending", code, cn)
				}
			})
		})
	}
}

// A LOW (RED) quality rating pauses before the first send; resume refuses
// while it is RED, and --force sends anyway.
func TestRunRedQualityPausesAndResumeRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1, Quality: "RED"})
		c := e.campaign("red", phones(10, 0), campaign.Settings{})
		if _, err := e.run(c, nil, campaign.RunOptions{}); !errors.Is(err, campaign.ErrPaused) {
			t.Fatalf("run: %v, want paused", err)
		}
		got, _ := e.st.Campaign(t.Context(), c.ID)
		if !strings.Contains(got.PauseReason, "LOW (RED)") {
			t.Errorf("pause reason %q", got.PauseReason)
		}
		if n := e.sim.Stats().Accepted; n != 0 {
			t.Fatalf("%d messages accepted while RED", n)
		}
		_, err := e.run(c, nil, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrPaused) || !strings.Contains(err.Error(), "resume refused") {
			t.Fatalf("resume while RED: %v, want refused", err)
		}
		res, err := e.run(c, nil, campaign.RunOptions{Force: true})
		if err != nil || res.Sent != 10 {
			t.Fatalf("resume --force: sent %d, %v; want 10 and finished", res.Sent, err)
		}
	})
}

// Resume after the cause is gone continues the campaign.
func TestRunResumeAfterQualityRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1, Quality: "RED"})
		c := e.campaign("red", phones(10, 0), campaign.Settings{})
		if _, err := e.run(c, nil, campaign.RunOptions{}); !errors.Is(err, campaign.ErrPaused) {
			t.Fatalf("run: %v, want paused", err)
		}
		if err := e.sim.Control(simulator.Control{Quality: "GREEN"}); err != nil {
			t.Fatal(err)
		}
		if res, err := e.run(c, nil, campaign.RunOptions{}); err != nil || res.Sent != 10 {
			t.Fatalf("resume once GREEN: sent %d, %v", res.Sent, err)
		}
	})
}

// templateChangeMidCampaign sends 300 recipients at 2 msg/s, applies the
// template change at 30 s, and returns the run's result and pause reason.
func templateChangeMidCampaign(t *testing.T, change simulator.TemplateControl) (campaign.Result, string) {
	e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
	c := e.campaign("tpl", phones(300, 0), campaign.Settings{Rate: 2, BatchSize: 10})
	go func() {
		time.Sleep(30 * time.Second)
		_ = e.sim.Control(simulator.Control{Template: &change})
	}()
	res, err := e.run(c, nil, campaign.RunOptions{})
	if !errors.Is(err, campaign.ErrPaused) {
		t.Fatalf("run: %v, want paused", err)
	}
	got, _ := e.st.Campaign(t.Context(), c.ID)
	return res, got.PauseReason
}

// A template whose quality turns RED mid-campaign pauses the campaign at the
// next template read, at most a minute later.
func TestRunTemplateQualityRedMidCampaign(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		res, reason := templateChangeMidCampaign(t, simulator.TemplateControl{Name: "order_update", Quality: "RED"})
		if !strings.Contains(reason, "quality RED") {
			t.Errorf("pause reason %q does not say the template's quality is RED", reason)
		}
		// Turned RED at 30 s, read at most a minute after the last read.
		if res.Sent < 50 || res.Sent > 2*95 {
			t.Errorf("sent %d at 2 msg/s before pausing, want the sends of 30–95 s", res.Sent)
		}
	})
}

// A template Meta pauses mid-campaign pauses the campaign: the sends meet
// 132015 or the next template read sees PAUSED.
func TestRunTemplatePausedMidCampaign(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		res, reason := templateChangeMidCampaign(t, simulator.TemplateControl{Name: "order_update", Status: "PAUSED"})
		if !strings.Contains(reason, "132015") && !strings.Contains(reason, "PAUSED") {
			t.Errorf("pause reason %q does not say the template is paused", reason)
		}
		if res.Sent > 2*31 {
			t.Errorf("sent %d at 2 msg/s, want none after the template was paused at 30 s", res.Sent)
		}
	})
}

// The pre-flight refuses to start, sends nothing and pauses (exit 3), for
// each cause.
func TestRunPreflight(t *testing.T) {
	tests := []struct {
		name   string
		cfg    simulator.Config
		s      campaign.Settings
		reason string
	}{
		{"unknown template", simulator.Config{}, campaign.Settings{Template: "nope"}, "does not exist"},
		{"wrong language", simulator.Config{}, campaign.Settings{Language: "pt_BR"}, "does not exist"},
		{"template paused", simulator.Config{Templates: []simulator.Template{{Name: "order_update", Language: "en_US", Category: "UTILITY", Status: "PAUSED", Params: 2}}}, campaign.Settings{}, "PAUSED"},
		{"template rejected", simulator.Config{Templates: []simulator.Template{{Name: "order_update", Language: "en_US", Category: "UTILITY", Status: "REJECTED", Params: 2}}}, campaign.Settings{}, "REJECTED"},
		{"template quality RED", simulator.Config{Templates: []simulator.Template{{Name: "order_update", Language: "en_US", Category: "UTILITY", Status: "APPROVED", Quality: "RED", Params: 2}}}, campaign.Settings{}, "quality RED"},
		{"parameter count", simulator.Config{Templates: []simulator.Template{{Name: "order_update", Language: "en_US", Category: "UTILITY", Status: "APPROVED", Params: 3}}}, campaign.Settings{}, "has 3 body parameters; --params gives 2"},
		{"number RED", simulator.Config{Quality: "RED"}, campaign.Settings{}, "LOW (RED)"},
		{"number flagged", simulator.Config{Status: "FLAGGED"}, campaign.Settings{}, "FLAGGED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tt.cfg.MPS, tt.cfg.Tier = 1000, -1
				e := newEnv(t, tt.cfg)
				c := e.campaign("p", phones(10, 0), tt.s)
				_, err := e.run(c, nil, campaign.RunOptions{})
				if !errors.Is(err, campaign.ErrPaused) || !strings.Contains(err.Error(), tt.reason) {
					t.Fatalf("run: %v, want paused naming %q", err, tt.reason)
				}
				if n := e.sim.Stats().Accepted; n != 0 {
					t.Errorf("%d messages accepted after a failed pre-flight", n)
				}
			})
		})
	}
	t.Run("bad token", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
			bad, err := sender.New(sender.Config{BaseURL: "http://simulator.invalid", Token: "wrong", PhoneNumberID: testPhoneID,
				WABAID: simulator.DefaultWABAID, Transport: e.sim.Transport()})
			if err != nil {
				t.Fatal(err)
			}
			c := e.campaign("p", phones(10, 0), campaign.Settings{})
			if _, err := e.run(c, bad, campaign.RunOptions{}); !errors.Is(err, campaign.ErrPaused) || !strings.Contains(err.Error(), "190") {
				t.Fatalf("run with a bad token: %v, want paused naming 190", err)
			}
			if n := e.sim.Stats().Accepted; n != 0 {
				t.Errorf("%d messages accepted with a bad token", n)
			}
		})
	})
}

// A MARKETING template skips recipients in region US (not every +1 number:
// Canada stays) with their own reason.
func TestRunMarketingSkipsUS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1, Templates: []simulator.Template{
			{Name: "promo", Language: "en_US", Category: "MARKETING", Status: "APPROVED", Params: 2}}})
		nums := []string{"+14155552671", "+16135550123", "+5511987654321"} // US, Canada, Brazil
		c := e.campaign("m", nums, campaign.Settings{Template: "promo"})
		res, err := e.run(c, nil, campaign.RunOptions{})
		if err != nil || res.Sent != 2 {
			t.Fatalf("run: sent %d, %v; want 2 and finished", res.Sent, err)
		}
		sum, err := e.st.Summary(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sum.SkippedByReason[campaign.ReasonMarketingUS] != 1 {
			t.Errorf("skipped by reason %v, want one %s", sum.SkippedByReason, campaign.ReasonMarketingUS)
		}
		for _, m := range e.sim.Messages() {
			if m.To == "+14155552671" {
				t.Error("the US recipient was sent a marketing template")
			}
		}
	})
}

// counting wraps a sender and counts the management reads.
type counting struct {
	inner           *sender.Client
	health, tmpl    atomic.Int64
	healthT, tmplTs []time.Time
}

func (c *counting) SendTemplate(ctx context.Context, m sender.Message) (sender.Accepted, error) {
	return c.inner.SendTemplate(ctx, m)
}

func (c *counting) PhoneHealth(ctx context.Context) (sender.Health, error) {
	c.health.Add(1)
	return c.inner.PhoneHealth(ctx)
}

func (c *counting) Template(ctx context.Context, name, lang string) (sender.Template, error) {
	c.tmpl.Add(1)
	return c.inner.Template(ctx, name, lang)
}

// Over ten minutes of sending, the number's health is read at least once a
// minute and at most every 15 s, the template at most once a minute.
func TestRunPollingBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		cs := &counting{inner: e.client}
		c := e.campaign("poll", phones(600, 0), campaign.Settings{Rate: 1, BatchSize: 5})
		start := time.Now()
		if _, err := e.run(c, cs, campaign.RunOptions{}); err != nil {
			t.Fatal(err)
		}
		minutes := time.Since(start).Minutes()
		h, tp := float64(cs.health.Load()), float64(cs.tmpl.Load())
		if h > minutes*4+2 || h < minutes-1 {
			t.Errorf("%.0f health reads in %.1f minutes, want between one a minute and one per 15 s", h, minutes)
		}
		if tp > minutes+2 || tp < minutes-1 {
			t.Errorf("%.0f template reads in %.1f minutes, want about one a minute", tp, minutes)
		}
	})
}

// A 131056 share over 5 % pauses the run itself, not only the guard's
// bookkeeping; the share and the window are in the stored reason.
func TestRunPausesOn131056Share(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1, PairBurst: 1000, Fault131056: 0.2, Seed: 3})
		c := e.campaign("ratio", phones(400, 0), campaign.Settings{Rate: 50})
		res, err := e.run(c, nil, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrPaused) {
			t.Fatalf("run: %v, want paused", err)
		}
		got, _ := e.st.Campaign(t.Context(), c.ID)
		if !strings.Contains(got.PauseReason, "send attempts were answered 131056") || !strings.Contains(got.PauseReason, "the limit is 5%") {
			t.Errorf("pause reason %q", got.PauseReason)
		}
		if res.Sent > 100 {
			t.Errorf("sent %d before pausing, want the pause soon after the minimum sample of 50", res.Sent)
		}
	})
}
