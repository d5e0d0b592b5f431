package report

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
	"github.com/whatsend/whatsend/store/storetest"
)

// t0 is the fixture's first send: every time in the fixtures is fixed, so
// the golden files are stable.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const (
	fixturePhoneID = "100000000000001"
	fixtureScope   = "phone:" + fixturePhoneID
)

func openStore(tb testing.TB) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "whatsend.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// newCampaign creates a campaign with the fixture's settings.
func newCampaign(tb testing.TB, st store.Store, name string, params []string) int64 {
	return newCampaignTier(tb, st, name, params, "1000")
}

// newCampaignTier creates a campaign with the fixture's settings and a --tier.
func newCampaignTier(tb testing.TB, st store.Store, name string, params []string, tier string) int64 {
	tb.Helper()
	s := campaign.Settings{Template: "order_update", Language: "en_US", Params: params, PhoneNumberID: fixturePhoneID,
		Rate: 40, BatchSize: 4, Tier: tier, WarmupDays: 14}
	b, err := json.Marshal(s)
	if err != nil {
		tb.Fatal(err)
	}
	id, err := st.CreateCampaign(context.Background(), store.Campaign{Name: name, CSVHash: "hash-" + name,
		Template: s.Template, Language: s.Language, Params: params, PhoneNumberID: fixturePhoneID,
		Scope: fixtureScope, Settings: b})
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// recipientIDs returns the campaign's recipient ids by CSV line.
func recipientIDs(tb testing.TB, st store.Store, id int64) map[int]store.Recipient {
	tb.Helper()
	out := map[int]store.Recipient{}
	err := st.Recipients(context.Background(), id, func(r store.Recipient) error {
		out[r.Line] = r
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// attempter records attempts and outcomes through the Store API as the
// engine would.
type attempter struct {
	tb    testing.TB
	st    store.Store
	id    int64
	seq   int
	tries map[int64]int
}

func newAttempter(tb testing.TB, st store.Store, id int64) *attempter {
	return &attempter{tb: tb, st: st, id: id, tries: map[int64]int{}}
}

// outcome is what one attempt of a batch comes to: a state, a code and a
// wamid; state in_flight leaves the attempt unfinished.
type outcome struct {
	r     store.Recipient
	state store.State
	code  int
	err   string
}

// batch begins attempts for the recipients at start, 100 ms apart, and
// finishes them 50 ms after each start.
func (s *attempter) batch(n int, start time.Time, os ...outcome) {
	s.tb.Helper()
	ctx := context.Background()
	var as []store.Attempt
	var outs []store.Outcome
	for i, o := range os {
		s.seq++
		s.tries[o.r.ID]++
		at := start.Add(time.Duration(i) * 100 * time.Millisecond)
		a := store.Attempt{ID: fmt.Sprintf("att-%d", s.seq), CampaignID: s.id, RecipientID: o.r.ID, Number: s.tries[o.r.ID],
			PhoneNumberID: fixturePhoneID, To: o.r.Phone, Scope: fixtureScope, Batch: n, StartedAt: at}
		as = append(as, a)
		if o.state == store.StateInFlight {
			continue
		}
		out := store.Outcome{AttemptID: a.ID, RecipientID: o.r.ID, State: o.state, Code: o.code, Error: o.err,
			FinishedAt: at.Add(50 * time.Millisecond)}
		switch o.state {
		case store.StateSent:
			out.WAMID = fmt.Sprintf("wamid.%d", s.seq)
			out.MessageStatus = "accepted"
		case store.StateRetry:
			out.NextAttemptAt = at.Add(6 * time.Second)
		case store.StateDeferred:
			out.NextAttemptAt = at.Add(24 * time.Hour)
		}
		outs = append(outs, out)
	}
	if err := s.st.BeginAttempts(ctx, as); err != nil {
		s.tb.Fatal(err)
	}
	if err := s.st.FinishAttempts(ctx, outs); err != nil {
		s.tb.Fatal(err)
	}
}

// goldenCampaign builds the fixed campaign of the golden files: 15 CSV data
// rows (lines 2 to 16), three skipped at import, twelve recipients ending
// sent (6), failed (2), skipped before sending (1), uncertain (1),
// deferred (1) and pending (1); one 131056 answer and one pause.
func goldenCampaign(t *testing.T) (*sqlite.Store, int64) {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	id := newCampaign(t, st, "spring-sale", []string{"name", "order_id"})
	var rs []store.Recipient
	names := map[int][2]string{
		2: {"Ana Lima", "A-1001"}, 3: {"Bruno Costa", "A-1002"}, 4: {"Carla Souza", "A-1003"},
		6: {"Diego, Jr.", "A-1004"}, 7: {"Eva Rossi", "A-1005"}, 8: {"Fábio Alves", "-A-1006"},
		10: {"Gabi Nakamura", "A-1007"}, 11: {"Heitor Dubois", "A-1008"}, 12: {"Iara Patel", "A-1009"},
		13: {"João Ribeiro", "A-1010"}, 15: {"Kátia García", "A-1011"}, 16: {"Lucas Oliveira", "A-1012"},
	}
	for line := 2; line <= 16; line++ {
		if p, ok := names[line]; ok {
			rs = append(rs, store.Recipient{Line: line, Phone: fmt.Sprintf("+55119100000%02d", line), Params: p[:]})
		}
	}
	skipped := []store.SkippedRow{
		{Line: 5, Reason: "invalid_number", Detail: "phone: 12345 has no country code: pass --default-region (e.g. BR)", Raw: "12345"},
		{Line: 9, Reason: "duplicate", Detail: "+5511910000003 is the same number as line 3", Raw: "0055 11 9100-00003"},
		{Line: 14, Reason: "bad_row", Detail: "the row has 2 fields, the header has 3", Raw: `Zé,=HYPERLINK("http://x","y")`},
	}
	if _, err := st.ImportBatch(ctx, id, rs, skipped); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishImport(ctx, id, 15); err != nil {
		t.Fatal(err)
	}
	if err := st.SetWarmupStart(ctx, fixtureScope, t0.Add(-3*24*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	r := recipientIDs(t, st, id)
	s := newAttempter(t, st, id)
	s.batch(1, t0,
		outcome{r: r[2], state: store.StateSent},
		outcome{r: r[3], state: store.StateSent},
		outcome{r: r[4], state: store.StateRetry, code: 131056, err: "pair rate limit hit"},
		outcome{r: r[6], state: store.StateFailed, code: 131026, err: "Message undeliverable"})
	s.batch(2, t0.Add(30*time.Second),
		outcome{r: r[7], state: store.StateSent},
		outcome{r: r[8], state: store.StateSent},
		outcome{r: r[10], state: store.StateFailed, code: 131026, err: "Message undeliverable"},
		outcome{r: r[11], state: store.StateDeferred, code: 131049, err: "Meta chose not to deliver"})
	detail := []byte(`{"kind":"ratio","share":0.125,"window":8,"hits":1,"threshold":0.05}`)
	if err := st.SetCampaignState(ctx, id, store.CampaignPaused, "12.5% of the last 8 send attempts were answered 131056 (pair rate limit); the limit is 5%", detail, t0.Add(40*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := st.SetCampaignState(ctx, id, store.CampaignReady, "", nil, t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.SkipRecipients(ctx, []int64{r[15].ID}, "opted_out", t0.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.batch(3, t0.Add(10*time.Minute),
		outcome{r: r[4], state: store.StateSent},
		outcome{r: r[12], state: store.StateSent},
		outcome{r: r[13], state: store.StateInFlight})
	if _, err := st.MarkUncertain(ctx, id, t0.Add(11*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.StatusUpdate{
		{WAMID: "wamid.1", Status: store.DeliveryDelivered, At: t0.Add(time.Minute)},
		{WAMID: "wamid.2", Status: store.DeliveryRead, At: t0.Add(2 * time.Minute)},
		{WAMID: "wamid.5", Status: store.DeliveryDelivered, At: t0.Add(2 * time.Minute)},
	} {
		storetest.Status(t, st, u)
	}
	storetest.Inbound(t, st, store.Inbound{WAMID: "wamid.in.1", From: r[2].Phone, At: t0.Add(5 * time.Minute), Type: "text", Text: "obrigada"})
	return st, id
}
