package campaign

import (
	"fmt"
	"testing"
	"time"
)

// The pair spacer holds each number for the pair interval after its send
// and forgets it after; what it keeps stays bounded by the sends of one
// interval, however long the run.
func TestPairSpacerForgetsAfterTheInterval(t *testing.T) {
	const interval = 6 * time.Second
	start := time.Unix(1_800_000_000, 0)
	p := newPairSpacer(interval, map[string]time.Time{"+5511900000000": start.Add(-time.Second)})
	if got := p.allowedAt("+5511900000000"); !got.Equal(start.Add(interval - time.Second)) {
		t.Fatalf("a number the store saw a second before: allowed at %v, want %v", got, start.Add(interval-time.Second))
	}
	const rate, sends = 1000, 30_000 // 30 s at 1,000 msg/s
	at := func(i int) time.Time { return start.Add(time.Duration(i) * time.Second / rate) }
	phone := func(i int) string { return fmt.Sprintf("+55%011d", i) }
	for i := range sends {
		p.record(phone(i), at(i))
		if live := len(p.order) - p.head; len(p.order) > 2*live+1 {
			t.Fatalf("after %d sends the spacer holds %d entries for %d live ones", i+1, len(p.order), live)
		}
	}
	now := at(sends - 1)
	for _, i := range []int{sends - 1, sends - int(interval.Milliseconds())} {
		if got, want := p.allowedAt(phone(i)), at(i).Add(interval); !got.Equal(want) {
			t.Errorf("send %d, %v before the last: allowed at %v, want %v", i, now.Sub(at(i)), got, want)
		}
	}
	for _, i := range []int{0, sends - int(interval.Milliseconds()) - 1} {
		if got := p.allowedAt(phone(i)); !got.IsZero() {
			t.Errorf("send %d, %v before the last: allowed at %v, want forgotten", i, now.Sub(at(i)), got)
		}
	}
	if got := p.allowedAt("+5511900000000"); got.After(now) {
		t.Errorf("the number the store saw is held until %v, 30 s later", got)
	}
	if want := int(interval.Milliseconds()) + 1; len(p.last) > want+1 {
		t.Errorf("the spacer knows %d numbers, want the last interval's %d", len(p.last), want)
	}
	// A number sent again keeps its latest send.
	p.record(phone(sends-10), now)
	if got := p.allowedAt(phone(sends - 10)); !got.Equal(now.Add(interval)) {
		t.Errorf("a number sent again: allowed at %v, want %v", got, now.Add(interval))
	}
}
