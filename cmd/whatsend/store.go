package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/whatsend/whatsend/store"
	_ "github.com/whatsend/whatsend/store/postgres" // postgres:// DSNs
	_ "github.com/whatsend/whatsend/store/sqlite"   // paths and sqlite:// DSNs
)

// openStore opens the store --db names (a SQLite path or a PostgreSQL
// DSN, see store.Open). The store it returns also takes the webhooks of
// --simulate's in-process simulators (see rehearsal) and stops them when
// it closes; otherwise it behaves exactly as the store.
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

// campaignFinder is what resolving a CAMPAIGN argument reads.
type campaignFinder interface {
	Campaigns(ctx context.Context) ([]store.Campaign, error)
	Campaign(ctx context.Context, id int64) (store.Campaign, error)
	CampaignByName(ctx context.Context, name string) (store.Campaign, error)
}

// findCampaign resolves a CAMPAIGN argument (id or name); without one, the
// most recent campaign.
func findCampaign(ctx context.Context, st campaignFinder, arg string) (store.Campaign, error) {
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
