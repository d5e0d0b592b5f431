package campaign_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
)

// windowPhones are five São Paulo, five Lisbon and five Jakarta mobiles.
func windowPhones() []string {
	var out []string
	for i := range 5 {
		out = append(out, fmt.Sprintf("+55119%08d", 20000000+i), fmt.Sprintf("+3519123456%02d", i), fmt.Sprintf("+6281234567%03d", i))
	}
	return out
}

// saturdayNoon moves the bubble's clock to Saturday 2026-12-05 12:00 UTC
// (09:00 in São Paulo, 12:00 in Lisbon, 19:00 in Jakarta).
func saturdayNoon(t *testing.T) time.Time {
	at := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	time.Sleep(at.Sub(time.Now()))
	return time.Now()
}

// inWindow reports whether t is 09:00-20:00 on a weekday in every zone the
// number maps to, computed without the engine's code.
func inWindow(t *testing.T, phone string, at time.Time) bool {
	t.Helper()
	n, err := phonenumbers.Parse(phone, "")
	if err != nil {
		t.Fatal(err)
	}
	zones, _ := phonenumbers.GetTimezonesForNumber(n)
	if len(zones) == 0 {
		t.Fatalf("%s maps to no time zone", phone)
	}
	for _, z := range zones {
		loc, err := time.LoadLocation(z)
		if err != nil {
			t.Fatal(err)
		}
		l := at.In(loc)
		if l.Weekday() == time.Saturday || l.Weekday() == time.Sunday || l.Hour() < 9 || l.Hour() >= 20 {
			return false
		}
	}
	return true
}

// firstOpen is the first minute at or after from when phone's window is
// open, found by walking the clock.
func firstOpen(t *testing.T, phone string, from time.Time) time.Time {
	for at := from; at.Before(from.Add(8 * 24 * time.Hour)); at = at.Add(time.Minute) {
		if inWindow(t, phone, at) {
			return at
		}
	}
	t.Fatalf("%s: no window opens within 8 days of %v", phone, from)
	return time.Time{}
}

var weekdays = campaign.Settings{Window: "09:00-20:00", Days: "mon-fri"}

// TestWindowWeekAcrossZones drives a campaign to São Paulo, Lisbon and
// Jakarta numbers from cron, every hour for a simulated week: a Saturday
// start sends nothing and names Monday 09:00 in Jakarta, nothing is sent
// outside its recipient's window, and each recipient goes out in its first
// open window.
func TestWindowWeekAcrossZones(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		start := saturdayNoon(t)
		nums := windowPhones()
		c := e.campaign("week", nums, weekdays)

		res, err := e.run(c, nil, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrMoreWork) {
			t.Fatalf("Saturday run: %v, want work left (exit 10)", err)
		}
		jakarta, _ := time.LoadLocation("Asia/Jakarta")
		monday := time.Date(2026, 12, 7, 9, 0, 0, 0, jakarta)
		if !res.NextAt.Equal(monday) {
			t.Errorf("Saturday run: next opening %v, want Monday 09:00 in Jakarta (%v)", res.NextAt, monday)
		}
		if want := "the next window opens " + campaign.LocalTime(monday); !strings.Contains(res.Stop, want) {
			t.Errorf("Saturday run says %q, want it to name %q", res.Stop, want)
		}
		if len(e.sim.Messages()) != 0 || res.Sent != 0 {
			t.Fatalf("Saturday run sent %d messages, want none", len(e.sim.Messages()))
		}
		if res.Window == "" {
			t.Error("result names no send window")
		}

		finished := false
		for hour := 1; hour <= 7*24 && !finished; hour++ {
			time.Sleep(time.Until(start.Add(time.Duration(hour) * time.Hour)))
			_, err := e.run(c, nil, campaign.RunOptions{})
			switch {
			case err == nil:
				finished = true
			case !errors.Is(err, campaign.ErrMoreWork):
				t.Fatalf("cron run at %v: %v", time.Now(), err)
			}
		}
		if !finished {
			t.Fatalf("campaign not finished after a week: %v", e.counts(c))
		}
		msgs := e.sim.Messages()
		if len(msgs) != len(nums) {
			t.Fatalf("simulator accepted %d messages, want %d (one each)", len(msgs), len(nums))
		}
		for _, m := range msgs {
			if !inWindow(t, m.To, m.Time) {
				t.Errorf("%s sent at %v: outside its 09:00-20:00 mon-fri window", m.To, m.Time)
			}
			want := firstOpen(t, m.To, start)
			if d := m.Time.Sub(want); d < 0 || d >= time.Hour {
				t.Errorf("%s sent at %v, want in its first open window from %v (the first cron run in it)", m.To, m.Time, want)
			}
		}
	})
}

// TestWindowForecastMatchesCron: the dry-run forecast of a windowed
// campaign (as JSON) gives, day by day over a week, the sends of the same
// campaign driven by an hourly cron.
func TestWindowForecastMatchesCron(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		start := saturdayNoon(t)
		c := e.campaign("fc", windowPhones(), weekdays)

		f, err := campaign.Plan(t.Context(), e.st, e.client, c.ID, start)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Days []struct {
				Date       string `json:"date"`
				Recipients int    `json:"recipients"`
			} `json:"days"`
			Window   string    `json:"window"`
			NextOpen time.Time `json:"next_open"`
		}
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if out.Window == "" || !out.NextOpen.Equal(time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)) {
			t.Errorf("forecast window %q, next opening %v; want the window and Monday 02:00 UTC", out.Window, out.NextOpen)
		}
		forecast := make([]int, 7)
		for i, d := range out.Days {
			if i < 7 {
				forecast[i] = d.Recipients
			}
		}

		for hour := 0; hour < 7*24; hour++ {
			time.Sleep(time.Until(start.Add(time.Duration(hour) * time.Hour)))
			if _, err := e.run(c, nil, campaign.RunOptions{}); err != nil && !errors.Is(err, campaign.ErrMoreWork) {
				t.Fatalf("cron run at %v: %v", time.Now(), err)
			}
		}
		sent := make([]int, 7)
		for _, m := range e.sim.Messages() {
			sent[int(m.Time.Sub(start)/(24*time.Hour))]++
		}
		if fmt.Sprint(forecast) != fmt.Sprint(sent) {
			t.Errorf("forecast per day %v, cron sent per day %v", forecast, sent)
		}
		if forecast[0] != 0 || forecast[1] == 0 || forecast[2] == 0 {
			t.Errorf("forecast %v: want nothing on Saturday, Jakarta and Lisbon by Monday noon UTC, São Paulo after", forecast)
		}
	})
}

// TestNotAfterExpires: after --not-after nothing is sent, the unsent
// recipients are expired, the campaign is finished, and the states
// partition the recipients.
func TestNotAfterExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		start := saturdayNoon(t)
		notAfter := start.Add(30 * time.Second)
		nums := phones(100, 0)
		c := e.campaign("stale", nums, campaign.Settings{Rate: 1, NotAfter: notAfter.Format(time.RFC3339)})
		res, err := e.run(c, nil, campaign.RunOptions{})
		if err != nil {
			t.Fatalf("run: %v, want finished (exit 0)", err)
		}
		msgs := e.sim.Messages()
		if len(msgs) == 0 || len(msgs) > 31 {
			t.Errorf("sent %d messages at 1/s in 30 s", len(msgs))
		}
		for _, m := range msgs {
			if !m.Time.Before(notAfter) {
				t.Errorf("%s sent at %v, after --not-after %v", m.To, m.Time, notAfter)
			}
		}
		cn := e.counts(c)
		total := 0
		for _, n := range cn {
			total += n
		}
		if total != len(nums) || cn[store.StateExpired] != len(nums)-len(msgs) || cn[store.StateSent] != len(msgs) {
			t.Errorf("counts %v: want %d sent and the other %d expired, %d in all", cn, len(msgs), len(nums)-len(msgs), len(nums))
		}
		if res.Expired != cn[store.StateExpired] || res.Campaign.State != store.CampaignFinished {
			t.Errorf("result: %d expired, campaign %s; want %d and finished", res.Expired, res.Campaign.State, cn[store.StateExpired])
		}
		// A later run (resume --all from cron) sends nothing and exits 0.
		time.Sleep(time.Hour)
		if _, err := e.run(c, nil, campaign.RunOptions{}); err != nil {
			t.Errorf("run after --not-after: %v, want finished", err)
		}
		if n := len(e.sim.Messages()); n != len(msgs) {
			t.Errorf("a run after --not-after sent %d more", n-len(msgs))
		}
	})
}

// TestNotAfterBeforeFirstRun: a campaign whose --not-after (a duration
// after its creation) passed before any run expires everything, sends
// nothing and finishes.
func TestNotAfterBeforeFirstRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		c := e.campaign("late", phones(10, 0), campaign.Settings{NotAfter: "72h"})
		time.Sleep(73 * time.Hour)
		res, err := e.run(c, nil, campaign.RunOptions{})
		if err != nil || res.Expired != 10 || len(e.sim.Messages()) != 0 {
			t.Errorf("run 73 h after creation: %v, %d expired, %d sent; want finished, 10 expired, none sent", err, res.Expired, len(e.sim.Messages()))
		}
	})
}

// TestWindowWait: with --wait a run started at Monday 00:00 UTC (before
// every window) sleeps until each window opens and finishes in one
// invocation, sending nothing outside a window. (A shorter wait than from
// Saturday: the lease heartbeat ticks all along.)
func TestWindowWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		time.Sleep(time.Until(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)))
		start := time.Now()
		c := e.campaign("wait", windowPhones(), weekdays)
		if _, err := e.run(c, nil, campaign.RunOptions{Wait: true}); err != nil {
			t.Fatalf("run --wait: %v, want finished", err)
		}
		msgs := e.sim.Messages()
		if len(msgs) != 15 {
			t.Fatalf("sent %d, want 15", len(msgs))
		}
		for _, m := range msgs {
			want := firstOpen(t, m.To, start)
			if !inWindow(t, m.To, m.Time) || m.Time.Sub(want) < 0 || m.Time.Sub(want) > time.Minute {
				t.Errorf("%s sent at %v, want within a minute of its first opening %v", m.To, m.Time, want)
			}
		}
	})
}

// TestWindowClosedFirstPage: when the first page of due recipients is all
// outside its window, the run still finds and sends the open ones after it.
func TestWindowClosedFirstPage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		// Monday 03:00 UTC: 10:00 in Jakarta (open), 00:00 in São Paulo.
		time.Sleep(time.Until(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)))
		nums := phones(30, 0) // São Paulo
		for i := range 5 {
			nums = append(nums, fmt.Sprintf("+6281234567%03d", i))
		}
		c := e.campaign("pages", nums, campaign.Settings{Window: "09:00-20:00", BatchSize: 10})
		_, err := e.run(c, nil, campaign.RunOptions{})
		if !errors.Is(err, campaign.ErrMoreWork) {
			t.Fatalf("run: %v, want work left", err)
		}
		if n := len(e.sim.Messages()); n != 5 {
			t.Errorf("sent %d, want the 5 Jakarta numbers after 3 closed pages", n)
		}
	})
}

// TestNotAfterExpiresPausedCampaign: a campaign paused by the guard whose
// --not-after passed is expired and finished by the next run, without the
// pause's cause being checked (nothing is sent), and is not skipped by
// resume --all.
func TestNotAfterExpiresPausedCampaign(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1, Quality: "RED"})
		c := e.campaign("paused", phones(5, 0), campaign.Settings{NotAfter: "1h"})
		if _, err := e.run(c, nil, campaign.RunOptions{}); !errors.Is(err, campaign.ErrPaused) {
			t.Fatalf("first run: %v, want paused (quality RED)", err)
		}
		time.Sleep(2 * time.Hour)
		c, _ = e.st.Campaign(t.Context(), c.ID)
		if !campaign.PastNotAfter(c, time.Now()) {
			t.Error("PastNotAfter = false 2 h after a 1h --not-after")
		}
		res, err := e.run(c, nil, campaign.RunOptions{})
		if err != nil || res.Expired != 5 || res.Campaign.State != store.CampaignFinished || len(e.sim.Messages()) != 0 {
			t.Errorf("run after --not-after: %v, %d expired, campaign %s, %d sent; want finished, 5 expired, none sent",
				err, res.Expired, res.Campaign.State, len(e.sim.Messages()))
		}
	})
}
