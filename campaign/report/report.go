// Package report builds what a user reads after a run: a campaign's totals,
// pauses, failures by code with the catalog's meaning and advice, skips by
// reason, the 131056 share, throughput and the per-batch table; rendered as
// text, JSON, CSV and a self-contained HTML page.
package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// Source is what a report reads from the store.
type Source interface {
	Campaign(ctx context.Context, id int64) (store.Campaign, error)
	Summary(ctx context.Context, campaignID int64) (store.Summary, error)
	Pauses(ctx context.Context, campaignID int64) ([]store.Pause, error)
	Attempts(ctx context.Context, campaignID int64, fn func(store.AttemptRecord) error) error
	WindowTimes(ctx context.Context, scope string, since time.Time) ([]time.Time, error)
}

// Report is a campaign's report model. Its JSON shape is relied on by
// scripts (README "Report JSON").
type Report struct {
	Campaign         string         `json:"campaign"`
	CampaignID       int64          `json:"campaign_id"`
	State            string         `json:"state"`
	Template         string         `json:"template"`
	Language         string         `json:"language"`
	Settings         map[string]any `json:"settings"`
	GeneratedAt      time.Time      `json:"generated_at"`
	Recipients       int            `json:"recipients"`
	Sent             int            `json:"sent"`
	Delivered        int            `json:"delivered"`
	Read             int            `json:"read"`
	Replied          int            `json:"replied"`
	Failed           int            `json:"failed"`
	Skipped          int            `json:"skipped"`
	Uncertain        int            `json:"uncertain"`
	Remaining        int            `json:"remaining"`
	Deferred         int            `json:"deferred"`
	Attempts         int            `json:"attempts"`
	RateLimited      int            `json:"rate_limited"`
	RateLimitedShare float64        `json:"rate_limited_share"`
	FailedByCode     map[string]int `json:"failed_by_code"`
	Failures         []Failure      `json:"failures"`
	SkippedByReason  map[string]int `json:"skipped_by_reason"`
	Pauses           []Pause        `json:"pauses"`
	Batches          []Batch        `json:"batches"`
	Throughput       Throughput     `json:"throughput"`
	Window           Window         `json:"allowance"`
	Timeline         []Point        `json:"timeline"`
}

// Failure is one error code's count with the catalog's words.
type Failure struct {
	Code    int    `json:"code"`
	Count   int    `json:"count"`
	Known   bool   `json:"known"`
	Meaning string `json:"meaning"`
	Advice  string `json:"advice"`
}

// Pause is one pause with its reason and figures.
type Pause struct {
	At        time.Time       `json:"at"`
	Reason    string          `json:"reason"`
	Detail    json.RawMessage `json:"detail,omitempty"`
	ResumedAt *time.Time      `json:"resumed_at,omitempty"`
}

// Batch is one row of the per-batch table.
type Batch struct {
	Batch       int       `json:"batch"`
	Start       time.Time `json:"start"`
	Size        int       `json:"size"`
	Sent        int       `json:"sent"`
	Failed      int       `json:"failed"`
	RateLimited int       `json:"rate_limited"`
}

// Throughput is the send rate achieved.
type Throughput struct {
	FirstSend     time.Time `json:"first_send"`
	LastSend      time.Time `json:"last_send"`
	Overall       float64   `json:"overall_per_second"`
	PeakPerMinute int       `json:"peak_per_minute"`
}

// Window is the scope's rolling 24 h allowance use.
type Window struct {
	Scope      string     `json:"scope"`
	UsedLast24 int        `json:"used_last_24h"`
	FreesNext  *time.Time `json:"frees_next,omitempty"`
}

// Point is one minute of the timeline.
type Point struct {
	Minute      time.Time `json:"minute"`
	Attempts    int       `json:"attempts"`
	Sent        int       `json:"sent"`
	RateLimited int       `json:"rate_limited"`
}

// Options tune a report.
type Options struct {
	MaxBatches int // group the per-batch table beyond this many rows (default 200)
}

// Build reads a campaign's report from the store.
func Build(ctx context.Context, st Source, campaignID int64, now time.Time, opts Options) (*Report, error) {
	c, err := st.Campaign(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	sum, err := st.Summary(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	r := &Report{Campaign: c.Name, CampaignID: c.ID, State: string(c.State), Template: c.Template, Language: c.Language,
		GeneratedAt: now.UTC(), FailedByCode: map[string]int{}, SkippedByReason: sum.SkippedByReason,
		Pauses: []Pause{}, Batches: []Batch{}, Failures: []Failure{}, Timeline: []Point{}}
	_ = json.Unmarshal(c.Settings, &r.Settings)
	by := sum.ByState
	r.Recipients = c.Rows
	r.Sent = by[store.StateSent]
	r.Delivered = sum.ByDelivery[store.DeliveryDelivered] + sum.ByDelivery[store.DeliveryRead]
	r.Read = sum.ByDelivery[store.DeliveryRead]
	r.Replied = sum.Replied
	r.Failed = by[store.StateFailed]
	r.Skipped = by[store.StateSkipped] + sum.ImportSkipped
	r.Uncertain = by[store.StateUncertain]
	r.Deferred = by[store.StateDeferred]
	r.Remaining = by[store.StatePending] + by[store.StateRetry] + by[store.StateDeferred] + by[store.StateInFlight]
	if r.Recipients == 0 {
		r.Recipients = r.Sent + r.Failed + r.Skipped + r.Uncertain + r.Remaining
	}
	r.Attempts, r.RateLimited = sum.Attempts, sum.RateLimited
	if sum.Attempts > 0 {
		r.RateLimitedShare = float64(sum.RateLimited) / float64(sum.Attempts)
	}
	codes := make([]int, 0, len(sum.FailedByCode))
	for code, n := range sum.FailedByCode {
		r.FailedByCode[strconv.Itoa(code)] = n
		codes = append(codes, code)
	}
	sort.Ints(codes)
	for _, code := range codes {
		e := sender.Lookup(code)
		r.Failures = append(r.Failures, Failure{Code: code, Count: sum.FailedByCode[code], Known: e.Known, Meaning: e.Meaning, Advice: e.Advice})
	}
	ps, err := st.Pauses(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		q := Pause{At: p.At, Reason: p.Reason}
		if json.Valid(p.Detail) {
			q.Detail = p.Detail
		}
		if !p.ResumedAt.IsZero() {
			t := p.ResumedAt
			q.ResumedAt = &t
		}
		r.Pauses = append(r.Pauses, q)
	}
	if err := r.readAttempts(ctx, st, campaignID, opts); err != nil {
		return nil, err
	}
	r.Window.Scope = c.Scope
	if times, err := st.WindowTimes(ctx, c.Scope, now.Add(-24*time.Hour)); err == nil {
		r.Window.UsedLast24 = len(times)
		if len(times) > 0 {
			t := times[0].Add(24 * time.Hour).UTC()
			r.Window.FreesNext = &t
		}
	}
	return r, nil
}

// readAttempts streams the attempts into the per-batch table, the
// per-minute timeline and the throughput figures.
func (r *Report) readAttempts(ctx context.Context, st Source, campaignID int64, opts Options) error {
	batches := map[int]*Batch{}
	minutes := map[int64]*Point{}
	err := st.Attempts(ctx, campaignID, func(a store.AttemptRecord) error {
		b := batches[a.Batch]
		if b == nil {
			b = &Batch{Batch: a.Batch, Start: a.StartedAt.UTC()}
			batches[a.Batch] = b
		}
		b.Size++
		m := a.StartedAt.Truncate(time.Minute).Unix()
		p := minutes[m]
		if p == nil {
			p = &Point{Minute: time.Unix(m, 0).UTC()}
			minutes[m] = p
		}
		p.Attempts++
		switch {
		case a.State == store.StateSent:
			b.Sent++
			p.Sent++
			if r.Throughput.FirstSend.IsZero() || a.StartedAt.Before(r.Throughput.FirstSend) {
				r.Throughput.FirstSend = a.StartedAt.UTC()
			}
			if a.StartedAt.After(r.Throughput.LastSend) {
				r.Throughput.LastSend = a.StartedAt.UTC()
			}
		case a.State == store.StateFailed:
			b.Failed++
		}
		if a.Code == 131056 {
			b.RateLimited++
			p.RateLimited++
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, b := range batches {
		r.Batches = append(r.Batches, *b)
	}
	sort.Slice(r.Batches, func(i, j int) bool { return r.Batches[i].Batch < r.Batches[j].Batch })
	r.Batches = groupBatches(r.Batches, max(opts.MaxBatches, 0))
	for _, p := range minutes {
		r.Timeline = append(r.Timeline, *p)
		r.Throughput.PeakPerMinute = max(r.Throughput.PeakPerMinute, p.Sent)
	}
	sort.Slice(r.Timeline, func(i, j int) bool { return r.Timeline[i].Minute.Before(r.Timeline[j].Minute) })
	sent := 0
	for _, p := range r.Timeline {
		sent += p.Sent
	}
	if d := r.Throughput.LastSend.Sub(r.Throughput.FirstSend).Seconds(); d > 0 {
		r.Throughput.Overall = float64(sent) / d
	}
	return nil
}

// groupBatches merges consecutive batches so that at most limit rows stay
// (a 1,000,000-recipient campaign has 10,000 batches).
func groupBatches(bs []Batch, limit int) []Batch {
	if limit == 0 {
		limit = 200
	}
	if len(bs) <= limit {
		return bs
	}
	per := (len(bs) + limit - 1) / limit
	var out []Batch
	for i := 0; i < len(bs); i += per {
		g := bs[i]
		for _, b := range bs[i+1 : min(i+per, len(bs))] {
			g.Size += b.Size
			g.Sent += b.Sent
			g.Failed += b.Failed
			g.RateLimited += b.RateLimited
		}
		out = append(out, g)
	}
	return out
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
func WriteFiles(ctx context.Context, st Source, campaignID int64, dir string, now time.Time) (string, string, error) {
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
	if err := writeAtomic(jsonPath, r.WriteJSON); err != nil {
		return "", "", err
	}
	if err := writeAtomic(htmlPath, r.WriteHTML); err != nil {
		return "", "", err
	}
	return jsonPath, htmlPath, nil
}

// writeAtomic writes a file through a temporary file and a rename, so a
// reader never sees half a report.
func writeAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".report-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
