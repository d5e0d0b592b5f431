package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/store"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// reportAt is the golden report's instant: 12 h after the first send, so
// the sends are still in the 24 h window.
var reportAt = t0.Add(12 * time.Hour)

func TestGolden(t *testing.T) {
	st, id := goldenCampaign(t)
	ctx := context.Background()
	for _, mask := range []bool{false, true} {
		suffix := ""
		if mask {
			suffix = "_masked"
		}
		r, err := Build(ctx, st, id, reportAt, Options{Mask: mask})
		if err != nil {
			t.Fatal(err)
		}
		var text, js, cs bytes.Buffer
		if err := r.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		if err := WriteCSV(ctx, st, id, &cs, CSVOptions{Mask: mask}); err != nil {
			t.Fatal(err)
		}
		golden(t, "golden"+suffix+".txt", text.Bytes())
		golden(t, "golden"+suffix+".json", js.Bytes())
		golden(t, "golden"+suffix+".csv", cs.Bytes())
	}
}

// The golden campaign's figures, stated here independently of the golden
// files: a -update cannot make a wrong figure pass.
func TestGoldenFigures(t *testing.T) {
	st, id := goldenCampaign(t)
	r, err := Build(context.Background(), st, id, reportAt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"recipients", r.Recipients, 15}, {"sent", r.Sent, 6}, {"delivered", r.Delivered, 3}, {"read", r.Read, 1},
		{"replied", r.Replied, 1}, {"failed", r.Failed, 2}, {"skipped", r.Skipped, 4}, {"uncertain", r.Uncertain, 1},
		{"remaining", r.Remaining, 2}, {"deferred", r.RemainingByState["deferred"], 1}, {"pending", r.RemainingByState["pending"], 1},
		{"attempts", r.Attempts, 11}, {"rate_limited", r.RateLimited, 1},
		{"failed_by_code 131026", r.FailedByCode["131026"], 2},
		{"skipped_by_reason opted_out", r.SkippedByReason["opted_out"], 1},
		{"skipped_by_reason bad_row", r.SkippedByReason["bad_row"], 1},
		{"pauses", len(r.Pauses), 1}, {"batches", len(r.Batches), 3},
		{"batch 1 rate_limited", r.Batches[0].RateLimited, 1}, {"batch 2 failed", r.Batches[1].Failed, 1},
		{"peak per minute", r.Throughput.PeakPerMinute, 4},
		{"allowance used", r.Allowance.Used, 10},
		{"allowance allowed", r.Allowance.Allowed, 292}, // 1000 × (0.10 + 0.90 × 3/14)
		{"warm-up day", r.Settings.WarmupDay, 3},
		{"skipped rows listed", len(r.SkippedRows), 4},
		{"to check", len(r.ToCheck), 3},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if r.RateLimitedShare != 1.0/11 {
		t.Errorf("rate_limited_share = %v, want 1/11", r.RateLimitedShare)
	}
	if got := r.Failures[0]; got.Code != 131026 || !got.Known || got.Meaning == "" || got.Advice == "" {
		t.Errorf("failures[0] = %+v, want 131026 with the catalog's meaning and advice", got)
	}
	if p := r.Pauses[0]; !p.At.Equal(t0.Add(40*time.Second)) || !p.ResumedAt.Equal(t0.Add(10*time.Minute)) || !strings.Contains(string(p.Detail), `"share":0.125`) {
		t.Errorf("pause = %+v, want at t0+40s, resumed at t0+10m, with its figures", p)
	}
	// One attempt started in the minute 09:00:00 counts 8 attempts over 30.3 s of sending.
	if r.Throughput.ActiveSeconds <= 30 || r.Throughput.ActiveSeconds >= 31 {
		t.Errorf("active seconds = %v, want 30.3 + 0.2 (the 10-minute pause is not sending time)", r.Throughput.ActiveSeconds)
	}
}

// The JSON report has the keys scripts rely on.
func TestJSONKeys(t *testing.T) {
	st, id := goldenCampaign(t)
	r, err := Build(context.Background(), st, id, reportAt, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"campaign", "state", "recipients", "sent", "delivered", "read", "failed", "skipped",
		"uncertain", "remaining", "rate_limited", "rate_limited_share", "failed_by_code", "skipped_by_reason", "pauses", "batches",
		"replied", "settings", "throughput", "allowance", "failures", "cancelled", "retries"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON report has no %q key", k)
		}
	}
	var codes map[string]int
	if err := json.Unmarshal(m["failed_by_code"], &codes); err != nil || codes["131026"] != 2 {
		t.Errorf("failed_by_code = %s, want {\"131026\": 2}", m["failed_by_code"])
	}
}

// randomCampaign drives a campaign of n CSV rows through random outcomes
// with the Store API. It returns the number of rows.
func randomCampaign(t *testing.T, st store.Store, name string, seed uint64, finish bool) (int64, int) {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed))
	id := newCampaign(t, st, name, []string{"name"})
	n := 200 + rng.IntN(200)
	var rs []store.Recipient
	var skipped []store.SkippedRow
	for line := 2; line < n+2; line++ {
		switch rng.IntN(10) {
		case 0:
			skipped = append(skipped, store.SkippedRow{Line: line, Reason: "invalid_number", Raw: "x"})
		case 1:
			// A duplicate number: the store refuses or removes it; the importer records it skipped.
			rs = append(rs, store.Recipient{Line: line, Phone: "+5511900000002", Params: []string{"dup"}})
		default:
			rs = append(rs, store.Recipient{Line: line, Phone: fmt.Sprintf("+55119%08d", line), Params: []string{fmt.Sprint("n", line)}})
		}
	}
	dups, err := st.ImportBatch(ctx, id, rs, skipped)
	if err != nil {
		t.Fatal(err)
	}
	// The store refuses it now or removes it once the batches are in.
	if err := st.ImportDuplicates(ctx, id, func(ds []store.Duplicate) error {
		dups = append(dups, ds...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var dupSkips []store.SkippedRow
	for _, d := range dups {
		dupSkips = append(dupSkips, store.SkippedRow{Line: d.Line, Reason: "duplicate", Raw: d.Phone})
	}
	if _, err := st.ImportBatch(ctx, id, nil, dupSkips); err != nil {
		t.Fatal(err)
	}
	if finish {
		if err := st.FinishImport(ctx, id, n); err != nil {
			t.Fatal(err)
		}
	}
	recs := recipientIDs(t, st, id)
	lines := slices.Sorted(func(yield func(int) bool) {
		for l := range recs {
			if !yield(l) {
				return
			}
		}
	})
	s := newAttempter(t, st, id)
	var skip []int64
	at := t0
	for i := 0; i < len(lines); i += 10 {
		var os []outcome
		for _, l := range lines[i:min(i+10, len(lines))] {
			r := recs[l]
			states := []store.State{store.StateSent, store.StateSent, store.StateSent, store.StateFailed, store.StateRetry,
				store.StateDeferred, store.StateInFlight, "pending", "skip"}
			switch st := states[rng.IntN(len(states))]; st {
			case "pending":
			case "skip":
				skip = append(skip, r.ID)
			default:
				code := 0
				if st == store.StateFailed {
					code = []int{131026, 130472, 131000}[rng.IntN(3)]
				} else if st == store.StateRetry {
					code = 131056
				}
				os = append(os, outcome{r: r, state: st, code: code})
			}
		}
		s.batch(i/10+1, at, os...)
		at = at.Add(2 * time.Second)
	}
	if err := st.SkipRecipients(ctx, skip, "opted_out", at); err != nil {
		t.Fatal(err)
	}
	if seed%2 == 0 {
		// After a crash: in-flight recipients become uncertain.
		if _, err := st.MarkUncertain(ctx, id, at); err != nil {
			t.Fatal(err)
		}
	}
	return id, n
}

// The totals partition the CSV's rows, in the model and in the CSV export.
func TestTotalsPartitionTheRows(t *testing.T) {
	ctx := context.Background()
	for seed := uint64(1); seed <= 6; seed++ {
		finish := seed != 3 // seed 3: a report on an import still in progress
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			st := openStore(t)
			id, rows := randomCampaign(t, st, fmt.Sprint("random-", seed), seed, finish)
			r, err := Build(ctx, st, id, t0.Add(time.Hour), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Recipients != rows {
				t.Errorf("recipients = %d, want the %d CSV rows", r.Recipients, rows)
			}
			if sum := r.Sent + r.Failed + r.Skipped + r.Uncertain + r.Cancelled + r.InFlight + r.Remaining; sum != r.Recipients {
				t.Errorf("sent %d + failed %d + skipped %d + uncertain %d + in flight %d + remaining %d = %d, want recipients %d",
					r.Sent, r.Failed, r.Skipped, r.Uncertain, r.InFlight, r.Remaining, sum, r.Recipients)
			}
			counts, err := st.Counts(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if want := counts[store.StatePending] + counts[store.StateRetry] + counts[store.StateDeferred]; r.Remaining != want {
				t.Errorf("remaining = %d, want pending+retry+deferred = %d", r.Remaining, want)
			}
			if r.InFlight != counts[store.StateInFlight] {
				t.Errorf("in flight = %d, want %d, shown apart from remaining", r.InFlight, counts[store.StateInFlight])
			}
			if r.Delivered > r.Sent || r.Read > r.Delivered {
				t.Errorf("sent %d, delivered %d, read %d: want read ≤ delivered ≤ sent", r.Sent, r.Delivered, r.Read)
			}
			if seed%2 == 0 && counts[store.StateInFlight] != 0 {
				t.Errorf("in flight after MarkUncertain: %d", counts[store.StateInFlight])
			}

			// The CSV export has one row per CSV row, with the same partition.
			var buf bytes.Buffer
			if err := WriteCSV(ctx, st, id, &buf, CSVOptions{}); err != nil {
				t.Fatal(err)
			}
			recs := readCSV(t, buf.Bytes())
			if len(recs)-1 != rows {
				t.Errorf("CSV export has %d rows, want %d", len(recs)-1, rows)
			}
			byState := map[string]int{}
			lastLine := 0
			for _, rec := range recs[1:] {
				byState[rec[col(t, recs[0], "state")]]++
				line := atoi(t, rec[0])
				if line <= lastLine {
					t.Errorf("CSV line %d after line %d: want line order", line, lastLine)
				}
				lastLine = line
			}
			if byState["sent"] != r.Sent || byState["failed"] != r.Failed || byState["skipped"] != r.Skipped || byState["uncertain"] != r.Uncertain {
				t.Errorf("CSV states %v, want sent %d failed %d skipped %d uncertain %d", byState, r.Sent, r.Failed, r.Skipped, r.Uncertain)
			}
			if got := byState["pending"] + byState["retry"] + byState["deferred"]; got != r.Remaining || byState["in_flight"] != r.InFlight {
				t.Errorf("CSV remaining rows = %d and in flight %d, want %d and %d", got, byState["in_flight"], r.Remaining, r.InFlight)
			}

			// --only keeps exactly the rows in those states.
			buf.Reset()
			if err := WriteCSV(ctx, st, id, &buf, CSVOptions{Only: []store.State{store.StateFailed, store.StateUncertain, store.StateSkipped}}); err != nil {
				t.Fatal(err)
			}
			recs = readCSV(t, buf.Bytes())
			if got, want := len(recs)-1, r.Failed+r.Uncertain+r.Skipped; got != want {
				t.Errorf("--only failed,uncertain,skipped: %d rows, want %d", got, want)
			}
		})
	}
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV export does not parse: %v\n%s", err, b)
	}
	if len(recs) == 0 {
		t.Fatal("the CSV export has no header")
	}
	return recs
}

func col(t *testing.T, header []string, name string) int {
	t.Helper()
	i := slices.Index(header, name)
	if i < 0 {
		t.Fatalf("no column %q in %q", name, header)
	}
	return i
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// hostileCSV is a campaign CSV whose values attack the report's readers:
// HTML in a name, spreadsheet formulas in names, parameters and the phone
// cell, a terminal escape sequence.
const hostileCSV = `name,phone,order_id
<script>alert(1)</script>,+5511987654321,A-1
"=HYPERLINK(""http://x"",""y"")",+5511987654322,A-2
@SUM(1+1),+5511987654323,+1+2
"-cmd|' /C calc'!A0",+5511987654324,-2+3
Ana,"=HYPERLINK(""http://x"",""y"")",A-5
` + "Esc\x1b[31mRed,+5511987654326,A-6\n"

// importHostile imports hostileCSV through the real importer and fails
// every recipient, so they all appear in the "to check" list.
func importHostile(t *testing.T) (store.Store, int64) {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	id := newCampaign(t, st, "hostile", []string{"name", "order_id"})
	var rs []store.Recipient
	var skips []store.SkippedRow
	res, err := csvimport.Read(strings.NewReader(hostileCSV), "hostile.csv", csvimport.Config{Params: []string{"name", "order_id"}},
		func(r csvimport.Row) error {
			rs = append(rs, store.Recipient{Line: r.Line, Phone: r.Phone, Params: r.Params})
			return nil
		}, func(k csvimport.Skip) error {
			skips = append(skips, store.SkippedRow{Line: k.Line, Reason: k.Reason, Detail: k.Detail, Raw: k.Raw})
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 5 || len(skips) != 1 {
		t.Fatalf("import: %d rows, %d skipped; want 5 and 1", len(rs), len(skips))
	}
	if _, err := st.ImportBatch(ctx, id, rs, skips); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishImport(ctx, id, res.Rows); err != nil {
		t.Fatal(err)
	}
	var os []outcome
	for _, r := range recipientIDs(t, st, id) {
		os = append(os, outcome{r: r, state: store.StateFailed, code: 131026})
	}
	newAttempter(t, st, id).batch(1, t0, os...)
	return st, id
}

// CSV values come out inert: escaped in HTML, neutralised in the CSV
// export (E.164 numbers untouched), cleaned in text.
func TestHostileValuesAreInert(t *testing.T) {
	st, id := importHostile(t)
	ctx := context.Background()
	r, err := Build(ctx, st, id, t0.Add(time.Hour), Options{})
	if err != nil {
		t.Fatal(err)
	}

	var page bytes.Buffer
	if err := r.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	h := page.String()
	if strings.Contains(strings.ToLower(h), "<script") {
		t.Error("the HTML report contains a <script tag")
	}
	if !strings.Contains(h, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the HTML report does not show the <script> name, escaped")
	}
	if !strings.Contains(h, "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)") {
		t.Error("the HTML report does not show the HYPERLINK name, escaped")
	}
	if strings.Contains(h, `href="http://x"`) || strings.Contains(h, "\x1b") {
		t.Error("a CSV value became a link or kept an escape character in the HTML report")
	}

	var buf bytes.Buffer
	if err := WriteCSV(ctx, st, id, &buf, CSVOptions{}); err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, buf.Bytes())
	hdr := recs[0]
	byLine := map[string][]string{}
	for _, rec := range recs[1:] {
		byLine[rec[0]] = rec
	}
	name, phone, order := col(t, hdr, "name"), col(t, hdr, "phone"), col(t, hdr, "order_id")
	for _, c := range []struct {
		line, col int
		want      string
	}{
		{2, name, "<script>alert(1)</script>"},
		{2, phone, "+5511987654321"}, // E.164 stays as it is
		{3, name, `'=HYPERLINK("http://x","y")`},
		{4, name, "'@SUM(1+1)"},
		{4, order, "'+1+2"},
		{5, name, "'-cmd|' /C calc'!A0"},
		{5, order, "'-2+3"},
		{6, phone, `'=HYPERLINK("http://x","y")`}, // skipped at import: its raw phone cell
	} {
		if got := byLine[fmt.Sprint(c.line)][c.col]; got != c.want {
			t.Errorf("CSV line %d, column %s = %q, want %q", c.line, hdr[c.col], got, c.want)
		}
	}
	for _, rec := range recs {
		for _, cell := range rec {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !isPlainNumber(cell) {
				t.Errorf("CSV cell %q would run as a formula", cell)
			}
		}
	}

	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text.String(), "\x1b") {
		t.Error("the text report passes an escape character to the terminal")
	}
}

// --mask hides phone numbers in every format.
func TestMaskEveryFormat(t *testing.T) {
	st, id := goldenCampaign(t)
	ctx := context.Background()
	r, err := Build(ctx, st, id, reportAt, Options{Mask: true})
	if err != nil {
		t.Fatal(err)
	}
	outs := map[string]*bytes.Buffer{"text": {}, "json": {}, "html": {}, "csv": {}}
	for name, f := range map[string]func(w *bytes.Buffer) error{
		"text": func(w *bytes.Buffer) error { return r.WriteText(w) },
		"json": func(w *bytes.Buffer) error { return r.WriteJSON(w) },
		"html": func(w *bytes.Buffer) error { return r.WriteHTML(w) },
		"csv":  func(w *bytes.Buffer) error { return WriteCSV(ctx, st, id, w, CSVOptions{Mask: true}) },
	} {
		if err := f(outs[name]); err != nil {
			t.Fatal(err)
		}
	}
	for name, out := range outs {
		for line := 2; line <= 16; line++ {
			if p := fmt.Sprintf("+55119100000%02d", line); strings.Contains(out.String(), p) {
				t.Errorf("%s with --mask shows %s", name, p)
			}
		}
		if strings.Contains(out.String(), "9100-00003") {
			t.Errorf("%s with --mask shows the raw duplicate number", name)
		}
	}
	if !strings.Contains(outs["csv"].String(), "+55*********02") || !strings.Contains(outs["text"].String(), "+55*********13") {
		t.Error("masked numbers do not keep the country code and the last 2 digits")
	}
}

func TestMaskPhone(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"+5511987654321", "+55*********21"},
		{"+14155552671", "+1********71"},
		{"+351912345678", "+351*******78"},
		{"+44 7911 123456", "+44 **** ****56"},
		{"0055 11 9100-00003", "**** ** ****-***03"},
		{"12345", "***45"},
		{"+1", "+1"},
		{"", ""},
	} {
		if got := MaskPhone(c.in); got != c.want {
			t.Errorf("MaskPhone(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"+5511910000003 is the same number as line 3", "+55*********03 is the same number as line 3"},
		{"phone: 12345 has no country code", "phone: 12345 has no country code"},
		{"sent 2026-03-02 by 131026", "sent 2026-03-02 by 131026"},
	} {
		if got := MaskText(c.in); got != c.want {
			t.Errorf("MaskText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNeutralise(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"=1+1", "'=1+1"},
		{`=HYPERLINK("http://x","y")`, `'=HYPERLINK("http://x","y")`},
		{"+1+2", "'+1+2"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"+5511987654321", "+5511987654321"},
		{"-12.5", "-12.5"},
		{"+", "'+"},
		{"-", "'-"},
		{"Ana", "Ana"},
		{"", ""},
		{"a=b", "a=b"},
	} {
		if got := Neutralise(c.in); got != c.want {
			t.Errorf("Neutralise(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestParseStates(t *testing.T) {
	got, err := ParseStates([]string{"failed", " Uncertain", "skipped", "in-flight"})
	if err != nil {
		t.Fatal(err)
	}
	want := []store.State{store.StateFailed, store.StateUncertain, store.StateSkipped, store.StateInFlight}
	if !slices.Equal(got, want) {
		t.Errorf("ParseStates = %v, want %v", got, want)
	}
	got, _ = ParseStates([]string{"remaining"})
	if len(got) != 3 {
		t.Errorf("remaining = %v, want pending, retry, deferred (in_flight is its own)", got)
	}
	if _, err := ParseStates([]string{"failed", "lost"}); err == nil {
		t.Error("ParseStates accepted an unknown state")
	}
}

// The per-batch table of a large campaign is grouped, counts kept.
func TestGroupBatches(t *testing.T) {
	var bs []Batch
	for i := 1; i <= 1000; i++ {
		bs = append(bs, Batch{Batch: i, Start: t0.Add(time.Duration(i) * time.Second), Size: 100, Sent: 99, Failed: 1})
	}
	g := groupBatches(bs, 200)
	if len(g) != 200 {
		t.Fatalf("%d groups, want 200", len(g))
	}
	total := 0
	for _, b := range g {
		total += b.Size
	}
	if total != 100000 || g[0].Batches != 5 || g[1].Batch != 6 || !g[0].Start.Equal(t0.Add(time.Second)) {
		t.Errorf("groups: total %d, first %+v, second %+v", total, g[0], g[1])
	}
}

// A campaign with nothing sent yet reports zeros without failing.
func TestEmptyCampaign(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	id := newCampaign(t, st, "empty", nil)
	if _, err := st.ImportBatch(ctx, id, []store.Recipient{{Line: 2, Phone: "+5511987654321"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishImport(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	r, err := Build(ctx, st, id, t0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Recipients != 1 || r.Remaining != 1 || r.Sent != 0 {
		t.Errorf("recipients %d, remaining %d, sent %d; want 1, 1, 0", r.Recipients, r.Remaining, r.Sent)
	}
	for name, f := range map[string]func(*bytes.Buffer) error{
		"text": func(w *bytes.Buffer) error { return r.WriteText(w) },
		"html": func(w *bytes.Buffer) error { return r.WriteHTML(w) },
		"csv":  func(w *bytes.Buffer) error { return WriteCSV(ctx, st, id, w, CSVOptions{}) },
	} {
		var b bytes.Buffer
		if err := f(&b); err != nil || b.Len() == 0 {
			t.Errorf("%s: %v, %d bytes", name, err, b.Len())
		}
	}
}

// WriteFile replaces a file whole, or leaves the old one when the write
// fails.
func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	if err := WriteFile(path, func(w io.Writer) error { _, err := io.WriteString(w, "old"); return err }); err != nil {
		t.Fatal(err)
	}
	err := WriteFile(path, func(w io.Writer) error {
		io.WriteString(w, "half")
		return errors.New("disk full")
	})
	if err == nil {
		t.Fatal("WriteFile hid the write error")
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Errorf("after a failed write the file holds %q, want the old report", b)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("%d files in the directory, want only the report (no temporary file left)", len(es))
	}
}

func TestIsMaskedPhone(t *testing.T) {
	for s, want := range map[string]bool{
		"+55*********21": true, "+1********71": true, "+55*21": true,
		"+55": false, "+*21": false, "+55**": false, "+55**2*1": false, "+55*=1": false, "+5511": false,
	} {
		if got := isMaskedPhone(s); got != want {
			t.Errorf("isMaskedPhone(%q) = %v, want %v", s, got, want)
		}
	}
}

// failingWriter fails once it has taken n bytes, like a full disk.
type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n -= len(p); f.n < 0 {
		return 0, errors.New("no space left on device")
	}
	return len(p), nil
}

// A write error ends the streamed export with that error.
func TestWriteCSVWriteError(t *testing.T) {
	st := openStore(t)
	id, _ := randomCampaign(t, st, "big-enough", 7, true)
	for _, n := range []int{0, 100, 5000} {
		err := WriteCSV(context.Background(), st, id, &failingWriter{n: n}, CSVOptions{})
		if err == nil || !strings.Contains(err.Error(), "no space left") {
			t.Errorf("after %d bytes: err = %v, want the writer's error", n, err)
		}
	}
}

// An export of several batches keeps every row, in line order, with the
// rows skipped at import in their place.
func TestWriteCSVManyBatches(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	id := newCampaign(t, st, "many", []string{"name"})
	const rows = 3*csvBatch + 17
	var rs []store.Recipient
	var skipped []store.SkippedRow
	for i := range rows {
		line := i + 2
		if i%97 == 0 {
			skipped = append(skipped, store.SkippedRow{Line: line, Reason: "invalid_number", Raw: fmt.Sprint("bad", line)})
			continue
		}
		rs = append(rs, store.Recipient{Line: line, Phone: fmt.Sprintf("+55119%08d", i), Params: []string{fmt.Sprint("n", line)}})
	}
	if _, err := st.ImportBatch(ctx, id, rs, skipped); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(ctx, st, id, &buf, CSVOptions{}); err != nil {
		t.Fatal(err)
	}
	recs := readCSV(t, buf.Bytes())
	if len(recs)-1 != rows {
		t.Fatalf("%d rows, want %d", len(recs)-1, rows)
	}
	for i, rec := range recs[1:] {
		line := i + 2
		want := fmt.Sprint("n", line)
		if i%97 == 0 {
			want = ""
		}
		if rec[0] != fmt.Sprint(line) || rec[2] != want {
			t.Fatalf("row %d = %q, want line %d with name %q", i+1, rec, line, want)
		}
	}
}

// --warmup-days 0 is stored as -1 (0 means the default); no report shows
// the -1: JSON says 0, text and HTML say there is no warm-up. The other
// settings show their defaults.
func TestNoWarmupShownAsNone(t *testing.T) {
	st := openStore(t)
	s := campaign.Settings{Template: "order_update", Language: "en_US", PhoneNumberID: fixturePhoneID, Tier: "1000", WarmupDays: -1}
	id, err := st.CreateCampaign(t.Context(), store.Campaign{Name: "nowarmup", CSVHash: "h", Template: s.Template, Language: s.Language,
		PhoneNumberID: fixturePhoneID, Scope: fixtureScope, Settings: s.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportBatch(t.Context(), id, []store.Recipient{{Line: 2, Phone: "+5511900000001"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishImport(t.Context(), id, 1); err != nil {
		t.Fatal(err)
	}
	r, err := Build(t.Context(), st, id, t0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var js, text, html bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Settings map[string]any `json:"settings"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"warmup_days": 0.0, "rate": campaign.DefaultRate, "batch_size": float64(campaign.DefaultBatchSize),
		"max_attempts": float64(campaign.DefaultMaxAttempts), "pair_interval": campaign.DefaultPairInterval.String()}
	for k, v := range want {
		if got.Settings[k] != v {
			t.Errorf("JSON settings %s = %v, want %v", k, got.Settings[k], v)
		}
	}
	if !strings.Contains(text.String(), "no warm-up") || strings.Contains(text.String(), "of -1") {
		t.Errorf("text report does not say there is no warm-up:\n%s", text.String())
	}
	if !strings.Contains(html.String(), "none (--warmup-days 0)") || strings.Contains(html.String(), "of -1") {
		t.Error("HTML report does not say there is no warm-up")
	}
}

// A retry run's line counts remaining as the totals do (campaign.Remaining:
// pending, retry, deferred); in flight and expired show on their own.
func TestRetryLineRemaining(t *testing.T) {
	r := Retry{Number: 2, At: t0, Requeued: 7, ByCode: map[string]int{"131000": 7},
		Outcome: map[string]int{"sent": 1, "pending": 1, "retry": 1, "deferred": 1, "in_flight": 2, "expired": 1}}
	want := "retry 2 at 2026-03-02T09:00:00Z: 7 re-queued (131000 ×7): 1 sent, 1 expired, 2 in flight, 3 remaining"
	if got := r.String(); got != want {
		t.Errorf("retry line\n got %s\nwant %s", got, want)
	}
}
