// Package store is the persistence contract of whatsend: the row types, the
// Store interface every backend implements, and the sentinel errors callers
// branch on. SQLite lives in store/sqlite, PostgreSQL (several workers
// sharing campaigns) in store/postgres; store/storetest is the conformance
// suite every implementation must pass. Open picks the backend by DSN.
//
// Every rule that must hold across processes lives here, not in memory: the
// recipient states, the rolling 24 h unique-recipient window per
// messaging-limit scope, the warm-up start, leases, opt-outs.
//
// All times are stored in UTC; callers may pass any location.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrLeaseLost is returned by BeginAttemptsHolding when the lease is no
// longer the caller's.
var ErrLeaseLost = errors.New("lease lost")

// ErrNotFound is returned when a campaign, recipient or lease does not exist.
var ErrNotFound = errors.New("not found")

// ErrIncompatible is matched by the error of opening a database this
// whatsend must not use: one written by a newer whatsend, another
// application's database, or a file that is not a database at all. Nothing
// was written to it.
var ErrIncompatible = errors.New("incompatible store")

// ErrInaccessible is matched by the error of opening a store whose file or
// folder cannot be used: the folder does not exist (it is not created) or
// the file or folder is not writable.
var ErrInaccessible = errors.New("store not accessible")

// State is a recipient's durable state.
type State string

// Recipient states. A recipient moves pending → in_flight → sent | retry |
// deferred | failed | uncertain; skipped is final and set at import or right
// before sending; cancelled is final and set by CancelCampaign on recipients
// not yet sent. A failed recipient moves back to pending only through
// RequeueFailed (whatsend retry).
const (
	StatePending   State = "pending"
	StateInFlight  State = "in_flight"
	StateSent      State = "sent"
	StateRetry     State = "retry"
	StateDeferred  State = "deferred"
	StateFailed    State = "failed"
	StateSkipped   State = "skipped"
	StateUncertain State = "uncertain"
	StateCancelled State = "cancelled"
	// StateExpired is final: the campaign's --not-after passed before the
	// recipient was sent (ExpireRecipients).
	StateExpired State = "expired"
)

// CampaignState is a campaign's lifecycle state.
type CampaignState string

// Campaign states. A campaign is importing until its last import batch is
// committed; a half import (killed midway) stays importing and is deleted and
// imported again by the next run on the same CSV.
const (
	CampaignImporting CampaignState = "importing"
	CampaignReady     CampaignState = "ready"    // imported, not finished
	CampaignPaused    CampaignState = "paused"   // stopped by the guard
	CampaignFinished  CampaignState = "finished" // nothing pending, in flight, retrying or deferred
	// CampaignCancelled is final: a person cancelled the campaign, its
	// unsent recipients are cancelled, and nothing drives it again.
	CampaignCancelled CampaignState = "cancelled"
)

// Closed reports whether nothing is left to drive in a campaign in this
// state: finished or cancelled. resume --all skips closed campaigns.
func (s CampaignState) Closed() bool {
	return s == CampaignFinished || s == CampaignCancelled
}

// DeliveryStatus is what Meta's status webhooks said about a sent message.
// Statuses never move backwards: sent < delivered < read; failed never
// overwrites delivered or read.
type DeliveryStatus string

// Delivery statuses in their order.
const (
	DeliveryNone      DeliveryStatus = ""
	DeliverySent      DeliveryStatus = "sent"
	DeliveryDelivered DeliveryStatus = "delivered"
	DeliveryRead      DeliveryStatus = "read"
	DeliveryFailed    DeliveryStatus = "failed"
)

// DeferInterval is the wait before a deferred recipient (131049) is tried
// again: at least 24 h (cloud-api.md §4.4), then daily. The store schedules
// every deferral with it, from a send answer or a status webhook.
const DeferInterval = 24 * time.Hour

// DefaultMaxDeferrals is a campaign's MaxDeferrals when none is given.
const DefaultMaxDeferrals = 3

// Campaign is one CSV sent with one template in one language.
type Campaign struct {
	ID            int64
	Name          string // unique; defaults to a name derived from the CSV file
	CSVPath       string
	CSVHash       string // hex SHA-256 of the CSV bytes
	Template      string
	Language      string
	Params        []string // CSV columns mapped to body parameters, in order
	PhoneNumberID string   // the sending number
	Scope         string   // messaging-limit scope: business portfolio id, or the phone number id
	Settings      []byte   // JSON owned by package campaign; stored so resume needs no flags
	State         CampaignState
	PauseReason   string // set while paused
	PauseDetail   []byte // JSON figures behind the pause
	Rows          int    // CSV data rows seen at import, skipped included
	// MaxDeferrals is how many times a recipient may be deferred (131049,
	// Meta's per-user marketing limit) before it fails: --defer-days,
	// written at creation; 0 there means DefaultMaxDeferrals. The store
	// applies it to deferrals from send answers and status webhooks alike.
	MaxDeferrals int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// CampaignKey identifies a campaign for "run again continues it".
type CampaignKey struct {
	CSVHash  string
	Template string
	Language string
	Name     string // only when the user gave --name; empty otherwise
}

// Recipient is one valid CSV row of a campaign.
type Recipient struct {
	ID         int64
	CampaignID int64
	Line       int      // CSV line number where the row starts
	Phone      string   // E.164
	Params     []string // frozen at import, in --params order
	// Components are the row's other template values (header, buttons,
	// typed body parameters, language), frozen at import: JSON owned by
	// package campaign, empty when the campaign maps none.
	Components []byte
	State      State
	Attempts   int
	// RetryBase is how many attempts were made before the latest
	// RequeueFailed: the attempt budget counts from there.
	RetryBase     int
	Deferrals     int       // times the recipient was deferred (131049); FinishAttempts counts them
	NextAttemptAt time.Time // zero: due now (retry and deferred set it)
	LastCode      int       // last Meta error code, 0 when none
	LastError     string    // last error detail, never containing a secret
	SkipReason    string    // when skipped after import (opted out, US marketing, ...)
	WAMID         string
	SentAt        time.Time
	Delivery      DeliveryStatus
	DeliveredAt   time.Time
	ReadAt        time.Time
	UpdatedAt     time.Time
	// ResentAfterSilence: the recipient was uncertain, no status came for
	// it while the webhook receiver was up, and ResendSilent re-queued it
	// (once).
	ResentAfterSilence bool
	// PhoneNumberID is the phone number the recipient is sent from: given
	// by AssignNumbers before its first send (a campaign with several
	// numbers) and written by BeginAttempts with every attempt; empty
	// until then.
	PhoneNumberID string
}

// SkippedRow is a CSV row refused at import, kept for the report.
type SkippedRow struct {
	Line   int
	Reason string // short machine-friendly reason, e.g. "invalid_number"
	Detail string // human explanation
	Raw    string // the offending value (bounded length)
	// Params are the row's values of the --params columns, as far as the
	// row has them, so an export of the skipped rows can be fixed and
	// imported again.
	Params []string
}

// Attempt is one send attempt: written in_flight before the request leaves
// the process, completed with its outcome after.
type Attempt struct {
	ID            string // unique attempt id, also in biz_opaque_callback_data
	CampaignID    int64
	RecipientID   int64
	Number        int // 1-based attempt number for this recipient
	PhoneNumberID string
	To            string // E.164
	Scope         string
	Batch         int
	StartedAt     time.Time
	// StartsWarmup: when the scope has no warm-up start, this attempt's
	// StartedAt becomes it (the scope's first send starts the warm-up).
	StartsWarmup bool
}

// Outcome is the result of one attempt.
type Outcome struct {
	AttemptID     string
	RecipientID   int64
	State         State // new recipient state: sent, retry, deferred, failed, uncertain, pending
	Code          int   // Meta error code, 0 on success
	Error         string
	WAMID         string
	MessageStatus string    // accepted, held_for_quality_assessment, ...
	NextAttemptAt time.Time // for retry; a deferral is scheduled by the store (DeferInterval)
	FinishedAt    time.Time
	// NotSent: the request never left the process (dial, DNS, TLS
	// failure), so nothing reached Meta. The attempt is withdrawn: its
	// unique-recipient window row and its attempt number are given back,
	// the warm-up start it set moves to the scope's next counted send (or
	// goes), and the recipient is pending again. State is ignored.
	NotSent bool
}

// AttemptRecord is an attempt with its outcome, for the guard and the report.
type AttemptRecord struct {
	Attempt
	State      State // outcome state; in_flight while unfinished
	Code       int
	FinishedAt time.Time
}

// AttemptMark is an attempt as the report reads it (Store.AttemptMarks).
type AttemptMark struct {
	StartedAt time.Time
	Batch     int
	State     State // outcome state; in_flight while unfinished
	Code      int
}

// Pause is one entry of a campaign's pause history.
type Pause struct {
	CampaignID int64
	At         time.Time
	Reason     string
	Detail     []byte // JSON figures
	ResumedAt  time.Time
}

// Lease is a claim by one process on a campaign or a sending phone number.
type Lease struct {
	Key   string // "campaign:<id>" or "phone:<phone-number-id>"
	Owner string // unique per process
	PID   int
	// Started is when the holder process started, as the host reports it
	// (Linux: field 22 of /proc/<pid>/stat, clock ticks since boot); 0 when
	// unknown. With the pid it tells the holder from a later process that
	// got the same pid (a container's pid 1 after a restart).
	Started   int64
	Host      string
	Heartbeat time.Time
	// Expiry is how long the holder's heartbeat stays valid: the holder
	// renews it every third of Expiry, and once it is Expiry old the holder
	// is gone whatever its pid (--lease-expiry). 0 when not recorded (a
	// lease written by an older version): the taker's LeasePolicy.StaleAfter
	// applies.
	Expiry time.Duration
}

// StaleAfter is how old the lease's heartbeat may be before its holder is
// gone: the holder's own Expiry when recorded, def otherwise.
func (l Lease) StaleAfter(def time.Duration) time.Duration {
	if l.Expiry > 0 {
		return l.Expiry
	}
	return def
}

// LeaseHeldError is returned by AcquireLease when another live process holds
// the lease, and by BreakLease when the lease's heartbeat is fresh.
type LeaseHeldError struct {
	Holder Lease
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("%s is held by pid %d on %s (heartbeat %s)",
		e.Holder.Key, e.Holder.PID, e.Holder.Host, e.Holder.Heartbeat.UTC().Format(time.RFC3339))
}

// LeasePolicy decides when a held lease may be taken over (see Gone).
type LeasePolicy struct {
	Host       string        // this process's host name
	StaleAfter time.Duration // a holder whose heartbeat is older is gone, whatever its pid (unless the lease records its Expiry)
	// Alive reports whether a pid on this host is still running.
	Alive func(pid int) bool
	// Started returns the start time of a running pid on this host in the
	// unit of Lease.Started, 0 when unknown; nil when never known.
	Started func(pid int) int64
}

// Gone reports whether the holder of l is gone at now, so that its lease
// may be taken over. A heartbeat older than the holder's Expiry (the
// policy's StaleAfter when the lease records none) means gone whatever the
// pid: the holder said how often it renews, so another host's worker can
// take over after that and no sooner. A pid
// is reused, by an unrelated process or, in a container restarted under the
// same host name, by whatsend itself. While the heartbeat is fresh, a
// holder on another host is trusted; one on this host is gone when its pid
// is not running, or runs a process that started at another time than the
// holder.
func (p LeasePolicy) Gone(l Lease, now time.Time) bool {
	if now.Sub(l.Heartbeat) > l.StaleAfter(p.StaleAfter) {
		return true
	}
	if l.Host != p.Host || p.Alive == nil {
		return false
	}
	if !p.Alive(l.PID) {
		return true
	}
	if l.Started == 0 || p.Started == nil {
		return false
	}
	started := p.Started(l.PID)
	return started != 0 && started != l.Started
}

// PhoneRecord is the last health seen for a sending phone number.
type PhoneRecord struct {
	PhoneNumberID   string
	Quality         string
	Status          string
	ThroughputLevel string
	OnBizApp        bool
	Limit           int // unique users per 24 h; -1 unlimited; 0 unknown
	LimitSource     string
	CheckedAt       time.Time
}

// StatusUpdate is one delivery status from a webhook.
type StatusUpdate struct {
	WAMID     string
	Callback  string // biz_opaque_callback_data, matched when the wamid is unknown
	Status    DeliveryStatus
	At        time.Time
	Code      int // on failed
	Error     string
	Recipient string // recipient_id (WhatsApp id)
	// FailState is where a failed status moves the recipient: StateFailed,
	// or StateDeferred (131049), which the store schedules at At +
	// DeferInterval, or fails once the campaign's MaxDeferrals is reached,
	// exactly as for a send answered 131049. The caller decides FailState
	// from the error catalog.
	FailState State
	// NextAttemptAt is ignored for a deferral (the store schedules it).
	NextAttemptAt time.Time
}

// Notification is one webhook POST: its raw body, kept for audit and for
// recognising Meta's re-deliveries, and what it says.
type Notification struct {
	Hash     string // of the raw body
	Body     []byte
	At       time.Time // received
	Statuses []StatusUpdate
	Inbound  []Inbound
	// OptOuts and OptIns are Meta's marketing preferences (user_preferences
	// stop / resume), each naming the user by number, by business-scoped
	// user id, or both. A keyword STOP is an Inbound with OptOut set.
	OptOuts []User
	OptIns  []User
	// Links are pairs of number and business-scoped user id seen together
	// (contacts[], a message's from and from_user_id, a status's recipient).
	Links []User
}

// User names a WhatsApp user as a webhook does: by number (E.164), by
// business-scoped user id, or both. One of the two is never empty.
type User struct {
	Phone  string
	UserID string
}

// Inbound is a message a user sent to the business.
//
// The store applies it to the number we message, found in this order: the
// recipient whose message it answers (Context, our wamid), the number it
// came from, the number known for its business-scoped user id. Meta says
// the number a reply comes from may differ from the number we sent to.
// Whatever the number found, the reply counts for it (replied, the 24 h
// customer-service window) and, when OptOut, it is opted out; a message from
// a user id whose number is not known yet keeps its opt-out by user id
// until a link names the number.
type Inbound struct {
	WAMID   string
	From    string // E.164; empty when Meta sent only a business-scoped user id
	UserID  string // business-scoped user id, when given
	Context string // the wamid of our message it answers, when given
	At      time.Time
	Type    string
	Text    string
	OptOut  bool // the text or button payload is an opt-out keyword
}

// Store is the persistence contract: the full set of methods every backend
// implements (store/sqlite, store/postgres) and store/storetest checks. A
// consumer that needs a few of them declares its own narrower interface.
//
// Rules every backend keeps, whatever its engine:
//
//   - Durability: a method that writes returns only once its transaction
//     is committed durably (it survives a power cut of the host), since the
//     engine sends a request only after BeginAttempts returned. How is
//     each backend's own choice (SQLite: WAL with synchronous=FULL;
//     PostgreSQL: synchronous_commit on). The one exception allowed is
//     ImportBatch: a campaign still importing that a crash damaged is
//     replaced by the next run, so its batches may be made durable only by
//     FinishImport.
//   - Multi-process safety: several goroutines and several processes may
//     use one database at once; every rule that must hold across them (the
//     recipient states, the unique-recipient window, the warm-up start,
//     leases, opt-outs) is enforced by the database in one transaction, not
//     in a process's memory.
//   - The callback: an attempt's biz_opaque_callback_data is written by
//     the engine with Callback and read back only with ParseCallback; a
//     status whose wamid is unknown is matched by it.
//   - Opt-out sources: an opt-out from a webhook (a keyword STOP or Meta's
//     marketing stop) has source "webhook"; Meta's resume removes only
//     those, never a "manual" or "import" one.
//   - Times are stored in UTC and come back in UTC; order and ties are as
//     each method says.
type Store interface {
	// Close releases the database.
	Close() error

	// Campaigns.

	// CreateCampaign inserts a campaign in state importing and returns its
	// id. Its CreatedAt, when set, is the creation time (the caller's
	// clock); otherwise now.
	CreateCampaign(ctx context.Context, c Campaign) (int64, error)
	// ImportBatch adds recipients and skipped rows to an importing campaign in
	// one transaction. A recipient whose phone an earlier line holds (in
	// this batch or an earlier one) is either refused here and returned as
	// a Duplicate, or stored and later removed by ImportDuplicates, which
	// hands it over then: each backend checks the numbers when it is
	// cheapest for it (PostgreSQL here, SQLite once, at the end).
	ImportBatch(ctx context.Context, campaignID int64, rs []Recipient, skipped []SkippedRow) ([]Duplicate, error)
	// ImportDuplicates runs once every batch of an import is in: it removes
	// each recipient whose phone an earlier line holds that ImportBatch
	// did not refuse, and hands them to fn in line order, a chunk at a
	// time (fn may write to the store), with their stored Params. A
	// backend that refused them all in ImportBatch calls fn never.
	ImportDuplicates(ctx context.Context, campaignID int64, fn func([]Duplicate) error) error
	// FinishImport marks an importing campaign ready and records its row
	// count. It refuses a campaign where two recipients hold one phone
	// (ImportDuplicates was not run).
	FinishImport(ctx context.Context, campaignID int64, rows int) error
	// DeleteCampaign removes a campaign and everything that belongs to it.
	DeleteCampaign(ctx context.Context, campaignID int64) error
	// FindCampaign returns the campaign with that key, or ErrNotFound.
	FindCampaign(ctx context.Context, key CampaignKey) (Campaign, error)
	// Campaign returns a campaign by id, or ErrNotFound.
	Campaign(ctx context.Context, id int64) (Campaign, error)
	// CampaignByName returns a campaign by name, or ErrNotFound.
	CampaignByName(ctx context.Context, name string) (Campaign, error)
	// Campaigns lists every campaign, oldest first.
	Campaigns(ctx context.Context) ([]Campaign, error)
	// UpdateSettings replaces a campaign's stored settings JSON.
	UpdateSettings(ctx context.Context, campaignID int64, settings []byte) error
	// SetCampaignState moves a campaign to a state. Moving to paused appends a
	// Pause with reason and detail; leaving paused stamps its ResumedAt.
	SetCampaignState(ctx context.Context, campaignID int64, state CampaignState, reason string, detail []byte, now time.Time) error
	// Pauses returns a campaign's pause history, oldest first.
	Pauses(ctx context.Context, campaignID int64) ([]Pause, error)

	// Recipients.

	// Skipped returns the rows skipped at import, in line order.
	Skipped(ctx context.Context, campaignID int64) ([]SkippedRow, error)
	// Due returns up to limit recipients ready to send at now: pending, or
	// retry/deferred whose NextAttemptAt has come, ordered by NextAttemptAt
	// then line.
	Due(ctx context.Context, campaignID int64, now time.Time, limit int) ([]Recipient, error)
	// NextDue returns the earliest NextAttemptAt among retry and deferred
	// recipients, or false when there is none.
	NextDue(ctx context.Context, campaignID int64) (time.Time, bool, error)
	// Recipients calls fn for every recipient of a campaign in line order,
	// streaming (never holds them all in memory). fn returning an error stops.
	Recipients(ctx context.Context, campaignID int64, fn func(Recipient) error) error
	// Counts returns how many recipients are in each state.
	Counts(ctx context.Context, campaignID int64) (map[State]int, error)
	// SkipRecipients marks recipients skipped with a reason (opted out, US
	// marketing block, too many unanswered) before they are sent.
	SkipRecipients(ctx context.Context, ids []int64, reason string, now time.Time) error
	// MarkUncertain moves every in_flight recipient of a campaign to uncertain
	// (after a crash: the request may or may not have reached Meta) and
	// returns how many. Their attempts are finished as uncertain too.
	MarkUncertain(ctx context.Context, campaignID int64, now time.Time) (int, error)
	// InFlight returns which of the given attempts are still in flight (a
	// run recovering a dead run's send journal applies it to those only).
	InFlight(ctx context.Context, attemptIDs []string) (map[string]bool, error)
	// RequeueUncertain moves uncertain recipients back to pending (resume
	// --resend-uncertain) and returns how many.
	RequeueUncertain(ctx context.Context, campaignID int64, now time.Time) (int, error)
	// HoldRecipients makes recipients (pending, retry or deferred) not due
	// before until: they are outside their send window. NextDue counts
	// held pending recipients.
	HoldRecipients(ctx context.Context, ids []int64, until time.Time) error
	// ReleaseHolds makes every held pending recipient of a campaign due
	// again (its window settings may have changed since they were held).
	ReleaseHolds(ctx context.Context, campaignID int64) error
	// ExpireRecipients moves a campaign's pending, retry and deferred
	// recipients to expired (--not-after passed) and returns how many.
	ExpireRecipients(ctx context.Context, campaignID int64, now time.Time) (int, error)
	// ResendSilent re-queues (pending) the uncertain recipients of a
	// campaign sent from phoneNumberID (or with no number recorded) that
	// got no delivery status, were never re-queued this way,
	// whose last attempt started at or before sentBefore, and for whose
	// sending phone number the webhook receiver applied a status after that
	// attempt started (the receiver was up and heard nothing of them). It
	// marks them ResentAfterSilence and returns how many. It also returns
	// the earliest last-attempt start among the uncertain recipients it may
	// still re-queue later (no status, not re-queued, started after
	// sentBefore), when the receiver ever applied a status for that phone
	// number; zero otherwise.
	ResendSilent(ctx context.Context, campaignID int64, phoneNumberID string, sentBefore, now time.Time) (int, time.Time, error)
	// CancelCampaign cancels a campaign in one transaction: recipients not
	// yet sent (pending, retry, deferred) become cancelled, those still
	// in_flight become uncertain (the caller holds the campaign's lease, so
	// no live process is sending them: a status webhook settles them), and
	// the campaign's state becomes cancelled. It returns how many recipients
	// were cancelled.
	CancelCampaign(ctx context.Context, campaignID int64, now time.Time) (int, error)
	// RequeueFailed re-queues, in one transaction, the failed recipients
	// whose last error code is in codes: they become pending with a fresh
	// attempt budget (RetryBase = Attempts, no deferrals, no delivery
	// status), and the group is recorded as the campaign's next RetryRun. A
	// failed recipient whose number is opted out stays failed and is
	// counted in OptedOut. A finished campaign becomes ready. When none is
	// re-queued nothing is recorded and the run's Number is 0.
	RequeueFailed(ctx context.Context, campaignID int64, codes []int, now time.Time) (RetryRun, error)
	// Retries returns a campaign's retry runs, oldest first, with what
	// became of their recipients.
	Retries(ctx context.Context, campaignID int64) ([]RetryRun, error)

	// Sending. BeginAttempts is the checkpoint: in one transaction,
	// committed durably before it returns, it moves each recipient to
	// in_flight, bumps its attempt count, inserts the attempt and records
	// the recipient in the scope's unique-recipient window (and starts the
	// scope's warm-up for an attempt with StartsWarmup). Only after it
	// returns may the requests leave the process.
	BeginAttempts(ctx context.Context, as []Attempt) error
	// BeginAttemptsHolding is BeginAttempts fenced by a lease: in the same
	// transaction it checks that the lease on key is still owner's and,
	// when it is not (another process took it over, or it was released),
	// writes nothing and returns an error matching ErrLeaseLost. A process
	// that stalled past its lease's expiry and wakes up cannot checkpoint,
	// hence cannot send, what the process that took over may send: what it
	// checkpointed before the takeover is marked uncertain by the taker.
	BeginAttemptsHolding(ctx context.Context, as []Attempt, key, owner string) error
	// FinishAttempts records outcomes in one transaction. A recipient already
	// sent is never moved back from sent. A NotSent outcome withdraws its
	// attempt (see Outcome.NotSent).
	FinishAttempts(ctx context.Context, os []Outcome) error
	// CommitAttempts is FinishAttempts and BeginAttempts in ONE
	// transaction, committed durably before it returns (one sync where
	// there were two): the outcomes are recorded first, then the
	// checkpoints. The engine's writer commits the answers it holds with
	// the next checkpoints. Either may be empty.
	CommitAttempts(ctx context.Context, begins []Attempt, outcomes []Outcome) error
	// CommitAttemptsHolding is CommitAttempts fenced by a lease as
	// BeginAttemptsHolding is: when begins is not empty and the lease on
	// key is no longer owner's, it writes nothing (neither the checkpoints
	// nor the outcomes) and returns an error matching ErrLeaseLost.
	CommitAttemptsHolding(ctx context.Context, begins []Attempt, outcomes []Outcome, key, owner string) error
	// Attempts returns a campaign's attempts in start order, streaming.
	Attempts(ctx context.Context, campaignID int64, fn func(AttemptRecord) error) error
	// AttemptMarks streams the same attempts, in the same order, as
	// Attempts, with only what the report's tables and charts read: a
	// quarter of the columns, for a million-attempt campaign.
	AttemptMarks(ctx context.Context, campaignID int64, fn func(AttemptMark) error) error
	// RecentAttempts returns the last n finished attempts of a campaign,
	// newest first (the guard's 131056 window).
	RecentAttempts(ctx context.Context, campaignID int64, n int) ([]AttemptRecord, error)
	// AssignNumbers gives a sending number from pool to each pending
	// recipient of a campaign never attempted (attempts = 0) whose number
	// is empty or not in pool, in line order, in one transaction: the
	// number that last sent to the same phone in a campaign of the same
	// scope when it is in pool, otherwise the least-loaded number of pool
	// at that moment (see AssignLeastLoaded). It returns how many it gave
	// each number. Recipients already attempted keep their number. Several
	// processes assigning one campaign at once take turns, each seeing the
	// numbers the one before gave.
	AssignNumbers(ctx context.Context, campaignID int64, pool []string) (map[string]int, error)
	// Pair runs: one process sends the share of a campaign assigned to one
	// phone number of its pool (see campaign.RunOptions.Number).

	// DueFor is Due restricted to the recipients assigned to phoneNumberID.
	DueFor(ctx context.Context, campaignID int64, phoneNumberID string, now time.Time, limit int) ([]Recipient, error)
	// NextDueFor is NextDue restricted to the recipients assigned to
	// phoneNumberID.
	NextDueFor(ctx context.Context, campaignID int64, phoneNumberID string) (time.Time, bool, error)
	// CountsFor is Counts restricted to the recipients assigned to
	// phoneNumberID.
	CountsFor(ctx context.Context, campaignID int64, phoneNumberID string) (map[State]int, error)
	// MarkUncertainFor is MarkUncertain restricted to the in_flight
	// recipients (and attempts) of phoneNumberID: the crash recovery of one
	// number's pair run, which never touches the rows another live process
	// has in flight from another number.
	MarkUncertainFor(ctx context.Context, campaignID int64, phoneNumberID string, now time.Time) (int, error)
	// PauseNumber records that a number of a campaign's pool is paused by
	// its guard, so that every process driving the campaign knows it;
	// a second pause of the same number replaces the first.
	PauseNumber(ctx context.Context, campaignID int64, phoneNumberID, reason string, at time.Time) error
	// ResumeNumber removes a number's pause; it is not an error when absent.
	ResumeNumber(ctx context.Context, campaignID int64, phoneNumberID string) error
	// NumberPauses returns a campaign's paused numbers, ordered by number.
	NumberPauses(ctx context.Context, campaignID int64) ([]NumberPause, error)

	// LastSends returns, for a sending phone number, the latest attempt start
	// per recipient number since the given time (the pair interval across
	// campaigns).
	LastSends(ctx context.Context, phoneNumberID string, since time.Time) (map[string]time.Time, error)

	// Messaging-limit scope: rolling 24 h window and warm-up.

	// WindowCount returns how many unique recipients were sent a template in
	// the scope since the given time, not counting those with an open
	// customer-service window at their send time.
	WindowCount(ctx context.Context, scope string, since time.Time) (int, error)
	// WindowContains reports which of the given numbers are already counted
	// in the scope since the given time.
	WindowContains(ctx context.Context, scope string, since time.Time, phones []string) (map[string]bool, error)
	// WindowTimes returns the first-send time of each unique recipient
	// counted in the scope since the given time, oldest first (next-capacity
	// computation).
	WindowTimes(ctx context.Context, scope string, since time.Time) ([]time.Time, error)
	// ReserveAllowance reserves for owner up to n units of the scope's
	// messaging limit (limit unique recipients since the given time), in
	// one transaction that processes reserving in the same scope take turns
	// for: it drops the reservations lapsed at now and owner's own, counts
	// the window (as WindowCount) and the others' reservations, and grants
	// min(n, limit - window - others), never less than 0, reserved for
	// owner until until. It returns what it granted and the window's
	// count. The several processes sending in one scope thus never send
	// more together than the limit: each sends only what it was granted,
	// and reserves again, replacing its reservation, once its sends are in
	// the window. A reservation of a process killed lapses at until.
	ReserveAllowance(ctx context.Context, scope, owner string, n, limit int, since, now, until time.Time) (granted, used int, err error)
	// ReleaseAllowance drops owner's reservation in the scope, if any.
	ReleaseAllowance(ctx context.Context, scope, owner string) error
	// WarmupStart returns the scope's warm-up start, or false when the scope
	// never sent.
	WarmupStart(ctx context.Context, scope string) (time.Time, bool, error)
	// SetWarmupStart records the scope's warm-up start. With onlyIfAbsent it
	// keeps an existing value.
	SetWarmupStart(ctx context.Context, scope string, t time.Time, onlyIfAbsent bool) error

	// Phone numbers.

	// SavePhone records the last health seen for a phone number.
	SavePhone(ctx context.Context, p PhoneRecord) error
	// Phone returns the last health seen, or ErrNotFound.
	Phone(ctx context.Context, phoneNumberID string) (PhoneRecord, error)

	// Leases.

	// AcquireLease takes the lease for key, or renews it when this owner
	// holds it. It returns *LeaseHeldError when the holder is not gone under
	// the policy (LeasePolicy.Gone at l.Heartbeat).
	AcquireLease(ctx context.Context, l Lease, p LeasePolicy) error
	// Lease returns the lease on key, or ErrNotFound.
	Lease(ctx context.Context, key string) (Lease, error)
	// BreakLease removes the lease on key when its heartbeat is older than
	// Lease.StaleAfter(staleAfter) at now, and returns what it removed. A lease with a fresh
	// heartbeat is left alone: *LeaseHeldError. With owner non-empty only
	// that owner's lease is considered. ErrNotFound when there is none.
	BreakLease(ctx context.Context, key, owner string, now time.Time, staleAfter time.Duration) (Lease, error)
	// RenewLease updates the heartbeat; ErrNotFound when the owner lost it.
	RenewLease(ctx context.Context, key, owner string, now time.Time) error
	// ReleaseLease drops the lease if this owner holds it.
	ReleaseLease(ctx context.Context, key, owner string) error

	// Opt-outs, replies and webhooks.

	// AddOptOut adds a number (E.164) to the opt-out list.
	AddOptOut(ctx context.Context, phone, source string, at time.Time) error
	// RemoveOptOut removes a number; it is not an error when absent.
	RemoveOptOut(ctx context.Context, phone string) error
	// OptOuts lists the opt-out list, ordered by number.
	OptOuts(ctx context.Context) ([]OptOut, error)
	// OptedOut reports which of the given numbers are opted out.
	OptedOut(ctx context.Context, phones []string) (map[string]bool, error)
	// SaveNotifications stores a group of webhook notifications in one
	// transaction, committed durably before it returns: a notification
	// whose hash was stored before (or earlier in ns) is skipped (fresh[i]
	// false); otherwise its raw body is kept and what it says is applied,
	// all or nothing. A status goes to the recipient its wamid names, or,
	// when the wamid is unknown, the one its callback names (ParseCallback);
	// it never moves a delivery status backwards and settles an uncertain
	// recipient. A status matching no recipient is kept with the body and
	// is not an error. An inbound message marks its number as having
	// replied and opens its 24 h customer-service window (see Inbound); an
	// opt-out is recorded with source "webhook", and Meta's resume removes
	// only a "webhook" opt-out.
	SaveNotifications(ctx context.Context, ns []Notification) (fresh []bool, err error)
	// Unanswered returns, per number, how many template messages were sent
	// to it (any campaign) since its last reply, or ever when it never
	// replied. Numbers with none are absent.
	Unanswered(ctx context.Context, phones []string) (map[string]int, error)

	// Summary aggregates a campaign for status and reports without reading
	// every recipient.
	Summary(ctx context.Context, campaignID int64) (Summary, error)
}

// Summary is a campaign's aggregate figures.
type Summary struct {
	ByState         map[State]int          // recipients by state (import skips not included)
	ByDelivery      map[DeliveryStatus]int // sent recipients by delivery status
	FailedByCode    map[int]int            // failed recipients by last error code
	SkippedByReason map[string]int         // import skips and send-time skips together
	ImportSkipped   int                    // rows skipped at import
	Replied         int                    // recipients whose number replied
	Attempts        int                    // send attempts made
	RateLimited     int                    // attempts answered 131056
	FirstSend       time.Time
	LastSend        time.Time
	// ResentAfterSilence counts recipients re-queued by ResendSilent.
	ResentAfterSilence int
	// ByNumber holds the figures of each sending phone number, for the
	// recipients assigned to one.
	ByNumber map[string]NumberFigures
}

// NumberPause is a phone number of a campaign's pool paused by its guard
// (quality, status, its 131056 share) in a pair run: the other processes
// driving the campaign do not send from it, and its recipients never
// attempted go to the other numbers.
type NumberPause struct {
	PhoneNumberID string
	Reason        string
	At            time.Time
}

// NumberFigures are one sending phone number's figures in a campaign.
type NumberFigures struct {
	Assigned    int // recipients assigned to the number
	Sent        int // of those, sent
	Failed      int // of those, failed
	Uncertain   int // of those, uncertain
	ToSend      int // of those, pending, retry, deferred or in flight
	Attempts    int // attempts made from the number
	RateLimited int // of those, answered 131056
}

// RetryRun is one group of failed recipients re-queued together (whatsend
// retry --failed) and what became of them.
type RetryRun struct {
	CampaignID int64
	Number     int // 1-based, per campaign
	At         time.Time
	Codes      []int       // the error codes asked for
	Requeued   int         // recipients re-queued
	ByCode     map[int]int // re-queued recipients by the code they had failed with
	OptedOut   int         // failed with one of the codes but opted out: left failed
	// Outcome counts the re-queued recipients by their state now; one that
	// a later run re-queued again is counted failed (it failed again).
	Outcome map[State]int
}

// Duplicate is a recipient refused by ImportBatch or removed by
// ImportDuplicates because its number is already in the campaign.
type Duplicate struct {
	Line      int
	Phone     string
	FirstLine int      // the line that holds the number
	Params    []string // the row's parameters as stored: set by ImportDuplicates
}

// OptOut is one entry of the opt-out list.
type OptOut struct {
	Phone  string
	Source string // "manual" or "import" (whatsend optout), "webhook" (a keyword STOP or Meta's marketing stop)
	At     time.Time
}
