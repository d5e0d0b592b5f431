package simulator

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/whatsend/whatsend/sender"
)

// Webhook defaults.
const (
	DefaultReadRate           = 0.7
	DefaultWebhookDelay       = 200 * time.Millisecond
	DefaultWebhookWorkers     = 8
	DefaultWebhookRetries     = 5
	DefaultWebhookQueue       = 100_000
	DefaultDisplayPhoneNumber = "15550001111"
	DefaultVerifiedName       = "Whatsend Simulator"
)

// ErrClosed is returned by FlushWebhooks once the simulator is closed.
var ErrClosed = errors.New("simulator closed")

// Webhook retry back-off: 100 ms, doubled per retry, at most 5 s.
const (
	retryBase = 100 * time.Millisecond
	retryMax  = 5 * time.Second
)

// WebhookStats counts the simulator's notifications. The kinds count
// notifications answered 200 (or handed to the sink), once each whatever
// their retries and duplicates: they are what a receiver that stores every
// notification exactly once must show.
type WebhookStats struct {
	Sent        int `json:"sent"`
	Delivered   int `json:"delivered"`
	Read        int `json:"read"`
	Failed      int `json:"failed"`
	Replies     int `json:"replies"`          // inbound messages (text or button), STOP included
	Stops       int `json:"stops"`            // opt-outs: a STOP text or button, or a user_preferences stop
	Buttons     int `json:"buttons"`          // inbound quick-reply button taps, among Replies
	Unsupported int `json:"unsupported"`      // inbound messages of a type the API does not support, not Replies
	UserPrefs   int `json:"user_preferences"` // user_preferences stops, among Stops
	Replied     int `json:"replied"`          // distinct recipients who replied (text or button)
	OptedOut    int `json:"opted_out"`        // distinct recipients who opted out, any way
	BSUID       int `json:"bsuid"`            // distinct recipients shown by business-scoped user id
	Reordered   int `json:"reordered"`        // messages whose read was sent before their delivered
	Duplicates  int `json:"duplicates"`       // extra copies answered 200
	Posts       int `json:"posts"`            // POSTs (or sink calls) answered 200
	OK          int `json:"ok"`               // notifications answered 200, every kind, copies included
	Retries     int `json:"retries"`          // deliveries tried again after a non-200 or an error
	GaveUp      int `json:"gave_up"`          // notifications never answered 200 (retries spent, or Close)
	Dropped     int `json:"dropped"`          // not queued: the queue was full or the simulator closed
	Pending     int `json:"pending"`          // queued or being delivered
}

// Notification kinds.
const (
	kindSent      = "sent"
	kindDelivered = "delivered"
	kindRead      = "read"
	kindFailed    = "failed"
	kindReply     = "reply"
	kindStop      = "stop"
	kindPrefStop  = "user_preferences"
	kindUnsup     = "unsupported"
)

// notification is one change waiting for its time; a POST carries one or,
// with WebhookBatch, several.
type notification struct {
	due    time.Time // on the real clock: when to deliver it
	seq    uint64    // ties broken in scheduling order
	kind   string
	worker int // one worker per message keeps its statuses in order
	change whChange
	waID   string // the recipient, for the distinct counts
	user   bool   // the recipient is shown by business-scoped user id
	first  *bool  // shared with its duplicate: counted when one is answered 200
	dup    bool
}

type notificationHeap []*notification

func (h notificationHeap) Len() int { return len(h) }
func (h notificationHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h notificationHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *notificationHeap) Push(x any)   { *h = append(*h, x.(*notification)) }
func (h *notificationHeap) Pop() any {
	old := *h
	n := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return n
}

// share picks an exact, evenly spread share of a sequence: error diffusion
// in billionths, so 3 % of 100 is exactly 3 whatever the floating point.
type share struct{ acc uint64 }

const shareOne = 1_000_000_000

func (s *share) next(rate float64) bool {
	if !(rate > 0) {
		return false
	}
	s.acc += uint64(math.Round(min(rate, 1) * shareOne))
	if s.acc >= shareOne {
		s.acc -= shareOne
		return true
	}
	return false
}

// webhooks schedules and delivers the simulator's notifications
// (cloud-api.md §5): a heap ordered by due time, one dispatcher and a few
// workers, started with the first notification and stopped by Close. The
// send path only pushes onto the heap; it never waits for a delivery.
type webhooks struct {
	url     string
	waba    string
	sink    func(body []byte, signature string)
	secret  sender.Secret
	workers int
	retries int
	limit   int
	client  *http.Client

	batch int

	// Decisions, under Sim.mu: exact shares with seeded phases.
	reply, readRest, stop, button, prefs, dup, reorder, bsuid, unsup share
	users                                                            map[string]string // wa_id → business-scoped user id, "" for none

	mu       sync.Mutex
	queue    notificationHeap
	seq      uint64
	pending  int
	flushing int
	held     bool
	idle     chan struct{} // closed while nothing is pending
	wake     chan struct{}
	stats    WebhookStats
	replied  map[string]bool
	optedOut map[string]bool
	bsuids   map[string]bool
	started  bool
	closed   bool
	ctx      context.Context
	cancel   context.CancelFunc
	chans    []chan []*notification
	wg       sync.WaitGroup
}

func newWebhooks(cfg Config) *webhooks {
	if cfg.WebhookURL == "" && cfg.WebhookSink == nil {
		return nil
	}
	idle := make(chan struct{})
	close(idle)
	w := &webhooks{
		url: cfg.WebhookURL, sink: cfg.WebhookSink, secret: cfg.AppSecret, waba: cfg.WABAID,
		workers: cfg.WebhookWorkers, retries: cfg.WebhookRetries, limit: cfg.WebhookQueue, batch: max(cfg.WebhookBatch, 1),
		idle: idle, wake: make(chan struct{}, 1), users: map[string]string{},
		replied: map[string]bool{}, optedOut: map[string]bool{}, bsuids: map[string]bool{},
	}
	// The phases of the shares follow the seed, so two seeds pick different
	// messages in the same proportions.
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7e6400c))
	w.reply.acc, w.readRest.acc, w.stop.acc = r.Uint64N(shareOne), r.Uint64N(shareOne), r.Uint64N(shareOne)
	for _, sh := range []*share{&w.button, &w.prefs, &w.dup, &w.reorder, &w.bsuid, &w.unsup} {
		sh.acc = r.Uint64N(shareOne)
	}
	if w.sink == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = w.workers
		w.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	return w
}

// Signature is the X-Hub-Signature-256 value Meta sends with body:
// "sha256=" and the lowercase hex HMAC-SHA256 of the raw body under the app
// secret (cloud-api.md §5.2).
func Signature(secret sender.Secret, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret.Reveal()))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// The payload shapes of cloud-api.md §5.3–5.5.
type (
	whEnvelope struct {
		Object string    `json:"object"`
		Entry  []whEntry `json:"entry"`
	}
	whEntry struct {
		ID      string     `json:"id"`
		Changes []whChange `json:"changes"`
	}
	whChange struct {
		Field string  `json:"field"`
		Value whValue `json:"value"`
	}
	whValue struct {
		MessagingProduct string       `json:"messaging_product"`
		Metadata         whMetadata   `json:"metadata"`
		Contacts         []whContact  `json:"contacts,omitempty"`
		Messages         []whInbound  `json:"messages,omitempty"`
		Statuses         []whStatus   `json:"statuses,omitempty"`
		UserPreferences  []whUserPref `json:"user_preferences,omitempty"`
	}
	// whUserPref is a user_preferences change (cloud-api-notes.md).
	whUserPref struct {
		WAID      string `json:"wa_id,omitempty"`
		UserID    string `json:"user_id,omitempty"`
		Detail    string `json:"detail"`
		Category  string `json:"category"`
		Value     string `json:"value"`
		Timestamp int64  `json:"timestamp"`
	}
	whMetadata struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	}
	whContact struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WAID   string `json:"wa_id,omitempty"`   // omitted when Meta shows only the user id
		UserID string `json:"user_id,omitempty"` // business-scoped user id
	}
	whInbound struct {
		From       string     `json:"from,omitempty"`
		FromUserID string     `json:"from_user_id,omitempty"`
		ID         string     `json:"id"`
		Timestamp  string     `json:"timestamp"`
		Type       string     `json:"type"`
		Context    *whContext `json:"context,omitempty"`
		Text       *whText    `json:"text,omitempty"`
		Button     *whButton  `json:"button,omitempty"`
		Errors     []whError  `json:"errors,omitempty"`
		Unsup      *whUnsup   `json:"unsupported,omitempty"`
	}
	whUnsup struct {
		Type string `json:"type"`
	}
	whButton struct {
		Payload string `json:"payload"`
		Text    string `json:"text"`
	}
	whContext struct {
		From string `json:"from"`
		ID   string `json:"id"`
	}
	whText struct {
		Body string `json:"body"`
	}
	whStatus struct {
		ID              string     `json:"id"`
		Status          string     `json:"status"`
		Timestamp       string     `json:"timestamp"`
		RecipientID     string     `json:"recipient_id"`
		RecipientUserID string     `json:"recipient_user_id,omitempty"`
		Callback        string     `json:"biz_opaque_callback_data,omitempty"`
		Pricing         *whPricing `json:"pricing,omitempty"`
		Errors          []whError  `json:"errors,omitempty"`
	}
	whPricing struct {
		Billable     bool   `json:"billable"`
		PricingModel string `json:"pricing_model"`
		Category     string `json:"category"`
		Type         string `json:"type"`
	}
	whError struct {
		Code      int    `json:"code"`
		Title     string `json:"title"`
		Message   string `json:"message"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
		Href string `json:"href,omitempty"`
	}
)

// replyTexts are the replies that are not STOP, picked in turn; button
// replies tap one of buttonTexts, the opt-out button for a STOP.
var (
	replyTexts  = []string{"Thanks!", "When will it arrive?", "ok", "Can I change the address?"}
	buttonTexts = []whButton{{Payload: "TRACK", Text: "Track order"}, {Payload: "TALK", Text: "Talk to us"}}
	stopButton  = whButton{Payload: "STOP", Text: "Stop promotions"}
)

// Reply types of Message.ReplyType.
const (
	ReplyText      = "text"
	ReplyButton    = "button"
	ReplyUserPrefs = "user_preferences"
	// ReplyUnsupported is a message of a type the Cloud API does not
	// support (a poll, say): Meta sends type "unsupported" with error
	// 131051 and no context, and it is no reply whatsend can read.
	ReplyUnsupported = "unsupported"
)

// planned is one notification of a message, step WebhookDelays after its
// acceptance.
type planned struct {
	step int
	kind string
	c    whChange
}

// planWebhooks decides, under s.mu, what the user's phone does with an
// accepted message and queues the notifications Meta would send: sent,
// delivered and read, or failed (131026 undeliverable, 131049 marketing
// limit); a reply (a text, or a quick-reply button tap for ButtonShare of
// them), a STOP for StopShare of them, UserPrefsShare of those stops as a
// user_preferences stop instead. ReorderRate of the read messages get their
// read before their delivered; DuplicateRate of the notifications are sent
// twice. Shares are exact over the sequence, their phases set by the seed.
// Timestamps come from the simulator's clock; deliveries wait WebhookDelay
// per step in real time.
func (s *Sim) planWebhooks(m *Message, category string) {
	w := s.wh
	if w == nil {
		return
	}
	d := max(s.cfg.WebhookDelay, 0)
	waID := m.WAID
	m.UserID = w.userID(waID, s.cfg.BSUIDShare, s.cfg.Seed)
	worker := int(s.seq % uint64(max(w.workers, 1)))
	status := func(step int, st string) whStatus {
		at := m.Time.Add(time.Duration(step) * d)
		return whStatus{ID: m.WAMID, Status: st, Timestamp: strconv.FormatInt(at.Unix(), 10),
			RecipientID: waID, RecipientUserID: m.UserID, Callback: m.Callback}
	}
	// Meta prices a message on its sent status and on one of delivered
	// or read (cloud-api-notes.md): here delivered, always sent.
	pricing := &whPricing{Billable: true, PricingModel: "PMP", Category: strings.ToLower(category), Type: "regular"}
	var out []planned
	meta := whMetadata{DisplayPhoneNumber: s.cfg.DisplayPhoneNumber, PhoneNumberID: s.cfg.PhoneNumberID}
	add := func(step int, kind string, field string, v whValue) {
		v.MessagingProduct, v.Metadata = "whatsapp", meta
		out = append(out, planned{step, kind, whChange{Field: field, Value: v}})
	}
	addStatus := func(step int, st whStatus) { add(step, st.Status, "messages", whValue{Statuses: []whStatus{st}}) }

	if code := failCode(m); code != 0 {
		st := status(2, kindFailed)
		title, details := failTexts(code)
		we := whError{Code: code, Title: title, Message: title,
			Href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}
		we.ErrorData.Details = details
		st.Errors = []whError{we}
		addStatus(2, st)
	} else {
		sent := status(1, kindSent)
		sent.Pricing = pricing
		addStatus(1, sent)

		// A reply implies the message was read; the rest of the read share
		// is taken among the messages not replied to, so that the read
		// share is max(ReadRate, ReplyRate).
		read, reply := max(s.cfg.ReadRate, 0), min(max(s.cfg.ReplyRate, 0), 1)
		if w.reply.next(reply) {
			m.Read = true
			m.Stop = w.stop.next(s.cfg.StopShare)
			switch {
			case m.Stop && w.prefs.next(s.cfg.UserPrefsShare):
				m.ReplyType = ReplyUserPrefs
			case !m.Stop && w.unsup.next(s.cfg.UnsupportedShare):
				m.ReplyType = ReplyUnsupported
			case w.button.next(s.cfg.ButtonShare):
				m.ReplyType = ReplyButton
				b := buttonTexts[s.seq%uint64(len(buttonTexts))]
				if m.Stop {
					b = stopButton
				}
				m.Reply = b.Text
			default:
				m.ReplyType, m.Reply = ReplyText, replyTexts[s.seq%uint64(len(replyTexts))]
				if m.Stop {
					m.Reply = "STOP"
				}
			}
		} else if read > reply {
			m.Read = w.readRest.next((read - reply) / (1 - reply))
		}
		// Meta does not promise order: ReorderRate of the read messages
		// have their read sent before their delivered.
		delStep, readStep := 2, 3
		if m.Read && w.reorder.next(s.cfg.WebhookReorderRate) {
			delStep, readStep = 3, 2
			m.Reordered = true
			w.mu.Lock()
			w.stats.Reordered++
			w.mu.Unlock()
		}
		del := status(delStep, kindDelivered)
		del.Pricing = pricing
		addStatus(delStep, del)
		if m.Read {
			addStatus(readStep, status(readStep, kindRead))
		}
		if m.ReplyType != "" {
			out = append(out, s.replyChange(m, meta, 4))
		}
	}

	start := time.Now()
	if w.batch > 1 && d > 0 {
		// Batches gather what falls due in the same step of WebhookDelay,
		// as Meta batches what is ready at once.
		start = start.Truncate(d).Add(d)
	}
	for _, n := range out {
		due := start.Add(time.Duration(n.step) * d)
		nt := &notification{due: due, kind: n.kind, worker: worker, change: n.c, waID: waID, user: m.UserID != "", first: new(bool)}
		w.push(nt)
		// A duplicate comes half a step later, as a retry of Meta's would.
		if w.dup.next(s.cfg.WebhookDuplicateRate) {
			cp := *nt
			cp.due, cp.dup = due.Add(d/2), true
			w.push(&cp)
		}
	}
}

// replyChange is the user's answer to m at step: a text or a quick-reply
// button tap with context.id = m's wamid, or a user_preferences stop (which
// Meta sends without context). A user shown by business-scoped user id has
// user_id / from_user_id and no wa_id / from.
func (s *Sim) replyChange(m *Message, meta whMetadata, step int) planned {
	at := m.Time.Add(time.Duration(step) * max(s.cfg.WebhookDelay, 0))
	waID := m.WAID
	if m.UserID != "" {
		waID = ""
	}
	c := whContact{WAID: waID, UserID: m.UserID}
	c.Profile.Name = "Simulated user"
	v := whValue{MessagingProduct: "whatsapp", Metadata: meta, Contacts: []whContact{c}}
	if m.ReplyType == ReplyUserPrefs {
		v.UserPreferences = []whUserPref{{WAID: waID, UserID: m.UserID, Detail: "User requested to stop marketing messages",
			Category: "marketing_messages", Value: "stop", Timestamp: at.Unix()}}
		return planned{step, kindPrefStop, whChange{Field: "user_preferences", Value: v}}
	}
	in := whInbound{From: waID, FromUserID: m.UserID, ID: fmt.Sprintf("wamid.HBgNSIMIN%010d", s.seq),
		Timestamp: strconv.FormatInt(at.Unix(), 10), Type: m.ReplyType,
		Context: &whContext{From: s.cfg.DisplayPhoneNumber, ID: m.WAMID}}
	if m.ReplyType == ReplyUnsupported {
		in.Context = nil
		in.Errors = []whError{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown"}}
		in.Errors[0].ErrorData.Details = "Message type is currently not supported."
		in.Unsup = &whUnsup{Type: "poll_creation"}
		v.Messages = []whInbound{in}
		return planned{step, kindUnsup, whChange{Field: "messages", Value: v}}
	}
	if m.ReplyType == ReplyButton {
		b := stopButton
		if !m.Stop {
			b = buttonTexts[s.seq%uint64(len(buttonTexts))]
		}
		in.Button = &b
	} else {
		in.Text = &whText{Body: m.Reply}
	}
	v.Messages = []whInbound{in}
	kind := kindReply
	if m.Stop {
		kind = kindStop
	}
	return planned{step, kind, whChange{Field: "messages", Value: v}}
}

// userID is the business-scoped user id Meta shows for a recipient, or ""
// for one shown by phone number: BSUIDShare of the recipients, exact over
// the sequence of new recipients, the same answer each time for one.
func (w *webhooks) userID(waID string, share float64, seed int64) string {
	if !(share > 0) {
		return "" // and no memory of recipients spent
	}
	if id, seen := w.users[waID]; seen {
		return id
	}
	id := ""
	if w.bsuid.next(share) {
		// Meta's form: a country prefix, a dot and digits (cloud-api-notes.md).
		h := fnv.New64a()
		fmt.Fprintf(h, "%d/%s", seed, waID)
		id = fmt.Sprintf("US.%020d", h.Sum64())
	}
	w.users[waID] = id
	return id
}

// failCode is the code of the failed status an accepted message gets, or 0.
func failCode(m *Message) int {
	switch {
	case m.Undeliverable:
		return 131026
	case m.MarketingLimited:
		return 131049
	}
	return 0
}

// failTexts are the title and details of a failed status, as Meta words
// them (cloud-api-notes.md).
func failTexts(code int) (title, details string) {
	if code == 131049 {
		return "This message was not delivered to maintain healthy ecosystem engagement.",
			"In order to maintain a healthy ecosystem engagement, the message failed to be delivered."
	}
	return "Message undeliverable", "Message Undeliverable."
}

// push queues a notification; it never blocks.
func (w *webhooks) push(n *notification) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || len(w.queue) >= w.limit {
		w.stats.Dropped++
		return
	}
	if !w.started {
		w.start()
	}
	w.seq++
	n.seq = w.seq
	heap.Push(&w.queue, n)
	if w.pending == 0 {
		w.idle = make(chan struct{})
	}
	w.pending++
	w.poke()
}

func (w *webhooks) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// start launches the dispatcher and the workers; w.mu is held.
func (w *webhooks) start() {
	w.started = true
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.chans = make([]chan []*notification, max(w.workers, 1))
	for i := range w.chans {
		ch := make(chan []*notification, 16)
		w.chans[i] = ch
		w.wg.Go(func() { w.work(ch) })
	}
	w.wg.Go(w.dispatch)
}

// dispatch hands each notification to its worker when it is due, or at
// once while a flush is asked for.
func (w *webhooks) dispatch() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.mu.Lock()
		var due []*notification
		now := time.Now()
		for len(w.queue) > 0 && len(due) < w.batch*(256/w.batch+1) && (w.flushing > 0 || !w.held && !w.queue[0].due.After(now)) {
			due = append(due, heap.Pop(&w.queue).(*notification))
		}
		wait := time.Duration(-1)
		if len(due) == 0 && len(w.queue) > 0 && !w.held {
			wait = w.queue[0].due.Sub(now)
		}
		w.mu.Unlock()
		if len(due) > 0 {
			for _, p := range w.posts(due) {
				select {
				case w.chans[p[0].worker%len(w.chans)] <- p:
				case <-w.ctx.Done():
					return
				}
			}
			continue
		}
		var tick <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-w.ctx.Done():
			return
		case <-w.wake:
		case <-tick:
		}
	}
}

// posts splits notifications due at once into POSTs: each alone on its
// message's worker, or WebhookBatch at most a POST, in order, all on one
// worker so that a message's notifications keep their order.
func (w *webhooks) posts(due []*notification) [][]*notification {
	var out [][]*notification
	for len(due) > 0 {
		n := min(w.batch, len(due))
		p := due[:n:n]
		if w.batch > 1 {
			for _, x := range p {
				x.worker = 0
			}
		}
		out = append(out, p)
		due = due[n:]
	}
	return out
}

func (w *webhooks) work(ch chan []*notification) {
	for {
		select {
		case <-w.ctx.Done():
			return
		case p := <-ch:
			ok := w.deliver(p)
			w.mu.Lock()
			w.pending -= len(p)
			if ok {
				w.stats.Posts++
				for _, n := range p {
					w.count(n)
				}
			} else {
				w.stats.GaveUp += len(p)
			}
			if w.pending == 0 {
				close(w.idle)
			}
			w.mu.Unlock()
		}
	}
}

// count records a notification answered 200; w.mu is held. A kind counts
// once per notification, whichever of it and its duplicate came first.
func (w *webhooks) count(n *notification) {
	w.stats.OK++
	if *n.first {
		w.stats.Duplicates++
		return
	}
	*n.first = true
	if n.user && !w.bsuids[n.waID] {
		w.bsuids[n.waID] = true
		w.stats.BSUID++
	}
	switch n.kind {
	case kindSent:
		w.stats.Sent++
	case kindDelivered:
		w.stats.Delivered++
	case kindRead:
		w.stats.Read++
	case kindFailed:
		w.stats.Failed++
	case kindUnsup:
		w.stats.Unsupported++
	case kindReply, kindStop:
		w.stats.Replies++
		if msgs := n.change.Value.Messages; len(msgs) > 0 && msgs[0].Type == ReplyButton {
			w.stats.Buttons++
		}
		if !w.replied[n.waID] {
			w.replied[n.waID] = true
			w.stats.Replied++
		}
	}
	if n.kind == kindStop || n.kind == kindPrefStop {
		w.stats.Stops++
		if n.kind == kindPrefStop {
			w.stats.UserPrefs++
		}
		if !w.optedOut[n.waID] {
			w.optedOut[n.waID] = true
			w.stats.OptedOut++
		}
	}
}

// body is the POST of notifications: one envelope, one entry for the WABA,
// a change each, escaped as Meta escapes it.
func (w *webhooks) body(p []*notification) []byte {
	changes := make([]whChange, len(p))
	for i, n := range p {
		changes[i] = n.change
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(whEnvelope{Object: "whatsapp_business_account", Entry: []whEntry{{ID: w.waba, Changes: changes}}}); err != nil {
		panic(err) // plain structs: cannot fail
	}
	return EscapeJSON(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// EscapeJSON rewrites JSON the way Meta sends (and signs) webhook bodies:
// every non-ASCII character as a \u escape with lowercase hex digits (a
// surrogate pair above U+FFFF) and "/" as "\/" (cloud-api-notes.md,
// "Signatures"). It expects JSON from encoding/json, whose escapes are
// ASCII and never contain "/".
func EscapeJSON(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for _, r := range string(b) {
		switch {
		case r == '/':
			out = append(out, '\\', '/')
		case r < utf8.RuneSelf:
			out = append(out, byte(r))
		case r > 0xFFFF:
			hi, lo := utf16.EncodeRune(r)
			out = fmt.Appendf(out, "\\u%04x\\u%04x", hi, lo)
		default:
			out = fmt.Appendf(out, "\\u%04x", r)
		}
	}
	return out
}

// deliver hands a POST to the sink, or sends it until it is answered 200,
// retrying a few times with a growing pause.
func (w *webhooks) deliver(p []*notification) bool {
	body := w.body(p)
	sig := Signature(w.secret, body)
	if w.sink != nil {
		w.sink(body, sig)
		return true
	}
	for attempt := 0; ; attempt++ {
		if w.post(body, sig) {
			return true
		}
		if attempt >= w.retries {
			return false
		}
		w.mu.Lock()
		w.stats.Retries++
		w.mu.Unlock()
		t := time.NewTimer(min(retryBase<<attempt, retryMax))
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			return false
		}
	}
}

func (w *webhooks) post(body []byte, sig string) bool {
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set("X-Hub-Signature-256", sig)
	resp, err := w.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// hold keeps notifications queued (a flush still delivers them) or lets
// them go.
func (w *webhooks) hold(on bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held = on
	w.poke()
}

// snapshot returns the counts.
func (w *webhooks) snapshot() WebhookStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	st := w.stats
	st.Pending = w.pending
	return st
}

// flush delivers everything queued without waiting for its time and
// returns once nothing is pending.
func (w *webhooks) flush(ctx context.Context) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	if w.pending == 0 {
		w.mu.Unlock()
		return nil
	}
	w.flushing++
	idle, done := w.idle, w.ctx.Done()
	w.poke()
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.flushing--
		w.mu.Unlock()
	}()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
		return ErrClosed
	}
}

// close stops the goroutines; what is still queued is counted as given up.
func (w *webhooks) close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	started := w.started
	if started {
		w.cancel()
	}
	w.mu.Unlock()
	if !started {
		return
	}
	w.wg.Wait()
	w.mu.Lock()
	if w.pending > 0 {
		w.stats.GaveUp += w.pending
		w.pending = 0
		close(w.idle)
	}
	w.queue = nil
	w.mu.Unlock()
	if w.client != nil {
		w.client.CloseIdleConnections()
	}
}
