package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
)

// driveReader is what status reads of who drives a campaign: the leases
// and the numbers paused (every store has them; a narrower report.Store in
// a test may not).
type driveReader interface {
	Lease(ctx context.Context, key string) (store.Lease, error)
	NumberPauses(ctx context.Context, campaignID int64) ([]store.NumberPause, error)
}

// writeDrivers prints who drives campaign c now: a whole run (the
// campaign's lease), or the worker driving each number (its pair lease),
// with the heartbeat's age (leases with a fresh heartbeat only), and the
// numbers of its pool paused.
func writeDrivers(ctx context.Context, w io.Writer, st any, c store.Campaign, now time.Time) {
	dr, ok := st.(driveReader)
	if !ok || c.State.Closed() {
		return
	}
	age := func(l store.Lease) string { return now.Sub(l.Heartbeat).Round(time.Second).String() }
	// live is the lease on key when its heartbeat is fresh: a stale one's
	// holder is presumed gone.
	live := func(key string) (store.Lease, bool) {
		l, err := dr.Lease(ctx, key)
		return l, err == nil && now.Sub(l.Heartbeat) < l.StaleAfter(campaign.LeaseStale)
	}
	campaignKey := strings.TrimSuffix(campaign.PairLeasePrefix(c.ID), ":")
	if l, ok := live(campaignKey); ok {
		fmt.Fprintf(w, "    driven by pid %d on %s, all its numbers (heartbeat %s ago)\n", l.PID, l.Host, age(l))
		return
	}
	s, _ := campaign.DecodeSettings(c.Settings)
	pool := s.Numbers(c.PhoneNumberID)
	for _, n := range pool {
		l, ok := live(campaign.PairLeasePrefix(c.ID) + n)
		if !ok {
			continue
		}
		fmt.Fprintf(w, "    number %s driven by pid %d on %s (heartbeat %s ago)\n", n, l.PID, l.Host, age(l))
	}
	if len(pool) < 2 {
		return
	}
	ps, err := dr.NumberPauses(ctx, c.ID)
	if err != nil {
		return
	}
	for _, p := range ps {
		fmt.Fprintf(w, "    number %s paused since %s: %s\n", p.PhoneNumberID, campaign.LocalTime(p.At), p.Reason)
	}
}
