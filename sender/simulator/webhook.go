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
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

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
// their retries.
type WebhookStats struct {
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	Read      int `json:"read"`
	Failed    int `json:"failed"`
	Replies   int `json:"replies"` // inbound texts, STOP included
	Stops     int `json:"stops"`   // inbound texts that said STOP
	OK        int `json:"ok"`      // notifications answered 200, every kind
	Retries   int `json:"retries"` // deliveries tried again after a non-200 or an error
	GaveUp    int `json:"gave_up"` // notifications never answered 200 (retries spent, or Close)
	Dropped   int `json:"dropped"` // not queued: the queue was full or the simulator closed
	Pending   int `json:"pending"` // queued or being delivered
}

// Notification kinds.
const (
	kindSent      = "sent"
	kindDelivered = "delivered"
	kindRead      = "read"
	kindFailed    = "failed"
	kindReply     = "reply"
	kindStop      = "stop"
)

// notification is one webhook POST waiting for its time.
type notification struct {
	due    time.Time // on the real clock: when to deliver it
	seq    uint64    // ties broken in scheduling order
	kind   string
	worker int // one worker per message keeps its statuses in order
	body   []byte
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
	sink    func(body []byte, signature string)
	secret  sender.Secret
	workers int
	retries int
	limit   int
	client  *http.Client

	// Decisions, under Sim.mu: exact shares with seeded phases.
	reply, readRest, stop share

	mu       sync.Mutex
	queue    notificationHeap
	seq      uint64
	pending  int
	flushing int
	held     bool
	idle     chan struct{} // closed while nothing is pending
	wake     chan struct{}
	stats    WebhookStats
	started  bool
	closed   bool
	ctx      context.Context
	cancel   context.CancelFunc
	chans    []chan *notification
	wg       sync.WaitGroup
}

func newWebhooks(cfg Config) *webhooks {
	if cfg.WebhookURL == "" && cfg.WebhookSink == nil {
		return nil
	}
	idle := make(chan struct{})
	close(idle)
	w := &webhooks{
		url: cfg.WebhookURL, sink: cfg.WebhookSink, secret: cfg.AppSecret,
		workers: cfg.WebhookWorkers, retries: cfg.WebhookRetries, limit: cfg.WebhookQueue,
		idle: idle, wake: make(chan struct{}, 1),
	}
	// The phases of the shares follow the seed, so two seeds pick different
	// messages in the same proportions.
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x7e6400c))
	w.reply.acc, w.readRest.acc, w.stop.acc = r.Uint64N(shareOne), r.Uint64N(shareOne), r.Uint64N(shareOne)
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
		MessagingProduct string      `json:"messaging_product"`
		Metadata         whMetadata  `json:"metadata"`
		Contacts         []whContact `json:"contacts,omitempty"`
		Messages         []whInbound `json:"messages,omitempty"`
		Statuses         []whStatus  `json:"statuses,omitempty"`
	}
	whMetadata struct {
		DisplayPhoneNumber string `json:"display_phone_number"`
		PhoneNumberID      string `json:"phone_number_id"`
	}
	whContact struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WAID string `json:"wa_id"`
	}
	whInbound struct {
		From      string     `json:"from"`
		ID        string     `json:"id"`
		Timestamp string     `json:"timestamp"`
		Type      string     `json:"type"`
		Context   *whContext `json:"context,omitempty"`
		Text      *whText    `json:"text,omitempty"`
	}
	whContext struct {
		From string `json:"from"`
		ID   string `json:"id"`
	}
	whText struct {
		Body string `json:"body"`
	}
	whStatus struct {
		ID          string     `json:"id"`
		Status      string     `json:"status"`
		Timestamp   string     `json:"timestamp"`
		RecipientID string     `json:"recipient_id"`
		Callback    string     `json:"biz_opaque_callback_data,omitempty"`
		Pricing     *whPricing `json:"pricing,omitempty"`
		Errors      []whError  `json:"errors,omitempty"`
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
		Href string `json:"href"`
	}
)

// replyTexts are the replies that are not STOP, picked in turn.
var replyTexts = []string{"Thanks!", "When will it arrive?", "ok", "Can I change the address?"}

// planWebhooks decides, under s.mu, what the user's phone does with an
// accepted message and queues the notifications Meta would send: sent,
// delivered and read, or failed (131026 undeliverable, 131049 marketing
// limit); a reply, STOP for StopShare of them. Shares are exact over the
// sequence of messages, their phases set by the seed. Timestamps come from
// the simulator's clock; deliveries wait WebhookDelay per step in real time.
func (s *Sim) planWebhooks(m *Message, category string) {
	w := s.wh
	if w == nil {
		return
	}
	d := max(s.cfg.WebhookDelay, 0)
	waID := strings.TrimPrefix(m.To, "+")
	worker := int(s.seq % uint64(max(w.workers, 1)))
	status := func(step int, st string) whStatus {
		at := m.Time.Add(time.Duration(step) * d)
		return whStatus{ID: m.WAMID, Status: st, Timestamp: strconv.FormatInt(at.Unix(), 10),
			RecipientID: waID, Callback: m.Callback}
	}
	pricing := &whPricing{Billable: true, PricingModel: "PMP", Category: strings.ToLower(category), Type: "regular"}
	type planned struct {
		step int // in WebhookDelay after acceptance
		kind string
		v    whValue
	}
	var out []planned
	add := func(step int, kind string, v whValue) { out = append(out, planned{step, kind, v}) }
	meta := whMetadata{DisplayPhoneNumber: s.cfg.DisplayPhoneNumber, PhoneNumberID: s.cfg.PhoneNumberID}
	statusValue := func(st whStatus) whValue {
		return whValue{MessagingProduct: "whatsapp", Metadata: meta, Statuses: []whStatus{st}}
	}

	if code := failCode(m); code != 0 {
		e := sender.Lookup(code)
		st := status(2, kindFailed)
		we := whError{Code: code, Title: e.Title, Message: e.Title,
			Href: "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}
		we.ErrorData.Details = failDetails(code)
		st.Errors = []whError{we}
		add(2, kindFailed, statusValue(st))
	} else {
		sent := status(1, kindSent)
		sent.Pricing = pricing
		add(1, kindSent, statusValue(sent))
		del := status(2, kindDelivered)
		del.Pricing = pricing
		add(2, kindDelivered, statusValue(del))

		// A reply implies the message was read; the rest of the read share
		// is taken among the messages not replied to, so that the read
		// share is max(ReadRate, ReplyRate).
		read, reply := max(s.cfg.ReadRate, 0), min(max(s.cfg.ReplyRate, 0), 1)
		if w.reply.next(reply) {
			m.Reply = replyTexts[s.seq%uint64(len(replyTexts))]
			if w.stop.next(s.cfg.StopShare) {
				m.Reply = "STOP"
			}
			m.Read = true
		} else if read > reply {
			m.Read = w.readRest.next((read - reply) / (1 - reply))
		}
		if m.Read {
			rd := status(3, kindRead)
			rd.Pricing = pricing
			add(3, kindRead, statusValue(rd))
		}
		if m.Reply != "" {
			kind := kindReply
			if m.Reply == "STOP" {
				kind = kindStop
			}
			c := whContact{WAID: waID}
			c.Profile.Name = "Simulated user"
			at := m.Time.Add(4 * d)
			add(4, kind, whValue{MessagingProduct: "whatsapp", Metadata: meta, Contacts: []whContact{c},
				Messages: []whInbound{{From: waID, ID: fmt.Sprintf("wamid.HBgNSIMIN%010d", s.seq), Timestamp: strconv.FormatInt(at.Unix(), 10),
					Type: "text", Context: &whContext{From: s.cfg.DisplayPhoneNumber, ID: m.WAMID}, Text: &whText{Body: m.Reply}}}})
		}
	}

	start := time.Now()
	for _, n := range out {
		body, err := json.Marshal(whEnvelope{Object: "whatsapp_business_account",
			Entry: []whEntry{{ID: s.cfg.WABAID, Changes: []whChange{{Field: "messages", Value: n.v}}}}})
		if err != nil {
			panic(err) // plain structs: cannot fail
		}
		w.push(&notification{due: start.Add(time.Duration(n.step) * d), kind: n.kind, worker: worker, body: body})
	}
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

func failDetails(code int) string {
	if code == 131049 {
		return "This message was not delivered to maintain healthy ecosystem engagement."
	}
	return "Message Undeliverable."
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
	w.chans = make([]chan *notification, max(w.workers, 1))
	for i := range w.chans {
		ch := make(chan *notification, 16)
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
		for len(w.queue) > 0 && len(due) < 256 && (w.flushing > 0 || !w.held && !w.queue[0].due.After(now)) {
			due = append(due, heap.Pop(&w.queue).(*notification))
		}
		wait := time.Duration(-1)
		if len(due) == 0 && len(w.queue) > 0 && !w.held {
			wait = w.queue[0].due.Sub(now)
		}
		w.mu.Unlock()
		if len(due) > 0 {
			for _, n := range due {
				select {
				case w.chans[n.worker%len(w.chans)] <- n:
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

func (w *webhooks) work(ch chan *notification) {
	for {
		select {
		case <-w.ctx.Done():
			return
		case n := <-ch:
			ok := w.deliver(n)
			w.mu.Lock()
			w.pending--
			if ok {
				w.stats.OK++
				switch n.kind {
				case kindSent:
					w.stats.Sent++
				case kindDelivered:
					w.stats.Delivered++
				case kindRead:
					w.stats.Read++
				case kindFailed:
					w.stats.Failed++
				case kindReply:
					w.stats.Replies++
				case kindStop:
					w.stats.Replies++
					w.stats.Stops++
				}
			} else {
				w.stats.GaveUp++
			}
			if w.pending == 0 {
				close(w.idle)
			}
			w.mu.Unlock()
		}
	}
}

// deliver hands a notification to the sink, or POSTs it until it is
// answered 200, retrying a few times with a growing pause.
func (w *webhooks) deliver(n *notification) bool {
	sig := Signature(w.secret, n.body)
	if w.sink != nil {
		w.sink(n.body, sig)
		return true
	}
	for attempt := 0; ; attempt++ {
		if w.post(n.body, sig) {
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
