package report

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
)

// The golden campaign, retried for its two 131026 failures (one then sent,
// one failed again) and then cancelled: cancelled is a state of its own in
// the partition of every format, and the retry run has its line.
func TestCancelledAndRetriesInEveryFormat(t *testing.T) {
	ctx := context.Background()
	st, id := goldenCampaign(t)
	run, err := st.RequeueFailed(ctx, id, []int{131026}, t0.Add(20*time.Minute))
	if err != nil || run.Requeued != 2 {
		t.Fatalf("RequeueFailed = %+v, %v; want 2 re-queued", run, err)
	}
	r := recipientIDs(t, st, id)
	s := newAttempter(t, st, id)
	s.seq, s.tries[r[6].ID], s.tries[r[10].ID] = 100, 1, 1
	s.batch(4, t0.Add(21*time.Minute),
		outcome{r: r[6], state: store.StateSent},
		outcome{r: r[10], state: store.StateFailed, code: 131026, err: "Message undeliverable"})
	n, err := st.CancelCampaign(ctx, id, t0.Add(30*time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("CancelCampaign = %d, %v; want the deferred and the pending recipient cancelled", n, err)
	}

	rep, err := Build(ctx, st, id, reportAt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != "cancelled" || rep.Cancelled != 2 || rep.Remaining != 0 {
		t.Errorf("state %s, cancelled %d, remaining %d; want cancelled, 2, 0", rep.State, rep.Cancelled, rep.Remaining)
	}
	if sum := rep.Sent + rep.Failed + rep.Skipped + rep.Uncertain + rep.Cancelled + rep.Remaining; sum != rep.Recipients {
		t.Errorf("partition sums to %d, want the %d recipients", sum, rep.Recipients)
	}
	if len(rep.Retries) != 1 {
		t.Fatalf("retries = %+v, want one", rep.Retries)
	}
	line := "retry 1 at 2026-03-02T09:20:00Z: 2 re-queued (131026 ×2): 1 sent, 1 failed"
	if got := rep.Retries[0].String(); got != line {
		t.Errorf("retry line = %q, want %q", got, line)
	}

	var txt bytes.Buffer
	if err := rep.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"campaign spring-sale (id 1): cancelled", "  cancelled   2   13.3%", line} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, &txt)
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var m struct {
		Cancelled int `json:"cancelled"`
		Retries   []struct {
			Number   int            `json:"number"`
			Requeued int            `json:"requeued"`
			ByCode   map[string]int `json:"by_code"`
			Outcome  map[string]int `json:"outcome"`
		} `json:"retries"`
	}
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m.Cancelled != 2 || len(m.Retries) != 1 || m.Retries[0].ByCode["131026"] != 2 || m.Retries[0].Outcome["sent"] != 1 {
		t.Errorf("JSON cancelled %d, retries %+v", m.Cancelled, m.Retries)
	}
	var page bytes.Buffer
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Cancelled<b>2</b>", "cancelled 2 (", "retry 1 at 2026-03-02T09:20:00Z: 2 re-queued (131026 ×2): 1 sent, 1 failed"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("HTML report lacks %q", want)
		}
	}
	only, err := ParseStates([]string{"cancelled"})
	if err != nil {
		t.Fatal(err)
	}
	var csv bytes.Buffer
	if err := WriteCSV(ctx, st, id, &csv, CSVOptions{Only: only}); err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, csv.Bytes())
	if len(recs)-1 != 2 {
		t.Errorf("CSV --only cancelled has %d rows, want 2", len(recs)-1)
	}
	for _, rec := range recs[1:] {
		if got := rec[col(t, recs[0], "state")]; got != "cancelled" {
			t.Errorf("CSV --only cancelled row state %q", got)
		}
	}
}
