// Package report builds what a user reads after a run: a campaign's
// settings, state and pause history, its totals (which partition the CSV's
// rows), failures by code with the catalog's meaning and advice, skips by
// reason, the 131056 share, throughput, the per-batch table and the
// messaging-limit allowance; rendered as text, JSON, CSV (one row per CSV
// row, streamed) and a self-contained HTML page.
//
// A report only reads the store, so it can be built while a run is in
// progress (the SQLite store's readers never block its writer).
package report

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// Report is a campaign's report model. Its JSON shape is relied on by
// scripts: keys are only ever added.
//
// The totals partition the CSV: Recipients (every data row, those skipped
// at import included) = Sent + Failed + Skipped + Uncertain + Cancelled +
// Expired + InFlight + Remaining.
// Delivered and Read are part of Sent; Remaining is pending + retry +
// deferred (campaign.Remaining). InFlight are recipients a killed run left
// with a request out: the next run settles them.
type Report struct {
	Campaign   string `json:"campaign"`
	CampaignID int64  `json:"campaign_id"`
	State      string `json:"state"`
	// Rehearsal: a --simulate campaign; nothing it reports sent left the
	// machine.
	Rehearsal   bool      `json:"rehearsal"`
	PauseReason string    `json:"pause_reason,omitempty"`
	Template    string    `json:"template"`
	Language    string    `json:"language"`
	Settings    Settings  `json:"settings"`
	GeneratedAt time.Time `json:"generated_at"`
	Masked      bool      `json:"masked,omitempty"`

	Totals

	FailedByCode    map[string]int `json:"failed_by_code"`
	Failures        []Failure      `json:"failures"`
	SkippedByReason map[string]int `json:"skipped_by_reason"`
	// SkippedRows lists skipped rows in line order, at most Options.MaxRows
	// of them; SkippedRowsOmitted says how many more the CSV export has.
	SkippedRows        []SkippedRow `json:"skipped_rows"`
	SkippedRowsOmitted int          `json:"skipped_rows_omitted"`
	// ToCheck lists uncertain and failed recipients in line order, at most
	// Options.MaxRows of them.
	ToCheck        []Recipient `json:"to_check"`
	ToCheckOmitted int         `json:"to_check_omitted"`

	Pauses     []Pause    `json:"pauses"`
	Retries    []Retry    `json:"retries"` // whatsend retry runs, oldest first
	Batches    []Batch    `json:"batches"`
	Throughput Throughput `json:"throughput"`
	Allowance  Allowance  `json:"allowance"`
	// Numbers are the figures of each sending number, for a campaign that
	// sends from several.
	Numbers  []Number `json:"numbers,omitempty"`
	Timeline []Point  `json:"timeline"`
	fine     []Point  // per second (Minute holds the second): the charts of a run shorter than maxFine seconds of sending
}

// Totals are a campaign's figures that every view shows alike (the report,
// the end-of-run summary in JSON): TotalsOf computes them once.
type Totals struct {
	Recipients       int            `json:"recipients"`
	Sent             int            `json:"sent"`
	Delivered        int            `json:"delivered"`
	Read             int            `json:"read"`
	Replied          int            `json:"replied"`
	Failed           int            `json:"failed"`
	Skipped          int            `json:"skipped"`
	Uncertain        int            `json:"uncertain"`
	Cancelled        int            `json:"cancelled"` // not sent: the campaign was cancelled
	Expired          int            `json:"expired"`   // not sent: its --not-after passed first
	InFlight         int            `json:"in_flight"`
	Remaining        int            `json:"remaining"`
	RemainingByState map[string]int `json:"remaining_by_state"`

	Attempts         int     `json:"attempts"`
	RateLimited      int     `json:"rate_limited"`       // attempts answered 131056
	RateLimitedShare float64 `json:"rate_limited_share"` // of all attempts, 0 to 1
	// ResentAfterSilence counts uncertain recipients resent once because no
	// status came for them while the webhook receiver was up (counted in
	// the states above: sent, failed... again).
	ResentAfterSilence int `json:"resent_after_silence"`
}

// TotalsOf computes a campaign's totals from one reading of its summary.
func TotalsOf(c store.Campaign, sum store.Summary) Totals {
	by := sum.ByState
	t := Totals{
		Sent:             by[store.StateSent],
		Delivered:        sum.ByDelivery[store.DeliveryDelivered] + sum.ByDelivery[store.DeliveryRead],
		Read:             sum.ByDelivery[store.DeliveryRead],
		Replied:          sum.Replied,
		Failed:           by[store.StateFailed],
		Skipped:          by[store.StateSkipped] + sum.ImportSkipped,
		Uncertain:        by[store.StateUncertain],
		Cancelled:        by[store.StateCancelled],
		Expired:          by[store.StateExpired],
		InFlight:         by[store.StateInFlight],
		Remaining:        campaign.Remaining(by),
		RemainingByState: map[string]int{},
		Attempts:         sum.Attempts,
		RateLimited:      sum.RateLimited,
		RateLimitedShare: campaign.CampaignShare(sum),

		ResentAfterSilence: sum.ResentAfterSilence,
	}
	for _, st := range campaign.RemainingStates {
		t.RemainingByState[string(st)] = by[st]
	}
	// Rows is recorded when the import finishes; until then (a report on
	// an import in progress) the rows seen so far are the recipients.
	t.Recipients = c.Rows
	if c.State == store.CampaignImporting || t.Recipients == 0 {
		t.Recipients = t.Sent + t.Failed + t.Skipped + t.Uncertain + t.Cancelled + t.Expired + t.InFlight + t.Remaining
	}
	return t
}

// Settings are the campaign's stored settings that explain its pace, with
// the defaults filled in.
type Settings struct {
	Params        []string `json:"params"`
	PhoneNumberID string   `json:"phone_number_id"`
	Scope         string   `json:"scope"`
	Rate          float64  `json:"rate"` // msg/s asked for
	BatchSize     int      `json:"batch_size"`
	BatchInterval string   `json:"batch_interval"`
	PairInterval  string   `json:"pair_interval"`
	MaxAttempts   int      `json:"max_attempts"`
	Tier          string   `json:"tier"` // --tier, or "api" when the limit comes from the API
	DailyLimit    int      `json:"daily_limit,omitempty"`
	WarmupDays    int      `json:"warmup_days"` // 0: no warm-up (--warmup-days 0)
	WarmupDay     int      `json:"warmup_day"`
	Simulate      bool     `json:"simulate,omitempty"`
	// Window is the send window as a person reads it; NotAfter the
	// campaign's --not-after (UTC). Both absent when not set.
	Window   string     `json:"window,omitempty"`
	NotAfter *time.Time `json:"not_after,omitempty"`
	// NextOpening is when the next held recipient's window opens (or a
	// retry comes due), while some wait.
	NextOpening *time.Time `json:"next_opening,omitempty"`
}

// Failure is one error code's count with the catalog's words.
type Failure struct {
	Code    int    `json:"code"`
	Count   int    `json:"count"`
	Known   bool   `json:"known"`
	Meaning string `json:"meaning"`
	Advice  string `json:"advice"`
}

// SkippedRow is one skipped CSV row: at import (bad number, duplicate,
// missing parameter...) or before sending (opted out, US marketing).
type SkippedRow struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
	Value  string `json:"value,omitempty"` // the offending value, as the CSV had it
}

// Recipient is one recipient in the "to check" list.
type Recipient struct {
	Line     int      `json:"line"`
	Phone    string   `json:"phone"`
	Params   []string `json:"params"`
	State    string   `json:"state"`
	Attempts int      `json:"attempts"`
	Code     int      `json:"code,omitempty"`
	Meaning  string   `json:"meaning,omitempty"`
	Detail   string   `json:"detail,omitempty"`
	// ResentAfterSilence: it was uncertain and resent once after silence.
	ResentAfterSilence bool `json:"resent_after_silence,omitempty"`
}

// Pause is one pause with its reason and figures.
type Pause struct {
	At        time.Time       `json:"at"`
	Reason    string          `json:"reason"`
	Detail    json.RawMessage `json:"detail,omitempty"`
	ResumedAt time.Time       `json:"resumed_at,omitzero"`
}

// Retry is one retry run (whatsend retry --failed): failed recipients
// re-queued together, and what became of them.
type Retry struct {
	Number   int            `json:"number"`
	At       time.Time      `json:"at"`
	Requeued int            `json:"requeued"`
	ByCode   map[string]int `json:"by_code"`   // re-queued by the code they had failed with
	OptedOut int            `json:"opted_out"` // failed with a retried code but opted out: not re-queued
	// Outcome counts the re-queued recipients by their state now; one a
	// later retry re-queued again counts as failed.
	Outcome map[string]int `json:"outcome"`
}

// String is the run's line in the report: "retry 1 at <time>: 12
// re-queued (131026 ×10, 131000 ×2): 11 sent, 1 failed".
func (r Retry) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "retry %d at %s: %d re-queued (%s)", r.Number, r.At.UTC().Format(time.RFC3339), r.Requeued, CodeCounts(r.ByCode))
	if r.OptedOut > 0 {
		fmt.Fprintf(&b, ", %d opted out (not re-queued)", r.OptedOut)
	}
	var parts []string
	for _, k := range []struct {
		name string
		n    int
	}{
		{"sent", r.Outcome[string(store.StateSent)]}, {"failed", r.Outcome[string(store.StateFailed)]},
		{"skipped", r.Outcome[string(store.StateSkipped)]}, {"uncertain", r.Outcome[string(store.StateUncertain)]},
		{"cancelled", r.Outcome[string(store.StateCancelled)]}, {"expired", r.Outcome[string(store.StateExpired)]},
		{"in flight", r.Outcome[string(store.StateInFlight)]}, {"remaining", campaign.Remaining(r.Outcome)},
	} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k.n, k.name))
		}
	}
	if len(parts) > 0 {
		b.WriteString(": " + strings.Join(parts, ", "))
	}
	return b.String()
}

// CodeCounts renders counts by error code, most frequent first, then by
// code: "131026 ×10, 131000 ×2".
func CodeCounts[K comparable](m map[K]int) string {
	type kv struct {
		k string
		n int
	}
	var kvs []kv
	for k, n := range m {
		kvs = append(kvs, kv{fmt.Sprint(k), n})
	}
	sort.Slice(kvs, func(i, j int) bool {
		if kvs[i].n != kvs[j].n {
			return kvs[i].n > kvs[j].n
		}
		return kvs[i].k < kvs[j].k
	})
	parts := make([]string, len(kvs))
	for i, x := range kvs {
		parts[i] = fmt.Sprintf("%s ×%d", x.k, x.n)
	}
	return strings.Join(parts, ", ")
}

// Batch is one row of the per-batch table.
type Batch struct {
	Batch       int       `json:"batch"`
	Batches     int       `json:"batches,omitempty"` // >1 when consecutive batches were grouped
	Start       time.Time `json:"start"`
	Size        int       `json:"size"` // attempts
	Sent        int       `json:"sent"`
	Failed      int       `json:"failed"`
	RateLimited int       `json:"rate_limited"`
}

// Throughput is the send rate achieved.
type Throughput struct {
	FirstSend time.Time `json:"first_send,omitzero"`
	LastSend  time.Time `json:"last_send,omitzero"`
	// ActiveSeconds is the time spent sending: gaps of more than a minute
	// between attempts (pauses, an allowance used up, the next day's run)
	// are not counted.
	ActiveSeconds float64   `json:"active_seconds"`
	Overall       float64   `json:"overall_per_second"` // sent per active second
	PeakPerMinute int       `json:"peak_per_minute"`
	PeakMinute    time.Time `json:"peak_minute,omitzero"`
}

// Allowance is the messaging-limit scope's rolling 24 h window at the
// report's time, as `whatsend status` computes it.
type Allowance struct {
	Scope       string    `json:"scope"`
	Limit       int       `json:"limit"` // unique recipients per 24 h; -1 unlimited
	LimitSource string    `json:"limit_source"`
	WarmupStart time.Time `json:"warmup_start,omitzero"`
	WarmupDay   int       `json:"warmup_day"`
	Allowed     int       `json:"allowed"` // today's allowance after the warm-up; -1 unlimited
	Used        int       `json:"used_last_24h"`
	Left        int       `json:"left"` // -1 unlimited
	FreesNext   time.Time `json:"frees_next,omitzero"`
}

// Point is one minute of the timeline (minutes without attempts are left
// out).
type Point struct {
	Minute      time.Time `json:"minute"`
	Attempts    int       `json:"attempts"`
	Sent        int       `json:"sent"`
	Failed      int       `json:"failed"`
	RateLimited int       `json:"rate_limited"`
	// WindowShare is the 131056 share over the guard's window (the last
	// GuardWindow attempts) at the minute's last attempt: what the guard
	// compares with the slow-down and pause thresholds.
	WindowShare float64 `json:"window_share"`

	peakShare float64 // the highest window share within the point (charts)
	failedRL  int     // failed attempts answered 131056 (charts)
}

// add counts one attempt into the point; share is the guard's window share
// after it, when it was answered (ok).
func (p *Point) add(a store.AttemptMark, share float64, ok bool) {
	p.Attempts++
	switch a.State {
	case store.StateSent:
		p.Sent++
	case store.StateFailed:
		p.Failed++
		if a.Code == rateLimitedCode {
			p.failedRL++
		}
	}
	if a.Code == rateLimitedCode {
		p.RateLimited++
	}
	if ok {
		p.WindowShare = share
		p.peakShare = max(p.peakShare, share)
	}
}

// maxFine bounds the per-second series the charts of a short run use.
const maxFine = 6 * 3600

// Options tune a report.
type Options struct {
	MaxBatches int  // group the per-batch table beyond this many rows (default 200)
	MaxRows    int  // rows listed in SkippedRows and ToCheck (default 100)
	Mask       bool // mask phone numbers (country code and last 2 digits kept)
}

func (o Options) withDefaults() Options {
	o.MaxBatches = cmp.Or(o.MaxBatches, 200)
	o.MaxRows = cmp.Or(o.MaxRows, 100)
	return o
}

// Store is what a report reads from the store: read methods only, so a
// report can be built from a store opened read-only.
type Store interface {
	campaign.ScopeReader
	Campaign(ctx context.Context, id int64) (store.Campaign, error)
	Summary(ctx context.Context, campaignID int64) (store.Summary, error)
	NextDue(ctx context.Context, campaignID int64) (time.Time, bool, error)
	Pauses(ctx context.Context, campaignID int64) ([]store.Pause, error)
	Retries(ctx context.Context, campaignID int64) ([]store.RetryRun, error)
	Skipped(ctx context.Context, campaignID int64) ([]store.SkippedRow, error)
	Recipients(ctx context.Context, campaignID int64, fn func(store.Recipient) error) error
	AttemptMarks(ctx context.Context, campaignID int64, fn func(store.AttemptMark) error) error
	Phone(ctx context.Context, phoneNumberID string) (store.PhoneRecord, error)
}

// Build reads a campaign's report from the store at the instant now.
func Build(ctx context.Context, st Store, campaignID int64, now time.Time, opts Options) (*Report, error) {
	opts = opts.withDefaults()
	c, err := st.Campaign(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	s, err := campaign.DecodeSettings(c.Settings)
	if err != nil {
		return nil, err
	}
	r := &Report{
		Campaign: c.Name, CampaignID: c.ID, State: string(c.State), Template: c.Template, Language: c.Language,
		GeneratedAt: now.UTC(), Masked: opts.Mask, Settings: settingsOf(c, s), Rehearsal: s.Simulate,
		FailedByCode: map[string]int{}, SkippedByReason: map[string]int{},
		Failures: []Failure{}, SkippedRows: []SkippedRow{}, ToCheck: []Recipient{},
		Pauses: []Pause{}, Retries: []Retry{}, Batches: []Batch{}, Timeline: []Point{},
	}
	if c.State == store.CampaignPaused {
		r.PauseReason = c.PauseReason
	}
	// The reads are independent and each fills its own fields of r, so they
	// run at once on the store's reader pool: on a 1,000,000-row campaign
	// the attempts alone take as long as all the others together.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	wg.Go(func() {
		sum, err := st.Summary(ctx, campaignID)
		if err != nil {
			errs[0] = err
			return
		}
		r.totals(c, sum)
		r.Numbers = NumbersOf(ctx, st, sum)
		errs[0] = r.readRows(ctx, st, campaignID, opts)
	})
	wg.Go(func() { errs[1] = r.readAttempts(ctx, st, campaignID, s, opts) })
	wg.Go(func() { errs[2] = r.readAllowance(ctx, st, c, s, now) })
	wg.Go(func() { errs[3] = errors.Join(r.readPauses(ctx, st, campaignID), r.readRetries(ctx, st, campaignID)) })
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	r.Settings.WarmupDay = r.Allowance.WarmupDay
	if r.Settings.Window != "" && r.RemainingByState[string(store.StatePending)] > 0 && !c.State.Closed() {
		// Pending recipients not due are held outside their window.
		if next, ok, err := st.NextDue(ctx, campaignID); err == nil && ok {
			u := next.UTC()
			r.Settings.NextOpening = &u
		}
	}
	return r, nil
}

// totals fills the partition and the per-code and per-reason counts.
func (r *Report) totals(c store.Campaign, sum store.Summary) {
	r.Totals = TotalsOf(c, sum)
	maps.Copy(r.SkippedByReason, sum.SkippedByReason)
	codes := slices.Sorted(maps.Keys(sum.FailedByCode))
	for _, code := range codes {
		n := sum.FailedByCode[code]
		r.FailedByCode[strconv.Itoa(code)] = n
		r.Failures = append(r.Failures, failureOf(code, n))
	}
	// Most frequent first: the top of the table is what to act on.
	sort.SliceStable(r.Failures, func(i, j int) bool { return r.Failures[i].Count > r.Failures[j].Count })
}

func failureOf(code, n int) Failure {
	if code == 0 {
		// The store's "no code": a failure settled without one.
		return Failure{Code: 0, Count: n, Meaning: "no error code was recorded",
			Advice: "see each recipient's detail: whatsend report --format csv --only failed"}
	}
	e := sender.Lookup(code)
	return Failure{Code: code, Count: n, Known: e.Known, Meaning: e.Meaning, Advice: e.Advice}
}

func meaningOf(code int) string {
	if code == 0 {
		return ""
	}
	return sender.Lookup(code).Meaning
}

func settingsOf(c store.Campaign, s campaign.Settings) Settings {
	s = s.WithDefaults()
	out := Settings{
		Params:        c.Params,
		PhoneNumberID: c.PhoneNumberID,
		Scope:         c.Scope,
		Rate:          s.Rate,
		BatchSize:     s.BatchSize,
		BatchInterval: time.Duration(s.BatchInterval).String(),
		PairInterval:  time.Duration(s.PairInterval).String(),
		MaxAttempts:   s.MaxAttempts,
		Tier:          cmp.Or(s.Tier, "api"),
		DailyLimit:    s.DailyLimit,
		WarmupDays:    max(s.WarmupDays, 0),
		Simulate:      s.Simulate,
		Window:        campaign.DescribeWindow(s),
	}
	if end, ok, err := campaign.NotAfter(s.NotAfter, c.CreatedAt); err == nil && ok {
		u := end.UTC()
		out.NotAfter = &u
	}
	if out.Params == nil {
		out.Params = []string{}
	}
	return out
}

func (r *Report) readPauses(ctx context.Context, st Store, campaignID int64) error {
	ps, err := st.Pauses(ctx, campaignID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		q := Pause{At: p.At.UTC(), Reason: p.Reason, ResumedAt: p.ResumedAt}
		if len(p.Detail) > 0 && json.Valid(p.Detail) {
			q.Detail = json.RawMessage(p.Detail)
		}
		if !q.ResumedAt.IsZero() {
			q.ResumedAt = q.ResumedAt.UTC()
		}
		r.Pauses = append(r.Pauses, q)
	}
	return nil
}

func (r *Report) readRetries(ctx context.Context, st Store, campaignID int64) error {
	runs, err := st.Retries(ctx, campaignID)
	if err != nil {
		return err
	}
	for _, run := range runs {
		q := Retry{Number: run.Number, At: run.At.UTC(), Requeued: run.Requeued, OptedOut: run.OptedOut,
			ByCode: map[string]int{}, Outcome: map[string]int{}}
		for code, n := range run.ByCode {
			q.ByCode[strconv.Itoa(code)] = n
		}
		for st, n := range run.Outcome {
			q.Outcome[string(st)] = n
		}
		r.Retries = append(r.Retries, q)
	}
	return nil
}

// errListsFull stops the recipient scan once every list is full.
var errListsFull = errors.New("lists full")

// readRows lists the first skipped rows and the first recipients to check.
// It reads recipients only when some are failed, uncertain or skipped at
// send time, and stops as soon as both lists are full.
func (r *Report) readRows(ctx context.Context, st Store, campaignID int64, opts Options) error {
	imported, err := st.Skipped(ctx, campaignID)
	if err != nil {
		return err
	}
	var skips []SkippedRow
	for _, k := range imported[:min(len(imported), opts.MaxRows)] {
		skips = append(skips, skippedRowOf(k, opts.Mask))
	}
	sendSkipped := r.Skipped - len(imported)
	toCheck := r.Failed + r.Uncertain
	var late []SkippedRow
	if sendSkipped > 0 || toCheck > 0 {
		err := st.Recipients(ctx, campaignID, func(rc store.Recipient) error {
			switch rc.State {
			case store.StateSkipped:
				if len(late) < opts.MaxRows {
					late = append(late, SkippedRow{Line: rc.Line, Reason: rc.SkipReason, Detail: "skipped before sending"})
				}
			case store.StateFailed, store.StateUncertain:
				if len(r.ToCheck) < opts.MaxRows {
					r.ToCheck = append(r.ToCheck, recipientOf(rc, opts.Mask))
				}
			}
			if len(r.ToCheck) >= min(toCheck, opts.MaxRows) && len(late) >= min(sendSkipped, opts.MaxRows) {
				return errListsFull
			}
			return nil
		})
		if err != nil && !errors.Is(err, errListsFull) {
			return err
		}
	}
	skips = append(skips, late...)
	sort.SliceStable(skips, func(i, j int) bool { return skips[i].Line < skips[j].Line })
	r.SkippedRows = append(r.SkippedRows, skips[:min(len(skips), opts.MaxRows)]...)
	r.SkippedRowsOmitted = max(r.Skipped-len(r.SkippedRows), 0)
	r.ToCheckOmitted = max(toCheck-len(r.ToCheck), 0)
	return nil
}

func skippedRowOf(k store.SkippedRow, mask bool) SkippedRow {
	row := SkippedRow{Line: k.Line, Reason: k.Reason, Detail: k.Detail, Value: k.Raw}
	if mask {
		row.Value, row.Detail = maskSkip(k.Reason, k.Raw, k.Detail)
	}
	return row
}

func recipientOf(rc store.Recipient, mask bool) Recipient {
	p := rc.Phone
	if mask {
		p = MaskPhone(p)
	}
	params := rc.Params
	if params == nil {
		params = []string{}
	}
	return Recipient{Line: rc.Line, Phone: p, Params: params, State: string(rc.State), Attempts: rc.Attempts,
		Code: rc.LastCode, Meaning: meaningOf(rc.LastCode), Detail: maskIf(rc.LastError, mask), ResentAfterSilence: rc.ResentAfterSilence}
}

func maskIf(s string, mask bool) string {
	if mask {
		return MaskText(s)
	}
	return s
}

// activeGap is the longest gap between two attempts still counted as
// sending time.
const activeGap = time.Minute

// readAttempts streams the attempts into the per-batch table, the
// per-minute timeline (with the guard's sliding 131056 share) and the
// throughput figures. Memory grows with batches and minutes, not attempts.
func (r *Report) readAttempts(ctx context.Context, st Store, campaignID int64, s campaign.Settings, opts Options) error {
	batches := map[int]*Batch{}
	var cur *Point
	window := campaign.NewShareWindow(s.GuardWindow)
	var fine *Point
	fineOff := false
	var prev time.Time
	var active time.Duration
	err := st.AttemptMarks(ctx, campaignID, func(a store.AttemptMark) error {
		at := a.StartedAt.UTC()
		if !prev.IsZero() {
			if d := at.Sub(prev); d > 0 && d <= activeGap {
				active += d
			}
		}
		prev = at
		if r.Throughput.FirstSend.IsZero() {
			r.Throughput.FirstSend = at
		}
		r.Throughput.LastSend = at
		b := batches[a.Batch]
		if b == nil {
			b = &Batch{Batch: a.Batch, Start: at}
			batches[a.Batch] = b
		}
		b.Size++
		if m := at.Truncate(time.Minute); cur == nil || !m.Equal(cur.Minute) {
			r.Timeline = append(r.Timeline, Point{Minute: m})
			cur = &r.Timeline[len(r.Timeline)-1]
		}
		// Per second too, for the charts of a short run; dropped past
		// maxFine seconds with attempts (the charts use minutes then).
		if !fineOff {
			if m := at.Truncate(time.Second); fine == nil || !m.Equal(fine.Minute) {
				if len(r.fine) == maxFine {
					r.fine, fine, fineOff = nil, nil, true
				} else {
					r.fine = append(r.fine, Point{Minute: m})
					fine = &r.fine[len(r.fine)-1]
				}
			}
		}
		switch a.State {
		case store.StateSent:
			b.Sent++
		case store.StateFailed:
			b.Failed++
		}
		answered := a.State != store.StateInFlight && a.State != store.StateUncertain
		if answered {
			// The guard's window, as the guard keeps it.
			window.Observe(a.Code == rateLimitedCode)
		}
		cur.add(a, window.Share(), answered)
		if fine != nil {
			fine.add(a, window.Share(), answered)
		}
		if a.Code == rateLimitedCode {
			b.RateLimited++
		}
		return nil
	})
	if err != nil {
		return err
	}
	keys := slices.Sorted(maps.Keys(batches))
	for _, k := range keys {
		r.Batches = append(r.Batches, *batches[k])
	}
	r.Batches = groupBatches(r.Batches, opts.MaxBatches)
	sent := 0
	for _, p := range r.Timeline {
		sent += p.Sent
		if p.Sent > r.Throughput.PeakPerMinute {
			r.Throughput.PeakPerMinute, r.Throughput.PeakMinute = p.Sent, p.Minute
		}
	}
	r.Throughput.ActiveSeconds = active.Seconds()
	if r.Throughput.ActiveSeconds > 0 {
		r.Throughput.Overall = float64(sent) / r.Throughput.ActiveSeconds
	}
	return nil
}

// rateLimitedCode is Meta's pair rate limit answer (cloud-api.md §4.2).
const rateLimitedCode = 131056

// groupBatches merges consecutive batches so that at most limit rows stay
// (a 1,000,000-recipient campaign has 10,000 batches).
func groupBatches(bs []Batch, limit int) []Batch {
	if len(bs) <= limit {
		return bs
	}
	per := (len(bs) + limit - 1) / limit
	out := make([]Batch, 0, limit)
	for i := 0; i < len(bs); i += per {
		g := bs[i]
		group := bs[i:min(i+per, len(bs))]
		g.Batches = len(group)
		for _, b := range group[1:] {
			g.Size += b.Size
			g.Sent += b.Sent
			g.Failed += b.Failed
			g.RateLimited += b.RateLimited
			if b.Start.Before(g.Start) {
				g.Start = b.Start
			}
		}
		out = append(out, g)
	}
	return out
}

// readAllowance reads the scope's window as `whatsend status` does.
func (r *Report) readAllowance(ctx context.Context, st Store, c store.Campaign, s campaign.Settings, now time.Time) error {
	var phone *store.PhoneRecord
	if p, err := st.Phone(ctx, c.PhoneNumberID); err == nil {
		phone = &p
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	ss, err := campaign.ReadScope(ctx, st, s, c.Scope, phone, now)
	if err != nil {
		return err
	}
	r.Allowance = Allowance{Scope: c.Scope, Limit: ss.Limit.Users, LimitSource: ss.Limit.Source,
		WarmupDay: ss.Day, Allowed: ss.Allowed, Used: ss.Used, Left: ss.Left}
	if !ss.WarmupStart.IsZero() {
		r.Allowance.WarmupStart = ss.WarmupStart.UTC()
	}
	if ss.Left == 0 && !ss.NextFree.IsZero() {
		r.Allowance.FreesNext = ss.NextFree.UTC()
	}
	return nil
}

// WriteJSON writes the report as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// WriteFiles writes <dir>/<campaign>.json and .html, the reports every run
// and resume leaves beside the store.
func WriteFiles(ctx context.Context, st Store, campaignID int64, dir string, now time.Time) (string, string, error) {
	r, err := Build(ctx, st, campaignID, now, Options{})
	if err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	name := unsafeName.ReplaceAllString(r.Campaign, "_")
	jsonPath := filepath.Join(dir, name+".json")
	htmlPath := filepath.Join(dir, name+".html")
	if err := WriteFile(jsonPath, r.WriteJSON); err != nil {
		return "", "", err
	}
	if err := WriteFile(htmlPath, r.WriteHTML); err != nil {
		return "", "", err
	}
	return jsonPath, htmlPath, nil
}

// WriteFile writes a file through a temporary file in the same directory
// and a rename, so a reader never sees half a report and a failed write
// leaves the previous file in place. The file is made 0600: reports hold
// phone numbers.
func WriteFile(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".report-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(f.Name(), path)
}
