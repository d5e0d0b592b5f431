package campaign

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/journal"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// Sender is what the engine needs from the Cloud API client.
// *sender.Client satisfies it.
type Sender interface {
	// SendTemplate calls m.Leaving, when set, before the request can
	// reach the API, and sends nothing when it fails (sender.Client does).
	SendTemplate(ctx context.Context, m sender.Message) (sender.Accepted, error)
	PhoneHealth(ctx context.Context) (sender.Health, error)
}

// Progress receives the run's progress; cmd/whatsend draws a bar on a
// terminal or logs a line every few seconds.
type Progress interface {
	Update(p ProgressInfo)
}

// ProgressInfo is a snapshot of a run.
type ProgressInfo struct {
	Done        int     // recipients settled this run (sent, failed, deferred, uncertain)
	Total       int     // recipients to settle at the start of this run
	Sent        int     // sent this run
	Rate        float64 // current send rate, msg/s
	RateLimited float64 // share of 131056 answers in the guard's window
	Quality     string
	Waiting     string // why the run is waiting, when it is
}

// Deps are the parts a run is built from.
type Deps struct {
	Store  store.Store
	Sender Sender // sends from the campaign's (first) phone number
	// SenderFor returns the client sending from one phone number of the
	// campaign's pool (--phone-number-id A,B,C); nil: Sender only.
	SenderFor func(phoneNumberID string) (Sender, error)
	Logger    *slog.Logger
	Now       func() time.Time  // default time.Now
	Progress  Progress          // optional
	Owner     Owner             // lease identity
	Rand      func(int64) int64 // jitter source, default math/rand/v2
	Prober    LinkProber        // header links' pre-flight, default sender.Prober
	// Journal is the directory of the runs' send journals (package
	// journal), beside the store; "" runs without one.
	Journal string
	// Sending, when set, is called before the first send of a run with
	// its paced rate (msg/s, over all its numbers), and the function it
	// returns once the run ends. The command tunes the Go runtime for
	// sending there: one core below LowRateBelow, a sparser garbage
	// collection at every rate (README, "Performance").
	Sending func(rate float64) (restore func())
}

// LowRateBelow is the send rate (msg/s, a run's numbers together) under
// which the command sends on one core (Deps.Sending). Below it a run
// needs a few hundredths of a core, and each request is a handful of
// goroutine hand-offs, each of which, with a second core, wakes a thread
// that then spins a while looking for work: on this project's 2-core machine one core saved about
// a seventh of the CPU at 80 msg/s (README, "Performance"). From the
// grouping rate up, the dispatcher, the writer and the requests keep two
// cores busy enough (at 1,000 msg/s one core cost more).
const LowRateBelow = groupingRate

func (d *Deps) defaults() {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Rand == nil {
		d.Rand = defaultRand
	}
}

// RunOptions are the per-invocation options of run and resume.
type RunOptions struct {
	MaxDuration     time.Duration // stop with work left after this long (0: no limit)
	ResendUncertain bool          // re-send recipients whose outcome is unknown
	Force           bool          // resume a paused campaign even while its cause persists
	Wait            bool          // sleep until capacity frees instead of stopping
	SkipLinkCheck   bool          // the pre-flight does not ask header links (--skip-link-check)
	// RetryWait is the longest the run waits in-process for a retry to come
	// due; later retries (deferrals) end the run with work left.
	RetryWait time.Duration
	// Number, when set, makes this a pair run: it sends only the
	// recipients of a pooled campaign assigned to that phone number of its
	// pool, under the pair's lease and the number's, beside the pair runs
	// of the other numbers (see pair.go). Empty: a whole run, which sends
	// from every number and excludes the pair runs.
	Number string
	// ShutdownWait bounds how long an interrupted run waits for the
	// requests already out (default DefaultShutdownWait). Those still
	// unanswered then are abandoned: their in_flight checkpoint is in the
	// store and they end uncertain, never re-sent by default.
	ShutdownWait time.Duration
}

// DefaultShutdownWait is the default RunOptions.ShutdownWait: Docker's
// default stop grace, and a third of the 30 s HTTP timeout a hung request
// would otherwise hold the exit to.
const DefaultShutdownWait = 10 * time.Second

// Result is what one invocation of run or resume did.
type Result struct {
	Campaign   store.Campaign
	Summary    store.Summary
	SummaryErr error // the campaign's figures could not be read (e.g. a full disk): Summary is empty
	Sent       int   // accepted by Meta this invocation
	Failed     int
	Deferred   int
	Uncertain  int // became uncertain this invocation (ambiguous answers, or a crash before)
	Attempts   int
	Elapsed    time.Duration
	Rate       float64 // the send rate used
	RateReason string
	Stop       string    // why the run ended, for the summary
	NextAt     time.Time // when there is more to do, if known
	// Window is the campaign's send window as a person reads it, empty
	// when it has none.
	Window string
	// Expired: recipients expired this invocation (--not-after passed).
	Expired int
	// ResentAfterSilence: uncertain recipients re-queued this invocation
	// because no status came for them while the receiver was up.
	ResentAfterSilence int
}

// Achieved is the send rate reached this invocation.
func (r Result) Achieved() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Sent) / r.Elapsed.Seconds()
}

// defaultRetryWait: retries due within this are waited for in-process.
const defaultRetryWait = 15 * time.Minute

// maxConcurrency bounds the requests in flight at once.
const maxConcurrency = 512

// Run sends a campaign until it is finished, paused, out of allowance or
// interrupted. It returns nil when the campaign is finished, an error
// matching ErrMoreWork when work is left, ErrPaused when the guard paused it,
// ErrBusy when another process holds its lease, and the context's cause when
// interrupted.
func Run(ctx context.Context, d Deps, campaignID int64, o RunOptions) (Result, error) {
	d.defaults()
	o.RetryWait = cmp.Or(o.RetryWait, defaultRetryWait)
	o.ShutdownWait = cmp.Or(o.ShutdownWait, DefaultShutdownWait)
	c, err := d.Store.Campaign(ctx, campaignID)
	if err != nil {
		return Result{}, fmt.Errorf("campaign %d: %w", campaignID, err)
	}
	res := Result{Campaign: c}
	s, err := DecodeSettings(c.Settings)
	if err != nil {
		return res, err
	}
	s = s.WithDefaults()
	if c.State == store.CampaignImporting {
		return res, fmt.Errorf("campaign %s: import did not finish; run the same CSV again to import it", c.Name)
	}
	if c.State == store.CampaignCancelled {
		return res, &StateError{Campaign: c.Name, State: c.State, Action: "send", Hint: "delete it (whatsend campaign delete " + QuoteArg(c.Name) + ") to import its CSV again"}
	}

	pool := s.Numbers(c.PhoneNumberID)
	keys := leaseKeys(c)
	if o.Number != "" {
		if !slices.Contains(pool, o.Number) {
			return res, fmt.Errorf("%w: campaign %s: phone number %s is not in its pool (%s)", ErrRefused, c.Name, o.Number, strings.Join(pool, ","))
		}
		keys = []string{pairLeaseKey(c.ID, o.Number), phoneLeaseKey(o.Number)}
	}
	nums, err := newNumbers(c, s, d, o.Number)
	if err != nil {
		return res, err
	}
	ls := &leases{st: d.Store, owner: d.Owner, now: d.Now}
	runCtx, stop, err := ls.hold(ctx, keys...)
	if err != nil {
		return res, err
	}
	defer stop()

	r := &runner{d: d, c: c, s: s, o: o, start: d.Now(), nums: nums, byID: map[string]*number{},
		number: o.Number, pool: pool, pair: o.Number != "" && len(pool) > 1, whole: d.Store}
	if r.pair {
		r.d.Store = numberShare{Store: d.Store, id: o.Number}
	}
	for _, n := range nums {
		r.byID[n.id] = n
	}
	if r.win, err = newSendWindow(s); err != nil {
		return res, fmt.Errorf("%w: campaign %s: %w", ErrRefused, c.Name, err)
	}
	if r.expiry, _, err = NotAfter(s.NotAfter, c.CreatedAt); err != nil {
		return res, fmt.Errorf("%w: campaign %s: %w", ErrRefused, c.Name, err)
	}
	err = r.run(runCtx)
	if r.pair {
		err = r.endPair(ctx, err)
	}
	if errors.Is(err, errExpired) {
		err = r.expire(context.WithoutCancel(ctx))
	}
	res = r.result(ctx, res)
	if err == nil || errors.Is(err, ErrMoreWork) || errors.Is(err, ErrPaused) {
		if c, err2 := d.Store.Campaign(context.WithoutCancel(ctx), campaignID); err2 == nil {
			res.Campaign = c
		}
	}
	if cause := context.Cause(runCtx); err != nil && cause != nil && ctx.Err() == nil && errors.Is(cause, ErrBusy) {
		err = cause // the lease was lost
	}
	return res, err
}

// runner is one invocation's state. The dispatcher (run) is the only
// goroutine that reads the store for work and decides what leaves next; the
// writer commits in_flight records and outcomes together in groups and
// starts the requests. What belongs to a phone number
// sent from (its pace, guard, health, back-off and queue) is in nums.
type runner struct {
	d     Deps
	c     store.Campaign
	s     Settings
	o     RunOptions
	start time.Time
	nums  []*number // the numbers sent from: the campaign's pool, in --phone-number-id order, or a pair run's number
	byID  map[string]*number

	number string   // a pair run's number (RunOptions.Number)
	pool   []string // the campaign's pool
	// pair: a pair run of a campaign of several numbers. Its d.Store reads
	// its number's share (numberShare); whole is the store unrestricted.
	pair         bool
	whole        store.Store
	othersPaused map[string]bool // a pair run: the pool's numbers paused by other processes
	pairPause    *pauseCause     // a pair run: why its number paused
	lastShared   time.Time       // a pair run: when pollShared last read

	wait      waitQueue
	waiting   map[int64]bool // recipients in wait, skipped when Due returns them again
	queued    map[int64]bool // recipients on a number's queue
	parked    map[int64]bool // recipients whose number is not sending this run
	lastFetch time.Time
	page      int // recipients read per page of Due (fetchPage)
	batch     int
	inBatch   int
	allowance *allowance

	inflight atomic.Int64 // dispatched and not yet recorded
	wake     chan struct{}
	stopMsg  string    // why the dispatcher stopped, for the summary
	nextAt   time.Time // when more can be done
	// uncommitted counts dispatched recipients whose in_flight record is not
	// yet committed.
	uncommitted atomic.Int64
	flushing    atomic.Bool   // the dispatcher waits for the checkpoints
	flushReq    chan struct{} // asks the writer to commit now
	committed   chan struct{} // the writer committed a group
	cpWait      time.Duration // how long the writer gathers checkpoints (high rates)
	tpl         templateCheck
	marketing   bool // the template is MARKETING: US recipients are skipped
	win         *sendWindow
	expiry      time.Time // --not-after; zero: none
	expired     int       // recipients expired this run
	resent      int       // uncertain recipients resent after silence this run
	settleAt    time.Time // when more uncertain recipients may be resent after silence
	wasPaused   bool      // the run resumes a paused campaign
	sentAny     atomic.Int64

	// handed: the dispatcher's list of the recipients it handed to the
	// writer, in order, from the first whose checkpoint may not be
	// committed yet (the writer commits in that order).
	handed []int64

	// tail: the dispatcher has nothing to send and waits for the answers
	// of the requests out: the writer commits them at once.
	tail atomic.Bool

	// lead: how long before its pace slot a recipient is handed to the
	// writer (low rates, or any rate with a journal), so its checkpoint is
	// committed with others and the request leaves on the slot.
	lead time.Duration
	// jr is the run's send journal (Deps.Journal), nil without one.
	jr *journal.Journal
	// unsettled: a commit failed, so the journal may hold what the store
	// does not: it stays for the next run.
	unsettled atomic.Bool
	// halt closes when the dispatcher stops on a signal, a pause or
	// --max-duration: requests waiting for their slot are withdrawn.
	halt chan struct{}
	// pastDeadline: the dispatcher stopped at --max-duration.
	pastDeadline bool

	// mu guards the fields below and the numbers' recorder fields, written
	// by the recorder.
	mu       sync.Mutex
	pause    *pauseCause
	fatalErr error
	stats    runStats
}

type runStats struct {
	sent, failed, deferred, uncertain, attempts, settled int
	total                                                int
}

// dueRecipient is a recipient picked for sending with its attempt number.
type dueRecipient struct {
	store.Recipient
}

// dispatched is a recipient whose request is about to leave.
type dispatched struct {
	r       store.Recipient
	attempt store.Attempt
	n       *number          // sent from
	seg     *journal.Segment // the journal file its checkpoint is noted in
}

// sendResult is a request's answer.
type sendResult struct {
	d    dispatched
	acc  sender.Accepted
	err  error
	took time.Duration // the request's round trip
	// withdrawn: the request never left (the run halted before its slot,
	// or err: the journal could not note it leaving).
	withdrawn bool
	o         store.Outcome // what it means, for the store
}

func (r *runner) run(ctx context.Context) error {
	st, log := r.d.Store, r.d.Logger
	now := r.d.Now()

	// A paused campaign past its --not-after is expired below: nothing is
	// sent, so its pause's cause needs no check.
	if r.c.State == store.CampaignPaused && !r.pastExpiry(now) {
		r.wasPaused = true
		if err := r.recheckPause(ctx); err != nil {
			return err
		}
	}
	if r.pair {
		if err := r.startPair(ctx); err != nil {
			return err
		}
	} else if len(r.pool) > 1 {
		if err := r.liftNumberPauses(ctx); err != nil {
			return err
		}
	}
	if err := r.recoverJournal(ctx, now); err != nil {
		return err
	}
	if n, err := st.MarkUncertain(ctx, r.c.ID, now); err != nil {
		return err
	} else if n > 0 {
		r.stats.uncertain += n
		log.Warn("recipients left in flight by an earlier run are uncertain: Meta may or may not have them; they are not re-sent (resume --resend-uncertain re-sends them)",
			"campaign", r.c.Name, "uncertain", n)
	}
	if r.o.ResendUncertain {
		n, err := st.RequeueUncertain(ctx, r.c.ID, now)
		if err != nil {
			return err
		}
		if n > 0 {
			log.Info("re-sending uncertain recipients", "campaign", r.c.Name, "count", n)
		}
	} else if err := r.settle(ctx, now); err != nil {
		return err
	}
	if r.pastExpiry(now) {
		return r.stop(ctx, stopReason{kind: stopExpired})
	}
	if r.win == nil {
		// The window was removed since recipients were held by it.
		if err := st.ReleaseHolds(ctx, r.c.ID); err != nil {
			return err
		}
	}
	if r.c.State == store.CampaignFinished {
		counts, err := st.Counts(ctx, r.c.ID)
		if err != nil {
			return err
		}
		if toSettle(counts) == 0 {
			return nil
		}
		if err := st.SetCampaignState(ctx, r.c.ID, store.CampaignReady, "", nil, now); err != nil {
			return err
		}
	}

	r.queued, r.parked = map[int64]bool{}, map[int64]bool{}
	if err := r.assign(ctx); err != nil {
		return err
	}
	var h sender.Health
	total := 0.0
	for _, n := range r.nums {
		hn, err := r.chooseRate(ctx, n)
		if err != nil {
			return err
		}
		if n.paused == nil {
			if total == 0 {
				h = hn
			}
			total += n.baseRate
		}
	}
	r.page = fetchPage(r.s.BatchSize*len(r.nums), total)
	r.openJournal()
	defer r.closeJournal()
	switch {
	case r.jr != nil:
		r.lead = min(journalLead, time.Duration(float64(time.Second)*journalLeadSends/max(total, 1)))
	case total >= groupingRate:
		r.cpWait = checkpointWait
	default:
		r.lead = checkpointLead
	}
	if r.d.Sending != nil && total > 0 {
		defer r.d.Sending(total)()
	}
	if err := r.preflightTemplate(ctx); err != nil {
		return err
	}
	al, err := newAllowance(ctx, st, r.s, r.c, r.d.Logger, h)
	if err != nil {
		return err
	}
	al.flush = r.flushCheckpoints
	al.res, al.chunk = st, reserveChunk(total)
	al.owner = fmt.Sprintf("%s/%d/%s", r.d.Owner.ID, r.c.ID, r.number)
	r.allowance = al
	defer al.release(ctx)
	if al.unlimited() {
		log.Info("messaging limit", "scope", r.c.Scope, "limit", "unlimited", "source", al.limit.Source)
	} else {
		log.Info("messaging limit", "scope", r.c.Scope, "limit", al.limit.Users, "source", al.limit.Source)
	}
	for _, n := range r.nums {
		seen, err := st.LastSends(ctx, n.id, now.Add(-time.Duration(r.s.PairInterval)))
		if err != nil {
			return err
		}
		n.pair = newPairSpacer(time.Duration(r.s.PairInterval)+r.cpWait, seen)
	}
	r.waiting = map[int64]bool{}
	r.wake = make(chan struct{}, 1)
	r.halt = make(chan struct{})
	r.flushReq, r.committed = make(chan struct{}, 1), make(chan struct{}, 1)
	if last, err := st.RecentAttempts(ctx, r.c.ID, 1); err == nil && len(last) > 0 {
		r.batch = last[0].Batch
	}
	r.batch++
	// The progress's total is counted beside the sending: on a campaign
	// of a million recipients the count takes a tenth of a second, which
	// the first sends need not wait for. Until it is known the progress
	// shows no total. Its read starts before the first request leaves, so
	// it sees no answer of this run (checkpoints are in_flight, which the
	// total counts).
	counted := make(chan struct{})
	defer func() { <-counted }()
	go func() {
		defer close(counted)
		counts, err := st.Counts(ctx, r.c.ID)
		if err != nil {
			log.Warn("could not count the campaign's recipients for the progress", "campaign", r.c.Name, "err", err)
			return
		}
		r.mu.Lock()
		r.stats.total = toSettle(counts)
		r.mu.Unlock()
	}()
	return r.loop(ctx)
}

// toSettle counts the recipients a run settles: those remaining and those
// a killed run left in flight.
func toSettle(c map[store.State]int) int {
	return Remaining(c) + c[store.StateInFlight]
}

// dispatch picks recipients and paces them out until a stop condition:
// each from its phone number's queue, the number that may send first
// going next.
func (r *runner) dispatch(ctx context.Context, out chan<- dispatched) error {
	deadline := time.Time{}
	if r.o.MaxDuration > 0 {
		deadline = r.start.Add(r.o.MaxDuration)
	}
	for {
		now, sr, stop := r.stopAt(ctx, deadline)
		if stop {
			return r.stop(ctx, sr)
		}
		if err := r.applyNumberPauses(ctx); err != nil {
			return err
		}
		if err := r.pollShared(ctx, now, false); err != nil {
			return err
		}
		for _, n := range r.nums {
			if n.paused == nil && r.healthOverdue(n, now) {
				if err := r.readHealth(ctx, n); err != nil {
					return err
				}
			}
		}
		for {
			w, ok := r.wait.popReady(now)
			if !ok {
				break
			}
			delete(r.waiting, w.ID)
			r.route(w.Recipient, true)
		}
		if r.wantFetch(now) {
			if _, err := r.refill(ctx, now); err != nil {
				return err
			}
		}
		n, readyAt := r.nextNumber(now)
		var backoff time.Time
		if n != nil {
			backoff = r.backoff(n)
		}
		if n == nil {
			done, err := r.idle(ctx, deadline)
			if done || err != nil {
				return err
			}
			continue
		}
		if readyAt = onGrid(readyAt).Add(-r.lead); readyAt.After(now) {
			// Sleep until the number's slot (less the lead), unless a
			// recipient waiting for its pair interval comes due first:
			// then look again.
			at, ok := r.wait.next()
			early := ok && at.Before(readyAt)
			if !early {
				at = readyAt
			}
			if err := sleepCtx(ctx, at.Sub(now)); err != nil {
				return context.Cause(ctx)
			}
			if early {
				continue
			}
			now = r.d.Now()
		}
		r.tail.Store(false)
		next := n.queue[0]
		n.queue = n.queue[1:]
		delete(r.queued, next.ID)

		if at := n.pair.allowedAt(next.Phone); at.After(now) {
			r.wait.add(waiting{at: at, r: dueRecipient{next}})
			r.waiting[next.ID] = true
			continue
		}
		if ok, err := r.allowance.take(ctx, next.Phone, now); err != nil {
			return err
		} else if !ok {
			if r.o.Wait {
				r.clearQueues()
				if err := r.waitCapacity(ctx); err != nil {
					return err
				}
				continue
			}
			return r.stop(ctx, stopReason{kind: stopAllowance, msg: r.allowance.stopMessage(), nextAt: r.allowance.nextFree})
		}

		at, err := r.pace(ctx, n, backoff)
		if err != nil {
			r.allowance.giveBack()
			return err
		}
		if r.pastExpiry(at) || !r.win.open(next.Phone, at) {
			// The pace crossed --not-after or the end of the window.
			r.allowance.giveBack()
			r.clearQueues()
			continue
		}
		n.pair.record(next.Phone, at)
		a := next.Attempts + 1
		r.inflight.Add(1)
		r.sentAny.Add(1)
		r.uncommitted.Add(1)
		r.handed = append(r.handed, next.ID)
		out <- dispatched{r: next, n: n, attempt: store.Attempt{
			ID:            fmt.Sprintf("%d-%d-%d", r.c.ID, next.ID, a),
			CampaignID:    r.c.ID,
			RecipientID:   next.ID,
			Number:        a,
			PhoneNumberID: n.id,
			To:            next.Phone,
			Scope:         r.c.Scope,
			Batch:         r.batch,
			StartedAt:     at,
			StartsWarmup:  r.allowance.starting,
		}}
		r.inBatch++
		if r.inBatch >= r.s.BatchSize {
			if err := r.endBatch(ctx); err != nil {
				return err
			}
		}
	}
}

// endBatch closes a batch: the pause between batches and the guard's
// health read.
func (r *runner) endBatch(ctx context.Context) error {
	r.batch++
	r.inBatch = 0
	if r.s.BatchInterval > 0 {
		if err := sleepCtx(ctx, time.Duration(r.s.BatchInterval)); err != nil {
			return context.Cause(ctx)
		}
	}
	if err := r.betweenBatches(ctx); err != nil {
		return err
	}
	return r.pollTemplate(ctx)
}

// fetch reads the next page of due recipients, dropping those already
// waiting and skipping the opted-out.
func (r *runner) fetch(ctx context.Context, now time.Time) ([]store.Recipient, error) {
	// A page whose recipients were all skipped or held (outside their
	// window) is no longer due: read the next one. Each pass takes at least
	// one recipient out of Due, so the loop ends.
	for {
		// Recipients dispatched whose in_flight record is not committed
		// yet are still due in the store: the page leaves them out. (It
		// used to wait for their commit, which cut the writer's groups at
		// every page: at 80 msg/s, commits of about 78 and 22 sends
		// instead of 80.)
		handed := r.uncommittedIDs()
		limit := r.page + len(r.waiting) + len(r.queued) + len(r.parked) + len(handed)
		page, err := r.d.Store.Due(ctx, r.c.ID, now, limit)
		if err != nil {
			return nil, err
		}
		out := page[:0]
		for _, rc := range page {
			if !r.waiting[rc.ID] && !r.queued[rc.ID] && !r.parked[rc.ID] && !handed[rc.ID] {
				out = append(out, rc)
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		if out, err = r.skipBlocked(ctx, out, now); err != nil {
			return nil, err
		}
		if out, err = r.holdClosed(ctx, out, now); err != nil || len(out) > 0 {
			return out, err
		}
	}
}

// uncommittedIDs returns the recipients handed to the writer whose
// checkpoint may not be committed yet: a few more than there are, never
// fewer. The writer commits checkpoints in the order they were handed
// and only then lowers uncommitted, so all but the last uncommitted of
// the list are committed; those are dropped from it.
func (r *runner) uncommittedIDs() map[int64]bool {
	if drop := len(r.handed) - int(r.uncommitted.Load()); drop > 0 {
		r.handed = slices.Delete(r.handed, 0, drop)
	}
	out := make(map[int64]bool, len(r.handed))
	for _, id := range r.handed {
		out[id] = true
	}
	return out
}

// skipBlocked marks recipients skipped right before sending: the opted-out;
// with a MARKETING template those in region US, where Meta does not deliver
// marketing templates (cloud-api.md §4.5); and those sent --max-unanswered
// template messages that never replied.
func (r *runner) skipBlocked(ctx context.Context, page []store.Recipient, now time.Time) ([]store.Recipient, error) {
	phones := make([]string, len(page))
	for i, rc := range page {
		phones[i] = rc.Phone
	}
	opted, err := r.d.Store.OptedOut(ctx, phones)
	if err != nil {
		return nil, err
	}
	var unanswered map[string]int
	if r.s.MaxUnanswered > 0 {
		if unanswered, err = r.d.Store.Unanswered(ctx, phones); err != nil {
			return nil, err
		}
	}
	if len(opted) == 0 && len(unanswered) == 0 && !r.marketing {
		return page, nil
	}
	skip := map[string][]int64{}
	out := page[:0]
	for _, rc := range page {
		switch {
		case opted[rc.Phone]:
			skip[csvimport.ReasonOptedOut] = append(skip[csvimport.ReasonOptedOut], rc.ID)
		case r.marketing && csvimport.Region(rc.Phone) == "US":
			skip[ReasonMarketingUS] = append(skip[ReasonMarketingUS], rc.ID)
		case rc.Attempts == 0 && unanswered[rc.Phone] >= r.s.MaxUnanswered:
			skip[ReasonUnanswered] = append(skip[ReasonUnanswered], rc.ID)
		default:
			out = append(out, rc)
		}
	}
	for _, reason := range []string{csvimport.ReasonOptedOut, ReasonMarketingUS, ReasonUnanswered} {
		if ids := skip[reason]; len(ids) > 0 {
			if err := r.d.Store.SkipRecipients(ctx, ids, reason, now); err != nil {
				return nil, err
			}
			r.d.Logger.Info("skipped recipients", "campaign", r.c.Name, "reason", reason, "count", len(ids))
		}
	}
	return out, nil
}

// idle handles "nothing to send right now". It reports done when the run
// should end (err says why: nil when finished).
func (r *runner) idle(ctx context.Context, deadline time.Time) (bool, error) {
	now := r.d.Now()
	if r.inflight.Load() > 0 {
		// Outcomes may bring retries: wait for the recorder, who commits
		// them as they come (tail) instead of holding them for
		// checkpoints that are not coming.
		r.tail.Store(true)
		r.askFlush()
		timer := time.NewTimer(time.Second)
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return true, context.Cause(ctx)
		case <-r.wake:
		case <-timer.C:
		}
		return false, nil
	}
	if at, ok := r.wait.next(); ok {
		return false, r.sleepUntil(ctx, at, deadline)
	}
	if err := r.pollShared(ctx, now, true); err != nil {
		return true, err // before the counts: a paused number's recipients may come to this one
	}
	counts, err := r.d.Store.Counts(ctx, r.c.ID)
	if err != nil {
		return true, err
	}
	if toSettle(counts) == 0 {
		if !r.settleAt.IsZero() {
			return r.awaitSettle(ctx, counts, deadline)
		}
		if r.pair {
			sr, err := r.shareDone(ctx, now)
			if err != nil {
				return true, err
			}
			return true, r.stop(ctx, sr)
		}
		return true, r.stop(ctx, stopReason{kind: stopFinished, at: now})
	}
	if sr, ok, err := r.parkedStop(ctx, counts); err != nil {
		return true, err
	} else if ok {
		return true, r.stop(ctx, sr)
	}
	next, ok, err := r.d.Store.NextDue(ctx, r.c.ID)
	if err != nil {
		return true, err
	}
	if ok && !next.After(now) && len(r.parked) > 0 {
		// What is due waits for a paused number: look again in a while.
		next = now.Add(time.Second)
	}
	// Pending recipients that are not due are outside their send window.
	outside := counts[store.StatePending]
	if outside > 0 && ok && r.o.Wait && (deadline.IsZero() || !next.After(deadline)) {
		r.waitingFor(fmt.Sprintf("outside the send window until %s", LocalTime(next)), next)
		return false, r.sleepUntil(ctx, next, deadline)
	}
	if !ok || next.Sub(now) > r.o.RetryWait || (!deadline.IsZero() && next.After(deadline)) {
		return true, r.stop(ctx, r.waitingStop(counts, next))
	}
	return false, r.sleepUntil(ctx, next, deadline)
}

// waitingStop is the stop of a run whose work left is not due in time:
// deferred or waiting to retry, or outside its send window until next.
func (r *runner) waitingStop(counts map[store.State]int, next time.Time) stopReason {
	msg := fmt.Sprintf("%d deferred or waiting to retry", counts[store.StateDeferred]+counts[store.StateRetry])
	if outside := counts[store.StatePending]; outside > 0 {
		msg = fmt.Sprintf("%d recipients outside their send window (%s); the next window opens %s",
			outside, r.win, LocalTime(next))
		if r.pastExpiry(next) {
			msg = fmt.Sprintf("%d recipients outside their send window (%s), which opens only after --not-after %s: they expire then",
				outside, r.win, LocalTime(r.expiry))
		}
		if n := counts[store.StateDeferred] + counts[store.StateRetry]; n > 0 {
			msg += fmt.Sprintf("; %d deferred or waiting to retry", n)
		}
	}
	return stopReason{kind: stopWaiting, msg: msg, nextAt: next}
}

func (r *runner) sleepUntil(ctx context.Context, at, deadline time.Time) error {
	if !deadline.IsZero() && at.After(deadline) {
		at = deadline
	}
	if !r.expiry.IsZero() && at.After(r.expiry) {
		at = r.expiry
	}
	if err := sleepCtx(ctx, at.Sub(r.d.Now())); err != nil {
		return context.Cause(ctx)
	}
	return nil
}

// waitCapacity sleeps until the allowance frees capacity (--wait).
func (r *runner) waitCapacity(ctx context.Context) error {
	at := r.allowance.nextFree
	if at.IsZero() {
		at = r.d.Now().Add(time.Minute)
	}
	r.d.Logger.Info("allowance used up; waiting for capacity", "campaign", r.c.Name, "until", at.UTC().Format(time.RFC3339))
	if r.d.Progress != nil {
		p := r.progress()
		p.Waiting = "allowance used up until " + LocalTime(at)
		r.d.Progress.Update(p)
	}
	r.allowance.fresh = false
	if err := sleepCtx(ctx, at.Sub(r.d.Now())); err != nil {
		return context.Cause(ctx)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// result fills the invocation's figures.
func (r *runner) result(ctx context.Context, res Result) Result {
	// The sending ends here: reading the campaign's figures (a second on a
	// campaign of millions) is not part of its rate.
	res.Elapsed = r.d.Now().Sub(r.start)
	res.Summary, res.SummaryErr = r.d.Store.Summary(context.WithoutCancel(ctx), r.c.ID)
	r.mu.Lock()
	defer r.mu.Unlock()
	res.Sent, res.Failed, res.Deferred = r.stats.sent, r.stats.failed, r.stats.deferred
	res.Uncertain, res.Attempts = r.stats.uncertain, r.stats.attempts
	res.Rate, res.RateReason = r.rates()
	res.Stop, res.NextAt = r.stopMsg, r.nextAt
	res.Expired, res.ResentAfterSilence = r.expired, r.resent
	if r.win != nil {
		res.Window = r.win.String()
	}
	if math.IsNaN(res.Rate) {
		res.Rate = 0
	}
	return res
}
