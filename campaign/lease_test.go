package campaign

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

func openLeaseStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

var testOwner = Owner{ID: "me", PID: 10, Started: 1000, Host: "h1", Alive: func(int) bool { return true }}

// The heartbeat is renewed every third of the expiry with the clock's time, and
// a lease taken over from under the holder stops it within one beat.
func TestLeaseHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openLeaseStore(t)
		start := time.Now()
		ls := &leases{st: st, owner: testOwner, now: time.Now}
		if err := ls.acquire(t.Context(), "campaign:1", "phone:1"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		var lost error
		var wg sync.WaitGroup
		wg.Go(func() { ls.keepAlive(ctx, func(err error) { lost = err }) })

		beat := LeaseStale / 3
		time.Sleep(3*beat + beat/2)
		synctest.Wait()
		for _, k := range []string{"campaign:1", "phone:1"} {
			l, err := st.Lease(t.Context(), k)
			if want := start.Add(3 * beat); err != nil || !l.Heartbeat.Equal(want) || l.Expiry != LeaseStale {
				t.Errorf("%s after %v: heartbeat %v, expiry %v (%v); want %v, %v", k, 3*beat+beat/2, l.Heartbeat, l.Expiry, err, want, LeaseStale)
			}
		}
		// Another process takes the lease (say this one looked dead to it).
		gone := store.LeasePolicy{Host: "h1", StaleAfter: LeaseStale, Alive: func(int) bool { return false }}
		if err := st.AcquireLease(t.Context(), store.Lease{Key: "campaign:1", Owner: "other", PID: 20, Host: "h1", Heartbeat: time.Now()}, gone); err != nil {
			t.Fatal(err)
		}
		time.Sleep(beat)
		wg.Wait() // keepAlive returns after calling lost
		if !errors.Is(lost, ErrBusy) || !strings.Contains(lost.Error(), "campaign:1") {
			t.Errorf("lost(%v), want ErrBusy naming campaign:1", lost)
		}
		cancel()
	})
}

// A holder that stopped renewing is taken over LeaseStale after its last
// heartbeat, even though its pid runs (a reused pid), and not before.
func TestLeaseStaleHolderTakenOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openLeaseStore(t)
		holder := &leases{st: st, owner: testOwner, now: time.Now}
		if err := holder.acquire(t.Context(), "campaign:1"); err != nil {
			t.Fatal(err)
		}
		// The holder is killed: no more heartbeats. Its pid is reused by a
		// process whose start time is not known.
		other := Owner{ID: "other", PID: 20, Host: "h1", Alive: func(int) bool { return true }}
		time.Sleep(LeaseStale)
		next := &leases{st: st, owner: other, now: time.Now}
		if err := next.acquire(t.Context(), "campaign:1"); !errors.Is(err, ErrBusy) {
			t.Fatalf("acquire %v after the last heartbeat: %v, want ErrBusy", LeaseStale, err)
		}
		time.Sleep(time.Second)
		if err := next.acquire(t.Context(), "campaign:1"); err != nil {
			t.Fatalf("acquire %v after the last heartbeat: %v, want the lease", LeaseStale+time.Second, err)
		}
	})
}

// With --lease-expiry 3s a worker renews every second; killed, it is taken
// over by a worker on another host 3 s after its last heartbeat and not
// before, although that worker's own expiry is 30 s: the lease's recorded
// expiry decides. A live holder is never taken over.
func TestLeaseExpiryAcrossHosts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openLeaseStore(t)
		short := Owner{ID: "w1", PID: 10, Host: "h1", Alive: func(int) bool { return true }, Expiry: 3 * time.Second}
		other := Owner{ID: "w2", PID: 10, Host: "h2", Alive: func(int) bool { return true }}
		holder := &leases{st: st, owner: short, now: time.Now}
		if err := holder.acquire(t.Context(), "campaign:1", "phone:1"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		var wg sync.WaitGroup
		wg.Go(func() { holder.keepAlive(ctx, func(error) { t.Error("the live holder lost its lease") }) })
		next := &leases{st: st, owner: other, now: time.Now}
		for range 10 { // alive for 10 s: every attempt refused
			time.Sleep(time.Second + time.Second/2)
			if err := next.acquire(t.Context(), "campaign:1", "phone:1"); !errors.Is(err, ErrBusy) {
				t.Fatalf("acquire from a live holder renewing every second: %v, want ErrBusy", err)
			}
		}
		cancel() // killed: no more heartbeats, nothing released
		wg.Wait()
		synctest.Wait()
		l, err := st.Lease(t.Context(), "campaign:1")
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(l.Heartbeat.Add(3 * time.Second)))
		if err := next.acquire(t.Context(), "campaign:1", "phone:1"); !errors.Is(err, ErrBusy) {
			t.Fatalf("acquire 3 s after the last heartbeat: %v, want ErrBusy", err)
		}
		time.Sleep(time.Millisecond)
		if err := next.acquire(t.Context(), "campaign:1", "phone:1"); err != nil {
			t.Fatalf("acquire just over 3 s after the last heartbeat: %v, want both leases", err)
		}
		if l, err := st.Lease(t.Context(), "phone:1"); err != nil || l.Owner != "w2" || l.Expiry != LeaseStale {
			t.Errorf("phone lease after takeover = %+v, %v; want w2's with its 30 s expiry", l, err)
		}
	})
}

func TestUnlock(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	c := store.Campaign{ID: 1, PhoneNumberID: "100"}
	pol := testOwner.policy()
	take := func(st store.Store, key, owner string, at time.Time) {
		t.Helper()
		if err := st.AcquireLease(ctx, store.Lease{Key: key, Owner: owner, PID: 10, Host: "h1", Heartbeat: at}, pol); err != nil {
			t.Fatal(err)
		}
	}

	st := openLeaseStore(t)
	if removed, err := Unlock(ctx, st, c, t0); err != nil || len(removed) != 0 {
		t.Errorf("Unlock with no lease = %v, %v; want nothing removed", removed, err)
	}

	take(st, "campaign:1", "ghost", t0)
	take(st, "phone:100", "ghost", t0)
	_, err := Unlock(ctx, st, c, t0.Add(10*time.Second))
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "pid 10 on h1, heartbeat 10s ago") {
		t.Errorf("Unlock of a fresh lease: %v, want ErrBusy naming pid 10 on h1 and the heartbeat's age", err)
	}
	if _, err := st.Lease(ctx, "campaign:1"); err != nil {
		t.Errorf("a fresh lease was removed: %v", err)
	}
	removed, err := Unlock(ctx, st, c, t0.Add(2*time.Hour))
	if err != nil || len(removed) != 2 || removed[0].Key != "campaign:1" || removed[1].Key != "phone:100" {
		t.Errorf("Unlock of a stale lease = %+v, %v; want campaign:1 and phone:100 removed", removed, err)
	}

	// The number's lease held by another campaign's process stays.
	st = openLeaseStore(t)
	take(st, "campaign:1", "ghost", t0)
	take(st, "phone:100", "sender", t0)
	removed, err = Unlock(ctx, st, c, t0.Add(2*time.Hour))
	if err != nil || len(removed) != 1 {
		t.Errorf("Unlock = %+v, %v; want only the campaign's lease removed", removed, err)
	}
	if l, err := st.Lease(ctx, "phone:100"); err != nil || l.Owner != "sender" {
		t.Errorf("another owner's number lease: %+v, %v; want it kept", l, err)
	}

	// Pair runs of a pool: each pair lease with its number's lease, of
	// another owner each; a live one is refused.
	pooled := store.Campaign{ID: 2, PhoneNumberID: "100", Settings: Settings{PhoneNumberIDs: []string{"100", "200"}}.Encode()}
	st = openLeaseStore(t)
	take(st, "campaign:2:100", "w1", t0)
	take(st, "phone:100", "w1", t0)
	take(st, "campaign:2:200", "w2", t0.Add(time.Hour))
	take(st, "phone:200", "w2", t0.Add(time.Hour))
	removed, err = Unlock(ctx, st, pooled, t0.Add(time.Hour+10*time.Second))
	if !errors.Is(err, ErrBusy) || len(removed) != 2 || removed[0].Key != "campaign:2:100" || removed[1].Key != "phone:100" {
		t.Errorf("Unlock of a stale and a live pair = %+v, %v; want the stale pair's two leases removed, busy for the live one", removed, err)
	}
	removed, err = Unlock(ctx, st, pooled, t0.Add(3*time.Hour))
	if err != nil || len(removed) != 2 || removed[0].Key != "campaign:2:200" || removed[1].Key != "phone:200" {
		t.Errorf("Unlock of the other pair once stale = %+v, %v", removed, err)
	}
}

// Holder names the live holder of a campaign's lease or of its number's,
// and nobody when both are free, this owner's, or their holder is gone.
func TestHolder(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	st := openLeaseStore(t)
	c := store.Campaign{ID: 1, PhoneNumberID: "100"}
	me := Owner{ID: "me", PID: 10, Host: "h1", Alive: func(int) bool { return true }, Expiry: 3 * time.Second}
	if _, held, err := Holder(ctx, st, c, "", me, t0); err != nil || held {
		t.Errorf("no lease: held %v, %v; want free", held, err)
	}
	other := store.Lease{Key: "phone:100", Owner: "other", PID: 20, Host: "h2", Heartbeat: t0, Expiry: 3 * time.Second}
	if err := st.AcquireLease(ctx, other, me.policy()); err != nil {
		t.Fatal(err)
	}
	if h, held, err := Holder(ctx, st, c, "", me, t0.Add(3*time.Second)); err != nil || !held || h.Owner != "other" {
		t.Errorf("number held by a live worker on h2: %+v, held %v, %v; want it named", h, held, err)
	}
	if _, held, err := Holder(ctx, st, c, "", me, t0.Add(4*time.Second)); err != nil || held {
		t.Errorf("number's holder silent for over its 3 s expiry: held %v, %v; want free", held, err)
	}
	mine := store.Lease{Key: "campaign:1", Owner: "me", PID: 10, Host: "h1", Heartbeat: t0.Add(5 * time.Second)}
	if err := st.AcquireLease(ctx, mine, me.policy()); err != nil {
		t.Fatal(err)
	}
	if _, held, err := Holder(ctx, st, c, "", me, t0.Add(6*time.Second)); err != nil || held {
		t.Errorf("campaign's lease is this owner's: held %v, %v; want free", held, err)
	}
}

// A worker that stalled past its lease's expiry and wakes up after another
// took the campaign over can neither checkpoint (so it sends nothing) nor
// pause the campaign: both fail with ErrBusy, and nothing is written.
func TestFencedAfterTakeover(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	st := openLeaseStore(t)
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "c", CSVHash: "h", Template: "t", Language: "en_US", PhoneNumberID: "100", Scope: "phone:100", CreatedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportBatch(ctx, id, []store.Recipient{{Line: 2, Phone: "+5511900000001"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishImport(ctx, id, 1); err != nil {
		t.Fatal(err)
	}
	c := store.Campaign{ID: id}
	me := Owner{ID: "me", PID: 10, Host: "h1", Expiry: 3 * time.Second}
	ls := &leases{st: st, owner: me, now: func() time.Time { return t0 }}
	if err := ls.acquire(ctx, campaignLeaseKey(c.ID)); err != nil {
		t.Fatal(err)
	}
	fst := Fenced(st, me, c.ID, "")
	due, err := st.Due(ctx, c.ID, t0, 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("due = %v, %v", due, err)
	}
	a := store.Attempt{ID: "a1", CampaignID: c.ID, RecipientID: due[0].ID, Number: 1, PhoneNumberID: "100", To: due[0].Phone, Scope: "phone:100", StartedAt: t0}

	// Another host's worker takes the lease 4 s after the last heartbeat.
	pol := store.LeasePolicy{Host: "h2", StaleAfter: LeaseStale}
	if err := st.AcquireLease(ctx, store.Lease{Key: campaignLeaseKey(c.ID), Owner: "taker", PID: 20, Host: "h2", Heartbeat: t0.Add(4 * time.Second)}, pol); err != nil {
		t.Fatal(err)
	}
	if err := fst.BeginAttempts(ctx, []store.Attempt{a}); !errors.Is(err, ErrBusy) || !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("checkpoint after the takeover: %v, want ErrBusy and store.ErrLeaseLost", err)
	}
	if counts, err := st.Counts(ctx, c.ID); err != nil || counts[store.StateInFlight] != 0 || counts[store.StatePending] != 1 {
		t.Errorf("counts after a fenced checkpoint = %v, %v; want the recipient still pending", counts, err)
	}
	if err := fst.SetCampaignState(ctx, c.ID, store.CampaignPaused, "the store could not record the checkpoint", nil, t0); !errors.Is(err, ErrBusy) {
		t.Errorf("pause after the takeover: %v, want ErrBusy", err)
	}
	if got, err := st.Campaign(ctx, c.ID); err != nil || got.State == store.CampaignPaused {
		t.Errorf("campaign after a fenced pause: %v, %v; want it not paused", got.State, err)
	}

	// The holder's own checkpoint goes through.
	if err := Fenced(st, Owner{ID: "taker"}, c.ID, "").BeginAttempts(ctx, []store.Attempt{a}); err != nil {
		t.Errorf("checkpoint by the lease's holder: %v", err)
	}
}

// Holder of a pair: the pair's lease, its number's and the campaign's (a
// whole run) keep a worker from it; another number's pair does not.
func TestHolderOfAPair(t *testing.T) {
	ctx := t.Context()
	t0 := time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)
	c := store.Campaign{ID: 3, PhoneNumberID: "100", Settings: Settings{PhoneNumberIDs: []string{"100", "200"}}.Encode()}
	me := Owner{ID: "me", PID: 10, Host: "h1", Alive: func(int) bool { return true }, Expiry: 3 * time.Second}
	for _, tc := range []struct {
		key  string
		held map[string]bool // by number asked, "" the whole run
	}{
		{"campaign:3:200", map[string]bool{"": true, "100": false, "200": true}},
		{"phone:200", map[string]bool{"": true, "100": false, "200": true}},
		{"campaign:3", map[string]bool{"": true, "100": true, "200": true}},
	} {
		st := openLeaseStore(t)
		if err := st.AcquireLease(ctx, store.Lease{Key: tc.key, Owner: "other", PID: 20, Host: "h2", Heartbeat: t0, Expiry: 3 * time.Second}, me.policy()); err != nil {
			t.Fatal(err)
		}
		for number, want := range tc.held {
			if h, held, err := Holder(ctx, st, c, number, me, t0.Add(time.Second)); err != nil || held != want || (held && h.Key != tc.key) {
				t.Errorf("%s held by another: Holder(number %q) = %+v, held %v, %v; want held %v", tc.key, number, h, held, err, want)
			}
		}
	}
}
