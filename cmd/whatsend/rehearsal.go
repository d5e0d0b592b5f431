package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/sender/webhook"
	"github.com/whatsend/whatsend/store"
)

// simulatorURL is the base URL given to the client when it talks to the
// in-process simulator: the transport never dials it.
const simulatorURL = "http://simulator.invalid"

// rehearsal ties the in-process simulators of --simulate to the store the
// command opened: their signed webhooks go straight into a webhook
// receiver on that store, so a rehearsal's summary and report show
// delivered, read and replied figures with no port and no tunnel. run
// builds its client before it opens the store and resume after, so either
// side may come first; the simulators only send webhooks once messages are
// sent, and by then the store is open.
type rehearsal struct {
	secret sender.Secret // signs and checks the simulated webhooks
	logger *slog.Logger
	now    func() time.Time

	mu   sync.Mutex
	sims []*simulator.Sim
	st   store.Store
	rcv  *webhook.Receiver // started with the first notification
}

// rehearse returns the app's rehearsal, made on first use.
func (a *app) rehearse() *rehearsal {
	if a.rehearsal == nil {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		a.rehearsal = &rehearsal{secret: sender.Secret(hex.EncodeToString(b)), logger: a.logger, now: a.now}
		if a.rehearsal.logger == nil {
			a.rehearsal.logger = slog.New(slog.DiscardHandler)
		}
	}
	return a.rehearsal
}

func (r *rehearsal) attach(st store.Store) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st == nil {
		r.st = st
	}
}

func (r *rehearsal) add(sim *simulator.Sim) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sims = append(r.sims, sim)
}

// deliver is the simulators' WebhookSink: the notification goes through
// the receiver's whole path (signature check, parse, grouped commit) and
// returns once it is committed.
func (r *rehearsal) deliver(body []byte, signature string) {
	r.mu.Lock()
	if r.rcv == nil && r.st != nil {
		r.rcv = webhook.New(webhook.Config{Store: r.st, AppSecret: r.secret, Logger: r.logger, Now: r.now})
	}
	rcv := r.rcv
	r.mu.Unlock()
	if rcv == nil {
		r.logger.Warn("simulated webhook dropped: no store open")
		return
	}
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", signature)
	w := httptest.NewRecorder()
	rcv.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		r.logger.Warn("simulated webhook not stored", "status", w.Code)
	}
}

// flush delivers every notification the simulators queued so far and
// reports whether there were simulators (a rehearsal) at all.
func (r *rehearsal) flush(ctx context.Context) bool {
	r.mu.Lock()
	sims := append([]*simulator.Sim(nil), r.sims...)
	r.mu.Unlock()
	if len(sims) == 0 {
		return false
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, sim := range sims {
		if err := sim.FlushWebhooks(ctx); err != nil && !errors.Is(err, simulator.ErrClosed) {
			r.logger.Warn("simulated webhooks not all delivered", "err", err)
		}
	}
	return true
}

// close flushes and stops the simulators, then the receiver (its writer
// commits what it holds): both before the store closes.
func (r *rehearsal) close() {
	r.flush(context.Background())
	r.mu.Lock()
	sims, rcv := r.sims, r.rcv
	r.sims, r.rcv, r.st = nil, nil, nil
	r.mu.Unlock()
	for _, sim := range sims {
		sim.Close() // waits for a delivery in progress
	}
	if rcv != nil {
		rcv.Close()
	}
}

// rehearsalStore is the store as commands see it: Close stops the
// simulators and the receiver before the database. Reads are the store's
// own; a run's end delivers the rehearsal's webhooks explicitly
// (app.settleRehearsal) before its figures are read.
type rehearsalStore struct {
	store.Store
	r *rehearsal
}

// Close implements store.Store.
func (s rehearsalStore) Close() error {
	s.r.close()
	return s.Store.Close()
}

// newSimulator builds the in-process simulator for --simulate, with the
// campaign's simulator settings. Its webhooks go to the rehearsal's
// receiver: every message delivered, most read, a tenth replied to. None
// says STOP: the opt-out list is shared with real campaigns, and a
// rehearsal must not take real numbers off them.
func (a *app) newSimulator(s campaign.Settings) (*simulator.Sim, error) {
	r := a.rehearse()
	cfg := simulator.Config{Now: a.now, Seed: 1, WebhookSink: r.deliver, AppSecret: r.secret, ReplyRate: 0.1}
	if s.SimTier != "" {
		n, err := campaign.ParseTier(s.SimTier)
		if err != nil {
			return nil, &usageError{err}
		}
		cfg.Tier = n
	}
	return simulator.New(cfg), nil
}

// simulatorDefaults fills the ids --simulate uses.
func simulatorDefaults(s *campaign.Settings) {
	if s.PhoneNumberID == "" {
		s.PhoneNumberID = simulator.DefaultPhoneNumberID
	}
	if s.WABAID == "" {
		s.WABAID = simulator.DefaultWABAID
	}
}
