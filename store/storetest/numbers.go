package storetest

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
)

// numbersByLine returns each recipient's number, in line order.
func numbersByLine(t *testing.T, st store.Store, c store.Campaign) ([]store.Recipient, []string) {
	t.Helper()
	var rs []store.Recipient
	var ns []string
	must(t, st.Recipients(t.Context(), c.ID, func(r store.Recipient) error {
		rs = append(rs, r)
		ns = append(ns, r.PhoneNumberID)
		return nil
	}))
	return rs, ns
}

// testAssignNumbers: recipients get the least-loaded number of the pool in
// line order; an attempt writes its number; a re-assignment without a
// number moves only the recipients never attempted; a later campaign of the
// scope gives a phone the number that sent to it before.
func testAssignNumbers(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "pool", 6)
	given, err := st.AssignNumbers(ctx, c.ID, []string{"n1", "n2", "n3"})
	must(t, err)
	if want := map[string]int{"n1": 2, "n2": 2, "n3": 2}; !maps.Equal(given, want) {
		t.Fatalf("given %v, want %v", given, want)
	}
	rs, ns := numbersByLine(t, st, c)
	if want := []string{"n1", "n2", "n3", "n1", "n2", "n3"}; !slices.Equal(ns, want) {
		t.Fatalf("numbers %v, want %v", ns, want)
	}
	// Assigning again changes nothing.
	if given, err := st.AssignNumbers(ctx, c.ID, []string{"n1", "n2", "n3"}); err != nil || len(given) != 0 {
		t.Fatalf("second assignment gave %v, %v", given, err)
	}

	from1 := c
	from1.PhoneNumberID = "n1"
	finish(t, st, from1, rs[0], 1, store.Outcome{State: store.StateSent, WAMID: "wamid.pool1"})

	// n1 leaves the pool: line 4 (never attempted) moves to the
	// least-loaded of n2 and n3; line 1, sent from n1, keeps it.
	given, err = st.AssignNumbers(ctx, c.ID, []string{"n2", "n3"})
	must(t, err)
	if want := map[string]int{"n2": 1}; !maps.Equal(given, want) {
		t.Fatalf("re-assignment gave %v, want %v", given, want)
	}
	if _, ns = numbersByLine(t, st, c); !slices.Equal(ns, []string{"n1", "n2", "n3", "n2", "n2", "n3"}) {
		t.Fatalf("numbers after re-assignment %v", ns)
	}

	sum, err := st.Summary(ctx, c.ID)
	must(t, err)
	if got, want := sum.ByNumber["n1"], (store.NumberFigures{Assigned: 1, Sent: 1, Attempts: 1}); got != want {
		t.Fatalf("figures of n1 %+v, want %+v", got, want)
	}
	if got, want := sum.ByNumber["n2"], (store.NumberFigures{Assigned: 3, ToSend: 3}); got != want {
		t.Fatalf("figures of n2 %+v, want %+v", got, want)
	}

	// A campaign of the same scope with the same phones: +1000 was sent
	// from n1, which is in the new pool, so it keeps n1.
	c2 := newCampaign(t, st, "pool2", 3)
	_, err = st.AssignNumbers(ctx, c2.ID, []string{"n3", "n1"})
	must(t, err)
	rs2, ns := numbersByLine(t, st, c2)
	if !slices.Equal(ns, []string{"n1", "n3", "n3"}) {
		t.Fatalf("numbers of the second campaign %v, want [n1 n3 n3]", ns)
	}

	// +1001 was sent from n2 in the first campaign, then from n3 in the
	// second: a third campaign gives it n3, the number that sent last.
	from2, from3 := c, c2
	from2.PhoneNumberID, from3.PhoneNumberID = "n2", "n3"
	for _, s := range []struct {
		c  store.Campaign
		r  store.Recipient
		at time.Time
	}{{from2, rs[1], t0}, {from3, rs2[1], t0.Add(time.Hour)}} {
		a := attempt(s.c, s.r, 1, s.at)
		must(t, st.BeginAttempts(ctx, []store.Attempt{a}))
		must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a.ID, RecipientID: s.r.ID, State: store.StateSent, WAMID: "wamid." + a.ID, FinishedAt: s.at}}))
	}
	c3 := newCampaign(t, st, "pool3", 3)
	_, err = st.AssignNumbers(ctx, c3.ID, []string{"n2", "n3"})
	must(t, err)
	if _, ns = numbersByLine(t, st, c3); ns[1] != "n3" {
		t.Fatalf("numbers of the third campaign %v, want n3 on line 2 (+1001)", ns)
	}
}
