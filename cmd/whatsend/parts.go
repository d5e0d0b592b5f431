package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/sender/webhook"
	"github.com/whatsend/whatsend/store"
	_ "github.com/whatsend/whatsend/store/postgres" // postgres:// DSNs
	_ "github.com/whatsend/whatsend/store/sqlite"   // paths and sqlite:// DSNs
)

// simulatorURL is the base URL given to the client when it talks to the
// in-process simulator: the transport never dials it.
const simulatorURL = "http://simulator.invalid"

// apiOptions are the flags that say how to reach the Cloud API.
type apiOptions struct {
	tokenFile string
}

// openStore opens the store --db names (a SQLite path or a PostgreSQL
// DSN, see store.Open). The store it returns also carries the webhooks of
// --simulate's in-process simulators (see rehearsal); without one it
// behaves exactly as the store.
func (a *app) openStore(ctx context.Context) (store.Store, error) {
	st, err := store.Open(ctx, a.dbPath)
	if err != nil {
		return nil, storeOpenError(a.dbPath, err)
	}
	r := a.rehearse()
	r.attach(st)
	return rehearsalStore{Store: st, r: r}, nil
}

// storeOpenError adds the store's DSN, its password redacted, to an
// error of opening it, unless the error already names it. A malformed DSN
// is a usage error; refusals are returned as they are (exit 2 both, see
// exitCode); anything else, a server that does not answer included, is
// exit 1.
func storeOpenError(dsn string, err error) error {
	if errors.Is(err, store.ErrBadDSN) {
		return &usageError{err}
	}
	if errors.Is(err, store.ErrIncompatible) || errors.Is(err, store.ErrInaccessible) ||
		strings.Contains(err.Error(), store.Redact(dsn)) {
		return err
	}
	return fmt.Errorf("open store %s: %w", store.Redact(dsn), err)
}

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

// flush delivers every notification the simulators queued so far.
func (r *rehearsal) flush(ctx context.Context) {
	r.mu.Lock()
	sims := append([]*simulator.Sim(nil), r.sims...)
	r.mu.Unlock()
	if len(sims) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, sim := range sims {
		if err := sim.FlushWebhooks(ctx); err != nil && !errors.Is(err, simulator.ErrClosed) {
			r.logger.Warn("simulated webhooks not all delivered", "err", err)
		}
	}
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

// rehearsalStore is the store as commands see it: a summary is read after
// the rehearsal's pending webhooks are in, and Close stops the simulators
// and the receiver before the database.
type rehearsalStore struct {
	store.Store
	r *rehearsal
}

// Summary implements store.Store.
func (s rehearsalStore) Summary(ctx context.Context, campaignID int64) (store.Summary, error) {
	s.r.flush(ctx)
	return s.Store.Summary(ctx, campaignID)
}

// Close implements store.Store.
func (s rehearsalStore) Close() error {
	s.r.close()
	return s.Store.Close()
}

// token reads the access token from WHATSEND_TOKEN, WHATSAPP_TOKEN or
// --token-file: never from a flag, which other users can read in ps.
func (a *app) token(tokenFile string) (sender.Secret, error) {
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return "", usagef("--token-file: %v", err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", usagef("--token-file %s is empty", tokenFile)
		}
		return sender.Secret(t), nil
	}
	for _, k := range []string{"WHATSEND_TOKEN", "WHATSAPP_TOKEN"} {
		if v := strings.TrimSpace(a.getenv(k)); v != "" {
			return sender.Secret(v), nil
		}
	}
	return "", usagef("no access token: set WHATSEND_TOKEN (or WHATSAPP_TOKEN, or --token-file)")
}

// newSimulator builds the in-process simulator for --simulate, with the
// campaign's simulator settings. Its webhooks go to the rehearsal's
// receiver: every message delivered, most read, a tenth replied to. None
// says STOP: the opt-out list is shared with real campaigns, and a
// rehearsal must not take real numbers off them.
func (a *app) newSimulator(s campaign.Settings) (*simulator.Sim, error) {
	r := a.rehearse()
	cfg := simulator.Config{Now: a.now, Seed: 1, WebhookSink: r.deliver, AppSecret: r.secret, ReplyRate: 0.1, PhoneNumberID: s.PhoneNumberID}
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

// newClient builds the Cloud API client for a campaign: the real API, or
// the in-process simulator when the campaign was started with --simulate.
func (a *app) newClient(s campaign.Settings, api apiOptions) (*sender.Client, error) {
	cfg := sender.Config{
		BaseURL:       s.APIURL,
		Version:       s.APIVersion,
		PhoneNumberID: s.PhoneNumberID,
		WABAID:        s.WABAID,
	}
	if s.Simulate {
		sim, err := a.newSimulator(s)
		if err != nil {
			return nil, err
		}
		a.rehearse().add(sim)
		cfg.BaseURL, cfg.Token, cfg.Transport = simulatorURL, sender.Secret(simulator.DefaultToken), sim.Transport()
		return sender.New(cfg)
	}
	if cfg.PhoneNumberID == "" {
		return nil, usagef("no phone number id: pass --phone-number-id or set WHATSEND_PHONE_NUMBER_ID")
	}
	tok, err := a.token(api.tokenFile)
	if err != nil {
		return nil, err
	}
	cfg.Token = tok
	c, err := sender.New(cfg)
	if ce, ok := errors.AsType[*sender.ConfigError](err); ok && ce.Field == "BaseURL" {
		return nil, usagef("--api-url %q: %w", ce.Value, ce.Err)
	}
	return c, err
}

// owner identifies this process to the store's leases.
func owner() campaign.Owner {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	pid := os.Getpid()
	return campaign.Owner{
		ID:        fmt.Sprintf("%s:%d:%s", host, pid, hex.EncodeToString(b)),
		PID:       pid,
		Started:   procStarted(pid),
		Host:      host,
		Alive:     pidAlive,
		StartTime: procStarted,
	}
}

// pidAlive reports whether a process with that pid runs on this host.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// procStarted returns when process pid started, in clock ticks since boot
// (field 22 of /proc/<pid>/stat), or 0 when it is not known: no such
// process, or no /proc (not Linux). With the pid it names one process:
// a pid reused later comes with another start time.
func procStarted(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return statStarted(string(b))
}

// statStarted reads the start time from a /proc/<pid>/stat line. Field 2,
// the command name in parentheses, may itself hold spaces and
// parentheses: the fields are counted from the last ')'.
func statStarted(stat string) int64 {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(stat[i+1:]) // fields 3, 4, ...
	const field = 22
	if len(fields) < field-2 {
		return 0
	}
	n, err := strconv.ParseInt(fields[field-3], 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// findCampaign resolves a CAMPAIGN argument (id or name); without one, the
// most recent campaign.
func findCampaign(ctx context.Context, st store.Store, arg string) (store.Campaign, error) {
	if arg == "" {
		cs, err := st.Campaigns(ctx)
		if err != nil {
			return store.Campaign{}, err
		}
		if len(cs) == 0 {
			return store.Campaign{}, usagef("no campaign in the store yet: start one with whatsend run")
		}
		return cs[len(cs)-1], nil
	}
	var id int64
	if _, err := fmt.Sscanf(arg, "%d", &id); err == nil && fmt.Sprint(id) == arg {
		c, err := st.Campaign(ctx, id)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return c, err
		}
	}
	c, err := st.CampaignByName(ctx, arg)
	if errors.Is(err, store.ErrNotFound) {
		return c, usagef("no campaign %q (see whatsend status)", arg)
	}
	return c, err
}

// poolSenders returns the clients of a campaign sending from several
// phone numbers (nil for one): the same API and token, or with --simulate
// one simulated number each.
func (a *app) poolSenders(client campaign.Sender, c store.Campaign) func(string) (campaign.Sender, error) {
	s, err := campaign.DecodeSettings(c.Settings)
	if err != nil || len(s.Numbers(c.PhoneNumberID)) == 1 {
		return nil
	}
	return func(id string) (campaign.Sender, error) {
		if id == c.PhoneNumberID {
			return client, nil
		}
		if cl, ok := client.(*sender.Client); ok && !s.Simulate {
			return cl.ForNumber(id), nil
		}
		sim := s
		sim.PhoneNumberID = id
		return a.newClient(sim, apiOptions{})
	}
}
