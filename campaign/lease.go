package campaign

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/whatsend/whatsend/store"
)

// Lease timing (DESIGN.md "Checkpoints"): a holder renews its heartbeat
// every LeaseHeartbeat; one on another host is presumed gone once its
// heartbeat is LeaseStale old. A holder on the same host whose pid is gone
// is taken over at once.
const (
	LeaseHeartbeat = 5 * time.Second
	LeaseStale     = 30 * time.Second
)

// Owner identifies this process to the leases.
type Owner struct {
	ID    string // unique per process
	PID   int
	Host  string
	Alive func(pid int) bool // is a pid on this host running
}

func campaignLeaseKey(id int64) string { return fmt.Sprintf("campaign:%d", id) }
func phoneLeaseKey(phoneNumberID string) string {
	return "phone:" + phoneNumberID
}

// leases holds a set of leases for the duration of a run and keeps their
// heartbeats fresh.
type leases struct {
	st    store.Store
	owner Owner
	now   func() time.Time
	keys  []string
}

// acquire takes every key in order; on a held lease it releases what it took
// and returns an error matching ErrBusy that names the holder.
func (l *leases) acquire(ctx context.Context, keys ...string) error {
	pol := store.LeasePolicy{Host: l.owner.Host, StaleAfter: LeaseStale, Alive: l.owner.Alive}
	for _, k := range keys {
		err := l.st.AcquireLease(ctx, store.Lease{Key: k, Owner: l.owner.ID, PID: l.owner.PID, Host: l.owner.Host, Heartbeat: l.now()}, pol)
		if err != nil {
			l.release()
			if held, ok := errors.AsType[*store.LeaseHeldError](err); ok {
				return fmt.Errorf("%w: %v", ErrBusy, held)
			}
			return fmt.Errorf("lease %s: %w", k, err)
		}
		l.keys = append(l.keys, k)
	}
	return nil
}

// keepAlive renews the heartbeats until ctx is done; when a lease is lost it
// calls lost once and returns.
func (l *leases) keepAlive(ctx context.Context, lost func(error)) {
	t := time.NewTicker(LeaseHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, k := range l.keys {
				if err := l.st.RenewLease(ctx, k, l.owner.ID, l.now()); err != nil {
					if ctx.Err() != nil {
						return
					}
					lost(fmt.Errorf("%w: lease %s lost: %v", ErrBusy, k, err))
					return
				}
			}
		}
	}
}

func (l *leases) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, k := range l.keys {
		_ = l.st.ReleaseLease(ctx, k, l.owner.ID) // a stale lease is taken over anyway
	}
	l.keys = nil
}
