package report

import (
	"fmt"
	"html/template"
	"io"
	"strings"
)

// WriteHTML writes one self-contained page: inline CSS and SVG, no script,
// no external asset. html/template escapes every value.
func (r *Report) WriteHTML(w io.Writer) error {
	return page.Execute(w, r)
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct":     func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
	"sends":   sendsChart,
	"share":   shareChart,
	"percent": func(a, b int) string { return pctOf(a, b) },
}).Parse(pageHTML))

func pctOf(a, b int) string {
	if b == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.0f%%", float64(a)/float64(b)*100)
}

// sendsChart is an inline SVG bar chart of sends per minute.
func sendsChart(ps []Point) template.HTML {
	if len(ps) == 0 {
		return "<p>No sends yet.</p>"
	}
	const w, h = 600.0, 160.0
	top := 1
	for _, p := range ps {
		top = max(top, p.Attempts)
	}
	bw := w / float64(len(ps))
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-label="sends per minute" class="chart">`, w, h+20)
	for i, p := range ps {
		x := float64(i) * bw
		sh := float64(p.Sent) / float64(top) * h
		fh := float64(p.Attempts-p.Sent) / float64(top) * h
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="sent"/>`, x, h-sh, max(bw-1, 0.5), sh)
		if fh > 0 {
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="other"/>`, x, h-sh-fh, max(bw-1, 0.5), fh)
		}
	}
	fmt.Fprintf(&b, `<text x="0" y="%.0f" class="axis">%s</text><text x="%.0f" y="%.0f" class="axis" text-anchor="end">%s</text>`,
		h+16, ps[0].Minute.Format("15:04"), w, h+16, ps[len(ps)-1].Minute.Format("15:04"))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// shareChart is the 131056 share per minute against the 2 % and 5 % lines.
func shareChart(ps []Point) template.HTML {
	if len(ps) == 0 {
		return ""
	}
	const w, h, top = 600.0, 120.0, 0.10
	y := func(f float64) float64 { return h - min(f, top)/top*h }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-label="131056 share" class="chart">`, w, h+4)
	for _, l := range []struct {
		f     float64
		label string
	}{{0.02, "2% slow down"}, {0.05, "5% pause"}} {
		fmt.Fprintf(&b, `<line x1="0" x2="%.0f" y1="%.1f" y2="%.1f" class="limit"/><text x="%.0f" y="%.1f" class="axis" text-anchor="end">%s</text>`,
			w, y(l.f), y(l.f), w, y(l.f)-3, l.label)
	}
	var pts []string
	for i, p := range ps {
		share := 0.0
		if p.Attempts > 0 {
			share = float64(p.RateLimited) / float64(p.Attempts)
		}
		x := 0.0
		if len(ps) > 1 {
			x = float64(i) / float64(len(ps)-1) * w
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y(share)))
	}
	fmt.Fprintf(&b, `<polyline points="%s" class="share"/></svg>`, strings.Join(pts, " "))
	return template.HTML(b.String())
}

const pageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>whatsend report: {{.Campaign}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:960px;padding:1rem;color:#1d2329}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.1rem;margin-top:1.6rem;border-bottom:1px solid #dde}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:.6rem}
.card{border:1px solid #dde;border-radius:8px;padding:.5rem .7rem}.card b{display:block;font-size:1.4rem}
.muted{color:#667}.chart{width:100%;height:auto;background:#fafbfc;border:1px solid #eef}
.sent{fill:#2e8b57}.other{fill:#d9822b}.limit{stroke:#c0392b;stroke-dasharray:4 3}.share{fill:none;stroke:#2c5aa0;stroke-width:2}
.axis{font-size:11px;fill:#667}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #eee}
@media print{body{max-width:none}.card{break-inside:avoid}}
</style></head><body>
<h1>{{.Campaign}}</h1>
<p class="muted">Template {{.Template}} ({{.Language}}) · state <b>{{.State}}</b> · generated {{.GeneratedAt.Format "2006-01-02 15:04 MST"}}</p>
<div class="cards">
<div class="card">Recipients<b>{{.Recipients}}</b></div>
<div class="card">Sent<b>{{.Sent}}</b>{{percent .Sent .Recipients}}</div>
<div class="card">Delivered<b>{{.Delivered}}</b></div>
<div class="card">Read<b>{{.Read}}</b></div>
<div class="card">Replied<b>{{.Replied}}</b></div>
<div class="card">Failed<b>{{.Failed}}</b></div>
<div class="card">Skipped<b>{{.Skipped}}</b></div>
<div class="card">Uncertain<b>{{.Uncertain}}</b></div>
<div class="card">Remaining<b>{{.Remaining}}</b></div>
<div class="card">131056 share<b>{{pct .RateLimitedShare}}</b>{{.RateLimited}} of {{.Attempts}}</div>
</div>
<h2>Sends per minute</h2>{{sends .Timeline}}
<p class="muted">Throughput {{printf "%.1f" .Throughput.Overall}} msg/s overall, peak {{.Throughput.PeakPerMinute}} per minute.</p>
<h2>131056 share per minute</h2>{{share .Timeline}}
{{if .Pauses}}<h2>Pauses</h2><div class="scroll"><table><tr><th>At</th><th>Reason</th><th>Resumed</th></tr>
{{range .Pauses}}<tr><td>{{.At.Format "2006-01-02 15:04:05"}}</td><td>{{.Reason}}</td><td>{{if .ResumedAt}}{{.ResumedAt.Format "2006-01-02 15:04:05"}}{{end}}</td></tr>{{end}}</table></div>{{end}}
{{if .Failures}}<h2>Failures by code</h2><div class="scroll"><table><tr><th>Code</th><th>Count</th><th>Meaning</th><th>Advice</th></tr>
{{range .Failures}}<tr><td><a href="https://developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes">{{.Code}}</a></td><td>{{.Count}}</td><td>{{.Meaning}}</td><td>{{.Advice}}</td></tr>{{end}}</table></div>{{end}}
{{if .SkippedByReason}}<h2>Skipped by reason</h2><div class="scroll"><table><tr><th>Reason</th><th>Count</th></tr>
{{range $k, $v := .SkippedByReason}}<tr><td>{{$k}}</td><td>{{$v}}</td></tr>{{end}}</table></div>{{end}}
{{if .Batches}}<h2>Batches</h2><div class="scroll"><table><tr><th>Batch</th><th>Start</th><th>Size</th><th>Sent</th><th>Failed</th><th>131056</th></tr>
{{range .Batches}}<tr><td>{{.Batch}}</td><td>{{.Start.Format "15:04:05"}}</td><td>{{.Size}}</td><td>{{.Sent}}</td><td>{{.Failed}}</td><td>{{.RateLimited}}</td></tr>{{end}}</table></div>{{end}}
<h2>Allowance</h2><p>Scope {{.Window.Scope}}: {{.Window.UsedLast24}} unique recipients in the last 24 h{{if .Window.FreesNext}}; capacity frees from {{.Window.FreesNext.Format "2006-01-02 15:04 MST"}}{{end}}.</p>
</body></html>
`
