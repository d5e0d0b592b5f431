// Package storetest is the conformance suite every store.Store
// implementation must pass: Run(t, open) exercises each rule of the
// contract on a fresh store per subtest.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
)

// t0 is a fixed instant: results never depend on the wall clock.
var t0 = time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)

// Run runs the suite; open returns a fresh, empty store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"CampaignLifecycle", testCampaignLifecycle},
		{"ImportDuplicates", testImportDuplicates},
		{"DueOrder", testDueOrder},
		{"CheckpointAndOutcomes", testCheckpointAndOutcomes},
		{"AttemptMarks", testAttemptMarks},
		{"UncertainAfterCrash", testUncertain},
		{"InFlight", testInFlight},
		{"Window", testWindow},
		{"Warmup", testWarmup},
		{"NotSentReleases", testNotSentReleases},
		{"DeferralCapBothPaths", testDeferralCap},
		{"DeferralReopensFinished", testDeferralReopens},
		{"Leases", testLeases},
		{"BreakLease", testBreakLease},
		{"CheckpointFencedByLease", testCheckpointFenced},
		{"CommitAttempts", testCommitAttempts},
		{"CommitManyAttempts", testCommitManyAttempts},
		{"OptOuts", testOptOuts},
		{"InboundIdentity", testInboundIdentity},
		{"WebhookDedupe", testWebhookDedupe},
		{"Notifications", testNotifications},
		{"FailedStatusBeforeAnswer", testFailedStatusBeforeAnswer},
		{"StatusNeverBackwards", testStatusNeverBackwards},
		{"StatusSettlesUncertain", testStatusSettlesUncertain},
		{"RepliesAndUnanswered", testReplies},
		{"Summary", testSummary},
		{"ConcurrentWriters", testConcurrent},
		{"Cancel", testCancel},
		{"RequeueFailed", testRequeueFailed},
		{"DeleteKeepsNumberRows", testDeleteKeepsNumberRows},
		{"Holds", testHolds},
		{"Expire", testExpire},
		{"ResendSilent", testResendSilent},
		{"Campaigns", testCampaigns},
		{"Recipients", testRecipients},
		{"DuePaging", testDuePaging},
		{"Attempts", testAttempts},
		{"Phone", testPhone},
		{"Close", testClose},
		{"AssignNumbers", testAssignNumbers},
		{"NumberShares", testNumberShares},
		{"NumberPauses", testNumberPauses},
		{"ConcurrentAssign", testConcurrentAssign},
		{"AllowanceReservations", testAllowanceReservations},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// newCampaign creates a ready campaign with n recipients +1000..+1000+n-1.
func newCampaign(t *testing.T, st store.Store, name string, n int) store.Campaign {
	t.Helper()
	ctx := t.Context()
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: name, CSVHash: "h-" + name, Template: "order_update", Language: "en_US",
		Params: []string{"name"}, PhoneNumberID: "pn1", Scope: "scope1", Settings: []byte(`{"rate":80}`)})
	must(t, err)
	var rs []store.Recipient
	for i := range n {
		rs = append(rs, store.Recipient{Line: i + 2, Phone: fmt.Sprintf("+%d", 1000+i), Params: []string{fmt.Sprintf("n%d", i)}})
	}
	_, err = st.ImportBatch(ctx, id, rs, nil)
	must(t, err)
	must(t, st.FinishImport(ctx, id, n))
	c, err := st.Campaign(ctx, id)
	must(t, err)
	return c
}

func testCampaignLifecycle(t *testing.T, st store.Store) {
	ctx := t.Context()
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "a", CSVHash: "h", Template: "t", Language: "en", Params: []string{"x", "y"}})
	must(t, err)
	c, err := st.Campaign(ctx, id)
	must(t, err)
	if c.State != store.CampaignImporting || len(c.Params) != 2 {
		t.Errorf("new campaign = %+v, want importing with 2 params", c)
	}
	if _, err := st.FindCampaign(ctx, store.CampaignKey{CSVHash: "h", Template: "t", Language: "en"}); err != nil {
		t.Errorf("FindCampaign: %v", err)
	}
	if _, err := st.FindCampaign(ctx, store.CampaignKey{CSVHash: "h", Template: "other", Language: "en"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("FindCampaign with another template: %v, want ErrNotFound", err)
	}
	must(t, st.FinishImport(ctx, id, 7))
	must(t, st.SetCampaignState(ctx, id, store.CampaignPaused, "quality RED", []byte(`{"q":"RED"}`), t0))
	c, _ = st.CampaignByName(ctx, "a")
	if c.State != store.CampaignPaused || c.PauseReason != "quality RED" || c.Rows != 7 {
		t.Errorf("paused campaign = %+v", c)
	}
	must(t, st.SetCampaignState(ctx, id, store.CampaignReady, "", nil, t0.Add(time.Hour)))
	ps, err := st.Pauses(ctx, id)
	must(t, err)
	if len(ps) != 1 || ps[0].Reason != "quality RED" || !ps[0].ResumedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("pauses = %+v, want one, resumed an hour later", ps)
	}
	must(t, st.DeleteCampaign(ctx, id))
	if _, err := st.Campaign(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted campaign: %v, want ErrNotFound", err)
	}
}

func testImportDuplicates(t *testing.T, st store.Store) {
	ctx := t.Context()
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "a", CSVHash: "h", Template: "t", Language: "en"})
	must(t, err)
	comps := []byte(`{"header":{"type":"image","link":"https://x.example/a.jpg"},"lang":"pt_BR"}`)
	// A backend refuses a repeated number in ImportBatch or removes it in
	// ImportDuplicates: together, each later line once, naming the file's
	// first line that holds the number.
	across, err := st.ImportBatch(ctx, id, []store.Recipient{{Line: 2, Phone: "+1", Components: comps}, {Line: 3, Phone: "+2"}, {Line: 4, Phone: "+1"}},
		[]store.SkippedRow{{Line: 5, Reason: "invalid_number", Raw: "abc", Params: []string{"Ana", "A-5"}}})
	must(t, err)
	more, err := st.ImportBatch(ctx, id, []store.Recipient{{Line: 6, Phone: "+2", Params: []string{"Bia"}}, {Line: 7, Phone: "+3"}, {Line: 8, Phone: "+2"}}, nil)
	must(t, err)
	across = append(across, more...)
	more, err = st.ImportBatch(ctx, id, []store.Recipient{{Line: 9, Phone: "+1", Params: []string{"Caio"}}, {Line: 10, Phone: "+3"}}, nil)
	must(t, err)
	across = append(across, more...)
	calls := 0
	must(t, st.ImportDuplicates(ctx, id, func(ds []store.Duplicate) error {
		calls++
		for _, d := range ds {
			if d.Line == 6 && !slices.Equal(d.Params, []string{"Bia"}) {
				t.Errorf("duplicate found at the end = %+v, want its stored params", d)
			}
		}
		across = append(across, ds...)
		// fn may write to the store: the import records them as skipped.
		_, err := st.ImportBatch(ctx, id, nil, []store.SkippedRow{{Line: ds[0].Line, Reason: "duplicate"}})
		return err
	}))
	slices.SortFunc(across, func(a, b store.Duplicate) int { return a.Line - b.Line })
	var got []string
	for _, d := range across {
		got = append(got, fmt.Sprintf("%d %s %d", d.Line, d.Phone, d.FirstLine))
	}
	if want := []string{"4 +1 2", "6 +2 3", "8 +2 3", "9 +1 2", "10 +3 7"}; !slices.Equal(got, want) {
		t.Errorf("duplicates = %q, want %q", got, want)
	}
	if calls > 1 {
		t.Errorf("ImportDuplicates called fn %d times for 5 duplicates, want one chunk", calls)
	}
	sk, err := st.Skipped(ctx, id)
	must(t, err)
	i := slices.IndexFunc(sk, func(k store.SkippedRow) bool { return k.Line == 5 })
	if i < 0 || sk[i].Raw != "abc" || !slices.Equal(sk[i].Params, []string{"Ana", "A-5"}) {
		t.Errorf("skipped = %+v, want line 5 with its raw value and params", sk)
	}
	if len(sk) != 1+calls {
		t.Errorf("skipped = %+v, want line 5 and the skip written by fn", sk)
	}
	must(t, st.FinishImport(ctx, id, 8))
	// A recipient's components come back as stored, read among the due or
	// all; none stays none.
	due, err := st.Due(ctx, id, time.Now(), 10)
	must(t, err)
	if len(due) != 3 || due[0].Line != 2 || due[1].Line != 3 || due[2].Line != 7 || string(due[0].Components) != string(comps) || due[1].Components != nil {
		t.Fatalf("due = %+v, want lines 2 (with its components), 3 (with none) and 7: no duplicate", due)
	}
	must(t, st.Recipients(ctx, id, func(r store.Recipient) error {
		if r.Line == 2 && string(r.Components) != string(comps) {
			t.Errorf("recipient components = %s, want %s", r.Components, comps)
		}
		return nil
	}))
}

// callback is the biz_opaque_callback_data the engine sends.
func callback(r store.Recipient, a store.Attempt) string {
	return store.Callback(a.CampaignID, r.ID, a.ID)
}

func attempt(c store.Campaign, r store.Recipient, n int, at time.Time) store.Attempt {
	return store.Attempt{ID: fmt.Sprintf("%d-%d-%d", c.ID, r.ID, n), CampaignID: c.ID, RecipientID: r.ID, Number: n,
		PhoneNumberID: c.PhoneNumberID, To: r.Phone, Scope: c.Scope, Batch: 1, StartedAt: at}
}

func testDueOrder(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 5)
	due, err := st.Due(ctx, c.ID, t0, 10)
	must(t, err)
	if len(due) != 5 || due[0].Line != 2 || due[4].Line != 6 {
		t.Fatalf("due = %d recipients starting at line %d", len(due), due[0].Line)
	}
	// Line 2 retries in an hour, line 3 is deferred a day: neither is due now.
	must(t, st.BeginAttempts(ctx, []store.Attempt{attempt(c, due[0], 1, t0), attempt(c, due[1], 1, t0)}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{
		{AttemptID: fmt.Sprintf("%d-%d-1", c.ID, due[0].ID), RecipientID: due[0].ID, State: store.StateRetry, Code: 131056, NextAttemptAt: t0.Add(time.Hour), FinishedAt: t0},
		{AttemptID: fmt.Sprintf("%d-%d-1", c.ID, due[1].ID), RecipientID: due[1].ID, State: store.StateDeferred, Code: 131049, NextAttemptAt: t0.Add(24 * time.Hour), FinishedAt: t0},
	}))
	now, _ := st.Due(ctx, c.ID, t0, 10)
	if len(now) != 3 || now[0].Line != 4 {
		t.Errorf("due now = %d starting at line %d, want 3 from line 4", len(now), now[0].Line)
	}
	later, _ := st.Due(ctx, c.ID, t0.Add(2*time.Hour), 10)
	if len(later) != 4 {
		t.Errorf("due in 2 h = %d, want 4 (the retry came due)", len(later))
	}
	next, ok, err := st.NextDue(ctx, c.ID)
	must(t, err)
	if !ok || !next.Equal(t0.Add(time.Hour)) {
		t.Errorf("NextDue = %v %v, want %v", next, ok, t0.Add(time.Hour))
	}
	r := Recipient(t, st, due[1].CampaignID, due[1].ID)
	if r.Deferrals != 1 || r.LastCode != 131049 {
		t.Errorf("deferred recipient = %+v, want 1 deferral with code 131049", r)
	}
}

func testCheckpointAndOutcomes(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 2)
	due, _ := st.Due(ctx, c.ID, t0, 10)
	a := attempt(c, due[0], 1, t0)
	must(t, st.BeginAttempts(ctx, []store.Attempt{a}))
	r := Recipient(t, st, due[0].CampaignID, due[0].ID)
	if r.State != store.StateInFlight || r.Attempts != 1 {
		t.Fatalf("after checkpoint: %s with %d attempts, want in_flight 1", r.State, r.Attempts)
	}
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a.ID, RecipientID: r.ID, State: store.StateSent, WAMID: "wamid.1", FinishedAt: t0.Add(time.Second)}}))
	r = Recipient(t, st, due[0].CampaignID, due[0].ID)
	if r.State != store.StateSent || r.WAMID != "wamid.1" || !r.SentAt.Equal(t0.Add(time.Second)) {
		t.Errorf("after outcome: %+v", r)
	}
	// A later outcome never moves a sent recipient back.
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a.ID, RecipientID: r.ID, State: store.StateRetry, Code: 131056, FinishedAt: t0.Add(2 * time.Second)}}))
	if r = Recipient(t, st, due[0].CampaignID, due[0].ID); r.State != store.StateSent {
		t.Errorf("sent recipient moved to %s", r.State)
	}
	last, err := st.LastSends(ctx, "pn1", t0.Add(-time.Minute))
	must(t, err)
	if !last[r.Phone].Equal(t0) || len(last) != 1 {
		t.Errorf("LastSends = %v", last)
	}
	recent, err := st.RecentAttempts(ctx, c.ID, 5)
	must(t, err)
	if len(recent) != 1 || recent[0].Batch != 1 {
		t.Errorf("RecentAttempts = %+v", recent)
	}
}

// testAttemptMarks: AttemptMarks streams what Attempts does, in start
// order (not insertion order), with the outcome of each attempt.
func testAttemptMarks(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 3)
	due, _ := st.Due(ctx, c.ID, t0, 10)
	late, early, open := attempt(c, due[0], 1, t0.Add(2*time.Second)), attempt(c, due[1], 1, t0), attempt(c, due[2], 1, t0.Add(time.Second))
	late.Batch, open.Batch = 2, 3
	must(t, st.BeginAttempts(ctx, []store.Attempt{late, early, open}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{
		{AttemptID: late.ID, RecipientID: due[0].ID, State: store.StateSent, WAMID: "wamid.1", FinishedAt: t0.Add(3 * time.Second)},
		{AttemptID: early.ID, RecipientID: due[1].ID, State: store.StateRetry, Code: 131056, FinishedAt: t0.Add(time.Second)},
	}))
	var want, got []store.AttemptMark
	must(t, st.Attempts(ctx, c.ID, func(a store.AttemptRecord) error {
		want = append(want, store.AttemptMark{StartedAt: a.StartedAt, Batch: a.Batch, State: a.State, Code: a.Code})
		return nil
	}))
	must(t, st.AttemptMarks(ctx, c.ID, func(m store.AttemptMark) error {
		got = append(got, m)
		return nil
	}))
	if len(want) != 3 || want[0].Code != 131056 || want[1].State != store.StateInFlight || want[2].Batch != 2 {
		t.Fatalf("Attempts = %+v, want the 131056 retry, the open attempt, then batch 2's send", want)
	}
	if len(got) != len(want) {
		t.Fatalf("AttemptMarks = %+v, want %+v", got, want)
	}
	for i := range want {
		if !got[i].StartedAt.Equal(want[i].StartedAt) || got[i].Batch != want[i].Batch || got[i].State != want[i].State || got[i].Code != want[i].Code {
			t.Errorf("AttemptMarks[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}

// testInFlight: of the attempts named, only the unfinished ones are in
// flight; unknown ids are not.
func testInFlight(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 3)
	due, _ := st.Due(ctx, c.ID, t0, 10)
	a, b := attempt(c, due[0], 1, t0), attempt(c, due[1], 1, t0)
	must(t, st.BeginAttempts(ctx, []store.Attempt{a, b}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a.ID, RecipientID: due[0].ID, State: store.StateSent, WAMID: "wamid.a", FinishedAt: t0.Add(time.Second)}}))
	ids := []string{a.ID, b.ID, "no-such-attempt"}
	for i := range 600 { // more than one statement's worth of ids
		ids = append(ids, fmt.Sprintf("missing-%d", i))
	}
	got, err := st.InFlight(ctx, ids)
	must(t, err)
	if len(got) != 1 || !got[b.ID] {
		t.Errorf("InFlight = %v, want only %s", got, b.ID)
	}
	if got, err := st.InFlight(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("InFlight(nil) = %v, %v", got, err)
	}
}

func testUncertain(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 3)
	due, _ := st.Due(ctx, c.ID, t0, 10)
	must(t, st.BeginAttempts(ctx, []store.Attempt{attempt(c, due[0], 1, t0), attempt(c, due[1], 1, t0)}))
	n, err := st.MarkUncertain(ctx, c.ID, t0.Add(time.Minute))
	must(t, err)
	cn, _ := st.Counts(ctx, c.ID)
	if n != 2 || cn[store.StateUncertain] != 2 || cn[store.StateInFlight] != 0 || cn[store.StatePending] != 1 {
		t.Errorf("MarkUncertain = %d, counts %v", n, cn)
	}
	n, err = st.RequeueUncertain(ctx, c.ID, t0.Add(2*time.Minute))
	must(t, err)
	if cn, _ = st.Counts(ctx, c.ID); n != 2 || cn[store.StatePending] != 3 {
		t.Errorf("RequeueUncertain = %d, counts %v", n, cn)
	}
	must(t, st.SkipRecipients(ctx, []int64{due[2].ID}, "opted_out", t0))
	if r := Recipient(t, st, due[2].CampaignID, due[2].ID); r.State != store.StateSkipped || r.SkipReason != "opted_out" {
		t.Errorf("skipped recipient = %+v", r)
	}
}

func testWindow(t *testing.T, st store.Store) {
	ctx := t.Context()
	a := newCampaign(t, st, "a", 3)
	b := newCampaign(t, st, "b", 3) // same numbers, same scope
	ra, _ := st.Due(ctx, a.ID, t0, 10)
	rb, _ := st.Due(ctx, b.ID, t0, 10)
	// +1002 wrote to the business an hour ago: inside a customer-service window.
	Inbound(t, st, store.Inbound{WAMID: "in1", From: "+1002", At: t0.Add(-time.Hour), Type: "text", Text: "hi"})
	must(t, st.BeginAttempts(ctx, []store.Attempt{attempt(a, ra[0], 1, t0), attempt(a, ra[1], 1, t0.Add(time.Hour)), attempt(a, ra[2], 1, t0)}))
	must(t, st.BeginAttempts(ctx, []store.Attempt{attempt(b, rb[0], 1, t0.Add(2*time.Hour))})) // same number as ra[0]
	since := t0.Add(2*time.Hour - 24*time.Hour)
	n, err := st.WindowCount(ctx, "scope1", since)
	must(t, err)
	if n != 2 {
		t.Errorf("WindowCount = %d, want 2 (+1000 counted once across campaigns, +1002 in a service window)", n)
	}
	in, _ := st.WindowContains(ctx, "scope1", since, []string{"+1000", "+1001", "+1002", "+9"})
	if !in["+1000"] || !in["+1001"] || in["+1002"] || in["+9"] {
		t.Errorf("WindowContains = %v", in)
	}
	times, _ := st.WindowTimes(ctx, "scope1", since)
	if len(times) != 2 || !times[0].Equal(t0.Add(time.Hour)) || !times[1].Equal(t0.Add(2*time.Hour)) {
		t.Errorf("WindowTimes = %v, want latest send per recipient, oldest first", times)
	}
	if n, _ := st.WindowCount(ctx, "scope1", t0.Add(90*time.Minute)); n != 1 {
		t.Errorf("WindowCount since 90 min = %d, want 1", n)
	}
	if n, _ := st.WindowCount(ctx, "other", since); n != 0 {
		t.Errorf("another scope counts %d, want 0", n)
	}
}

func testWarmup(t *testing.T, st store.Store) {
	ctx := t.Context()
	if _, ok, err := st.WarmupStart(ctx, "s"); ok || err != nil {
		t.Fatalf("new scope has a warm-up start (%v)", err)
	}
	must(t, st.SetWarmupStart(ctx, "s", t0, true))
	must(t, st.SetWarmupStart(ctx, "s", t0.Add(time.Hour), true))
	if got, _, _ := st.WarmupStart(ctx, "s"); !got.Equal(t0) {
		t.Errorf("only-if-absent overwrote: %v", got)
	}
	must(t, st.SetWarmupStart(ctx, "s", t0.Add(-48*time.Hour), false))
	if got, _, _ := st.WarmupStart(ctx, "s"); !got.Equal(t0.Add(-48 * time.Hour)) {
		t.Errorf("explicit start not kept: %v", got)
	}
}

// testNotSentReleases: an attempt whose request never left (dial, DNS, TLS)
// gives back everything its checkpoint took: the unique-recipient window
// row, the warm-up start it set, and the attempt number; the recipient is
// pending again. An attempt that may have reached Meta keeps all of them.
func testNotSentReleases(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 3)
	due, _ := st.Due(ctx, c.ID, t0, 10)
	a0, a1 := attempt(c, due[0], 1, t0), attempt(c, due[1], 1, t0.Add(time.Second))
	a0.StartsWarmup, a1.StartsWarmup = true, true
	must(t, st.BeginAttempts(ctx, []store.Attempt{a0, a1}))
	if got, ok, _ := st.WarmupStart(ctx, c.Scope); !ok || !got.Equal(t0) {
		t.Fatalf("warm-up start after the first checkpoint = %v %v, want %v", got, ok, t0)
	}
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a0.ID, RecipientID: due[0].ID, State: store.StatePending, NotSent: true, FinishedAt: t0.Add(2 * time.Second)}}))
	r := Recipient(t, st, due[0].CampaignID, due[0].ID)
	if r.State != store.StatePending || r.Attempts != 0 {
		t.Errorf("not-sent recipient = %s with %d attempts, want pending with 0", r.State, r.Attempts)
	}
	if n, _ := st.WindowCount(ctx, c.Scope, t0.Add(-time.Hour)); n != 1 {
		t.Errorf("WindowCount = %d, want 1 (only the attempt that may have reached)", n)
	}
	// The warm-up now starts at the first attempt that may have reached.
	if got, ok, _ := st.WarmupStart(ctx, c.Scope); !ok || !got.Equal(t0.Add(time.Second)) {
		t.Errorf("warm-up start = %v %v, want %v", got, ok, t0.Add(time.Second))
	}
	// The same attempt number is used again by the next attempt.
	a0 = attempt(c, due[0], 1, t0.Add(time.Minute))
	must(t, st.BeginAttempts(ctx, []store.Attempt{a0}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{
		{AttemptID: a0.ID, RecipientID: due[0].ID, State: store.StatePending, NotSent: true, FinishedAt: t0.Add(time.Minute)},
		{AttemptID: a1.ID, RecipientID: due[1].ID, State: store.StatePending, NotSent: true, FinishedAt: t0.Add(time.Minute)},
	}))
	if n, _ := st.WindowCount(ctx, c.Scope, t0.Add(-time.Hour)); n != 0 {
		t.Errorf("WindowCount = %d, want 0: nothing may have reached Meta", n)
	}
	if _, ok, _ := st.WarmupStart(ctx, c.Scope); ok {
		t.Errorf("warm-up start kept although no attempt may have reached Meta")
	}
	sum, _ := st.Summary(ctx, c.ID)
	if sum.Attempts != 0 || sum.ByState[store.StatePending] != 3 {
		t.Errorf("summary: %d attempts, %v; want 0 attempts and 3 pending", sum.Attempts, sum.ByState)
	}
	// An explicit warm-up start is never released.
	must(t, st.SetWarmupStart(ctx, c.Scope, t0.Add(-72*time.Hour), false))
	a2 := attempt(c, due[2], 1, t0.Add(2*time.Minute))
	a2.StartsWarmup = true
	must(t, st.BeginAttempts(ctx, []store.Attempt{a2}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a2.ID, RecipientID: due[2].ID, State: store.StatePending, NotSent: true, FinishedAt: t0.Add(2 * time.Minute)}}))
	if got, ok, _ := st.WarmupStart(ctx, c.Scope); !ok || !got.Equal(t0.Add(-72*time.Hour)) {
		t.Errorf("explicit warm-up start = %v %v, want it kept", got, ok)
	}
}

func testLeases(t *testing.T, st store.Store) {
	ctx := t.Context()
	running := map[int]int64{10: 1000, 20: 2000} // pid → start time on host h1
	pol := store.LeasePolicy{
		Host: "h1", StaleAfter: 30 * time.Second,
		Alive:   func(pid int) bool { _, ok := running[pid]; return ok },
		Started: func(pid int) int64 { return running[pid] },
	}
	cases := []struct {
		name   string
		holder store.Lease   // written at t0
		after  time.Duration // when another process asks
		held   bool
	}{
		{"this host, fresh, alive", store.Lease{PID: 10, Started: 1000, Host: "h1"}, 10 * time.Second, true},
		{"this host, fresh, start time unknown", store.Lease{PID: 10, Host: "h1"}, 10 * time.Second, true},
		{"this host, fresh, pid gone", store.Lease{PID: 11, Started: 1000, Host: "h1"}, 10 * time.Second, false},
		{"this host, fresh, pid alive but another process", store.Lease{PID: 10, Started: 999, Host: "h1"}, 10 * time.Second, false},
		{"this host, stale, pid alive", store.Lease{PID: 10, Started: 1000, Host: "h1"}, 2 * time.Hour, false},
		{"this host, stale, start time unknown", store.Lease{PID: 10, Host: "h1"}, 31 * time.Second, false},
		{"other host, fresh", store.Lease{PID: 10, Started: 1000, Host: "h2"}, 30 * time.Second, true},
		{"other host, stale", store.Lease{PID: 10, Started: 1000, Host: "h2"}, 31 * time.Second, false},
		// The holder's own expiry decides, not the taker's StaleAfter.
		{"other host, 3 s expiry, 3 s old", store.Lease{PID: 10, Host: "h2", Expiry: 3 * time.Second}, 3 * time.Second, true},
		{"other host, 3 s expiry, 4 s old", store.Lease{PID: 10, Host: "h2", Expiry: 3 * time.Second}, 4 * time.Second, false},
		{"other host, 1 h expiry, 31 s old", store.Lease{PID: 10, Host: "h2", Expiry: time.Hour}, 31 * time.Second, true},
		{"this host, 3 s expiry, 4 s old, pid alive", store.Lease{PID: 10, Started: 1000, Host: "h1", Expiry: 3 * time.Second}, 4 * time.Second, false},
	}
	for i, c := range cases {
		key := fmt.Sprintf("campaign:%d", i+1)
		h := c.holder
		h.Key, h.Owner, h.Heartbeat = key, "holder", t0
		must(t, st.AcquireLease(ctx, h, pol))
		err := st.AcquireLease(ctx, store.Lease{Key: key, Owner: "newcomer", PID: 20, Started: 2000, Host: "h1", Heartbeat: t0.Add(c.after)}, pol)
		if c.held {
			held, ok := errors.AsType[*store.LeaseHeldError](err)
			if !ok || held.Holder.PID != h.PID || held.Holder.Host != h.Host || held.Holder.Started != h.Started {
				t.Errorf("%s: newcomer got %v, want LeaseHeldError naming pid %d on %s", c.name, err, h.PID, h.Host)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: newcomer got %v, want the lease taken over", c.name, err)
			continue
		}
		if err := st.RenewLease(ctx, key, "holder", t0.Add(c.after)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: renewal by the old holder: %v, want ErrNotFound", c.name, err)
		}
	}

	l := store.Lease{Key: "phone:1", Owner: "o1", PID: 10, Started: 1000, Host: "h1", Heartbeat: t0, Expiry: 7500 * time.Millisecond}
	must(t, st.AcquireLease(ctx, l, pol))
	must(t, st.AcquireLease(ctx, l, pol)) // same owner renews
	must(t, st.RenewLease(ctx, "phone:1", "o1", t0.Add(5*time.Second)))
	got, err := st.Lease(ctx, "phone:1")
	l.Heartbeat = t0.Add(5 * time.Second)
	if err != nil || got != l {
		t.Errorf("Lease = %+v, %v; want %+v", got, err, l)
	}
	if _, err := st.Lease(ctx, "phone:404"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Lease of no lease: %v, want ErrNotFound", err)
	}
	must(t, st.ReleaseLease(ctx, "phone:1", "o1"))
	must(t, st.AcquireLease(ctx, store.Lease{Key: "phone:1", Owner: "o2", PID: 20, Host: "h1", Heartbeat: t0}, pol))
}

func testBreakLease(t *testing.T, st store.Store) {
	ctx := t.Context()
	pol := store.LeasePolicy{Host: "h1", StaleAfter: 30 * time.Second, Alive: func(int) bool { return true }}
	l := store.Lease{Key: "campaign:1", Owner: "o1", PID: 10, Host: "h1", Heartbeat: t0}
	must(t, st.AcquireLease(ctx, l, pol))
	_, err := st.BreakLease(ctx, l.Key, "", t0.Add(30*time.Second), 30*time.Second)
	if held, ok := errors.AsType[*store.LeaseHeldError](err); !ok || held.Holder != l {
		t.Errorf("breaking a fresh lease: %v, want LeaseHeldError naming %+v", err, l)
	}
	if _, err := st.BreakLease(ctx, l.Key, "o2", t0.Add(time.Hour), 30*time.Second); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("breaking another owner's lease: %v, want ErrNotFound", err)
	}
	got, err := st.BreakLease(ctx, l.Key, "o1", t0.Add(31*time.Second), 30*time.Second)
	if err != nil || got != l {
		t.Errorf("breaking a stale lease = %+v, %v; want %+v removed", got, err, l)
	}
	if _, err := st.Lease(ctx, l.Key); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("lease still there after BreakLease: %v", err)
	}
	if _, err := st.BreakLease(ctx, l.Key, "", t0.Add(time.Hour), 30*time.Second); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("breaking no lease: %v, want ErrNotFound", err)
	}

	// A lease that records its holder's expiry is stale after that one.
	l.Expiry = 3 * time.Second
	must(t, st.AcquireLease(ctx, l, pol))
	if _, err := st.BreakLease(ctx, l.Key, "", t0.Add(3*time.Second), 30*time.Second); err == nil {
		t.Errorf("breaking a lease 3 s after its heartbeat with a 3 s expiry: removed, want it kept")
	}
	if got, err := st.BreakLease(ctx, l.Key, "", t0.Add(4*time.Second), 30*time.Second); err != nil || got != l {
		t.Errorf("breaking a lease 4 s after its heartbeat with a 3 s expiry = %+v, %v; want %+v removed", got, err, l)
	}
}

// testCheckpointFenced: BeginAttemptsHolding writes nothing when the lease
// is another owner's or gone, and checkpoints as BeginAttempts when it is
// the caller's.
func testCheckpointFenced(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 1)
	due, err := st.Due(ctx, c.ID, t0, 10)
	must(t, err)
	a := attempt(c, due[0], 1, t0)
	key := fmt.Sprintf("campaign:%d", c.ID)
	pol := store.LeasePolicy{Host: "h1", StaleAfter: 30 * time.Second}
	for _, owner := range []string{"nobody yet", "old"} {
		if owner == "old" {
			must(t, st.AcquireLease(ctx, store.Lease{Key: key, Owner: "new", PID: 20, Host: "h2", Heartbeat: t0}, pol))
		}
		if err := st.BeginAttemptsHolding(ctx, []store.Attempt{a}, key, owner); !errors.Is(err, store.ErrLeaseLost) {
			t.Errorf("checkpoint by %s: %v, want ErrLeaseLost", owner, err)
		}
		counts, err := st.Counts(ctx, c.ID)
		if err != nil || counts[store.StatePending] != 1 {
			t.Errorf("after a fenced checkpoint by %s: counts %v, %v; want the recipient pending", owner, counts, err)
		}
	}
	must(t, st.BeginAttemptsHolding(ctx, []store.Attempt{a}, key, "new"))
	counts, err := st.Counts(ctx, c.ID)
	if err != nil || counts[store.StateInFlight] != 1 {
		t.Errorf("after the holder's checkpoint: counts %v, %v; want the recipient in flight", counts, err)
	}
}

// testCommitAttempts: CommitAttempts records answers and new checkpoints
// in one transaction; fenced by a lease that is no longer the caller's it
// writes neither; with outcomes alone the lease is not checked.
func testCommitAttempts(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 4)
	due, err := st.Due(ctx, c.ID, t0, 10)
	must(t, err)
	a0, a1 := attempt(c, due[0], 1, t0), attempt(c, due[1], 1, t0)
	must(t, st.CommitAttempts(ctx, []store.Attempt{a0, a1}, nil))
	a2, a3 := attempt(c, due[2], 1, t0.Add(time.Second)), attempt(c, due[3], 1, t0.Add(time.Second))
	sent := store.Outcome{AttemptID: a0.ID, RecipientID: due[0].ID, State: store.StateSent, WAMID: "wamid.0", FinishedAt: t0.Add(time.Second)}
	retry := store.Outcome{AttemptID: a1.ID, RecipientID: due[1].ID, State: store.StateRetry, Code: 131056, NextAttemptAt: t0.Add(time.Hour), FinishedAt: t0.Add(time.Second)}

	key := fmt.Sprintf("campaign:%d", c.ID)
	must(t, st.AcquireLease(ctx, store.Lease{Key: key, Owner: "new", PID: 20, Host: "h2", Heartbeat: t0}, store.LeasePolicy{Host: "h1", StaleAfter: 30 * time.Second}))
	if err := st.CommitAttemptsHolding(ctx, []store.Attempt{a2}, []store.Outcome{sent}, key, "old"); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("commit by a former holder: %v, want ErrLeaseLost", err)
	}
	if counts, err := st.Counts(ctx, c.ID); err != nil || counts[store.StateInFlight] != 2 || counts[store.StatePending] != 2 {
		t.Errorf("after a fenced commit: counts %v, %v; want 2 in flight, 2 pending (nothing written)", counts, err)
	}

	must(t, st.CommitAttemptsHolding(ctx, []store.Attempt{a2, a3}, []store.Outcome{sent, retry}, key, "new"))
	want := map[int64]store.State{due[0].ID: store.StateSent, due[1].ID: store.StateRetry, due[2].ID: store.StateInFlight, due[3].ID: store.StateInFlight}
	for id, w := range want {
		if r := Recipient(t, st, c.ID, id); r.State != w {
			t.Errorf("recipient %d: %s, want %s", id, r.State, w)
		}
	}
	if r := Recipient(t, st, c.ID, due[0].ID); r.WAMID != "wamid.0" || !r.SentAt.Equal(t0.Add(time.Second)) {
		t.Errorf("sent recipient: %+v", r)
	}
	// Outcomes alone need no lease (answers to requests already out are
	// recorded whoever holds it now).
	done := []store.Outcome{
		{AttemptID: a2.ID, RecipientID: due[2].ID, State: store.StateSent, WAMID: "wamid.2", FinishedAt: t0.Add(2 * time.Second)},
		{AttemptID: a3.ID, RecipientID: due[3].ID, State: store.StateFailed, Code: 131026, FinishedAt: t0.Add(2 * time.Second)},
	}
	must(t, st.CommitAttemptsHolding(ctx, nil, done, key, "old"))
	counts, err := st.Counts(ctx, c.ID)
	if err != nil || counts[store.StateSent] != 2 || counts[store.StateFailed] != 1 || counts[store.StateRetry] != 1 {
		t.Errorf("after the outcomes: counts %v, %v; want 2 sent, 1 failed, 1 retry", counts, err)
	}
	var finished int
	must(t, st.Attempts(ctx, c.ID, func(a store.AttemptRecord) error {
		if !a.FinishedAt.IsZero() {
			finished++
		}
		return nil
	}))
	if finished != 4 {
		t.Errorf("%d attempts finished, want 4", finished)
	}
	must(t, st.CommitAttempts(ctx, nil, nil))
}

// A commit of many checkpoints, then one of as many answers of every
// kind, writes each row its own values (the SQLite store writes them
// several to a statement, in pieces of different sizes); a commit with
// an attempt id already recorded writes nothing.
func testCommitManyAttempts(t *testing.T, st store.Store) {
	ctx := t.Context()
	const n = 150
	c := newCampaign(t, st, "many", n)
	due, err := st.Due(ctx, c.ID, t0, n)
	must(t, err)
	if len(due) != n {
		t.Fatalf("%d due, want %d", len(due), n)
	}
	as := make([]store.Attempt, n)
	for i, r := range due {
		as[i] = attempt(c, r, 1+i%3, t0.Add(time.Duration(i)*time.Second))
	}
	must(t, st.CommitAttempts(ctx, as, nil))
	for i, r := range due {
		if got := Recipient(t, st, c.ID, r.ID); got.State != store.StateInFlight || got.Attempts != 1+i%3 || got.PhoneNumberID != c.PhoneNumberID {
			t.Fatalf("recipient %d after its checkpoint: %s, attempt %d, number %q; want in_flight, %d, %q",
				i, got.State, got.Attempts, got.PhoneNumberID, 1+i%3, c.PhoneNumberID)
		}
	}
	if used, err := st.WindowCount(ctx, c.Scope, t0.Add(-time.Hour)); err != nil || used != n {
		t.Fatalf("window holds %d, %v; want %d", used, err, n)
	}

	os := make([]store.Outcome, n)
	want := make([]store.Recipient, n)
	for i, r := range due {
		at := t0.Add(time.Hour + time.Duration(i)*time.Second)
		o := store.Outcome{AttemptID: as[i].ID, RecipientID: r.ID, FinishedAt: at}
		w := store.Recipient{}
		switch i % 5 {
		case 0:
			o.NotSent, o.State = true, store.StatePending
			w.State = store.StatePending
		case 1:
			o.State, o.Code, o.Error = store.StateDeferred, 131049, "deferred"
			w.State, w.LastCode, w.LastError, w.NextAttemptAt = store.StateDeferred, 131049, o.Error, at.Add(store.DeferInterval)
		case 2:
			o.State, o.Code, o.Error = store.StateFailed, 131026, fmt.Sprint("undeliverable ", i)
			w.State, w.LastCode, w.LastError = store.StateFailed, 131026, o.Error
		default:
			o.State, o.WAMID, o.MessageStatus = store.StateSent, fmt.Sprint("wamid.", i), "accepted"
			w.State, w.WAMID, w.SentAt = store.StateSent, o.WAMID, at
		}
		os[i], want[i] = o, w
	}
	must(t, st.CommitAttempts(ctx, nil, os))
	for i, r := range due {
		got, w := Recipient(t, st, c.ID, r.ID), want[i]
		if got.State != w.State || got.LastCode != w.LastCode || got.LastError != w.LastError || got.WAMID != w.WAMID ||
			!got.SentAt.Equal(w.SentAt) || !got.NextAttemptAt.Equal(w.NextAttemptAt) {
			t.Errorf("recipient %d: %s code %d %q wamid %q sent %v next %v; want %s code %d %q wamid %q sent %v next %v", i,
				got.State, got.LastCode, got.LastError, got.WAMID, got.SentAt, got.NextAttemptAt,
				w.State, w.LastCode, w.LastError, w.WAMID, w.SentAt, w.NextAttemptAt)
		}
	}
	// The requests that never left are out of the window and their
	// attempts are gone; every other attempt is finished.
	if used, err := st.WindowCount(ctx, c.Scope, t0.Add(-time.Hour)); err != nil || used != n-n/5 {
		t.Errorf("window holds %d, %v; want %d", used, err, n-n/5)
	}
	var attempts, finished int
	must(t, st.Attempts(ctx, c.ID, func(a store.AttemptRecord) error {
		attempts++
		if !a.FinishedAt.IsZero() && a.State != store.StateInFlight {
			finished++
		}
		return nil
	}))
	if attempts != n-n/5 || finished != attempts {
		t.Errorf("%d attempts, %d finished; want %d, all finished", attempts, finished, n-n/5)
	}

	// The recipients given back are due again; a commit of them and an
	// attempt id already recorded fails and writes none.
	again, err := st.Due(ctx, c.ID, t0.Add(time.Hour), n)
	must(t, err)
	if len(again) != n/5 {
		t.Fatalf("%d due again, want the %d never sent", len(again), n/5)
	}
	before, err := st.Counts(ctx, c.ID)
	must(t, err)
	var retry []store.Attempt
	for _, r := range again {
		retry = append(retry, attempt(c, r, 1, t0.Add(2*time.Hour)))
	}
	retry = append(retry, as[1]) // answered above: its id is taken
	if err := st.CommitAttempts(ctx, retry, nil); err == nil {
		t.Fatal("a commit with an attempt id already recorded succeeded")
	}
	after, err := st.Counts(ctx, c.ID)
	must(t, err)
	if !maps.Equal(before, after) {
		t.Errorf("counts %v after the failed commit, want %v: nothing written", after, before)
	}
}

func testOptOuts(t *testing.T, st store.Store) {
	ctx := t.Context()
	must(t, st.AddOptOut(ctx, "+2", "import", t0))
	must(t, st.AddOptOut(ctx, "+1", "manual", t0))
	must(t, st.AddOptOut(ctx, "+1", "manual", t0))
	list, _ := st.OptOuts(ctx)
	if len(list) != 2 || list[0].Phone != "+1" {
		t.Errorf("OptOuts = %+v", list)
	}
	got, _ := st.OptedOut(ctx, []string{"+1", "+3"})
	if !got["+1"] || got["+3"] {
		t.Errorf("OptedOut = %v", got)
	}
	must(t, st.RemoveOptOut(ctx, "+1"))
	must(t, st.RemoveOptOut(ctx, "+404"))
	if got, _ = st.OptedOut(ctx, []string{"+1"}); got["+1"] {
		t.Error("removed number still opted out")
	}
}

func testWebhookDedupe(t *testing.T, st store.Store) {
	ctx := t.Context()
	n := store.Notification{Hash: "abc", Body: []byte(`{}`), At: t0}
	fresh, err := st.SaveNotifications(ctx, []store.Notification{n})
	must(t, err)
	again, err := st.SaveNotifications(ctx, []store.Notification{n})
	must(t, err)
	if !fresh[0] || again[0] {
		t.Errorf("an empty notification fresh=%v again=%v, want true then false", fresh[0], again[0])
	}
}

func sentRecipient(t *testing.T, st store.Store, c store.Campaign, i int, wamid string) store.Recipient {
	t.Helper()
	ctx := t.Context()
	due, _ := st.Due(ctx, c.ID, t0, 100)
	r := due[0]
	for _, d := range due {
		if d.Phone == fmt.Sprintf("+%d", 1000+i) {
			r = d
		}
	}
	a := attempt(c, r, 1, t0)
	must(t, st.BeginAttempts(ctx, []store.Attempt{a}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a.ID, RecipientID: r.ID, State: store.StateSent, WAMID: wamid, FinishedAt: t0}}))
	return r
}

func testStatusNeverBackwards(t *testing.T, st store.Store) {
	ctx := t.Context()
	order := []store.DeliveryStatus{store.DeliverySent, store.DeliveryDelivered, store.DeliveryRead, store.DeliveryFailed}
	rank := map[store.DeliveryStatus]int{store.DeliverySent: 1, store.DeliveryDelivered: 2, store.DeliveryRead: 3}
	c := newCampaign(t, st, "a", len(order)*len(order))
	i := 0
	for _, first := range order {
		for _, second := range order {
			wamid := fmt.Sprintf("wamid.%d", i)
			r := sentRecipient(t, st, c, i, wamid)
			i++
			for _, s := range []store.DeliveryStatus{first, second} {
				Status(t, st, store.StatusUpdate{WAMID: wamid, Status: s, At: t0.Add(time.Minute), Code: 131026, FailState: store.StateFailed})
			}
			got := Recipient(t, st, r.CampaignID, r.ID)
			want := first
			switch {
			case first == store.DeliveryFailed:
				want = store.DeliveryFailed
			case second == store.DeliveryFailed:
				if first == store.DeliverySent {
					want = store.DeliveryFailed
				}
			case rank[second] > rank[first]:
				want = second
			}
			if got.Delivery != want {
				t.Errorf("%s then %s: delivery %q, want %q", first, second, got.Delivery, want)
			}
		}
	}
	before, err := st.Summary(ctx, c.ID)
	must(t, err)
	Status(t, st, store.StatusUpdate{WAMID: "wamid.unknown", Status: store.DeliveryRead, At: t0})
	after, err := st.Summary(ctx, c.ID)
	must(t, err)
	if !maps.Equal(before.ByDelivery, after.ByDelivery) {
		t.Errorf("a status of an unknown wamid changed the deliveries: %v, then %v", before.ByDelivery, after.ByDelivery)
	}
}

func testStatusSettlesUncertain(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 2)
	due, _ := st.Due(ctx, c.ID, t0, 10)
	as := []store.Attempt{attempt(c, due[0], 1, t0), attempt(c, due[1], 1, t0)}
	must(t, st.BeginAttempts(ctx, as))
	_, err := st.MarkUncertain(ctx, c.ID, t0)
	must(t, err)
	Status(t, st, store.StatusUpdate{WAMID: "wamid.x", Callback: callback(due[0], as[0]), Status: store.DeliveryDelivered, At: t0.Add(time.Minute)})
	r := Recipient(t, st, due[0].CampaignID, due[0].ID)
	if r.State != store.StateSent || r.WAMID != "wamid.x" || r.Delivery != store.DeliveryDelivered {
		t.Errorf("settled by delivered: %+v", r)
	}
	next := t0.Add(24 * time.Hour)
	Status(t, st, store.StatusUpdate{Callback: callback(due[1], as[1]), Status: store.DeliveryFailed, Code: 131049, At: t0, FailState: store.StateDeferred, NextAttemptAt: next})
	r = Recipient(t, st, due[1].CampaignID, due[1].ID)
	if r.State != store.StateDeferred || !r.NextAttemptAt.Equal(next) || r.LastCode != 131049 {
		t.Errorf("settled by failed 131049: %+v", r)
	}
}

func testReplies(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 2)
	sentRecipient(t, st, c, 0, "w0")
	// The same message twice (in two notifications) counts once.
	Inbound(t, st, store.Inbound{WAMID: "in", From: "+1001", At: t0.Add(-time.Hour)})
	Inbound(t, st, store.Inbound{WAMID: "in", From: "+1001", At: t0.Add(-time.Hour)})
	if sum, _ := st.Summary(ctx, c.ID); sum.Replied != 1 {
		t.Errorf("Summary.Replied = %d, want 1 (+1001)", sum.Replied)
	}
	un, _ := st.Unanswered(ctx, []string{"+1000", "+1001"})
	if un["+1000"] != 1 || un["+1001"] != 0 {
		t.Errorf("Unanswered = %v, want +1000: 1", un)
	}
}

func testSummary(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 4)
	_, err := st.ImportBatch(ctx, c.ID, nil, []store.SkippedRow{{Line: 9, Reason: "invalid_number"}, {Line: 10, Reason: "invalid_number"}})
	must(t, err)
	r := sentRecipient(t, st, c, 0, "w0")
	Status(t, st, store.StatusUpdate{WAMID: "w0", Status: store.DeliveryRead, At: t0})
	due, _ := st.Due(ctx, c.ID, t0, 10)
	a := attempt(c, due[0], 1, t0.Add(time.Second))
	must(t, st.BeginAttempts(ctx, []store.Attempt{a}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a.ID, RecipientID: due[0].ID, State: store.StateFailed, Code: 131026, FinishedAt: t0}}))
	must(t, st.SkipRecipients(ctx, []int64{due[1].ID}, "opted_out", t0))
	sum, err := st.Summary(ctx, c.ID)
	must(t, err)
	if sum.ByState[store.StateSent] != 1 || sum.ByState[store.StateFailed] != 1 || sum.ByState[store.StatePending] != 1 {
		t.Errorf("ByState = %v", sum.ByState)
	}
	if sum.ByDelivery[store.DeliveryRead] != 1 || sum.FailedByCode[131026] != 1 || sum.ImportSkipped != 2 {
		t.Errorf("summary = %+v", sum)
	}
	if sum.SkippedByReason["invalid_number"] != 2 || sum.SkippedByReason["opted_out"] != 1 {
		t.Errorf("SkippedByReason = %v", sum.SkippedByReason)
	}
	if sum.Attempts != 2 || !sum.FirstSend.Equal(t0) || !sum.LastSend.Equal(t0.Add(time.Second)) {
		t.Errorf("attempts %d first %v last %v", sum.Attempts, sum.FirstSend, sum.LastSend)
	}
	_ = r

	// An attempt from another number, earlier and answered 131056: the
	// campaign's figures add the numbers' up.
	b := attempt(c, due[2], 1, t0.Add(-time.Minute))
	b.PhoneNumberID = "pn-other"
	must(t, st.BeginAttempts(ctx, []store.Attempt{b}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: b.ID, RecipientID: due[2].ID, State: store.StateRetry, Code: 131056, FinishedAt: t0}}))
	sum, err = st.Summary(ctx, c.ID)
	must(t, err)
	if sum.Attempts != 3 || sum.RateLimited != 1 || !sum.FirstSend.Equal(t0.Add(-time.Minute)) || !sum.LastSend.Equal(t0.Add(time.Second)) {
		t.Errorf("attempts %d, 131056 %d, first %v, last %v; want 3, 1, %v, %v", sum.Attempts, sum.RateLimited, sum.FirstSend, sum.LastSend,
			t0.Add(-time.Minute), t0.Add(time.Second))
	}
	if o, own := sum.ByNumber["pn-other"], sum.ByNumber[c.PhoneNumberID]; o.Attempts != 1 || o.RateLimited != 1 || own.Attempts != 2 || own.RateLimited != 0 {
		t.Errorf("by number: pn-other %+v, %s %+v", o, c.PhoneNumberID, own)
	}
}

func testConcurrent(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 200)
	due, _ := st.Due(ctx, c.ID, t0, 200)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < len(due); i += 4 {
				a := attempt(c, due[i], 1, t0)
				if err := st.BeginAttempts(ctx, []store.Attempt{a}); err != nil {
					errs <- err
					return
				}
				if err := st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a.ID, RecipientID: due[i].ID, State: store.StateSent, FinishedAt: t0}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 50 {
				if _, err := st.Summary(context.WithoutCancel(ctx), c.ID); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent use: %v", err)
	}
	if cn, _ := st.Counts(ctx, c.ID); cn[store.StateSent] != 200 {
		t.Errorf("sent = %d, want 200", cn[store.StateSent])
	}
}

func testNotifications(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 3)
	r := sentRecipient(t, st, c, 0, "wamid.n0")
	n1 := store.Notification{Hash: "h1", Body: []byte(`{"a":1}`), At: t0,
		Statuses: []store.StatusUpdate{
			{WAMID: "wamid.n0", Status: store.DeliveryRead, At: t0.Add(2 * time.Minute)},
			{WAMID: "wamid.nobody", Status: store.DeliveryDelivered, At: t0}, // matches nothing: still stored
		},
		Inbound: []store.Inbound{{WAMID: "wamid.in1", From: "+1001", At: t0.Add(time.Minute), Type: "text", Text: "hi"}},
		OptOuts: []store.User{{Phone: "+1002"}},
	}
	// A late delivered, in its own notification, must not downgrade read.
	n2 := store.Notification{Hash: "h2", Body: []byte(`{"a":2}`), At: t0,
		Statuses: []store.StatusUpdate{{WAMID: "wamid.n0", Status: store.DeliveryDelivered, At: t0.Add(3 * time.Minute)}}}
	fresh, err := st.SaveNotifications(ctx, []store.Notification{n1, n2, n1})
	must(t, err)
	if len(fresh) != 3 || !fresh[0] || !fresh[1] || fresh[2] {
		t.Errorf("fresh = %v, want [true true false] (the repeat in one group is a duplicate)", fresh)
	}
	fresh, err = st.SaveNotifications(ctx, []store.Notification{n1})
	must(t, err)
	if fresh[0] {
		t.Error("a notification stored before was applied again")
	}
	got := Recipient(t, st, r.CampaignID, r.ID)
	if got.Delivery != store.DeliveryRead {
		t.Errorf("delivery %q, want read", got.Delivery)
	}
	if sum, _ := st.Summary(ctx, c.ID); sum.Replied != 1 {
		t.Errorf("Summary.Replied = %d, want 1 (+1001)", sum.Replied)
	}
	if un, _ := st.Unanswered(ctx, []string{"+1000"}); un["+1000"] != 1 {
		t.Errorf("Unanswered = %v, want +1000: 1 (it never replied)", un)
	}
	opted, err := st.OptedOut(ctx, []string{"+1002"})
	must(t, err)
	if !opted["+1002"] {
		t.Error("opt-out from a notification not recorded")
	}
	// Meta's "resume" removes a webhook opt-out.
	_, err = st.SaveNotifications(ctx, []store.Notification{{Hash: "h3", Body: []byte(`{}`), At: t0, OptIns: []store.User{{Phone: "+1002"}}}})
	must(t, err)
	if opted, _ := st.OptedOut(ctx, []string{"+1002"}); opted["+1002"] {
		t.Error("opt-in did not remove the webhook opt-out")
	}
}

// A "failed" status webhook that arrives before the send's answer is
// recorded wins: the answer does not turn the recipient back into sent. A
// later attempt of a deferred recipient starts clean.
func testFailedStatusBeforeAnswer(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 2)
	due, err := st.Due(ctx, c.ID, t0, 10)
	must(t, err)
	for i, code := range []int{131026, 131049} {
		r := due[i]
		a := attempt(c, r, 1, t0)
		must(t, st.BeginAttempts(ctx, []store.Attempt{a}))
		u := store.StatusUpdate{Callback: callback(r, a), WAMID: fmt.Sprintf("wamid.f%d", i), Status: store.DeliveryFailed, At: t0, Code: code, Error: "x", FailState: store.StateFailed}
		if code == 131049 {
			u.FailState, u.NextAttemptAt = store.StateDeferred, t0.Add(24*time.Hour)
		}
		Status(t, st, u)
		must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a.ID, RecipientID: r.ID, State: store.StateSent, WAMID: u.WAMID, FinishedAt: t0.Add(time.Second)}}))
		got := Recipient(t, st, r.CampaignID, r.ID)
		if got.State != u.FailState || got.LastCode != code {
			t.Errorf("code %d: after the late answer state %s code %d, want %s %d", code, got.State, got.LastCode, u.FailState, code)
		}
	}
	// The deferred one is tried again a day later and succeeds.
	r := due[1]
	a := attempt(c, r, 2, t0.Add(25*time.Hour))
	must(t, st.BeginAttempts(ctx, []store.Attempt{a}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a.ID, RecipientID: r.ID, State: store.StateSent, WAMID: "wamid.again", FinishedAt: t0.Add(25 * time.Hour)}}))
	if got := Recipient(t, st, r.CampaignID, r.ID); got.State != store.StateSent || got.Delivery != store.DeliverySent {
		t.Errorf("retried deferred recipient: state %s delivery %q, want sent", got.State, got.Delivery)
	}
}

// An inbound message is applied to the recipient whose message it answers,
// whatever number it came from; an opt-out by user id alone waits for a
// link to its number and never stores an empty number.
func testInboundIdentity(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 2)
	r := sentRecipient(t, st, c, 1, "wamid.id1")
	_, err := st.SaveNotifications(ctx, []store.Notification{{Hash: "i1", Body: []byte(`{"i":1}`), At: t0,
		Inbound: []store.Inbound{{WAMID: "wamid.in.x", From: "+99887766", Context: "wamid.id1", At: t0, Type: "text", Text: "STOP", OptOut: true}},
		OptOuts: []store.User{{UserID: "BR.42"}},
	}})
	must(t, err)
	opted, err := st.OptedOut(ctx, []string{r.Phone})
	must(t, err)
	replied := Replied(t, st, []string{r.Phone})
	if !opted[r.Phone] || !replied[r.Phone] {
		t.Errorf("recipient %s answered by context: opted out %v, replied %v; want both", r.Phone, opted[r.Phone], replied[r.Phone])
	}
	if sum, _ := st.Summary(ctx, c.ID); sum.Replied != 1 {
		t.Errorf("Summary.Replied = %d, want 1 (%s)", sum.Replied, r.Phone)
	}
	list, err := st.OptOuts(ctx)
	must(t, err)
	for _, o := range list {
		if o.Phone == "" {
			t.Errorf("an opt-out with an empty number: %+v", o)
		}
	}
	_, err = st.SaveNotifications(ctx, []store.Notification{{Hash: "i2", Body: []byte(`{"i":2}`), At: t0,
		Links: []store.User{{Phone: "+1009", UserID: "BR.42"}}}})
	must(t, err)
	if opted, _ := st.OptedOut(ctx, []string{"+1009"}); !opted["+1009"] {
		t.Error("the stop by user id was not applied when a link named its number")
	}
}

// finish records one attempt of a recipient with an outcome.
func finish(t *testing.T, st store.Store, c store.Campaign, r store.Recipient, n int, o store.Outcome) {
	t.Helper()
	a := attempt(c, r, n, t0)
	must(t, st.BeginAttempts(t.Context(), []store.Attempt{a}))
	o.AttemptID, o.RecipientID, o.FinishedAt = a.ID, r.ID, t0
	must(t, st.FinishAttempts(t.Context(), []store.Outcome{o}))
}

func testCancel(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 6)
	due, _ := st.Due(ctx, c.ID, t0, 10)
	finish(t, st, c, due[0], 1, store.Outcome{State: store.StateSent, WAMID: "w0"})
	finish(t, st, c, due[1], 1, store.Outcome{State: store.StateFailed, Code: 131026})
	finish(t, st, c, due[2], 1, store.Outcome{State: store.StateRetry, Code: 131056, NextAttemptAt: t0.Add(time.Hour)})
	finish(t, st, c, due[3], 1, store.Outcome{State: store.StateDeferred, Code: 131049, NextAttemptAt: t0.Add(24 * time.Hour)})
	must(t, st.BeginAttempts(ctx, []store.Attempt{attempt(c, due[4], 1, t0)})) // left in flight by a crash
	must(t, st.SetCampaignState(ctx, c.ID, store.CampaignPaused, "template missing", nil, t0))

	n, err := st.CancelCampaign(ctx, c.ID, t0.Add(time.Minute))
	must(t, err)
	cn, _ := st.Counts(ctx, c.ID)
	want := map[store.State]int{store.StateSent: 1, store.StateFailed: 1, store.StateUncertain: 1, store.StateCancelled: 3}
	if n != 3 || len(cn) != len(want) {
		t.Errorf("CancelCampaign = %d, counts %v; want 3 cancelled and counts %v", n, cn, want)
	}
	for k, v := range want {
		if cn[k] != v {
			t.Errorf("after cancel %s = %d, want %d (counts %v)", k, cn[k], v, cn)
		}
	}
	got, _ := st.Campaign(ctx, c.ID)
	if got.State != store.CampaignCancelled || got.PauseReason != "" || !got.State.Closed() {
		t.Errorf("cancelled campaign = %s %q, want cancelled with no pause reason", got.State, got.PauseReason)
	}
	if ps, _ := st.Pauses(ctx, c.ID); len(ps) != 1 || ps[0].ResumedAt.IsZero() {
		t.Errorf("pause history after cancel = %+v, want the pause ended", ps)
	}
	if d, _ := st.Due(ctx, c.ID, t0.Add(48*time.Hour), 10); len(d) != 0 {
		t.Errorf("%d recipients due after cancel, want none", len(d))
	}
	// The crash's in-flight recipient settles as usual by webhook.
	Status(t, st, store.StatusUpdate{Callback: callback(due[4], attempt(c, due[4], 1, t0)), Status: store.DeliveryDelivered, At: t0.Add(time.Hour)})
	if r := Recipient(t, st, due[4].CampaignID, due[4].ID); r.State != store.StateSent {
		t.Errorf("in-flight recipient after a delivered status = %s, want sent", r.State)
	}
	if _, err := st.CancelCampaign(ctx, c.ID+100, t0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CancelCampaign of an unknown campaign: %v, want ErrNotFound", err)
	}
}

func testRequeueFailed(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 6)
	due, _ := st.Due(ctx, c.ID, t0, 10)
	finish(t, st, c, due[0], 1, store.Outcome{State: store.StateSent, WAMID: "w0"})
	finish(t, st, c, due[1], 3, store.Outcome{State: store.StateFailed, Code: 131026})
	finish(t, st, c, due[2], 1, store.Outcome{State: store.StateFailed, Code: 131000})
	finish(t, st, c, due[3], 1, store.Outcome{State: store.StateFailed, Code: 131050}) // not asked for
	finish(t, st, c, due[4], 1, store.Outcome{State: store.StateFailed, Code: 131026}) // opted out below
	must(t, st.SkipRecipients(ctx, []int64{due[5].ID}, "opted_out", t0))
	must(t, st.AddOptOut(ctx, due[4].Phone, "manual", t0))
	must(t, st.SetCampaignState(ctx, c.ID, store.CampaignFinished, "", nil, t0))

	run, err := st.RequeueFailed(ctx, c.ID, []int{131026, 131000, 131049}, t0.Add(time.Hour))
	must(t, err)
	if run.Number != 1 || run.Requeued != 2 || run.OptedOut != 1 || run.ByCode[131026] != 1 || run.ByCode[131000] != 1 {
		t.Errorf("first retry = %+v, want number 1, 2 re-queued (131026, 131000), 1 opted out", run)
	}
	r1 := Recipient(t, st, due[1].CampaignID, due[1].ID)
	if r1.State != store.StatePending || r1.RetryBase != 3 || r1.Attempts != 3 || r1.Deferrals != 0 || r1.Delivery != "" {
		t.Errorf("re-queued recipient = %+v, want pending with retry base 3", r1)
	}
	for _, i := range []int{3, 4} {
		if r := Recipient(t, st, c.ID, due[i].ID); r.State != store.StateFailed {
			t.Errorf("line %d (code %d) = %s, want still failed", r.Line, r.LastCode, r.State)
		}
	}
	if r := Recipient(t, st, due[5].CampaignID, due[5].ID); r.State != store.StateSkipped {
		t.Errorf("skipped recipient = %s, want still skipped", r.State)
	}
	if got, _ := st.Campaign(ctx, c.ID); got.State != store.CampaignReady {
		t.Errorf("campaign after retry = %s, want ready", got.State)
	}
	// The retry sends: one sent, one fails again and is retried again.
	finish(t, st, c, r1, 4, store.Outcome{State: store.StateSent, WAMID: "w1"})
	r2 := Recipient(t, st, due[2].CampaignID, due[2].ID)
	finish(t, st, c, r2, 2, store.Outcome{State: store.StateFailed, Code: 131000})
	run2, err := st.RequeueFailed(ctx, c.ID, []int{131000}, t0.Add(2*time.Hour))
	must(t, err)
	if run2.Number != 2 || run2.Requeued != 1 {
		t.Errorf("second retry = %+v, want number 2 with 1 re-queued", run2)
	}
	none, err := st.RequeueFailed(ctx, c.ID, []int{131049}, t0.Add(3*time.Hour))
	must(t, err)
	if none.Number != 0 || none.Requeued != 0 {
		t.Errorf("retry with nothing to re-queue = %+v, want number 0", none)
	}
	runs, err := st.Retries(ctx, c.ID)
	must(t, err)
	if len(runs) != 2 {
		t.Fatalf("Retries = %+v, want 2 runs", runs)
	}
	if o := runs[0].Outcome; o[store.StateSent] != 1 || o[store.StateFailed] != 1 || !runs[0].At.Equal(t0.Add(time.Hour)) ||
		runs[0].OptedOut != 1 || len(runs[0].Codes) != 3 || runs[0].ByCode[131026] != 1 {
		t.Errorf("retry 1 = %+v, want 1 sent and 1 failed again", runs[0])
	}
	if o := runs[1].Outcome; o[store.StatePending] != 1 || len(o) != 1 {
		t.Errorf("retry 2 outcome = %v, want 1 pending", o)
	}
	must(t, st.DeleteCampaign(ctx, c.ID))
	if runs, _ := st.Retries(ctx, c.ID); len(runs) != 0 {
		t.Errorf("retries of a deleted campaign = %+v", runs)
	}
}

// DeleteCampaign removes the campaign's rows, never the opt-out list nor the
// messaging-limit window (they are about the numbers, not the campaign).
func testDeleteKeepsNumberRows(t *testing.T, st store.Store) {
	ctx := t.Context()
	a := newCampaign(t, st, "a", 3)
	b := newCampaign(t, st, "b", 2)
	r := sentRecipient(t, st, a, 0, "wa")
	must(t, st.AddOptOut(ctx, "+1001", "manual", t0))
	must(t, st.DeleteCampaign(ctx, a.ID))
	if n, _ := st.WindowCount(ctx, "scope1", t0.Add(-time.Hour)); n != 1 {
		t.Errorf("window after delete = %d, want the 1 send kept", n)
	}
	if o, _ := st.OptedOut(ctx, []string{"+1001"}); !o["+1001"] {
		t.Errorf("opt-out lost by delete")
	}
	left := 0
	must(t, st.Recipients(ctx, a.ID, func(store.Recipient) error { left++; return nil }))
	if left != 0 {
		t.Errorf("%d recipients left of a deleted campaign (%s among them?)", left, r.Phone)
	}
	if cn, _ := st.Counts(ctx, b.ID); cn[store.StatePending] != 2 {
		t.Errorf("other campaign after delete = %v, want its 2 pending", cn)
	}
	n := 0
	must(t, st.Attempts(ctx, a.ID, func(store.AttemptRecord) error { n++; return nil }))
	if n != 0 {
		t.Errorf("%d attempts left of a deleted campaign", n)
	}
}

// testDeferralCap: the campaign's MaxDeferrals caps 131049 deferrals
// whether they come in a send answer (FinishAttempts) or a status webhook
// (SaveNotifications), and both use the same DeferInterval.
func testDeferralCap(t *testing.T, st store.Store) {
	ctx := t.Context()
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "cap", CSVHash: "h-cap", Template: "t", Language: "en",
		PhoneNumberID: "pn1", Scope: "scope1", MaxDeferrals: 2})
	must(t, err)
	_, err = st.ImportBatch(ctx, id, []store.Recipient{{Line: 2, Phone: "+1000"}}, nil)
	must(t, err)
	must(t, st.FinishImport(ctx, id, 1))
	c, err := st.Campaign(ctx, id)
	must(t, err)
	if c.MaxDeferrals != 2 {
		t.Fatalf("MaxDeferrals = %d, want 2", c.MaxDeferrals)
	}
	due, _ := st.Due(ctx, c.ID, t0, 1)
	r := due[0]
	at := t0
	// 1: a send answered 131049.
	a := attempt(c, r, 1, at)
	must(t, st.BeginAttempts(ctx, []store.Attempt{a}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a.ID, RecipientID: r.ID, State: store.StateDeferred, Code: 131049, Error: "x", FinishedAt: at}}))
	got := Recipient(t, st, r.CampaignID, r.ID)
	if got.State != store.StateDeferred || got.Deferrals != 1 || !got.NextAttemptAt.Equal(at.Add(store.DeferInterval)) {
		t.Fatalf("after a 131049 answer: %s, %d deferrals, next %v; want deferred once, next %v", got.State, got.Deferrals, got.NextAttemptAt, at.Add(store.DeferInterval))
	}
	// 2: accepted, then a 131049 status webhook.
	at = at.Add(store.DeferInterval)
	a = attempt(c, r, 2, at)
	must(t, st.BeginAttempts(ctx, []store.Attempt{a}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a.ID, RecipientID: r.ID, State: store.StateSent, WAMID: "wamid.d2", FinishedAt: at}}))
	Status(t, st, store.StatusUpdate{WAMID: "wamid.d2", Status: store.DeliveryFailed, At: at.Add(time.Minute), Code: 131049, Error: "y", FailState: store.StateDeferred})
	got = Recipient(t, st, r.CampaignID, r.ID)
	if got.State != store.StateDeferred || got.Deferrals != 2 || !got.NextAttemptAt.Equal(at.Add(time.Minute+store.DeferInterval)) {
		t.Fatalf("after a 131049 webhook: %s, %d deferrals, next %v; want deferred twice, next %v", got.State, got.Deferrals, got.NextAttemptAt, at.Add(time.Minute+store.DeferInterval))
	}
	// 3: the cap is reached, by either path: the recipient fails.
	at = at.Add(2 * store.DeferInterval)
	a = attempt(c, r, 3, at)
	must(t, st.BeginAttempts(ctx, []store.Attempt{a}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a.ID, RecipientID: r.ID, State: store.StateDeferred, Code: 131049, Error: "z", FinishedAt: at}}))
	got = Recipient(t, st, r.CampaignID, r.ID)
	if got.State != store.StateFailed || got.Deferrals != 2 || got.LastCode != 131049 {
		t.Errorf("third 131049 answer: %s, %d deferrals, code %d; want failed after 2 deferrals with 131049", got.State, got.Deferrals, got.LastCode)
	}
}

// testDeferralReopens: a 131049 status webhook on a finished campaign
// reopens it (ready), so the next resume sends the deferred recipient.
func testDeferralReopens(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 1)
	sentRecipient(t, st, c, 0, "wamid.r0")
	must(t, st.SetCampaignState(ctx, c.ID, store.CampaignFinished, "", nil, t0))
	_, err := st.SaveNotifications(ctx, []store.Notification{{Hash: "d", Body: []byte("{}"), At: t0.Add(time.Hour),
		Statuses: []store.StatusUpdate{{WAMID: "wamid.r0", Status: store.DeliveryFailed, At: t0.Add(time.Hour), Code: 131049, FailState: store.StateDeferred}}}})
	must(t, err)
	got, _ := st.Campaign(ctx, c.ID)
	if got.State != store.CampaignReady {
		t.Errorf("campaign %s after a 131049 webhook, want ready", got.State)
	}
	next, ok, _ := st.NextDue(ctx, c.ID)
	if !ok || !next.Equal(t0.Add(time.Hour+store.DeferInterval)) {
		t.Errorf("NextDue = %v %v, want %v", next, ok, t0.Add(time.Hour+store.DeferInterval))
	}
	// A plain failure does not reopen it.
	must(t, st.SetCampaignState(ctx, c.ID, store.CampaignFinished, "", nil, t0))
	Status(t, st, store.StatusUpdate{WAMID: "wamid.r0", Status: store.DeliveryFailed, At: t0.Add(2 * time.Hour), Code: 131026, FailState: store.StateFailed})
	if got, _ := st.Campaign(ctx, c.ID); got.State != store.CampaignFinished {
		t.Errorf("campaign %s after a 131026 webhook, want finished", got.State)
	}
}
