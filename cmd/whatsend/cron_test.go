package main

import (
	"sort"
	"testing"
	"time"

	"github.com/whatsend/whatsend/campaign"
)

// Cron: `resume --all` invoked once a day (the CLI's clock and the
// simulator's moved a day each time) finishes a campaign larger than one
// day's allowance, exits 10 until then and 0 at the end, and no 24 h window
// of the simulator's record holds more unique recipients than that day's
// warm-up allowance of tier 250.
func TestCronFinishesOverSeveralDays(t *testing.T) {
	sim := startSim(t, "--latency", "1ms", "--tier", "250")
	p := newProc(t, sim)
	const n = 200
	csv := writeCSV(t, p.dir, n, 0)
	t0 := time.Now().UTC().Truncate(time.Second)
	// Cron fires a minute after the hour the campaign started, once a
	// day; each day a few seconds later than the day before, so that a
	// day's 24 h window never holds the previous day's sends (they take
	// up to a second after the run's start, and the next run reads its
	// window within a second of its own).
	setDay := func(day int) {
		at := t0.Add(time.Duration(day) * (24*time.Hour + 5*time.Second))
		if day > 0 {
			at = at.Add(time.Minute)
		}
		p.extra = []string{"WHATSEND_NOW=" + at.Format(time.RFC3339)}
	}

	setDay(0)
	args := p.runArgs(csv)
	args = args[:len(args)-2] // no --tier: the limit comes from the simulator
	if code := p.exec(args...); code != exitMoreWork {
		t.Fatalf("day 0: run exited %d, want 10\n%s%s", code, &p.stdout, &p.stderr)
	}
	finished := false
	for day := 1; day <= 8 && !finished; day++ {
		if day == 1 {
			sim.control(t, `{"advance": "24h1m5s"}`)
		} else {
			sim.control(t, `{"advance": "24h5s"}`)
		}
		setDay(day)
		switch code := p.exec("resume", "--all"); code {
		case exitOK:
			finished = true
			if day != 4 { // 25 + 41 + 57 + 73 = 196 by day 3; day 4 allows 89
				t.Errorf("finished on day %d, want day 4\n%s", day, &p.stdout)
			}
		case exitMoreWork:
		default:
			t.Fatalf("day %d: resume --all exited %d\n%s%s", day, code, &p.stdout, &p.stderr)
		}
	}
	if !finished {
		t.Fatal("the campaign did not finish within 8 daily runs")
	}

	var msgs struct {
		Messages []struct {
			To   string    `json:"to"`
			Time time.Time `json:"time"`
		} `json:"messages"`
	}
	sim.getJSON(t, "/_sim/messages", &msgs)
	if len(msgs.Messages) != n {
		t.Fatalf("the simulator accepted %d messages, want %d", len(msgs.Messages), n)
	}
	seen := map[string]bool{}
	start := msgs.Messages[0].Time
	sort.Slice(msgs.Messages, func(i, j int) bool { return msgs.Messages[i].Time.Before(msgs.Messages[j].Time) })
	for i, m := range msgs.Messages {
		if seen[m.To] {
			t.Errorf("%s was sent twice", m.To)
		}
		seen[m.To] = true
		unique := map[string]bool{}
		for _, o := range msgs.Messages[:i+1] {
			if m.Time.Sub(o.Time) < 24*time.Hour {
				unique[o.To] = true
			}
		}
		day := campaign.WarmupDay(start, m.Time)
		if allow := campaign.Allowance(250, day, 14); len(unique) > allow {
			t.Fatalf("at %s (warm-up day %d) %d unique recipients in 24 h, allowance %d", m.Time, day, len(unique), allow)
		}
	}
}
