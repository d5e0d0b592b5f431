package storetest

import (
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
)

// testHolds: a held pending recipient is not due before its time, NextDue
// names it, and ReleaseHolds makes it due again.
func testHolds(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 3)
	due, _ := st.Due(ctx, c.ID, t0, 10)
	opens := t0.Add(5 * time.Hour)
	must(t, st.HoldRecipients(ctx, []int64{due[0].ID, due[1].ID}, opens))
	if now, _ := st.Due(ctx, c.ID, t0, 10); len(now) != 1 || now[0].ID != due[2].ID {
		t.Errorf("due while two are held = %d recipients, want only line %d", len(now), due[2].Line)
	}
	next, ok, err := st.NextDue(ctx, c.ID)
	must(t, err)
	if !ok || !next.Equal(opens) {
		t.Errorf("NextDue = %v %v, want the hold %v", next, ok, opens)
	}
	if later, _ := st.Due(ctx, c.ID, opens, 10); len(later) != 3 {
		t.Errorf("due when the window opens = %d, want 3", len(later))
	}
	cn, _ := st.Counts(ctx, c.ID)
	if cn[store.StatePending] != 3 {
		t.Errorf("held recipients are %v, want still pending", cn)
	}
	must(t, st.ReleaseHolds(ctx, c.ID))
	if now, _ := st.Due(ctx, c.ID, t0, 10); len(now) != 3 {
		t.Errorf("due after ReleaseHolds = %d, want 3", len(now))
	}
	if _, ok, _ := st.NextDue(ctx, c.ID); ok {
		t.Error("NextDue after ReleaseHolds names a time; want none")
	}
}

// testExpire: pending, retry and deferred recipients expire; sent and
// uncertain ones keep their state.
func testExpire(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 4)
	due, _ := st.Due(ctx, c.ID, t0, 10)
	sent := attempt(c, due[0], 1, t0)
	retry := attempt(c, due[1], 1, t0)
	must(t, st.BeginAttempts(ctx, []store.Attempt{sent, retry}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{
		{AttemptID: sent.ID, RecipientID: due[0].ID, State: store.StateSent, WAMID: "wamid.e", FinishedAt: t0},
		{AttemptID: retry.ID, RecipientID: due[1].ID, State: store.StateRetry, Code: 131056, NextAttemptAt: t0.Add(time.Hour), FinishedAt: t0},
	}))
	n, err := st.ExpireRecipients(ctx, c.ID, t0.Add(time.Minute))
	must(t, err)
	cn, _ := st.Counts(ctx, c.ID)
	if n != 3 || cn[store.StateExpired] != 3 || cn[store.StateSent] != 1 || cn[store.StatePending]+cn[store.StateRetry] != 0 {
		t.Errorf("ExpireRecipients = %d, counts %v; want 3 expired, 1 sent", n, cn)
	}
	if due, _ := st.Due(ctx, c.ID, t0.Add(48*time.Hour), 10); len(due) != 0 {
		t.Errorf("%d expired recipients are due", len(due))
	}
}

// testResendSilent: an uncertain recipient with no status is re-queued
// once, and only after the receiver applied a status for the same sending
// number after its send; one settled by a status is not.
func testResendSilent(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 3)
	due, _ := st.Due(ctx, c.ID, t0, 10)
	as := []store.Attempt{attempt(c, due[0], 1, t0), attempt(c, due[1], 1, t0), attempt(c, due[2], 1, t0)}
	must(t, st.BeginAttempts(ctx, as))
	_, err := st.MarkUncertain(ctx, c.ID, t0.Add(time.Minute))
	must(t, err)
	settle := t0.Add(time.Hour)

	// No receiver ever heard of this number: nothing is resent.
	n, next, err := st.ResendSilent(ctx, c.ID, c.PhoneNumberID, settle, settle)
	must(t, err)
	if n != 0 || !next.IsZero() {
		t.Fatalf("ResendSilent without a receiver = %d, next %v; want 0 and none", n, next)
	}
	// The receiver applies a status to recipient 0 (it was accepted).
	_, err = st.SaveNotifications(ctx, []store.Notification{{Hash: "h1", Body: []byte("{}"), At: t0.Add(2 * time.Minute),
		Statuses: []store.StatusUpdate{{WAMID: "wamid.s0", Callback: callback(due[0], as[0]), Status: store.DeliverySent, At: t0.Add(time.Second)}}}})
	must(t, err)
	// Before the settle time: nothing yet, the next chance is named.
	n, next, err = st.ResendSilent(ctx, c.ID, c.PhoneNumberID, t0.Add(-time.Second), t0.Add(3*time.Minute))
	must(t, err)
	if n != 0 || !next.Equal(t0) {
		t.Errorf("ResendSilent before settle-after = %d, next %v; want 0, next %v", n, next, t0)
	}
	n, _, err = st.ResendSilent(ctx, c.ID, c.PhoneNumberID, settle, settle)
	must(t, err)
	cn, _ := st.Counts(ctx, c.ID)
	if n != 2 || cn[store.StatePending] != 2 || cn[store.StateSent] != 1 {
		t.Errorf("ResendSilent = %d, counts %v; want 2 re-queued, 1 sent", n, cn)
	}
	if r := Recipient(t, st, due[1].CampaignID, due[1].ID); !r.ResentAfterSilence {
		t.Errorf("re-queued recipient not marked ResentAfterSilence: %+v", r)
	}
	// Sent again and uncertain again: never a second time.
	as2 := []store.Attempt{attempt(c, due[1], 2, settle), attempt(c, due[2], 2, settle)}
	must(t, st.BeginAttempts(ctx, as2))
	_, err = st.MarkUncertain(ctx, c.ID, settle)
	must(t, err)
	_, err = st.SaveNotifications(ctx, []store.Notification{{Hash: "h2", Body: []byte("{}"), At: settle.Add(time.Minute),
		Statuses: []store.StatusUpdate{{WAMID: "wamid.s0", Status: store.DeliveryDelivered, At: settle}}}})
	must(t, err)
	if n, _, _ = st.ResendSilent(ctx, c.ID, c.PhoneNumberID, settle.Add(time.Hour), settle.Add(time.Hour)); n != 0 {
		t.Errorf("ResendSilent re-queued %d recipients a second time", n)
	}
	sum, err := st.Summary(ctx, c.ID)
	must(t, err)
	if sum.ResentAfterSilence != 2 {
		t.Errorf("Summary.ResentAfterSilence = %d, want 2", sum.ResentAfterSilence)
	}
}
