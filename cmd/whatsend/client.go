package main

import (
	"errors"
	"os"
	"strings"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
)

// apiOptions are the flags that say how to reach the Cloud API.
type apiOptions struct {
	tokenFile string
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
