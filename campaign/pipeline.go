package campaign

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whatsend/whatsend/journal"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// A run is a pipeline: the dispatcher (runner.dispatch) picks and paces
// recipients; ONE writer commits their checkpoints (in_flight) together
// with the answers of the requests already out, one transaction and one
// sync per group, and starts each request once its checkpoint is
// committed; the requests hand their answers back to the writer.

// loop runs the pipeline until the dispatcher stops, then drains it.
func (r *runner) loop(ctx context.Context) error {
	toCommit := make(chan dispatched, 256)
	results := make(chan sendResult, 1024)
	var sends sync.WaitGroup
	slots := make(chan struct{}, maxConcurrency)

	// Requests already out finish on a signal, for at most ShutdownWait.
	sendCtx, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	w := &writer{r: r, sendCtx: sendCtx, slots: slots, results: results, sends: &sends, drained: make(chan error, 1)}
	done := make(chan struct{})
	go func() { w.run(ctx, toCommit); close(done) }()

	stopErr := r.dispatch(ctx, toCommit)
	if ctx.Err() != nil || r.pausing() || r.pastDeadline {
		// Requests checkpointed ahead of their slot that have not left
		// stay home: a signal, a pause or --max-duration stops what has
		// not left (with the journal's second of lead, a deadline would
		// otherwise send up to a second past it).
		close(r.halt)
	}
	close(toCommit)
	cpErr := <-w.drained // every checkpoint committed and its request started, or dropped
	r.waitSends(ctx, &sends, abandon)
	close(results)
	<-done

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

// writer is the run's one store writer for sending: it gathers dispatched
// recipients (checkpoints) and answers (outcomes) and commits both in one
// CommitAttempts, then starts the committed recipients' requests. A
// checkpoint is committed by its deadline (checkpointBy); an answer within
// the request's own latency (recordWait at most), so that a kill -9 loses
// few answered outcomes.
type writer struct {
	r       *runner
	sendCtx context.Context
	slots   chan struct{}
	results chan sendResult
	sends   *sync.WaitGroup
	drained chan error // the checkpoints are all committed (or dropped): the error of the first that failed

	begins []dispatched
	outs   []store.Outcome
	segs   []*journal.Segment // the journal segment of each of outs' checkpoints
	// beginBy and outBy are when the gathered checkpoints and answers
	// must be committed.
	beginBy, outBy time.Time
	outFirst       time.Time   // when the first of the gathered answers came
	failed         error       // a checkpoint failed: nothing more leaves
	answerFailed   atomic.Bool // the journal failed to note an answer (logged once)
	lastProgress   time.Time
}

// The writer's group sizes: a commit holds at most this many checkpoints
// and answers.
const (
	maxBegins   = 256
	maxOutcomes = 512
)

func (w *writer) run(ctx context.Context, in <-chan dispatched) {
	r := w.r
	wctx := context.WithoutCancel(ctx)
	results := (<-chan sendResult)(w.results)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for in != nil || results != nil {
		now := r.d.Now()
		full := len(w.begins) >= maxBegins || len(w.outs) >= maxOutcomes
		due := (len(w.begins) > 0 && (!now.Before(w.beginBy) || r.flushing.Load())) ||
			(len(w.outs) > 0 && (!now.Before(w.answersBy()) || w.allAnswered()))
		if full || due {
			// What is already waiting goes in the same commit.
			if closed := w.gather(&in, &results, now); closed {
				w.commit(wctx)
				w.drained <- w.failed
				continue
			}
			w.commit(wctx)
			continue
		}
		var wake <-chan time.Time
		if at, ok := w.deadline(); ok {
			timer.Reset(at.Sub(now))
			wake = timer.C
		}
		select {
		case d, ok := <-in:
			if !ok {
				in = nil
				w.commit(wctx) // the last checkpoints: their requests leave now
				w.drained <- w.failed
				continue
			}
			w.addBegin(d, now)
		case x, ok := <-results:
			if !ok {
				results = nil
				w.commit(wctx)
				continue
			}
			w.addOutcome(x, now)
		case <-r.flushReq:
		case <-wake:
		}
		if wake != nil && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// answersBy is when the gathered answers must be committed: outBy, or,
// once the dispatcher has nothing more to send (runner.tail), tailHold
// after the first of them came. Committing each answer of the tail on its
// own cost a transaction and a dispatcher round per request of the lead.
func (w *writer) answersBy() time.Time {
	if w.r.tail.Load() {
		return earlier(w.outBy, w.outFirst.Add(tailHold))
	}
	return w.outBy
}

// allAnswered reports whether, in the tail, every request out has
// answered: nothing more is coming for the gathered answers to wait for.
func (w *writer) allAnswered() bool {
	return w.r.tail.Load() && int64(len(w.outs)) >= w.r.inflight.Load()
}

// gather takes the checkpoints and answers already waiting, without
// blocking, up to a group's size. closed: the dispatcher is done (in is
// then nil).
func (w *writer) gather(in *<-chan dispatched, results *<-chan sendResult, now time.Time) (closed bool) {
	for len(w.begins) < maxBegins && len(w.outs) < maxOutcomes {
		select {
		case d, ok := <-*in:
			if !ok {
				*in = nil
				return true
			}
			w.addBegin(d, now)
		case x, ok := <-*results:
			if !ok {
				*results = nil
				return false
			}
			w.addOutcome(x, now)
		default:
			return false
		}
	}
	return false
}

// answer turns a request's answer into its outcome, notes it in the
// journal at once (a kill then loses no answer, whatever the writer is
// doing) and hands it to the writer.
func (w *writer) answer(x sendResult) {
	r := w.r
	x.o = r.outcome(x, r.d.Now())
	if r.jr != nil {
		if err := r.jr.Answer(x.o); err != nil && !w.answerFailed.Swap(true) {
			// The answer is still committed with the next group; until
			// then a kill leaves its recipient uncertain, as without a
			// journal.
			r.d.Logger.Warn("the send journal could not note an answer", "err", err)
		}
	}
	w.results <- x
}

// addOutcome gathers an answer's outcome for the next commit.
func (w *writer) addOutcome(x sendResult, now time.Time) {
	if len(w.outs) == 0 {
		w.outFirst = now
		// Without a journal, wait no longer than a request takes: the
		// answers a crash can lose are then about as many as the
		// requests in flight. With one, the answers ride with the next
		// checkpoints: a kill loses none.
		w.outBy = now.Add(min(recordWait, max(x.took, 0)))
		if w.r.jr != nil {
			w.outBy = now.Add(journalHold)
		}
	}
	w.outs = append(w.outs, x.o)
	w.segs = append(w.segs, x.d.seg)
}

// addBegin gathers a dispatched recipient. Its checkpoint is due by its
// slot less the time a commit may take (checkpointMargin) when the
// dispatcher hands recipients over ahead of their slot (low rates), or
// within checkpointWait of the first of the group otherwise.
func (w *writer) addBegin(d dispatched, now time.Time) {
	r := w.r
	if w.failed != nil {
		// Nothing leaves after a failed checkpoint.
		r.inflight.Add(-1)
		r.uncommitted.Add(-1)
		r.signalCommitted()
		return
	}
	by := now.Add(r.cpWait)
	if r.lead > 0 {
		by = d.attempt.StartedAt.Add(-checkpointMargin)
	}
	if len(w.begins) == 0 || by.Before(w.beginBy) {
		w.beginBy = by
	}
	w.begins = append(w.begins, d)
}

// deadline is the earliest commit deadline of what is gathered.
func (w *writer) deadline() (time.Time, bool) {
	switch {
	case len(w.begins) > 0 && len(w.outs) > 0:
		return earlier(w.beginBy, w.answersBy()), true
	case len(w.begins) > 0:
		return w.beginBy, true
	case len(w.outs) > 0:
		return w.answersBy(), true
	}
	return time.Time{}, false
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// commit writes the gathered checkpoints and answers in one transaction,
// then starts the checkpointed requests and lets the dispatcher know.
func (w *writer) commit(wctx context.Context) {
	r := w.r
	begins, os, segs := w.begins, w.outs, w.segs
	w.begins, w.outs, w.segs = nil, nil, nil
	if len(begins) == 0 && len(os) == 0 {
		return
	}
	// Slots are taken before the commit so that a committed recipient
	// never waits in_flight for a free request.
	for range begins {
		w.slots <- struct{}{}
	}
	now := r.d.Now()
	as := make([]store.Attempt, len(begins))
	for i, d := range begins {
		as[i] = d.attempt
	}
	var cpErr, recErr error
	if r.jr != nil && len(as) > 0 {
		// Noted before committed: a checkpoint the journal does not hold
		// would be uncertain after a kill, one it holds without its
		// request leaving is pending again.
		seg, err := r.jr.Begin(as)
		if err != nil {
			cpErr, as = err, nil
		}
		for i := range begins {
			begins[i].seg = seg
		}
	}
	cctx, cancel := wctx, context.CancelFunc(func() {})
	if len(as) == 0 {
		cctx, cancel = context.WithTimeout(wctx, 30*time.Second)
	}
	err := r.d.Store.CommitAttempts(cctx, as, os)
	cancel()
	if cpErr != nil {
		recErr = err
	} else if err != nil && len(as) > 0 && len(os) > 0 {
		// Which failed? The answers alone need no lease: record them.
		tctx, cancel := context.WithTimeout(wctx, 30*time.Second)
		recErr = r.d.Store.CommitAttempts(tctx, nil, os)
		cancel()
		cpErr = err
	} else if err != nil && len(as) > 0 {
		cpErr = err
	} else {
		recErr = err
	}
	r.uncommitted.Add(-int64(len(begins)))
	r.inflight.Add(-int64(len(os)))
	if recErr == nil && r.jr != nil {
		for i, seg := range segs {
			if i == 0 || seg != segs[i-1] {
				n := 1
				for n < len(segs)-i && segs[i+n] == seg {
					n++
				}
				r.jr.Settled(seg, n)
			}
		}
	}
	if recErr != nil {
		r.unsettled.Store(true)
		r.mu.Lock()
		r.fatalErr = errors.Join(r.fatalErr, fmt.Errorf("record outcomes: %w", recErr))
		r.mu.Unlock()
	}
	if cpErr != nil {
		for range begins {
			<-w.slots
		}
		r.inflight.Add(-int64(len(begins)))
		// Stop the dispatcher: nothing else may leave.
		r.mu.Lock()
		r.pause = &pauseCause{Kind: "store", Reason: "the store could not record the checkpoint"}
		r.mu.Unlock()
		if w.failed == nil {
			w.failed = fmt.Errorf("checkpoint: %w", cpErr)
		}
		r.unsettled.Store(true)
		begins = nil
	}
	r.signalCommitted()
	for _, d := range begins {
		w.sends.Go(func() {
			defer func() { <-w.slots }()
			// Checkpointed ahead of its slot: leave on it, or once a
			// throughput back-off the number took meanwhile (130429,
			// 131057) ends; not at all once the run halts.
			for {
				wait := later(d.attempt.StartedAt, r.throttled(d.n)).Sub(r.d.Now())
				if wait <= 0 {
					break
				}
				if halted, err := sleepHalt(w.sendCtx, r.halt, wait); halted {
					w.answer(sendResult{d: d, withdrawn: true})
					return
				} else if err != nil {
					break
				}
			}
			if r.pausing() {
				// Paused (the guard, quality, a fatal answer) while it
				// waited for its slot: it stays home.
				w.answer(sendResult{d: d, withdrawn: true})
				return
			}
			m := r.message(d)
			refused := make(chan error, 1)
			if r.jr != nil {
				// Noted as the client writes the request, not before it
				// waits for its connection: a kill leaves uncertain the
				// requests on their way, not a step's worth still in the
				// client's hands.
				m.Leaving = func() error {
					err := r.jr.Leaving(d.attempt.ID)
					if err != nil {
						select {
						case refused <- err:
						default:
						}
					}
					return err
				}
			}
			start := time.Now()
			acc, err := d.n.send.SendTemplate(w.sendCtx, m)
			select {
			case err := <-refused:
				// The journal could not note it: it did not leave.
				w.answer(sendResult{d: d, withdrawn: true, err: err})
			default:
				w.answer(sendResult{d: d, acc: acc, err: err, took: time.Since(start)})
			}
		})
	}
	if len(os) > 0 {
		select {
		case r.wake <- struct{}{}:
		default:
		}
		if r.d.Progress != nil && (now.Sub(w.lastProgress) >= 200*time.Millisecond || len(w.results) == 0) {
			w.lastProgress = now
			r.d.Progress.Update(r.progress())
		}
	}
}

// sleepHalt sleeps d unless ctx ends (its error) or halt closes first
// (halted).
func sleepHalt(ctx context.Context, halt <-chan struct{}, d time.Duration) (halted bool, err error) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-halt:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
		return false, nil
	}
}

// pausing reports whether the run is pausing.
func (r *runner) pausing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pause != nil
}

// signalCommitted wakes a dispatcher waiting in flushCheckpoints.
func (r *runner) signalCommitted() {
	select {
	case r.committed <- struct{}{}:
	default:
	}
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
// is committed, so counts read from the store include them. The writer
// commits at once when asked.
func (r *runner) flushCheckpoints(ctx context.Context) error {
	r.flushing.Store(true)
	defer r.flushing.Store(false)
	for r.uncommitted.Load() > 0 {
		r.askFlush()
		select {
		case <-r.committed:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	return nil
}

// askFlush wakes the writer to look at what it holds again (flushing,
// tail).
func (r *runner) askFlush() {
	select {
	case r.flushReq <- struct{}{}:
	default:
	}
}

// Commits are grouped: one synced transaction per item would cost most of
// the CPU. The writer commits the answers it holds with the next
// checkpoints. From groupingRate up, it waits at most checkpointWait for
// more recipients (a request leaves only after its checkpoint, so sends may
// leave up to that much later than paced; the pair spacer adds it as a
// margin). Below it, the dispatcher hands a recipient over checkpointLead
// before its pace slot, the writer commits by checkpointMargin before the
// slot what has gathered by then (about two recipients at 80 msg/s, with
// the answers that came meanwhile), and the request leaves on its slot:
// the process sleeps between sends, and a send leaves no later than paced.
// The writer waits for answers at most recordWait, and no longer than the
// group's first request took (an outcome lost in a crash leaves its
// recipient uncertain, never re-sent: with this bound a kill loses about as
// many answered outcomes as there were requests in flight, not 50 ms of
// answers).
const (
	groupingRate     = 200 // msg/s
	checkpointWait   = 5 * time.Millisecond
	checkpointLead   = 40 * time.Millisecond
	checkpointMargin = 15 * time.Millisecond
	recordWait       = 50 * time.Millisecond
)

// SendGrid: requests leave on the multiples of it (wall-clock time), each
// with the others the rate limiter paced inside the same step: at 80 msg/s,
// four every 50 ms instead of one every 12.5 ms. Each step costs the process
// one wake-up for its timers and one for its answers, which come back
// together, instead of one each per send: on a machine that idles between
// sends, a third of the CPU at 80 msg/s (README "Performance"). The grid
// divides a second, so each wall-clock second holds what the limiter paced
// in one second (at most the rate and its burst, as without the grid); a
// window of one second that starts between two steps may hold up to a
// step's worth (5 % of the rate) more. A request leaves at most one step
// later than its limiter slot, and the pair spacer records the step, the
// time it leaves.
const SendGrid = 50 * time.Millisecond

// With a send journal (Deps.Journal), a kill loses neither the answers
// not yet committed nor the checkpoints whose requests never left: the
// next run reads them in the journal. So at every rate the dispatcher
// hands recipients over journalLead before their slot (at most
// journalLeadSends of them: the requests waiting for their slot hold
// request slots), one commit holds the checkpoints of about that long,
// the answers ride with the next checkpoints (or wait journalHold), and
// each request leaves on its slot. Once the dispatcher has nothing more
// to send, the answers still coming are committed when all are in, or
// tailHold after the first of them. At 80 msg/s a second's lead makes a
// commit of about 80 checkpoints where 200 ms made 16: each commit is a
// synced transaction, and it cut the CPU per send by about an eighth
// (README "Performance"). A machine that loses power recovers from the
// store alone: then up to journalLead of checkpoints (80 recipients at 80
// msg/s, 256 at 1,000) and journalHold of answers are uncertain, never
// sent twice.
const (
	journalLead      = time.Second
	journalLeadSends = 256
	journalHold      = journalLead + 250*time.Millisecond
	tailHold         = 100 * time.Millisecond
)

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
