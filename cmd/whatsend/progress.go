package main

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender"
)

// progress shows a run's progress: a bar on stderr when it is a terminal,
// otherwise a log line at most every logEvery.
type progress struct {
	mu     sync.Mutex
	bar    *progressbar.ProgressBar
	logger *slog.Logger
	name   string
	last   time.Time
	now    func() time.Time
	info   campaign.ProgressInfo
	w      io.Writer
}

const logEvery = 5 * time.Second

func (a *app) newProgress(name string) *progress {
	p := &progress{logger: a.logger, name: name, now: a.now, w: a.errOut}
	if a.errIsTerminal() {
		p.bar = progressbar.NewOptions(-1,
			progressbar.OptionSetWriter(a.errOut),
			progressbar.OptionSetDescription(name),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionThrottle(100*time.Millisecond),
		)
	}
	return p
}

// Update implements campaign.Progress.
func (p *progress) Update(i campaign.ProgressInfo) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.info = i
	desc := fmt.Sprintf("%s · %.0f msg/s · 131056 %.1f%%", p.name, i.Rate, i.RateLimited*100)
	if i.Quality != "" {
		desc += " · quality " + i.Quality
	}
	if i.Waiting != "" {
		desc += " · " + i.Waiting
	}
	if p.bar != nil {
		if p.bar.GetMax() != i.Total && i.Total > 0 {
			p.bar.ChangeMax(i.Total)
		}
		p.bar.Describe(desc)
		_ = p.bar.Set(i.Done)
		return
	}
	if now := p.now(); now.Sub(p.last) >= logEvery || i.Waiting != "" {
		p.last = now
		p.logger.Info("progress", "campaign", p.name, "done", i.Done, "total", i.Total, "sent", i.Sent,
			"rate", i.Rate, "rate_limited_share", i.RateLimited, "quality", i.Quality, "waiting", i.Waiting)
	}
}

// Finish closes the bar.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
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
