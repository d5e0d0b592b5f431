package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"github.com/whatsend/whatsend/campaign"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// WriteText writes the report for a person at a terminal: the summary,
// then the tables. Values that came from the CSV are cleaned of control
// characters, so a recipient's name cannot drive the terminal.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format, args...) }

	p("campaign %s (id %d)%s: %s\n", clean(r.Campaign), r.CampaignID, ifs(r.Rehearsal, " (rehearsal)"), r.State)
	if r.PauseReason != "" {
		p("  paused: %s\n", clean(r.PauseReason))
	}
	s := r.Settings
	p("  template %s (%s), params %s\n", clean(r.Template), clean(r.Language), cleanList(s.Params))
	p("  number %s, scope %s%s\n", s.PhoneNumberID, clean(s.Scope), ifs(s.Simulate, " (simulated)"))
	tier := "from the API"
	if s.Tier != "api" {
		tier = "--tier " + s.Tier
	}
	p("  rate %g msg/s, batches of %d every %s, pair interval %s, at most %d attempts\n",
		s.Rate, s.BatchSize, s.BatchInterval, s.PairInterval, s.MaxAttempts)
	warmup := fmt.Sprintf("warm-up day %d of %d", s.WarmupDay, s.WarmupDays)
	if s.WarmupDays == 0 {
		warmup = "no warm-up"
	} else if s.WarmupDay >= s.WarmupDays {
		warmup = fmt.Sprintf("warm-up over (day %d)", s.WarmupDay)
	}
	p("  limit %s%s, %s\n", tier, ifs(s.DailyLimit > 0, fmt.Sprintf(", --daily-limit %d", s.DailyLimit)), warmup)
	if s.Window != "" {
		p("  send window %s\n", clean(s.Window))
	}
	if s.NextOpening != nil {
		p("  next window opening (or retry) %s\n", campaign.LocalTime(*s.NextOpening))
	}
	if s.NotAfter != nil {
		p("  not after %s\n", campaign.LocalTime(*s.NotAfter))
	}
	p("  report at %s\n", r.GeneratedAt.Format(time.RFC3339))

	p("\ntotals\n")
	t := table(bw)
	row := func(name string, n int, note string) {
		fmt.Fprintf(t, "  %s\t%d\t%s\t%s\n", name, n, pctOf(n, r.Recipients), note)
	}
	row("recipients", r.Recipients, "every CSV row, skipped ones included")
	row("sent", r.Sent, fmt.Sprintf("delivered %d, read %d, replied %d", r.Delivered, r.Read, r.Replied))
	row("failed", r.Failed, "")
	row("skipped", r.Skipped, "")
	row("uncertain", r.Uncertain, ifs(r.Uncertain > 0, "may have reached Meta: not re-sent unless resume --resend-uncertain"))
	row("cancelled", r.Cancelled, ifs(r.Cancelled > 0, "not sent: the campaign was cancelled"))
	row("expired", r.Expired, ifs(r.Expired > 0, "not sent: the campaign's --not-after passed first"))
	rb := r.RemainingByState
	if r.InFlight > 0 {
		row("in flight", r.InFlight, "a run was stopped with these requests out: the next run settles them")
	}
	row("remaining", r.Remaining, fmt.Sprintf("pending %d, retry %d, deferred %d", rb["pending"], rb["retry"], rb["deferred"]))
	t.Flush()

	if r.ResentAfterSilence > 0 {
		p("resent_after_silence: %d uncertain recipients resent once: no status came for them while the webhook receiver was up\n", r.ResentAfterSilence)
	}
	p("\n131056 (pair rate limit): %d of %d attempts, %.1f%%\n", r.RateLimited, r.Attempts, r.RateLimitedShare*100)
	tp := r.Throughput
	if tp.FirstSend.IsZero() {
		p("throughput: nothing sent yet\n")
	} else {
		p("throughput: %.1f msg/s over %s of sending; peak %d sent in the minute from %s\n",
			tp.Overall, seconds(tp.ActiveSeconds), tp.PeakPerMinute, tp.PeakMinute.Format("15:04"))
		p("  first attempt %s, last %s\n", tp.FirstSend.Format(time.RFC3339), tp.LastSend.Format(time.RFC3339))
	}
	a := r.Allowance
	switch {
	case a.Allowed < 0:
		p("allowance (scope %s): no cap; %d unique recipients in the last 24 h\n", clean(a.Scope), a.Used)
	default:
		p("allowance (scope %s): %d of %d unique recipients used in the last 24 h (limit %d from %s, warm-up day %d); %d left now\n",
			clean(a.Scope), a.Used, a.Allowed, a.Limit, clean(a.LimitSource), a.WarmupDay, a.Left)
		if !a.FreesNext.IsZero() {
			p("  capacity frees next at %s\n", a.FreesNext.Format(time.RFC3339))
		}
	}

	if len(r.Pauses) > 0 {
		p("\npauses\n")
		t := table(bw)
		fmt.Fprintf(t, "  AT\tRESUMED\tREASON\n")
		for _, ps := range r.Pauses {
			resumed := "not yet"
			if !ps.ResumedAt.IsZero() {
				resumed = ps.ResumedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(t, "  %s\t%s\t%s\n", ps.At.Format(time.RFC3339), resumed, clean(ps.Reason))
			if f := figures(ps.Detail); f != "" {
				fmt.Fprintf(t, "  \t\tfigures: %s\n", clean(f))
			}
		}
		t.Flush()
	}

	if len(r.Retries) > 0 {
		p("\nretries\n")
		for _, rt := range r.Retries {
			p("  %s\n", rt)
		}
	}

	if len(r.Failures) > 0 {
		p("\nfailed by code\n")
		t := table(bw)
		fmt.Fprintf(t, "  CODE\tCOUNT\tMEANING\n")
		for _, f := range r.Failures {
			fmt.Fprintf(t, "  %d\t%d\t%s\n", f.Code, f.Count, f.Meaning)
			fmt.Fprintf(t, "  \t\tadvice: %s\n", f.Advice)
		}
		t.Flush()
	}

	if len(r.SkippedByReason) > 0 {
		p("\nskipped by reason\n")
		t := table(bw)
		fmt.Fprintf(t, "  REASON\tCOUNT\n")
		for _, k := range slices.Sorted(maps.Keys(r.SkippedByReason)) {
			fmt.Fprintf(t, "  %s\t%d\n", clean(k), r.SkippedByReason[k])
		}
		t.Flush()
	}

	if len(r.SkippedRows) > 0 {
		rows := r.SkippedRows[:min(len(r.SkippedRows), textRows)]
		p("\nskipped rows%s\n", omitted(len(rows), r.SkippedRowsOmitted+len(r.SkippedRows)-len(rows)))
		t := table(bw)
		fmt.Fprintf(t, "  LINE\tREASON\tDETAIL\n")
		for _, k := range rows {
			fmt.Fprintf(t, "  %d\t%s\t%s\n", k.Line, clean(k.Reason), clean(k.Detail))
		}
		t.Flush()
	}

	if len(r.ToCheck) > 0 {
		rows := r.ToCheck[:min(len(r.ToCheck), textRows)]
		p("\nrecipients to check: uncertain and failed%s\n", omitted(len(rows), r.ToCheckOmitted+len(r.ToCheck)-len(rows)))
		t := table(bw)
		fmt.Fprintf(t, "  LINE\tPHONE\tSTATE\tCODE\tPARAMS\n")
		for _, rc := range rows {
			code := ""
			if rc.Code != 0 {
				code = fmt.Sprint(rc.Code)
			}
			fmt.Fprintf(t, "  %d\t%s\t%s\t%s\t%s\n", rc.Line, clean(rc.Phone), rc.State, code, cleanList(rc.Params))
		}
		t.Flush()
	}

	if len(r.Batches) > 0 {
		p("\nbatches\n")
		t := table(bw)
		fmt.Fprintf(t, "  BATCH\tSTART\tSIZE\tSENT\tFAILED\t131056\n")
		for _, b := range r.Batches {
			name := fmt.Sprint(b.Batch)
			if b.Batches > 1 {
				name = fmt.Sprintf("%d-%d", b.Batch, b.Batch+b.Batches-1)
			}
			fmt.Fprintf(t, "  %s\t%s\t%d\t%d\t%d\t%d\n", name, b.Start.Format(time.RFC3339), b.Size, b.Sent, b.Failed, b.RateLimited)
		}
		t.Flush()
	}
	return bw.Flush()
}

// seconds rounds a duration for reading: to 10 ms under a minute.
func seconds(s float64) time.Duration {
	d := time.Duration(s * float64(time.Second))
	if d < time.Minute {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// table aligns columns; trailing blanks (an empty last cell) are dropped.
// textRows is how many skipped rows and recipients to check the text
// report lists; JSON and HTML list Options.MaxRows, the CSV export all.
const textRows = 20

func table(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(&trimWriter{w: w}, 0, 0, 2, ' ', 0)
}

// trimWriter drops the spaces that end a line.
type trimWriter struct {
	w      io.Writer
	spaces int
}

func (t *trimWriter) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p))
	for _, c := range p {
		switch c {
		case ' ':
			t.spaces++
			continue
		case '\n':
			t.spaces = 0
		default:
			for ; t.spaces > 0; t.spaces-- {
				out = append(out, ' ')
			}
		}
		out = append(out, c)
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

func pctOf(a, b int) string {
	if b == 0 {
		return "0.0%"
	}
	return fmt.Sprintf("%.1f%%", float64(a)/float64(b)*100)
}

func ifs(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}

func omitted(shown, more int) string {
	if more == 0 {
		return ""
	}
	return fmt.Sprintf(" (first %d; %d more in the CSV export: whatsend report --format csv)", shown, more)
}

// figures renders a pause's JSON detail as sorted key=value pairs.
func figures(detail json.RawMessage) string {
	var m map[string]any
	if json.Unmarshal(detail, &m) != nil || len(m) == 0 {
		return string(detail)
	}
	// The guard's 131056 pause, in words.
	var ratio struct {
		Kind      string  `json:"kind"`
		Share     float64 `json:"share"`
		Window    int     `json:"window"`
		Hits      int     `json:"hits"`
		Threshold float64 `json:"threshold"`
	}
	if json.Unmarshal(detail, &ratio) == nil && ratio.Kind == "ratio" && ratio.Window > 0 {
		return fmt.Sprintf("131056 share %.1f %% over the last %d attempts (%d answered 131056), limit %.0f %%",
			ratio.Share*100, ratio.Window, ratio.Hits, ratio.Threshold*100)
	}
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v, _ := json.Marshal(m[k])
		parts = append(parts, k+"="+strings.Trim(string(v), `"`))
	}
	return strings.Join(parts, " ")
}

// clean replaces control characters (an escape sequence in a recipient's
// name would otherwise reach the terminal) with U+FFFD.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

func cleanList(xs []string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = clean(x)
	}
	return strings.Join(out, ", ")
}
