package campaign

import (
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender"
)

func newTestGuard() *guard {
	return newGuard(Settings{}, func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) })
}

func TestGuardMinimumSample(t *testing.T) {
	// 49 attempts with 10 % 131056 do not pause; the 50th does.
	g := newTestGuard()
	for i := range 49 {
		code := 0
		if i%10 == 0 {
			code = rateLimitedCode
		}
		if p := g.observe(code); p != nil {
			t.Fatalf("attempt %d paused before the minimum sample: %s", i+1, p.Reason)
		}
	}
	if g.share() < 0.09 {
		t.Fatalf("share after 49 = %.3f, want about 0.10", g.share())
	}
	p := g.observe(0)
	if p == nil {
		t.Fatal("the 50th attempt at 10 % 131056 did not pause")
	}
	if p.Kind != "ratio" || p.Detail["window"] != 50 {
		t.Errorf("pause = %+v, want ratio over a window of 50", p)
	}
}

func TestGuardThresholds(t *testing.T) {
	run := func(hits, total int) (*guard, *pauseCause) {
		g := newTestGuard()
		var p *pauseCause
		for i := range total {
			code := 0
			if i >= total-hits { // the hits last, so the share peaks at hits/total
				code = rateLimitedCode
			}
			if q := g.observe(code); q != nil && p == nil {
				p = q
			}
		}
		return g, p
	}
	// 4 of 200 = 2 %: not above the slow threshold.
	if g, p := run(4, 200); p != nil || g.rateFactor() != 1 {
		t.Errorf("2%%: pause %v, rate factor %v; want no pause, full rate", p, g.rateFactor())
	}
	// 6 of 200 = 3 %: halves the rate, no pause.
	if g, p := run(6, 200); p != nil || g.rateFactor() != 0.5 {
		t.Errorf("3%%: pause %v, rate factor %v; want no pause, half rate", p, g.rateFactor())
	}
	// 10 of 200 = 5 %: not above the pause threshold.
	if _, p := run(10, 200); p != nil {
		t.Errorf("5%%: paused: %s", p.Reason)
	}
	// 11 of 200 = 5.5 %: pauses.
	if _, p := run(11, 200); p == nil {
		t.Error("5.5%: did not pause")
	}
}

func TestGuardRateRecovers(t *testing.T) {
	g := newTestGuard()
	for i := range 100 {
		code := 0
		if i%25 == 0 { // 4 %
			code = rateLimitedCode
		}
		g.observe(code)
	}
	if f := g.rateFactor(); f != 0.5 {
		t.Fatalf("rate factor at 4 %% = %v, want 0.5", f)
	}
	// The 131056 answers leave the window: the rate is restored step by step.
	steps := []float64{}
	for range 600 {
		g.observe(0)
		if f := g.rateFactor(); len(steps) == 0 || steps[len(steps)-1] != f {
			steps = append(steps, f)
		}
	}
	if got := g.rateFactor(); got != 1 {
		t.Errorf("rate factor after the share fell = %v, want 1 (steps %v)", got, steps)
	}
}

func TestGuardHealth(t *testing.T) {
	g := newTestGuard()
	if p := g.healthPause(sender.Health{Quality: "GREEN", Status: "CONNECTED"}); p != nil {
		t.Errorf("GREEN/CONNECTED paused: %s", p.Reason)
	}
	for _, h := range []sender.Health{
		{Quality: "RED", Status: "CONNECTED"},
		{Quality: "GREEN", Status: "FLAGGED"},
		{Quality: "GREEN", Status: "RESTRICTED"},
		{Quality: "YELLOW", Status: "BANNED"},
	} {
		if p := g.healthPause(h); p == nil {
			t.Errorf("%+v did not pause", h)
		}
	}
	g.observeHealth(sender.Health{Quality: "YELLOW", Status: "CONNECTED"})
	if f := g.rateFactor(); f != 0.5 {
		t.Errorf("YELLOW rate factor = %v, want 0.5", f)
	}
	g.observeHealth(sender.Health{Quality: "GREEN", Status: "CONNECTED"})
	if f := g.rateFactor(); f != 1 {
		t.Errorf("GREEN again rate factor = %v, want 1", f)
	}
}
