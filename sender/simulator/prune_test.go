package simulator

import (
	"fmt"
	"testing"
	"time"
)

// A long-running simulator forgets recipients whose pair-rate state has
// expired: memory follows recent recipients, not every recipient ever seen.
func TestPairMapPruned(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := New(Config{Now: func() time.Time { return now }, Tier: -1, PairInterval: 6 * time.Second, PairBurst: 1})
	for i := range 100000 {
		if !s.pairAllows(fmt.Sprintf("+5511%09d", i), now) {
			t.Fatalf("first send to recipient %d refused", i)
		}
		now = now.Add(time.Millisecond) // 1,000 a second: 6,000 live at once
	}
	if n := len(s.tat); n > 4*6000 {
		t.Errorf("pair map holds %d recipients after 100,000 sends; about 6,000 are live", n)
	}
	// A pruned recipient is simply allowed again; a live one is still limited.
	if !s.pairAllows("+5511000000000", now) {
		t.Error("a recipient last sent 100 s ago was refused")
	}
	last := fmt.Sprintf("+5511%09d", 99999)
	if s.pairAllows(last, now) {
		t.Error("a recipient sent 1 ms ago was allowed again within the pair interval")
	}
}
