package campaign

import (
	"testing"
	"time"
)

func TestPairSpacer(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newPairSpacer(6*time.Second, map[string]time.Time{"+1": t0.Add(-2 * time.Second)})
	if got, want := p.allowedAt("+1"), t0.Add(4*time.Second); !got.Equal(want) {
		t.Errorf("loaded recipient allowed at %v, want %v", got, want)
	}
	if got := p.allowedAt("+2"); !got.IsZero() {
		t.Errorf("unknown recipient allowed at %v, want zero", got)
	}
	p.record("+2", t0)
	if got, want := p.allowedAt("+2"), t0.Add(6*time.Second); !got.Equal(want) {
		t.Errorf("after a send allowed at %v, want %v", got, want)
	}
	// Old entries are pruned: memory follows rate × interval.
	for i := range 10000 {
		p.record("+x"+string(rune('a'+i%26))+time.Duration(i).String(), t0.Add(time.Duration(i)*10*time.Millisecond))
	}
	if n := len(p.last); n > 700 {
		t.Errorf("spacer keeps %d entries after 100 s at 100 msg/s with a 6 s interval, want about 600", n)
	}
}

func TestBackoffBounds(t *testing.T) {
	maxRand := func(n int64) int64 { return n - 1 }
	zeroRand := func(int64) int64 { return 0 }
	for attempt := 1; attempt <= 12; attempt++ {
		lo := pairRetryDelay(6*time.Second, attempt, zeroRand)
		hi := pairRetryDelay(6*time.Second, attempt, maxRand)
		if lo != 6*time.Second {
			t.Errorf("attempt %d: shortest 131056 retry %v, want the pair interval", attempt, lo)
		}
		if hi > 6*time.Second+pairBackoffCap {
			t.Errorf("attempt %d: longest 131056 retry %v exceeds the cap", attempt, hi)
		}
		if s := slowDelay(attempt, maxRand); s > 100*time.Millisecond+slowBackoffCap {
			t.Errorf("attempt %d: slow-down %v exceeds the cap", attempt, s)
		}
	}
	if a, b := pairRetryDelay(6*time.Second, 1, maxRand), pairRetryDelay(6*time.Second, 3, maxRand); b <= a {
		t.Errorf("back-off does not grow: attempt 1 %v, attempt 3 %v", a, b)
	}
}
