package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// simulatorURL is the base URL given to the client when it talks to the
// in-process simulator: the transport never dials it.
const simulatorURL = "http://simulator.invalid"

// apiOptions are the flags that say how to reach the Cloud API.
type apiOptions struct {
	tokenFile string
}

// openStore opens the SQLite store at --db.
func (a *app) openStore(ctx context.Context) (store.Store, error) {
	st, err := sqlite.Open(ctx, a.dbPath)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", a.dbPath, err)
	}
	return st, nil
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
// campaign's simulator settings.
func (a *app) newSimulator(s campaign.Settings) (*simulator.Sim, error) {
	cfg := simulator.Config{Now: a.now, Seed: 1}
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
	return sender.New(cfg)
}

// owner identifies this process to the store's leases.
func owner() campaign.Owner {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	pid := os.Getpid()
	return campaign.Owner{
		ID:    fmt.Sprintf("%s:%d:%s", host, pid, hex.EncodeToString(b)),
		PID:   pid,
		Host:  host,
		Alive: pidAlive,
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
