package report

import (
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteHTML writes one self-contained page: inline CSS and SVG charts, no
// script, no external asset, readable on a phone and on paper. The page is
// an html/template, so every value from the CSV or the store is escaped;
// the charts are built here from numbers and escape their few labels.
func (r *Report) WriteHTML(w io.Writer) error {
	return pageTemplate.Execute(w, r.forHTML())
}

// forHTML returns a copy of the report whose CSV-derived strings have no
// control characters (not a risk once escaped, but not valid HTML text).
func (r *Report) forHTML() *Report {
	c := *r
	c.Campaign = clean(r.Campaign)
	c.SkippedRows = make([]SkippedRow, len(r.SkippedRows))
	for i, k := range r.SkippedRows {
		k.Detail, k.Value = clean(k.Detail), clean(k.Value)
		c.SkippedRows[i] = k
	}
	c.ToCheck = make([]Recipient, len(r.ToCheck))
	for i, rc := range r.ToCheck {
		rc.Phone, rc.Detail = clean(rc.Phone), clean(rc.Detail)
		rc.Params = make([]string, len(r.ToCheck[i].Params))
		for j, p := range r.ToCheck[i].Params {
			rc.Params[j] = clean(p)
		}
		c.ToCheck[i] = rc
	}
	return &c
}

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":       func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"percent":   pctOf,
	"num":       num,
	"when":      func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 MST") },
	"partition": partitionBar,
	"sends":     func(r *Report) template.HTML { return newAxis(r).sends(r) },
	"progress":  func(r *Report) template.HTML { return newAxis(r).progress(r) },
	"share":     func(r *Report) template.HTML { return newAxis(r).share(r) },
	"failures":  failuresChart,
	"figures":   figures,
	"join":      strings.Join,
	"through":   func(first, n int) int { return first + n - 1 },
}).Parse(pageHTML))

// num writes an integer with thousands separators.
func num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func esc(s string) string { return html.EscapeString(s) }

// Colours of the recipient states, shared by the charts and the legend.
const (
	colSent      = "#2e8b57"
	colFailed    = "#c0392b"
	colSkipped   = "#8e8e93"
	colUncertain = "#d9822b"
	colRemaining = "#c9d3df"
	colCancelled = "#5d6d7e"
	colShare     = "#2c5aa0"
	colRL        = "#8e44ad" // 131056 answers
)

// partitionBar is one bar split by the totals, which partition the CSV.
func partitionBar(r *Report) template.HTML {
	if r.Recipients == 0 {
		return ""
	}
	parts := []struct {
		name  string
		n     int
		color string
	}{
		{"sent", r.Sent, colSent}, {"failed", r.Failed, colFailed}, {"skipped", r.Skipped, colSkipped},
		{"uncertain", r.Uncertain, colUncertain}, {"cancelled", r.Cancelled, colCancelled}, {"expired", r.Expired, colCancelled},
		{"remaining", r.Remaining, colRemaining},
	}
	var b strings.Builder
	b.WriteString(`<svg viewBox="0 0 1000 24" preserveAspectRatio="none" class="bar" role="img" aria-label="recipients by outcome">`)
	x := 0.0
	for _, p := range parts {
		wd := float64(p.n) / float64(r.Recipients) * 1000
		if wd <= 0 {
			continue
		}
		fmt.Fprintf(&b, `<rect x="%.2f" y="0" width="%.2f" height="24" fill="%s"><title>%s %s</title></rect>`, x, wd, p.color, esc(p.name), num(p.n))
		x += wd
	}
	b.WriteString(`</svg><p class="legend">`)
	for _, p := range parts {
		fmt.Fprintf(&b, `<span><i style="background:%s"></i>%s %s (%s)</span> `, p.color, esc(p.name), num(p.n), pctOf(p.n, r.Recipients))
	}
	b.WriteString(`</p>`)
	return template.HTML(b.String())
}

// axis is the time axis shared by the charts: from the first attempt (or
// pause) to the last, cut into at most maxBuckets buckets.
type axis struct {
	t0, t1  time.Time
	bucket  time.Duration
	buckets []bucket
	ok      bool
}

type bucket struct {
	attempts, sent, failed int
	rateLimited, failedRL  int     // 131056 answers; failed ones among them
	share                  float64 // highest guard-window share in the bucket
	hasShare               bool
}

const (
	pauseLabelW   = 90.0 // room a pause label takes on the x axis
	pauseLabelH   = 22.0
	triggerLabelW = 200.0 // "paused at 20.0%" at the phone's font size
	maxBuckets    = 240
	chartW        = 720.0
	chartH        = 180.0
	padL          = 2.0  // the y labels are drawn inside the plot
	padB          = 30.0 // room for the x labels
)

var bucketSizes = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour,
}

// newAxis fits the bucket to the run's length: seconds for a run of a
// minute, minutes, hours or days for longer ones.
func newAxis(r *Report) *axis {
	a := &axis{}
	if len(r.Timeline) == 0 {
		return a
	}
	a.ok = true
	points, unit := r.Timeline, time.Minute
	if len(r.fine) > 0 && r.fine[len(r.fine)-1].Minute.Sub(r.fine[0].Minute) <= maxBuckets*30*time.Second {
		points, unit = r.fine, time.Second
	}
	a.t0 = points[0].Minute
	a.t1 = points[len(points)-1].Minute.Add(unit)
	for _, p := range r.Pauses {
		for _, t := range []time.Time{p.At, p.ResumedAt} {
			if t.IsZero() {
				continue
			}
			if t.Before(a.t0) {
				a.t0 = t.Truncate(unit)
			}
			if t.After(a.t1) {
				a.t1 = t.Truncate(unit).Add(unit)
			}
		}
	}
	span := a.t1.Sub(a.t0)
	a.bucket = bucketSizes[len(bucketSizes)-1]
	for _, d := range bucketSizes {
		if d >= unit && span/d <= maxBuckets {
			a.bucket = d
			break
		}
	}
	a.t0 = a.t0.Truncate(a.bucket)
	n := int((a.t1.Sub(a.t0) + a.bucket - 1) / a.bucket)
	a.t1 = a.t0.Add(time.Duration(n) * a.bucket)
	a.buckets = make([]bucket, n)
	for _, p := range points {
		b := &a.buckets[min(int(p.Minute.Sub(a.t0)/a.bucket), n-1)]
		b.attempts += p.Attempts
		b.sent += p.Sent
		b.failed += p.Failed
		b.rateLimited += p.RateLimited
		b.failedRL += p.failedRL
		b.share = max(b.share, p.peakShare, p.WindowShare)
		b.hasShare = true
	}
	return a
}

// x maps a time to the chart's x coordinate.
func (a *axis) x(t time.Time) float64 {
	f := float64(t.Sub(a.t0)) / float64(a.t1.Sub(a.t0))
	return padL + min(max(f, 0), 1)*(chartW-padL)
}

func (a *axis) bw() float64 { return (chartW - padL) / float64(len(a.buckets)) }

func (a *axis) open(b *strings.Builder, label string) {
	fmt.Fprintf(b, `<svg viewBox="0 0 %.0f %.0f" class="chart" role="img" aria-label="%s">`, chartW, chartH+padB, esc(label))
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" class="base"/>`, padL, chartH, chartW, chartH)
}

// close draws the x labels and the pause bands, and ends the chart.
func (a *axis) close(b *strings.Builder, r *Report) {
	layout := "15:04"
	if a.bucket < time.Minute {
		layout = "15:04:05"
	}
	if a.t1.Sub(a.t0) > 24*time.Hour || a.t0.YearDay() != a.t1.Add(-time.Nanosecond).YearDay() {
		layout = "Jan 2 15:04"
	}
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" class="axis">%s</text>`, padL+2, chartH+padB-8, a.t0.Format(layout))
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" class="axis" text-anchor="end">%s UTC</text>`, chartW-2, chartH+padB-8, a.t1.Format(layout))
	// Labels that would overlap the previous one go a line higher, up to
	// four lines, then start again at the bottom.
	lastX, line := -1e9, 0
	for i, p := range r.Pauses {
		end := p.ResumedAt
		if end.IsZero() {
			end = a.t1
		}
		x0, x1 := a.x(p.At), a.x(end)
		label := "paused"
		if len(r.Pauses) > 1 {
			label = fmt.Sprintf("pause %d", i+1)
		}
		if x0-lastX < pauseLabelW {
			line = (line + 1) % 4
		} else {
			line = 0
		}
		lastX = x0
		tx, anchor := x0+4, "start"
		if x0 > chartW-pauseLabelW {
			tx, anchor = x0-4, "end"
		}
		fmt.Fprintf(b, `<g class="pause"><rect x="%.1f" y="0" width="%.1f" height="%.0f"/><line x1="%.1f" x2="%.1f" y1="0" y2="%.0f"/><text x="%.1f" y="%.0f" class="axis" text-anchor="%s">%s</text><title>paused %s: %s</title></g>`,
			x0, max(x1-x0, 1), chartH, x0, x0, chartH, tx, chartH-6-float64(line)*pauseLabelH, anchor, label, esc(p.At.Format(time.RFC3339)), esc(p.Reason))
	}
	b.WriteString(`</svg>`)
}

// grid draws a grid line at y; yText its label, just above it at the left,
// drawn after the data so that bars do not hide it.
func (a *axis) grid(b *strings.Builder, y float64) {
	fmt.Fprintf(b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" class="grid"/>`, padL, chartW, y, y)
}

func (a *axis) yText(b *strings.Builder, y float64, label string) {
	fmt.Fprintf(b, `<text x="%.0f" y="%.1f" class="axis">%s</text>`, padL+4, max(y-4, 14), esc(label))
}

func per(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h", int(d/time.Hour))
	}
	return fmt.Sprintf("%d d", int(d/(24*time.Hour)))
}

// sends is a stacked bar chart of attempts per bucket: sent, failed, and
// the rest (retried, deferred, uncertain).
func (a *axis) sends(r *Report) template.HTML {
	if !a.ok {
		return `<p class="muted">No sends yet.</p>`
	}
	top := 1
	for _, b := range a.buckets {
		top = max(top, b.attempts)
	}
	var b strings.Builder
	a.open(&b, "send attempts per "+per(a.bucket))
	a.grid(&b, 6)
	bw := a.bw()
	for i, k := range a.buckets {
		if k.attempts == 0 {
			continue
		}
		x := padL + float64(i)*bw
		y := chartH
		for _, part := range []struct {
			n     int
			class string
		}{{k.sent, "sent"}, {k.failed - k.failedRL, "failed"}, {k.rateLimited, "rl"}, {k.attempts - k.sent - (k.failed - k.failedRL) - k.rateLimited, "other"}} {
			if part.n <= 0 {
				continue
			}
			h := float64(part.n) / float64(top) * (chartH - 6)
			y -= h
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" class="%s"/>`, x, y, max(bw*0.85, 0.6), h, part.class)
		}
	}
	a.yText(&b, 6, num(top))
	a.close(&b, r)
	// The legend names only the series drawn.
	var sent, failed, rl, other int
	for _, k := range a.buckets {
		sent += k.sent
		failed += k.failed - k.failedRL
		rl += k.rateLimited
		other += k.attempts - k.sent - (k.failed - k.failedRL) - k.rateLimited
	}
	b.WriteString(`<p class="legend">`)
	for _, l := range []struct {
		n           int
		color, name string
	}{{sent, colSent, "sent"}, {failed, colFailed, "failed"}, {rl, colRL, "answered 131056"}, {other, colUncertain, "retried, deferred or uncertain"}} {
		if l.n > 0 {
			fmt.Fprintf(&b, `<span><i style="background:%s"></i>%s</span> `, l.color, l.name)
		}
	}
	fmt.Fprintf(&b, `· attempts per %s</p>`, per(a.bucket))
	return template.HTML(b.String())
}

// progress is the cumulative count of sent and failed recipients against
// the sendable total (recipients not skipped).
func (a *axis) progress(r *Report) template.HTML {
	if !a.ok {
		return ""
	}
	target := r.Recipients - r.Skipped
	cs, cf := 0, 0
	for _, k := range a.buckets {
		cs += k.sent
		cf += k.failed
	}
	top := max(target, cs+cf, 1)
	y := func(n int) float64 { return chartH - float64(n)/float64(top)*(chartH-6) }
	var b strings.Builder
	a.open(&b, "cumulative progress")
	a.grid(&b, y(target))
	var sent, done strings.Builder
	fmt.Fprintf(&sent, "%.1f,%.1f", padL, chartH)
	fmt.Fprintf(&done, "%.1f,%.1f", padL, chartH)
	cs, cf = 0, 0
	bw := a.bw()
	for i, k := range a.buckets {
		cs += k.sent
		cf += k.failed
		x := padL + float64(i+1)*bw
		fmt.Fprintf(&sent, " %.1f,%.1f", x, y(cs))
		fmt.Fprintf(&done, " %.1f,%.1f", x, y(cs+cf))
	}
	fmt.Fprintf(&b, `<polyline points="%s" class="cumdone"/><polyline points="%s" class="cumsent"/>`, done.String(), sent.String())
	a.yText(&b, y(target), num(target))
	a.close(&b, r)
	fmt.Fprintf(&b, `<p class="legend"><span><i style="background:%s"></i>sent</span> <span><i style="background:%s"></i>sent or failed</span> · the top line is the %s recipients not skipped</p>`,
		colSent, colFailed, num(target))
	return template.HTML(b.String())
}

// share plots the guard's 131056 share (over its window of recent attempts)
// against the 2 % slow-down and 5 % pause lines, pauses marked.
func (a *axis) share(r *Report) template.HTML {
	if !a.ok {
		return ""
	}
	top := 0.10
	for _, k := range a.buckets {
		top = max(top, min(k.share*1.1, 1))
	}
	y := func(f float64) float64 { return chartH - f/top*(chartH-6) }
	limits := []struct {
		f     float64
		label string
	}{{0.02, "2% slow down"}, {0.05, "5% pause"}}
	var b strings.Builder
	a.open(&b, "131056 share")
	for _, l := range limits {
		fmt.Fprintf(&b, `<line x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" class="limit"/>`, padL, chartW, y(l.f), y(l.f))
	}
	a.grid(&b, y(top))
	bw := a.bw()
	var seg []string
	flush := func() {
		switch len(seg) {
		case 0:
		case 1:
			xy := strings.Split(seg[0], ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2" class="dot"/>`, xy[0], xy[1])
		default:
			fmt.Fprintf(&b, `<polyline points="%s" class="share"/>`, strings.Join(seg, " "))
		}
		seg = seg[:0]
	}
	for i, k := range a.buckets {
		if !k.hasShare {
			flush() // no attempts: a gap, not a zero
			continue
		}
		seg = append(seg, fmt.Sprintf("%.1f,%.1f", padL+(float64(i)+0.5)*bw, y(k.share)))
	}
	flush()
	// The share the guard saw when it paused: the trigger, on the chart.
	lastX, drop := -1e9, 0
	for _, p := range r.Pauses {
		var d struct {
			Kind   string  `json:"kind"`
			Share  float64 `json:"share"`
			Window int     `json:"window"`
		}
		if json.Unmarshal(p.Detail, &d) != nil || d.Kind != "ratio" {
			continue
		}
		x, yy := a.x(p.At), y(min(d.Share, top))
		anchor, tx := "end", x-6
		if x < 200 {
			anchor, tx = "start", x+6
		}
		// A label near the previous one goes a line lower.
		if x-lastX < triggerLabelW {
			drop++
		} else {
			drop = 0
		}
		lastX = x
		ty := max(yy-6, 14) + float64(drop)*pauseLabelH
		fmt.Fprintf(&b, `<g class="trigger"><circle cx="%.1f" cy="%.1f" r="5"/><text x="%.1f" y="%.1f" class="axis" text-anchor="%s">paused at %.1f%%</text><title>%s</title></g>`,
			x, yy, tx, ty, anchor, d.Share*100, esc(p.Reason))
	}
	for _, l := range limits {
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" class="axis" text-anchor="end">%s</text>`, chartW-4, y(l.f)-4, l.label)
	}
	a.yText(&b, y(top), fmt.Sprintf("%.0f%%", top*100))
	a.close(&b, r)
	return template.HTML(b.String())
}

// failuresChart is a horizontal bar per error code, most frequent first.
func failuresChart(fs []Failure) template.HTML {
	if len(fs) == 0 {
		return ""
	}
	fs = fs[:min(len(fs), 12)]
	top := 1
	for _, f := range fs {
		top = max(top, f.Count)
	}
	const rowH, labelW, w = 34.0, 96.0, 720.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" class="chart" role="img" aria-label="failures by code">`, w, float64(len(fs))*rowH)
	for i, f := range fs {
		y := float64(i) * rowH
		bw := float64(f.Count) / float64(top) * (w - labelW - 60)
		fmt.Fprintf(&b, `<text x="4" y="%.0f" class="code">%d</text><rect x="%.0f" y="%.0f" width="%.1f" height="%.0f" class="failed"><title>%s</title></rect><text x="%.1f" y="%.0f" class="axis">%s</text>`,
			y+23, f.Code, labelW, y+7, max(bw, 1), rowH-14, esc(f.Meaning), labelW+bw+6, y+23, num(f.Count))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

const pageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>whatsend report: {{.Campaign}}{{if .Rehearsal}} (rehearsal){{end}}</title>
<style>
:root{--fg:#1d2329;--muted:#5f6b76;--line:#dde3ea;--bg:#fff;--panel:#f7f9fb}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1000px;padding:1rem;color:var(--fg);background:var(--bg)}
h1{font-size:1.45rem;margin:.2rem 0;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin:1.8rem 0 .5rem;padding-bottom:.2rem;border-bottom:1px solid var(--line)}
.muted{color:var(--muted)}
.state{display:inline-block;padding:.05rem .5rem;border-radius:1rem;background:#e8eef5;font-weight:600}
.state.paused{background:#fdecea;color:#8e1b10}.state.finished{background:#e6f4ea;color:#1d5e32}.state.cancelled{background:#eceff1;color:#37474f}
.alert{border-left:4px solid #c0392b;background:#fdecea;padding:.5rem .8rem;border-radius:4px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:.6rem;margin:.8rem 0}
.card{border:1px solid var(--line);border-radius:8px;padding:.5rem .7rem;background:var(--panel)}
.card b{display:block;font-size:1.4rem;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.card small{color:var(--muted)}
.bar{width:100%;height:24px;border-radius:4px;display:block}
.legend{font-size:.85rem;color:var(--muted);margin:.3rem 0}
.legend span{white-space:nowrap;margin-right:.6rem}
.legend i{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.3em;vertical-align:-1px}
.chart{width:100%;height:auto;display:block;background:var(--panel);border:1px solid var(--line);border-radius:6px}
.sent{fill:` + colSent + `}.failed{fill:` + colFailed + `}.other{fill:` + colUncertain + `}.rl{fill:` + colRL + `}
.base{stroke:#aab4bf}.grid{stroke:#e3e8ee}.limit{stroke:#c0392b;stroke-dasharray:5 4}
.share{fill:none;stroke:` + colShare + `;stroke-width:2}.trigger circle{fill:` + colFailed + `}.dot{fill:` + colShare + `}
.cumsent{fill:none;stroke:` + colSent + `;stroke-width:2.5}.cumdone{fill:none;stroke:` + colFailed + `;stroke-width:1.5;stroke-dasharray:3 2}
.pause rect{fill:#c0392b;fill-opacity:.10}.pause line{stroke:#c0392b;stroke-width:1.5}
.axis{font-size:11px;fill:var(--muted);paint-order:stroke;stroke:var(--panel);stroke-width:4px;stroke-linejoin:round}
.code{font-size:13px;font-weight:600;fill:var(--fg)}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--panel);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.wrap{overflow-wrap:anywhere;min-width:12rem}td.t{white-space:nowrap}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0;overflow-wrap:anywhere}
@media (max-width:600px){body{font-size:14px;padding:.6rem}.chart .axis{font-size:21px}.chart .code{font-size:22px}td.wrap{min-width:9rem}.card b{font-size:1.2rem}th,td{padding:.25rem .35rem}dl.kv{grid-template-columns:1fr}dl.kv dd{margin-bottom:.3rem}table.stack,table.stack tbody,table.stack tr,table.stack td{display:block;width:auto}table.stack tr:has(th){display:none}table.stack tr{border-bottom:1px solid var(--line);padding:.35rem 0}table.stack td{border:0;padding:.1rem 0;text-align:left;min-width:0}table.stack td::before{content:attr(data-label);display:inline-block;min-width:5.5rem;color:var(--muted);font-size:.85em}}
@media print{@page{margin:1.5cm}body{max-width:none;padding:0;font-size:10.5pt}.card,.chart,figure,tr,.alert{break-inside:avoid}h2{break-after:avoid}.scroll{overflow:visible}.chart,.card,th{background:none}}
</style></head><body>
<header>
<h1>{{.Campaign}}{{if .Rehearsal}} (rehearsal){{end}}</h1>
<p class="muted">Template <b>{{.Template}}</b> ({{.Language}}) · <span class="state {{.State}}">{{.State}}</span> · report of {{when .GeneratedAt}}{{if .Masked}} · phone numbers masked{{end}}</p>
{{if .PauseReason}}<p class="alert"><b>Paused:</b> {{.PauseReason}}<br>Continue after fixing the cause: <code>whatsend resume {{.Campaign}}</code></p>{{end}}
</header>
<section>
<div class="cards">
<div class="card">Recipients<b>{{num .Recipients}}</b><small>every CSV row</small></div>
<div class="card">Sent<b>{{num .Sent}}</b><small>{{percent .Sent .Recipients}}</small></div>
<div class="card">Delivered<b>{{num .Delivered}}</b><small>{{percent .Delivered .Sent}} of sent</small></div>
<div class="card">Read<b>{{num .Read}}</b><small>{{percent .Read .Sent}} of sent</small></div>
<div class="card">Replied<b>{{num .Replied}}</b></div>
<div class="card">Failed<b>{{num .Failed}}</b><small>{{percent .Failed .Recipients}}</small></div>
<div class="card">Skipped<b>{{num .Skipped}}</b><small>{{percent .Skipped .Recipients}}</small></div>
<div class="card">Uncertain<b>{{num .Uncertain}}</b><small>not re-sent</small></div>
{{if .Cancelled}}<div class="card">Cancelled<b>{{num .Cancelled}}</b><small>not sent: campaign cancelled</small></div>
{{end}}{{if .Expired}}<div class="card">Expired<b>{{num .Expired}}</b><small>not sent: --not-after passed</small></div>
{{end}}{{if .ResentAfterSilence}}<div class="card">Resent after silence<b>{{num .ResentAfterSilence}}</b><small>uncertain, no status while the receiver was up</small></div>
{{end}}<div class="card">Remaining<b>{{num .Remaining}}</b><small>pending {{num (index .RemainingByState "pending")}}, retry {{num (index .RemainingByState "retry")}}, deferred {{num (index .RemainingByState "deferred")}}</small></div>
<div class="card">131056 share<b>{{pct .RateLimitedShare}}</b><small>{{num .RateLimited}} of {{num .Attempts}} attempts</small></div>
<div class="card">Throughput<b>{{printf "%.1f" .Throughput.Overall}}/s</b><small>peak {{num .Throughput.PeakPerMinute}} per minute</small></div>
</div>
{{partition .}}
</section>
<section><h2>Sends over time</h2>{{sends .}}</section>
{{if .Timeline}}<section><h2>Cumulative progress</h2>{{progress .}}</section>
<section><h2>131056 share</h2>
<p class="muted">The share of the guard's window of recent attempts answered 131056 (pair rate limit): above 2&nbsp;% whatsend halves the rate, above 5&nbsp;% it pauses the campaign.</p>
{{share .}}</section>{{end}}
{{if .Failures}}<section><h2>Failures by code</h2>{{failures .Failures}}
<div class="scroll"><table class="stack"><tr><th>Code</th><th class="n">Count</th><th>Meaning</th><th>Advice</th></tr>
{{range .Failures}}<tr><td data-label="Code">{{.Code}}</td><td class="n" data-label="Count">{{num .Count}}</td><td class="wrap" data-label="Meaning">{{.Meaning}}</td><td class="wrap" data-label="Advice">{{.Advice}}</td></tr>
{{end}}</table></div></section>{{end}}
{{if .Retries}}<section><h2>Retries</h2><ul>
{{range .Retries}}<li>{{.String}}</li>
{{end}}</ul></section>{{end}}
{{if .Pauses}}<section><h2>Pauses</h2><div class="scroll"><table class="stack"><tr><th>At</th><th>Resumed</th><th>Reason and figures</th></tr>
{{range .Pauses}}<tr><td class="t" data-label="At">{{when .At}}</td><td class="t" data-label="Resumed">{{if .ResumedAt.IsZero}}not yet{{else}}{{when .ResumedAt}}{{end}}</td><td class="wrap" data-label="Reason">{{.Reason}}{{with figures .Detail}}<br><small class="muted">{{.}}</small>{{end}}</td></tr>
{{end}}</table></div></section>{{end}}
{{if .SkippedByReason}}<section><h2>Skipped</h2><div class="scroll"><table><tr><th>Reason</th><th class="n">Count</th></tr>
{{range $k, $v := .SkippedByReason}}<tr><td>{{$k}}</td><td class="n">{{num $v}}</td></tr>
{{end}}</table></div>
{{if .SkippedRows}}<h3>Skipped rows{{if .SkippedRowsOmitted}} (first {{len .SkippedRows}}; {{num .SkippedRowsOmitted}} more in the CSV export){{end}}</h3>
<div class="scroll"><table class="stack"><tr><th class="n">Line</th><th>Reason</th><th>Detail</th></tr>
{{range .SkippedRows}}<tr><td class="n" data-label="Line">{{.Line}}</td><td data-label="Reason">{{.Reason}}</td><td class="wrap" data-label="Detail">{{.Detail}}{{if .Value}} <small class="muted">({{.Value}})</small>{{end}}</td></tr>
{{end}}</table></div>{{end}}</section>{{end}}
{{if .ToCheck}}<section><h2>Recipients to check{{if .ToCheckOmitted}} (first {{len .ToCheck}}; {{num .ToCheckOmitted}} more in the CSV export){{end}}</h2>
<p class="muted">Uncertain recipients may have received the message: whatsend does not send to them again unless <code>whatsend resume --resend-uncertain</code>.</p>
<div class="scroll"><table class="stack"><tr><th class="n">Line</th><th>Phone</th><th>Parameters</th><th>State</th><th>Code</th><th>Meaning</th></tr>
{{range .ToCheck}}<tr><td class="n" data-label="Line">{{.Line}}</td><td class="t" data-label="Phone">{{.Phone}}</td><td class="wrap" data-label="Parameters">{{join .Params ", "}}</td><td data-label="State">{{.State}}</td><td data-label="Code">{{if .Code}}{{.Code}}{{end}}</td><td class="wrap" data-label="Meaning">{{.Meaning}}{{if .Detail}} <small class="muted">{{.Detail}}</small>{{end}}</td></tr>
{{end}}</table></div></section>{{end}}
{{if .Batches}}<section><h2>Batches</h2><p class="muted">Per batch, the answers to its send attempts: <em>accepted</em> counts the attempts the API accepted; a message accepted and later reported failed by a webhook counts in the campaign's failed, so the accepted column can add up to more than the campaign's sent.</p>
<div class="scroll"><table class="stack"><tr><th>Batch</th><th>Start</th><th class="n">Attempts</th><th class="n">Accepted</th><th class="n">Failed</th><th class="n">131056</th></tr>
{{range .Batches}}<tr><td data-label="Batch">{{.Batch}}{{if gt .Batches 1}}–{{through .Batch .Batches}}{{end}}</td><td class="t" data-label="Start">{{when .Start}}</td><td class="n" data-label="Attempts">{{num .Size}}</td><td class="n" data-label="Accepted">{{num .Sent}}</td><td class="n" data-label="Failed">{{num .Failed}}</td><td class="n" data-label="131056">{{num .RateLimited}}</td></tr>
{{end}}</table></div></section>{{end}}
<section><h2>Allowance and settings</h2>
<dl class="kv">
<dt>Scope</dt><dd>{{.Allowance.Scope}}</dd>
{{if lt .Allowance.Allowed 0}}<dt>Last 24 h</dt><dd>{{num .Allowance.Used}} unique recipients; no cap</dd>
{{else}}<dt>Last 24 h</dt><dd>{{num .Allowance.Used}} of {{num .Allowance.Allowed}} unique recipients used; {{num .Allowance.Left}} left now{{if not .Allowance.FreesNext.IsZero}}; capacity frees next at {{when .Allowance.FreesNext}}{{end}}</dd>
<dt>Messaging limit</dt><dd>{{num .Allowance.Limit}} unique recipients per 24 h (from {{.Allowance.LimitSource}})</dd>{{end}}
<dt>Warm-up</dt><dd>{{if .Settings.WarmupDays}}day {{.Settings.WarmupDay}} of {{.Settings.WarmupDays}}{{else}}none (--warmup-days 0){{end}}{{if not .Allowance.WarmupStart.IsZero}}, since {{when .Allowance.WarmupStart}}{{end}}</dd>
<dt>Rate</dt><dd>{{.Settings.Rate}} msg/s; batches of {{.Settings.BatchSize}} every {{.Settings.BatchInterval}}; pair interval {{.Settings.PairInterval}}; at most {{.Settings.MaxAttempts}} attempts</dd>
<dt>Tier</dt><dd>{{if eq .Settings.Tier "api"}}from the API{{else}}--tier {{.Settings.Tier}}{{end}}{{if .Settings.DailyLimit}}, --daily-limit {{.Settings.DailyLimit}}{{end}}</dd>
<dt>Number</dt><dd>{{.Settings.PhoneNumberID}}{{if .Settings.Simulate}} (simulated){{end}}</dd>
<dt>Parameters</dt><dd>{{join .Settings.Params ", "}}</dd>
{{if not .Throughput.FirstSend.IsZero}}<dt>Sending</dt><dd>first attempt {{when .Throughput.FirstSend}}, last {{when .Throughput.LastSend}}</dd>{{end}}
</dl></section>
<footer><p class="muted">whatsend report · campaign id {{.CampaignID}}</p></footer>
</body></html>
`
