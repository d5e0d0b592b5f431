package campaign

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/whatsend/whatsend/store"
)

// Lease timing (DESIGN.md "Checkpoints"): a holder renews its heartbeat
// every LeaseHeartbeat and is presumed gone once its heartbeat is
// LeaseStale old, whatever its pid: pids are reused. While the heartbeat
// is fresh, a holder on this host whose pid is gone, or runs a process
// started at another time, is taken over at once (store.LeasePolicy.Gone).
const (
	LeaseHeartbeat = 5 * time.Second
	LeaseStale     = 30 * time.Second
)

// Owner identifies this process to the leases.
type Owner struct {
	ID      string // unique per process
	PID     int
	Started int64 // when this process started (see store.Lease.Started); 0 unknown
	Host    string
	Alive   func(pid int) bool // is a pid on this host running
	// StartTime returns when a running pid on this host started, 0 when
	// unknown; nil when it is never known.
	StartTime func(pid int) int64
}

// policy is the takeover rule as this owner applies it.
func (o Owner) policy() store.LeasePolicy {
	return store.LeasePolicy{Host: o.Host, StaleAfter: LeaseStale, Alive: o.Alive, Started: o.StartTime}
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
	pol := l.owner.policy()
	for _, k := range keys {
		err := l.st.AcquireLease(ctx, store.Lease{
			Key: k, Owner: l.owner.ID, PID: l.owner.PID, Started: l.owner.Started, Host: l.owner.Host, Heartbeat: l.now(),
		}, pol)
		if err != nil {
			l.release()
			if held, ok := errors.AsType[*store.LeaseHeldError](err); ok {
				return fmt.Errorf("%w: %w", ErrBusy, held)
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

// LeaseBreaker is what Unlock needs of the store.
type LeaseBreaker interface {
	BreakLease(ctx context.Context, key, owner string, now time.Time, staleAfter time.Duration) (store.Lease, error)
}

// Unlock removes a campaign's lease whose holder stopped renewing it (no
// heartbeat for LeaseStale), with the phone-number lease the same holder
// kept, and returns what it removed: none when the campaign has no lease.
// A lease with a fresh heartbeat is refused with an error matching ErrBusy
// that names the holder and its heartbeat's age: its holder may be sending.
func Unlock(ctx context.Context, st LeaseBreaker, c store.Campaign, now time.Time) ([]store.Lease, error) {
	var removed []store.Lease
	owner := ""
	for _, key := range []string{campaignLeaseKey(c.ID), phoneLeaseKey(c.PhoneNumberID)} {
		l, err := st.BreakLease(ctx, key, owner, now, LeaseStale)
		if held, ok := errors.AsType[*store.LeaseHeldError](err); ok {
			h := held.Holder
			return removed, fmt.Errorf("%w: %s is held by pid %d on %s, heartbeat %s ago (a lease is stale after %s without one): stop that process or wait",
				ErrBusy, h.Key, h.PID, h.Host, now.Sub(h.Heartbeat).Round(time.Second), LeaseStale)
		}
		if errors.Is(err, store.ErrNotFound) {
			if owner == "" {
				return nil, nil // no campaign lease: nothing to unlock
			}
			continue
		}
		if err != nil {
			return removed, fmt.Errorf("unlock %s: %w", key, err)
		}
		removed = append(removed, l)
		owner = l.Owner
	}
	return removed, nil
}

// hold takes every key (as acquire) and keeps their heartbeats fresh until
// stop is called. The context it returns is cancelled, with an error
// matching ErrBusy as its cause, when a lease is lost; stop cancels it,
// waits for the heartbeat and releases the leases.
func (l *leases) hold(ctx context.Context, keys ...string) (held context.Context, stop func(), err error) {
	if err := l.acquire(ctx, keys...); err != nil {
		return nil, nil, err
	}
	held, cancel := context.WithCancelCause(ctx)
	var hb sync.WaitGroup
	hb.Go(func() { l.keepAlive(held, cancel) })
	return held, func() {
		cancel(nil)
		hb.Wait()
		l.release()
	}, nil
}
