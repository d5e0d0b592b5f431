package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// DefaultMaxBody bounds a notification's body. Every body is read before
// its signature can be checked (the HMAC covers the whole body), so this is
// what a stranger who sends a well-formed but false signature costs us per
// request. Meta batches up to 1,000 updates and documents payloads of at
// most 3 MB (cloud-api.md §5.7): a smaller limit (1 MiB would hold ~1,000
// statuses, but not 1,000 long inbound texts) would make Meta retry a
// legitimate batch for days and then drop it. So: 3 MiB, which covers
// 3 MB read either way, plus 512 KiB of margin.
const DefaultMaxBody = 3<<20 + 512<<10

// maxGroup bounds the notifications committed in one transaction.
const maxGroup = 512

// Store is what the receiver needs of the store: one method.
type Store interface {
	SaveNotifications(ctx context.Context, ns []store.Notification) (fresh []bool, err error)
}

// Config configures a Receiver.
type Config struct {
	Store       Store
	VerifyToken sender.Secret // for Meta's GET handshake
	AppSecret   sender.Secret // the HMAC key of X-Hub-Signature-256
	Keywords    []string      // opt-out keywords; default DefaultOptOutKeywords
	MaxBody     int64         // default DefaultMaxBody
	Logger      *slog.Logger
	Now         func() time.Time
}

// Receiver is the http.Handler of /webhook. Every POST is answered 200 only
// after its notification is committed; commits are grouped, so many
// concurrent posts share one transaction.
type Receiver struct {
	cfg   Config
	queue chan *pending
	done  chan struct{}
	once  sync.Once
}

type pending struct {
	n     store.Notification
	fresh bool
	err   error
	ready chan struct{}
}

// New starts a receiver; Close stops it.
func New(cfg Config) *Receiver {
	if cfg.Keywords == nil {
		cfg.Keywords = DefaultOptOutKeywords
	}
	upper := make([]string, len(cfg.Keywords)) // the caller's slice is not ours to change
	for i, k := range cfg.Keywords {
		upper[i] = strings.ToUpper(strings.TrimSpace(k))
	}
	cfg.Keywords = upper
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	r := &Receiver{cfg: cfg, queue: make(chan *pending, 4*maxGroup), done: make(chan struct{})}
	go r.write()
	return r
}

// Close stops the writer once the queued notifications are committed. Call
// it after the HTTP server has shut down.
func (r *Receiver) Close() {
	r.once.Do(func() { close(r.queue) })
	<-r.done
}

// ServeHTTP serves Meta's verification handshake (GET) and notifications
// (POST).
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch req.Method {
	case http.MethodGet:
		r.verify(w, req)
	case http.MethodPost:
		r.receive(w, req)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// verify answers the subscription handshake: the challenge echoed when the
// verify token matches, 403 otherwise.
func (r *Receiver) verify(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	token := q.Get("hub.verify_token")
	if q.Get("hub.mode") != "subscribe" || r.cfg.VerifyToken == "" ||
		!hmac.Equal([]byte(token), []byte(r.cfg.VerifyToken.Reveal())) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, q.Get("hub.challenge"))
}

func (r *Receiver) receive(w http.ResponseWriter, req *http.Request) {
	log := r.cfg.Logger
	// Refuse what cannot be Meta's before reading a byte of the body: no
	// app secret to check with, or no well-formed signature header.
	sig, ok := signature(req.Header.Get("X-Hub-Signature-256"))
	if !ok || r.cfg.AppSecret == "" {
		log.Warn("webhook without a well-formed X-Hub-Signature-256: refused unread, nothing stored", "remote", req.RemoteAddr)
		refuse(w, "bad signature", http.StatusForbidden)
		return
	}
	if req.ContentLength > r.cfg.MaxBody {
		log.Warn("webhook body too large", "limit", r.cfg.MaxBody, "length", req.ContentLength)
		refuse(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.cfg.MaxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			log.Warn("webhook body too large", "limit", r.cfg.MaxBody)
			refuse(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		log.Warn("webhook body unreadable", "err", err)
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	if !hmac.Equal(sig, Sign(r.cfg.AppSecret, body)) {
		log.Warn("webhook signature wrong: nothing stored", "remote", req.RemoteAddr)
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	now := r.cfg.Now()
	n, err := Parse(body, now, r.cfg.Keywords)
	if err != nil {
		log.Warn("webhook payload rejected", "err", err)
		http.Error(w, "malformed payload", http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(body)
	n.Hash, n.Body, n.At = hex.EncodeToString(sum[:]), body, now
	p := &pending{n: n, ready: make(chan struct{})}
	select {
	case r.queue <- p:
	case <-req.Context().Done():
		return
	}
	<-p.ready // committed or failed: never answer 200 before the commit
	if p.err != nil {
		log.Error("webhook not stored; Meta will deliver it again", "err", p.err)
		http.Error(w, "not stored", http.StatusServiceUnavailable)
		return
	}
	if !p.fresh {
		log.Debug("webhook delivered again: already stored", "hash", n.Hash[:12])
	}
	w.WriteHeader(http.StatusOK)
}

// signature reads X-Hub-Signature-256: "sha256=" and 64 hex digits (Meta
// writes them in lower case; cloud-api.md §5.2). Anything else is refused.
func signature(header string) ([]byte, bool) {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(hexSig) != 2*sha256.Size {
		return nil, false
	}
	sig, err := hex.DecodeString(hexSig)
	return sig, err == nil
}

// refuse answers an error and closes the connection, so that net/http does
// not read the unread body to keep the connection alive.
func refuse(w http.ResponseWriter, msg string, code int) {
	w.Header().Set("Connection", "close")
	http.Error(w, msg, code)
}

// Sign returns HMAC-SHA256(secret, body), as Meta signs notifications.
func Sign(secret sender.Secret, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret.Reveal()))
	m.Write(body)
	return m.Sum(nil)
}

// SignatureHeader is the X-Hub-Signature-256 value for body.
func SignatureHeader(secret sender.Secret, body []byte) string {
	return "sha256=" + hex.EncodeToString(Sign(secret, body))
}

// write commits queued notifications in groups: whatever is queued when a
// commit ends goes into the next one.
func (r *Receiver) write() {
	defer close(r.done)
	group := make([]*pending, 0, maxGroup)
	ns := make([]store.Notification, 0, maxGroup)
	for first := range r.queue {
		group = append(group[:0], first)
	drain:
		for len(group) < maxGroup {
			select {
			case p, ok := <-r.queue:
				if !ok {
					break drain
				}
				group = append(group, p)
			default:
				break drain
			}
		}
		ns = ns[:0]
		for _, p := range group {
			ns = append(ns, p.n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		fresh, err := r.cfg.Store.SaveNotifications(ctx, ns)
		cancel()
		for i, p := range group {
			p.err = err
			if err == nil {
				p.fresh = fresh[i]
			}
			close(p.ready)
		}
	}
}
