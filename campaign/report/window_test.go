package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
)

// TestReportExpiredAndResent: expired recipients are a state of their own
// in the partition and every format; resent_after_silence is listed.
func TestReportExpiredAndResent(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	id := newCampaign(t, st, "stale", nil)
	var rs []store.Recipient
	for i := range 5 {
		rs = append(rs, store.Recipient{Line: i + 2, Phone: fmt.Sprintf("+55119100000%02d", i)})
	}
	if _, err := st.ImportBatch(ctx, id, rs, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishImport(ctx, id, 5); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	ids := recipientIDs(t, st, id)
	a := newAttempter(t, st, id)
	a.batch(1, t0, outcome{r: ids[2], state: store.StateSent}, outcome{r: ids[3], state: store.StateInFlight})
	if _, err := st.MarkUncertain(ctx, id, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// The receiver heard of line 2 after line 3's send: line 3 is resent.
	if _, err := st.SaveNotifications(ctx, []store.Notification{{Hash: "n1", Body: []byte("{}"), At: t0.Add(time.Minute),
		Statuses: []store.StatusUpdate{{WAMID: "wamid.1", Status: store.DeliveryDelivered, At: t0.Add(time.Minute)}}}}); err != nil {
		t.Fatal(err)
	}
	if n, _, err := st.ResendSilent(ctx, id, fixturePhoneID, t0.Add(time.Hour), t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("ResendSilent = %d, %v", n, err)
	}
	if _, err := st.ExpireRecipients(ctx, id, t0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	r, err := Build(ctx, st, id, t0.Add(3*time.Hour), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Expired != 4 || r.Sent != 1 || r.ResentAfterSilence != 1 || r.Remaining != 0 {
		t.Errorf("report: expired %d, sent %d, resent after silence %d, remaining %d; want 4, 1, 1, 0", r.Expired, r.Sent, r.ResentAfterSilence, r.Remaining)
	}
	if sum := r.Sent + r.Failed + r.Skipped + r.Uncertain + r.Cancelled + r.Expired + r.Remaining; sum != r.Recipients {
		t.Errorf("totals %d do not partition the %d recipients", sum, r.Recipients)
	}
	b, _ := json.Marshal(r)
	if !bytes.Contains(b, []byte(`"expired":4`)) || !bytes.Contains(b, []byte(`"resent_after_silence":1`)) {
		t.Errorf("JSON lacks expired or resent_after_silence: %s", b)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "expired     4") || !strings.Contains(text.String(), "resent_after_silence: 1") {
		t.Errorf("text report lacks the expired row or resent_after_silence:\n%s", text.String())
	}
	if states, err := ParseStates([]string{"expired"}); err != nil || len(states) != 1 {
		t.Errorf("--only expired: %v %v", states, err)
	}
}

// TestReportWindow: the report shows the send window and, while
// recipients wait outside it, the next opening.
func TestReportWindow(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	s := []byte(`{"template":"order_update","language":"en_US","phone_number_id":"` + fixturePhoneID + `","window":"09:00-20:00","days":"mon-fri","not_after":"2026-12-24T18:00:00Z"}`)
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "w", CSVHash: "h", Template: "order_update", Language: "en_US",
		PhoneNumberID: fixturePhoneID, Scope: fixtureScope, Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportBatch(ctx, id, []store.Recipient{{Line: 2, Phone: "+5511910000001"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishImport(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	opens := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	if err := st.HoldRecipients(ctx, []int64{recipientIDs(t, st, id)[2].ID}, opens); err != nil {
		t.Fatal(err)
	}
	r, err := Build(ctx, st, id, opens.Add(-time.Hour), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Settings.Window, "09:00-20:00 on mon,tue,wed,thu,fri") || r.Settings.NextOpening == nil || !r.Settings.NextOpening.Equal(opens) ||
		r.Settings.NotAfter == nil || !r.Settings.NotAfter.Equal(time.Date(2026, 12, 24, 18, 0, 0, 0, time.UTC)) {
		t.Errorf("report settings %+v: want the window, next opening %v and not-after", r.Settings, opens)
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "send window 09:00-20:00") || !strings.Contains(text.String(), "next window opening (or retry) ") {
		t.Errorf("text report lacks the window:\n%s", text.String())
	}
}
