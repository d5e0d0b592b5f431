package storetest

import (
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
)

// testNumberShares: the reads and the crash recovery of a pair run see
// only the recipients assigned to its number.
func testNumberShares(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "shares", 6)
	_, err := st.AssignNumbers(ctx, c.ID, []string{"n1", "n2"}) // lines 2,4,6 to n1; 3,5,7 to n2
	must(t, err)
	due, err := st.DueFor(ctx, c.ID, "n1", t0, 10)
	must(t, err)
	if len(due) != 3 || due[0].Line != 2 || due[1].Line != 4 || due[2].Line != 6 {
		t.Fatalf("due for n1: %d recipients %v", len(due), due)
	}
	for _, r := range due {
		if r.PhoneNumberID != "n1" {
			t.Fatalf("due for n1 holds line %d of %q", r.Line, r.PhoneNumberID)
		}
	}
	if page, _ := st.DueFor(ctx, c.ID, "n2", t0, 2); len(page) != 2 || page[0].Line != 3 || page[1].Line != 5 {
		t.Fatalf("first page due for n2: %v", page)
	}
	if none, _ := st.DueFor(ctx, c.ID, "n3", t0, 10); len(none) != 0 {
		t.Fatalf("due for a number with no recipient: %v", none)
	}

	from1, from2 := c, c
	from1.PhoneNumberID, from2.PhoneNumberID = "n1", "n2"
	n2, _ := st.DueFor(ctx, c.ID, "n2", t0, 10)
	// n1: line 2 retries in an hour, line 4 is in flight (its process was
	// killed); n2: line 3 in flight, line 5 deferred a day.
	finish(t, st, from1, due[0], 1, store.Outcome{State: store.StateRetry, Code: 131056, NextAttemptAt: t0.Add(time.Hour)})
	must(t, st.BeginAttempts(ctx, []store.Attempt{attempt(from1, due[1], 1, t0), attempt(from2, n2[0], 1, t0)}))
	finish(t, st, from2, n2[1], 1, store.Outcome{State: store.StateDeferred, Code: 131049, NextAttemptAt: t0.Add(24 * time.Hour)})

	if next, ok, err := st.NextDueFor(ctx, c.ID, "n1"); err != nil || !ok || !next.Equal(t0.Add(time.Hour)) {
		t.Errorf("next due for n1 = %v %v %v, want %v", next, ok, err, t0.Add(time.Hour))
	}
	if next, ok, err := st.NextDueFor(ctx, c.ID, "n2"); err != nil || !ok || !next.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("next due for n2 = %v %v %v, want %v", next, ok, err, t0.Add(24*time.Hour))
	}
	if _, ok, err := st.NextDueFor(ctx, c.ID, "n3"); err != nil || ok {
		t.Errorf("next due for n3 = %v %v, want none", ok, err)
	}
	counts, err := st.CountsFor(ctx, c.ID, "n1")
	must(t, err)
	if want := map[store.State]int{store.StateRetry: 1, store.StateInFlight: 1, store.StatePending: 1}; !maps.Equal(counts, want) {
		t.Errorf("counts for n1 %v, want %v", counts, want)
	}

	// The crash recovery of n1 leaves n2's request in flight alone.
	n, err := st.MarkUncertainFor(ctx, c.ID, "n1", t0.Add(time.Minute))
	must(t, err)
	if n != 1 {
		t.Fatalf("marked %d uncertain for n1, want 1", n)
	}
	if r := Recipient(t, st, c.ID, due[1].ID); r.State != store.StateUncertain {
		t.Errorf("n1's in-flight recipient is %s, want uncertain", r.State)
	}
	if r := Recipient(t, st, c.ID, n2[0].ID); r.State != store.StateInFlight {
		t.Errorf("n2's in-flight recipient is %s, want still in flight", r.State)
	}
	var uncertain []string
	must(t, st.Attempts(ctx, c.ID, func(a store.AttemptRecord) error {
		if a.State == store.StateUncertain {
			uncertain = append(uncertain, a.PhoneNumberID)
		}
		return nil
	}))
	if len(uncertain) != 1 || uncertain[0] != "n1" {
		t.Errorf("uncertain attempts from %v, want [n1]", uncertain)
	}
	counts, _ = st.CountsFor(ctx, c.ID, "n2")
	if want := map[store.State]int{store.StateInFlight: 1, store.StateDeferred: 1, store.StatePending: 1}; !maps.Equal(counts, want) {
		t.Errorf("counts for n2 %v, want %v", counts, want)
	}
}

// testNumberPauses: a number's pause is recorded, replaced, listed and
// removed, per campaign, and goes with its campaign.
func testNumberPauses(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "paused", 1)
	other := newCampaign(t, st, "other", 1)
	if ps, err := st.NumberPauses(ctx, c.ID); err != nil || len(ps) != 0 {
		t.Fatalf("pauses of a new campaign: %v %v", ps, err)
	}
	must(t, st.PauseNumber(ctx, c.ID, "n2", "quality rating LOW (RED)", t0))
	must(t, st.PauseNumber(ctx, c.ID, "n1", "131056 share 6%", t0))
	must(t, st.PauseNumber(ctx, c.ID, "n2", "status FLAGGED", t0.Add(time.Minute)))
	must(t, st.PauseNumber(ctx, other.ID, "n1", "status FLAGGED", t0))
	ps, err := st.NumberPauses(ctx, c.ID)
	must(t, err)
	want := []store.NumberPause{
		{PhoneNumberID: "n1", Reason: "131056 share 6%", At: t0},
		{PhoneNumberID: "n2", Reason: "status FLAGGED", At: t0.Add(time.Minute)},
	}
	if len(ps) != 2 || ps[0] != want[0] || ps[1] != want[1] {
		t.Fatalf("pauses %+v, want %+v", ps, want)
	}
	must(t, st.ResumeNumber(ctx, c.ID, "n1"))
	must(t, st.ResumeNumber(ctx, c.ID, "n9")) // absent: no error
	if ps, _ = st.NumberPauses(ctx, c.ID); len(ps) != 1 || ps[0].PhoneNumberID != "n2" {
		t.Fatalf("pauses after resuming n1: %+v", ps)
	}
	if ps, _ = st.NumberPauses(ctx, other.ID); len(ps) != 1 || ps[0].PhoneNumberID != "n1" {
		t.Fatalf("the other campaign's pauses: %+v", ps)
	}
	must(t, st.DeleteCampaign(ctx, c.ID))
	if ps, _ = st.NumberPauses(ctx, c.ID); len(ps) != 0 {
		t.Fatalf("pauses of a deleted campaign: %+v", ps)
	}
}

// testConcurrentAssign: processes assigning one campaign at once (here
// goroutines on their own connections) give each recipient one number, no
// recipient counted twice, the loads even.
func testConcurrentAssign(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "assign", 300)
	pool := []string{"n1", "n2", "n3"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := map[string]int{}
	for range 4 {
		wg.Go(func() {
			given, err := st.AssignNumbers(ctx, c.ID, pool)
			if err != nil {
				t.Errorf("assign: %v", err)
				return
			}
			mu.Lock()
			for k, v := range given {
				total[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if want := map[string]int{"n1": 100, "n2": 100, "n3": 100}; !maps.Equal(total, want) {
		t.Fatalf("given in all %v, want %v", total, want)
	}
	for _, n := range pool {
		counts, err := st.CountsFor(ctx, c.ID, n)
		must(t, err)
		if counts[store.StatePending] != 100 {
			t.Errorf("%s holds %v, want 100 pending", n, counts)
		}
	}
}

// testAllowanceReservations: reservations of a scope's allowance never
// grant together more than the limit leaves after the window; an owner's
// new reservation replaces its own; a lapsed or released one frees its
// units; reservers at once each see the others'.
func testAllowanceReservations(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "allowance", 3)
	due, _ := st.Due(ctx, c.ID, t0, 3)
	for _, r := range due {
		finish(t, st, c, r, 1, store.Outcome{State: store.StateSent, WAMID: "w" + r.Phone})
	}
	since, until := t0.Add(-time.Hour), t0.Add(30*time.Second)
	reserve := func(owner string, n int, now, until time.Time, want int) {
		t.Helper()
		got, used, err := st.ReserveAllowance(ctx, c.Scope, owner, n, 10, since, now, until)
		must(t, err)
		if got != want || used != 3 {
			t.Fatalf("%s reserving %d at %s: granted %d of a window of %d, want %d of 3", owner, n, now.Format(time.TimeOnly), got, used, want)
		}
	}
	reserve("a", 4, t0, until, 4)
	reserve("b", 5, t0, until.Add(time.Minute), 3) // 10 - 3 sent - 4 of a
	reserve("c", 2, t0, until, 0)
	reserve("a", 4, t0, until, 4) // replaces its own 4
	// a's reservation lapses at until; b's is still held.
	reserve("c", 9, until, until.Add(time.Minute), 4)
	must(t, st.ReleaseAllowance(ctx, c.Scope, "b"))
	reserve("d", 9, until, until.Add(time.Minute), 3)
	if got, _, err := st.ReserveAllowance(ctx, "another scope", "a", 5, 10, since, t0, until); err != nil || got != 5 {
		t.Fatalf("another scope: granted %d, %v; want 5 (scopes are apart)", got, err)
	}

	// Eight reservers at once over a fresh scope's 50: 50 in all.
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for i := range 8 {
		wg.Go(func() {
			got, _, err := st.ReserveAllowance(ctx, "fresh", fmt.Sprint("w", i), 10, 50, since, t0, until)
			if err != nil {
				t.Errorf("reserve: %v", err)
				return
			}
			mu.Lock()
			total += got
			mu.Unlock()
		})
	}
	wg.Wait()
	if total != 50 {
		t.Fatalf("eight reservers at once were granted %d in all, want the 50 of the limit", total)
	}
}
