package main

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
	"golang.org/x/text/width"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender"
)

// progress shows a run's progress: one line on stderr, redrawn in place and
// fitted to the terminal's width, when stderr is a terminal; otherwise a log
// line at most every logEvery.
type progress struct {
	mu         sync.Mutex
	tty        bool
	width      func() int // the terminal's columns, read at each redraw (a resize shows at the next one)
	logger     *slog.Logger
	name       string
	last       time.Time
	drawn      time.Time // last redraw, for the throttle
	now        func() time.Time
	info       campaign.ProgressInfo
	w          io.Writer
	final      bool   // the run ended: no estimate
	stopResize func() // stops redrawing on resize
}

const (
	logEvery   = 5 * time.Second
	redrawEach = 100 * time.Millisecond
)

func (a *app) newProgress(name string) *progress {
	p := &progress{logger: a.logger, name: name, now: a.now, w: a.errOut}
	if a.errIsTerminal() {
		p.tty = true
		fd := int(a.errOut.(*os.File).Fd())
		p.width = func() int {
			if w, _, err := term.GetSize(fd); err == nil && w > 0 {
				return w
			}
			return 80
		}
		p.stopResize = onResize(func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if !p.final {
				p.draw()
			}
		})
	}
	return p
}

// Update implements campaign.Progress.
func (p *progress) Update(i campaign.ProgressInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	waitingChanged := i.Waiting != p.info.Waiting
	p.info = i
	if p.tty {
		if t := time.Now(); t.Sub(p.drawn) >= redrawEach || waitingChanged {
			p.drawn = t
			p.draw()
		}
		return
	}
	if now := p.now(); now.Sub(p.last) >= logEvery || i.Waiting != "" {
		p.last = now
		p.logger.Info("progress", "campaign", p.name, "done", i.Done, "total", i.Total, "sent", i.Sent,
			"rate", i.Rate, "rate_limited_share", i.RateLimited, "quality", i.Quality, "waiting", i.Waiting)
	}
}

// draw rewrites the line in place: carriage return, the line, clear to
// the end of the line.
func (p *progress) draw() {
	fmt.Fprintf(p.w, "\r%s\x1b[K", progressLine(p.name, p.info, p.width(), p.final))
}

// Finish draws the last state (never completing the bar for the run: an
// interrupted run stays at what it settled) and ends the line.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		p.stopResize()
		p.final = true
		p.draw()
		fmt.Fprintln(p.w)
	}
}

// progressLine renders i in fewer than cols columns, so the terminal never
// wraps it. The percentage and counts always show; the other fields are
// dropped in a fixed order as the width shrinks: quality, the 131056 share,
// the estimate (none once the run ended), the rate, then the bar; the name is shortened first, down to
// minName columns, and last of all.
func progressLine(name string, i campaign.ProgressInfo, cols int, final bool) string {
	room := cols - 1 // the last column would leave the cursor in the wrap position
	pct := 0
	if i.Total > 0 {
		pct = i.Done * 100 / i.Total // floor: 100 % only when everything is settled
		pct = min(pct, 100)
	}
	counts := fmt.Sprintf("%3d%% %d/%d", pct, i.Done, i.Total)
	type field struct {
		text string
		on   bool
	}
	// In drop order: the first is dropped first.
	optional := []field{
		{"quality " + i.Quality, i.Quality != ""},
		{fmt.Sprintf("131056 %.1f%%", i.RateLimited*100), true},
		{"ETA " + eta(i), !final && i.Rate > 0 && i.Total > i.Done},
		{fmt.Sprintf("%.0f msg/s", i.Rate), true},
	}
	const minBar, maxBar, minName = 10, 40, 20
	for drop := 0; ; drop++ {
		var tail []string
		for k := len(optional) - 1; k >= drop; k-- {
			if optional[k].on {
				tail = append(tail, optional[k].text)
			}
		}
		if i.Waiting != "" {
			tail = append(tail, i.Waiting)
		}
		rest := counts
		if len(tail) > 0 {
			rest += " · " + strings.Join(tail, " · ")
		}
		// name + " " + "[bar] " + rest
		fixed := textWidth(rest)
		nameW := min(textWidth(name), max(minName, room-fixed-1-(minBar+3)))
		barW := min(maxBar, room-fixed-nameW-1-3)
		if barW >= minBar {
			return fitText(name, nameW) + " " + bar(barW, i) + " " + rest
		}
		if drop < len(optional) {
			continue
		}
		// Nothing left to drop but the bar and the waiting reason.
		line := fitText(name, max(0, min(textWidth(name), room-fixed-1))) + " " + rest
		return fitText(line, room)
	}
}

// bar draws [####----] in w columns, filled by the settled share.
func bar(w int, i campaign.ProgressInfo) string {
	inner := w - 2
	fill := 0
	if i.Total > 0 {
		fill = min(inner, i.Done*inner/i.Total)
	}
	return "[" + strings.Repeat("#", fill) + strings.Repeat("-", inner-fill) + "]"
}

// eta estimates the time left at the current rate.
func eta(i campaign.ProgressInfo) string {
	d := time.Duration(float64(i.Total-i.Done) / i.Rate * float64(time.Second))
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < time.Hour:
		return d.Round(time.Minute).String()
	default:
		return d.Round(time.Hour).String()
	}
}

// textWidth is the number of terminal columns s takes: wide (CJK) runes
// take two.
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// fitText shortens s to at most w columns, keeping its start and its end
// (a campaign's name is told apart by both) around an ellipsis.
func fitText(s string, w int) string {
	if textWidth(s) <= w {
		return s
	}
	if w <= 1 {
		return strings.Repeat("…", max(w, 0))
	}
	rs := []rune(s)
	head, tail := (w-1+1)/2, (w-1)/2
	var b strings.Builder
	n := 0
	for _, r := range rs {
		if n+runeWidth(r) > head {
			break
		}
		b.WriteRune(r)
		n += runeWidth(r)
	}
	b.WriteString("…")
	var end []rune
	n = 0
	for k := len(rs) - 1; k >= 0; k-- {
		if n+runeWidth(rs[k]) > tail {
			break
		}
		end = append(end, rs[k])
		n += runeWidth(rs[k])
	}
	slices.Reverse(end)
	b.WriteString(string(end))
	return b.String()
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func codeMeaning(code int) string { return sender.Lookup(code).Meaning }
