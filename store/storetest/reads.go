package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
)

// testCampaigns: Campaigns lists every campaign oldest first, by name or id
// each is found, an unknown one is ErrNotFound, and UpdateSettings replaces
// the stored settings of one campaign only.
func testCampaigns(t *testing.T, st store.Store) {
	ctx := t.Context()
	if cs, err := st.Campaigns(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("Campaigns of an empty store = %+v, %v; want none", cs, err)
	}
	a := newCampaign(t, st, "a", 1)
	b := newCampaign(t, st, "b", 2)
	cs, err := st.Campaigns(ctx)
	must(t, err)
	if len(cs) != 2 || cs[0].ID != a.ID || cs[1].ID != b.ID || cs[1].Name != "b" || cs[1].State != store.CampaignReady {
		t.Errorf("Campaigns = %+v, want a then b, ready", cs)
	}
	if got, err := st.CampaignByName(ctx, "b"); err != nil || got.ID != b.ID || got.PhoneNumberID != "pn1" || got.Scope != "scope1" {
		t.Errorf("CampaignByName(b) = %+v, %v", got, err)
	}
	if _, err := st.CampaignByName(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CampaignByName of an unknown name: %v, want ErrNotFound", err)
	}
	if _, err := st.Campaign(ctx, b.ID+100); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Campaign of an unknown id: %v, want ErrNotFound", err)
	}
	must(t, st.UpdateSettings(ctx, b.ID, []byte(`{"rate":20}`)))
	if got, _ := st.Campaign(ctx, b.ID); string(got.Settings) != `{"rate":20}` {
		t.Errorf("settings after UpdateSettings = %s", got.Settings)
	}
	if got, _ := st.Campaign(ctx, a.ID); string(got.Settings) != `{"rate":80}` {
		t.Errorf("another campaign's settings changed: %s", got.Settings)
	}
}

// testRecipients: Recipients streams every recipient of one campaign in
// line order with what was imported, and stops at fn's error.
func testRecipients(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 4)
	newCampaign(t, st, "b", 3) // the same numbers in another campaign
	var got []store.Recipient
	must(t, st.Recipients(ctx, c.ID, func(r store.Recipient) error { got = append(got, r); return nil }))
	if len(got) != 4 {
		t.Fatalf("Recipients = %d, want 4", len(got))
	}
	for i, r := range got {
		if r.Line != i+2 || r.CampaignID != c.ID || r.Phone != []string{"+1000", "+1001", "+1002", "+1003"}[i] ||
			len(r.Params) != 1 || r.State != store.StatePending || r.Attempts != 0 {
			t.Errorf("recipient %d = %+v", i, r)
		}
	}
	stop := errors.New("enough")
	n := 0
	err := st.Recipients(ctx, c.ID, func(store.Recipient) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Recipients with fn failing: %d calls, %v; want 1 call and its error", n, err)
	}
}

// testDuePaging: Due returns at most limit recipients, the first in
// line order; a larger limit returns them all.
func testDuePaging(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 5)
	page, err := st.Due(ctx, c.ID, t0, 2)
	must(t, err)
	if len(page) != 2 || page[0].Line != 2 || page[1].Line != 3 {
		t.Fatalf("Due with limit 2 = %d recipients, want lines 2 and 3", len(page))
	}
	all, err := st.Due(ctx, c.ID, t0, 10)
	must(t, err)
	var lines []int
	for _, r := range all {
		lines = append(lines, r.Line)
	}
	if len(lines) != 5 || lines[0] != 2 || lines[4] != 6 {
		t.Errorf("Due with limit 10: lines %v, want 2..6 once each", lines)
	}
}

// testAttempts: Attempts streams a campaign's attempts in start order with
// their outcome; an unfinished one is in_flight.
func testAttempts(t *testing.T, st store.Store) {
	ctx := t.Context()
	c := newCampaign(t, st, "a", 3)
	due, _ := st.Due(ctx, c.ID, t0, 10)
	a1 := attempt(c, due[1], 1, t0.Add(time.Second))
	a0 := attempt(c, due[0], 1, t0)
	must(t, st.BeginAttempts(ctx, []store.Attempt{a1, a0}))
	must(t, st.FinishAttempts(ctx, []store.Outcome{{AttemptID: a0.ID, RecipientID: due[0].ID, State: store.StateFailed, Code: 131026, FinishedAt: t0.Add(2 * time.Second)}}))
	var got []store.AttemptRecord
	must(t, st.Attempts(ctx, c.ID, func(r store.AttemptRecord) error { got = append(got, r); return nil }))
	if len(got) != 2 {
		t.Fatalf("Attempts = %+v, want 2", got)
	}
	if g := got[0]; g.ID != a0.ID || g.RecipientID != due[0].ID || g.Number != 1 || g.To != "+1000" || g.PhoneNumberID != "pn1" ||
		g.Scope != "scope1" || g.Batch != 1 || !g.StartedAt.Equal(t0) || g.State != store.StateFailed || g.Code != 131026 ||
		!g.FinishedAt.Equal(t0.Add(2*time.Second)) {
		t.Errorf("first attempt = %+v", g)
	}
	if g := got[1]; g.ID != a1.ID || g.State != store.StateInFlight || !g.FinishedAt.IsZero() {
		t.Errorf("second attempt = %+v, want in_flight and unfinished", g)
	}
	stop := errors.New("enough")
	if err := st.Attempts(ctx, c.ID, func(store.AttemptRecord) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Attempts with fn failing: %v, want its error", err)
	}
}

// testPhone: SavePhone keeps the last health seen per number; Phone of an
// unknown number is ErrNotFound.
func testPhone(t *testing.T, st store.Store) {
	ctx := t.Context()
	if _, err := st.Phone(ctx, "pn1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Phone of an unknown number: %v, want ErrNotFound", err)
	}
	p := store.PhoneRecord{PhoneNumberID: "pn1", Quality: "GREEN", Status: "CONNECTED", ThroughputLevel: "STANDARD",
		Limit: 1000, LimitSource: "TIER_1K", CheckedAt: t0}
	must(t, st.SavePhone(ctx, p))
	must(t, st.SavePhone(ctx, store.PhoneRecord{PhoneNumberID: "pn2", Limit: -1, LimitSource: "TIER_UNLIMITED", OnBizApp: true, CheckedAt: t0}))
	if got, err := st.Phone(ctx, "pn1"); err != nil || got != p {
		t.Errorf("Phone = %+v, %v; want %+v", got, err, p)
	}
	p.Quality, p.Limit, p.CheckedAt = "YELLOW", 250, t0.Add(time.Hour)
	must(t, st.SavePhone(ctx, p))
	if got, err := st.Phone(ctx, "pn1"); err != nil || got != p {
		t.Errorf("Phone after a second save = %+v, %v; want %+v", got, err, p)
	}
	if got, _ := st.Phone(ctx, "pn2"); got.Limit != -1 || !got.OnBizApp {
		t.Errorf("unlimited number = %+v, want limit -1 on the business app", got)
	}
}

// testClose: Close releases the store without an error; the opener's
// cleanup closing it again must not panic.
func testClose(t *testing.T, st store.Store) {
	newCampaign(t, st, "a", 1)
	if err := st.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
