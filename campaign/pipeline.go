package campaign

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// A run is a pipeline of three goroutines: the dispatcher (runner.dispatch)
// picks and paces recipients, the checkpointer commits them in_flight and
// starts their requests, the recorder commits the answers.

// loop runs the pipeline until the dispatcher stops, then drains it.
func (r *runner) loop(ctx context.Context) error {
	toCommit := make(chan dispatched, 256)
	results := make(chan sendResult, 1024)
	var sends sync.WaitGroup
	slots := make(chan struct{}, maxConcurrency)

	// Requests already out finish on a signal, for at most ShutdownWait.
	sendCtx, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	cpDone := make(chan error, 1)
	go func() { cpDone <- r.checkpointer(ctx, sendCtx, toCommit, slots, results, &sends) }()
	recDone := make(chan struct{})
	go func() { r.recorder(ctx, results); close(recDone) }()

	stopErr := r.dispatch(ctx, toCommit)
	close(toCommit)
	cpErr := <-cpDone
	r.waitSends(ctx, &sends, abandon)
	close(results)
	<-recDone

	r.mu.Lock()
	fatalErr := r.fatalErr
	r.mu.Unlock()
	return errors.Join(stopErr, cpErr, fatalErr)
}

// waitSends waits for the requests already out. Once ctx is cancelled (a
// signal) it waits at most ShutdownWait, then cancels those still
// unanswered: they come back as transport errors and are recorded
// uncertain (or pending when the request had not been written yet).
func (r *runner) waitSends(ctx context.Context, sends *sync.WaitGroup, abandon context.CancelFunc) {
	done := make(chan struct{})
	go func() { sends.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	t := time.NewTimer(r.o.ShutdownWait)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	r.d.Logger.Warn("requests still unanswered after the shutdown wait are abandoned: their recipients are uncertain",
		"campaign", r.c.Name, "in_flight", r.inflight.Load(), "wait", r.o.ShutdownWait)
	abandon()
	<-done
}

// checkpointer commits dispatched recipients as in_flight in groups — the
// checkpoint a crash relies on — and only then starts their requests.
func (r *runner) checkpointer(ctx, sendCtx context.Context, in <-chan dispatched, slots chan struct{}, results chan<- sendResult, sends *sync.WaitGroup) error {
	group := make([]dispatched, 0, 64)
	for first := range in {
		group = gather(in, append(group[:0], first), r.cpWait, r.flushing.Load)
		// Slots are taken before the commit so that a committed recipient
		// never waits in_flight for a free request.
		for range group {
			slots <- struct{}{}
		}
		as := make([]store.Attempt, len(group))
		for i, d := range group {
			as[i] = d.attempt
		}
		err := r.d.Store.BeginAttempts(context.WithoutCancel(ctx), as)
		r.uncommitted.Add(-int64(len(group)))
		if err != nil {
			for range group {
				<-slots
			}
			r.inflight.Add(-int64(len(group)))
			// Stop the dispatcher first, then drain: nothing else may leave.
			r.mu.Lock()
			r.pause = &pauseCause{Kind: "store", Reason: "the store could not record the checkpoint"}
			r.mu.Unlock()
			for range in {
				r.inflight.Add(-1)
				r.uncommitted.Add(-1)
			}
			return fmt.Errorf("checkpoint: %w", err)
		}
		for _, d := range group {
			sends.Go(func() {
				defer func() { <-slots }()
				start := time.Now()
				acc, err := d.n.send.SendTemplate(sendCtx, r.message(d))
				results <- sendResult{d: d, acc: acc, err: err, took: time.Since(start)}
			})
		}
	}
	return nil
}

func (r *runner) message(d dispatched) sender.Message {
	return withComponents(sender.Message{
		To:       d.r.Phone,
		Template: r.s.Template,
		Language: r.s.Language,
		Format:   r.s.Format(),
		Params:   d.r.Params,
		Names:    r.s.ParamNames,
		Callback: store.Callback(r.c.ID, d.r.ID, d.attempt.ID),
	}, d.r.Components, r.s)
}

// recorder commits outcomes in groups and feeds the guard.
func (r *runner) recorder(ctx context.Context, in <-chan sendResult) {
	wctx := context.WithoutCancel(ctx)
	group := make([]sendResult, 0, 256)
	var lastProgress time.Time
	for first := range in {
		// Wait no longer than a request takes: the outcomes a crash can
		// lose are then at most about as many as the requests in flight.
		group = gather(in, append(group[:0], first), min(recordWait, max(first.took, 0)), nil)
		now := r.d.Now()
		os := make([]store.Outcome, len(group))
		for i, x := range group {
			os[i] = r.outcome(x, now)
		}
		tctx, cancel := context.WithTimeout(wctx, 30*time.Second)
		err := r.d.Store.FinishAttempts(tctx, os)
		cancel()
		r.inflight.Add(-int64(len(group)))
		if err != nil {
			r.mu.Lock()
			r.fatalErr = errors.Join(r.fatalErr, fmt.Errorf("record outcomes: %w", err))
			r.mu.Unlock()
		}
		select {
		case r.wake <- struct{}{}:
		default:
		}
		if r.d.Progress != nil && (now.Sub(lastProgress) >= 200*time.Millisecond || len(in) == 0) {
			lastProgress = now
			r.d.Progress.Update(r.progress())
		}
	}
}

func (r *runner) progress() ProgressInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := ProgressInfo{Done: r.stats.settled, Total: r.stats.total, Sent: r.stats.sent}
	// A pool shows its total rate, its highest 131056 share and its worst
	// quality.
	for _, n := range r.nums {
		if n.paused != nil {
			continue
		}
		p.Rate += n.baseRate * n.g.rateFactor()
		p.RateLimited = max(p.RateLimited, n.g.share())
		if p.Quality == "" || qualityRank(n.g.quality) > qualityRank(p.Quality) {
			p.Quality = n.g.quality
		}
	}
	return p
}

// flushCheckpoints waits until every dispatched recipient's in_flight record
// is committed, so counts read from the store include them.
func (r *runner) flushCheckpoints(ctx context.Context) error {
	r.flushing.Store(true)
	defer r.flushing.Store(false)
	for i := 0; r.uncommitted.Load() > 0; i++ {
		if err := sleepCtx(ctx, time.Millisecond); err != nil {
			return context.Cause(ctx)
		}
	}
	return nil
}

// Commits are grouped: one synced transaction per item would cost most of
// the CPU at 1,000 msg/s. From groupingRate up, the checkpointer waits at
// most checkpointWait for more recipients (a request leaves only after its
// checkpoint, so sends may leave up to that much later than paced; the pair
// spacer adds it as a margin). Below it, a group is what is already queued,
// so sends leave exactly as paced. The recorder waits at most recordWait,
// and no longer than the group's first request took (an outcome lost in a
// crash leaves its recipient uncertain, never re-sent: with this bound a
// kill loses about as many answered outcomes as there were requests in
// flight, not 50 ms of answers).
const (
	groupingRate   = 200 // msg/s
	checkpointWait = 5 * time.Millisecond
	recordWait     = 50 * time.Millisecond
)

// gather adds to group what arrives on in within wait, up to the group's
// capacity, returning early when in is closed or cut reports true.
func gather[T any](in <-chan T, group []T, wait time.Duration, cut func() bool) []T {
	var timeout <-chan time.Time
	for len(group) < cap(group) {
		select {
		case x, ok := <-in:
			if !ok {
				return group
			}
			group = append(group, x)
			continue
		default:
		}
		if cut != nil && cut() {
			return group
		}
		if timeout == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case x, ok := <-in:
			if !ok {
				return group
			}
			group = append(group, x)
		case <-timeout:
			return group
		}
	}
	return group
}

// qualityRank orders quality ratings from best to worst.
func qualityRank(q string) int {
	switch q {
	case "GREEN":
		return 1
	case "YELLOW":
		return 2
	case "RED":
		return 3
	}
	return 0
}
