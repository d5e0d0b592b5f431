package campaign

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/whatsend/whatsend/store"
)

// Lease timing (DESIGN.md "Checkpoints"): a holder renews its heartbeat
// every third of its expiry (--lease-expiry, default LeaseStale) and is
// presumed gone once its heartbeat is that old, whatever its pid: pids are
// reused, and a worker on another host has only the heartbeat to go by.
// The lease records the expiry, so a taker waits the holder's expiry, not
// its own. While the heartbeat is fresh, a holder on this host whose pid is
// gone, or runs a process started at another time, is taken over at once
// (store.LeasePolicy.Gone).
const (
	LeaseStale = 30 * time.Second
	// MinLeaseExpiry bounds --lease-expiry from below: a heartbeat every
	// third of it must reach the database in time on a loaded machine.
	MinLeaseExpiry = time.Second
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
	// Expiry is this owner's lease expiry (--lease-expiry); 0 is
	// LeaseStale. Its heartbeat is renewed every third of it.
	Expiry time.Duration
}

// expiry is the owner's lease expiry, LeaseStale by default.
func (o Owner) expiry() time.Duration { return cmp.Or(o.Expiry, LeaseStale) }

// heartbeat is how often the owner renews its leases: a third of its
// expiry, so two renewals may fail (a slow database) before it is lost.
func (o Owner) heartbeat() time.Duration { return o.expiry() / 3 }

// policy is the takeover rule as this owner applies it to a lease that
// does not record its holder's expiry.
func (o Owner) policy() store.LeasePolicy {
	return store.LeasePolicy{Host: o.Host, StaleAfter: o.expiry(), Alive: o.Alive, Started: o.StartTime}
}

func campaignLeaseKey(id int64) string { return fmt.Sprintf("campaign:%d", id) }

// pairLeaseKey is the lease of a pair run: the share of campaign id
// assigned to one phone number of its pool. A whole run holds every pair
// lease of its pool besides the campaign's, so a whole run and the pair
// runs exclude each other while pair runs of different numbers run together.
func pairLeaseKey(id int64, phoneNumberID string) string {
	return fmt.Sprintf("campaign:%d:%s", id, phoneNumberID)
}

// PairLeasePrefix is how the pair leases of a campaign begin (status lists
// who drives each number).
func PairLeasePrefix(id int64) string { return fmt.Sprintf("campaign:%d:", id) }
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
			Expiry: l.owner.expiry(),
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
	t := time.NewTicker(l.owner.heartbeat())
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

// Unlock removes a campaign's leases whose holders stopped renewing them
// (no heartbeat for their expiry, LeaseStale when a lease records none):
// the campaign's lease with the pair and phone-number leases the same
// holder kept (a whole run), then each pair lease with its phone-number
// lease (a pair run), and returns what it removed: none when the campaign
// has no lease. A lease with a fresh heartbeat is refused with an error
// matching ErrBusy that names the holder and its heartbeat's age: its
// holder may be sending.
func Unlock(ctx context.Context, st LeaseBreaker, c store.Campaign, now time.Time) ([]store.Lease, error) {
	groups := [][]string{leaseKeys(c)}
	for _, id := range poolOf(c) {
		groups = append(groups, []string{pairLeaseKey(c.ID, id), phoneLeaseKey(id)})
	}
	var removed []store.Lease
	for _, keys := range groups {
		owner := ""
		for _, key := range keys {
			l, err := st.BreakLease(ctx, key, owner, now, LeaseStale)
			if held, ok := errors.AsType[*store.LeaseHeldError](err); ok {
				h := held.Holder
				return removed, fmt.Errorf("%w: %s is held by pid %d on %s, heartbeat %s ago (this lease is stale after %s without one): stop that process or wait",
					ErrBusy, h.Key, h.PID, h.Host, now.Sub(h.Heartbeat).Round(time.Second), h.StaleAfter(LeaseStale))
			}
			if errors.Is(err, store.ErrNotFound) {
				if owner == "" {
					break // no lease heads this group: nothing to unlock
				}
				continue
			}
			if err != nil {
				return removed, fmt.Errorf("unlock %s: %w", key, err)
			}
			removed = append(removed, l)
			owner = l.Owner
		}
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

// Holder returns the live holder of a lease that keeps o from driving
// campaign c now with held true, or held false when o could take them all:
// free, o's own, or their holder gone. With number "" it asks for a whole
// run (the campaign's lease, each pair lease and each number's lease of its
// pool), otherwise for the pair run of that number (the campaign's lease,
// which a whole run holds, the pair's and the number's). It only reads:
// Run takes the leases, and one taken meanwhile by another worker makes
// Run return ErrBusy. resume --worker asks it before building a client for
// a campaign or pair another worker drives.
func Holder(ctx context.Context, st store.Store, c store.Campaign, number string, o Owner, now time.Time) (holder store.Lease, held bool, err error) {
	pol := o.policy()
	keys := leaseKeys(c)
	if number != "" {
		keys = []string{campaignLeaseKey(c.ID), pairLeaseKey(c.ID, number), phoneLeaseKey(number)}
	}
	for _, key := range keys {
		l, err := st.Lease(ctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			continue
		case err != nil:
			return store.Lease{}, false, fmt.Errorf("lease %s: %w", key, err)
		case l.Owner != o.ID && !pol.Gone(l, now):
			return l, true, nil
		}
	}
	return store.Lease{}, false, nil
}

// Fenced returns st with the writes of a run of campaign campaignID fenced
// by the lease the run holds as o holds it (the campaign's lease for a
// whole run, number "", the pair's lease for the pair run of number): a checkpoint (BeginAttempts)
// writes nothing once another process has taken the lease over, nor does a
// pause, and both return an error matching ErrBusy and store.ErrLeaseLost.
// A worker that stalled past its lease's expiry (a paused VM, a stopped
// process) and wakes up then cannot send what the worker that took over
// may send, and cannot pause the campaign under it. Give it as Deps.Store
// with the same Owner as Deps.Owner.
func Fenced(st store.Store, o Owner, campaignID int64, number string) store.Store {
	key := campaignLeaseKey(campaignID)
	if number != "" {
		key = pairLeaseKey(campaignID, number)
	}
	return &fenced{Store: st, key: key, owner: o.ID}
}

type fenced struct {
	store.Store
	key, owner string
}

func (f *fenced) BeginAttempts(ctx context.Context, as []store.Attempt) error {
	return f.busy(f.Store.BeginAttemptsHolding(ctx, as, f.key, f.owner))
}

func (f *fenced) CommitAttempts(ctx context.Context, begins []store.Attempt, outcomes []store.Outcome) error {
	return f.busy(f.Store.CommitAttemptsHolding(ctx, begins, outcomes, f.key, f.owner))
}

// SetCampaignState refuses a pause once the lease is another's. The check
// and the write are two statements: the checkpoint's fence is the one that
// must hold exactly, this one keeps a woken worker's pause off a campaign
// driven by another.
func (f *fenced) SetCampaignState(ctx context.Context, id int64, s store.CampaignState, reason string, detail []byte, at time.Time) error {
	if s == store.CampaignPaused {
		l, err := f.Store.Lease(ctx, f.key)
		if errors.Is(err, store.ErrNotFound) || (err == nil && l.Owner != f.owner) {
			return f.busy(fmt.Errorf("%w: %s is no longer held by this process", store.ErrLeaseLost, f.key))
		}
	}
	return f.Store.SetCampaignState(ctx, id, s, reason, detail, at)
}

func (f *fenced) busy(err error) error {
	if errors.Is(err, store.ErrLeaseLost) {
		return fmt.Errorf("%w: %w", ErrBusy, err)
	}
	return err
}
