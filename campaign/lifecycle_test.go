package campaign_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/storetest"
)

func TestRetryable(t *testing.T) {
	for code, want := range map[int]bool{
		131026: true, 131000: true, 131056: true, 130429: true, 131049: true, 131016: true, 1: true, 2: true,
		131050: false, 132001: false, 132000: false, 131048: false, 368: false, 10: false, 130472: false, 0: false, 999999: false,
	} {
		if got := campaign.Retryable(code); got != want {
			t.Errorf("Retryable(%d) = %v, want %v", code, got, want)
		}
	}
	codes := campaign.RetryableCodes()
	if !slices.IsSorted(codes) || !slices.Contains(codes, 131026) || slices.Contains(codes, 131050) {
		t.Errorf("RetryableCodes = %v", codes)
	}
}

// A re-queued recipient gets a fresh attempt budget: with --max-attempts 2
// a recipient that used both attempts and is retried may still be retried
// once after a 131056 (attempt ids keep counting: 3, 4).
func TestRequeueGivesAFreshAttemptBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		nums := phones(3, 0)
		failing := true
		sc := &scripted{inner: e.client, fail: func(to string, n int) error {
			switch {
			case failing:
				return apiErr(131000)
			case to == nums[0] && n == 3:
				return apiErr(131056)
			}
			return nil
		}}
		c := e.campaign("c", nums, campaign.Settings{Rate: 20, MaxAttempts: 2, PauseShare: 1})
		if _, err := e.run(c, sc, campaign.RunOptions{}); err != nil {
			t.Fatalf("first run: %v", err)
		}
		if got := e.counts(c)[store.StateFailed]; got != 3 {
			t.Fatalf("failed after the first run = %d, want 3", got)
		}
		failing = false
		run, err := campaign.Requeue(t.Context(), e.deps(sc), c.ID, campaign.RetryOptions{Codes: []int{131000}})
		if err != nil || run.Requeued != 3 {
			t.Fatalf("Requeue = %+v, %v; want 3 re-queued", run, err)
		}
		if _, err := e.run(c, sc, campaign.RunOptions{}); err != nil {
			t.Fatalf("run after retry: %v", err)
		}
		if got := e.counts(c)[store.StateSent]; got != 3 {
			t.Errorf("sent after the retry = %d, want 3 (counts %v)", got, e.counts(c))
		}
		if r := storetest.Recipient(t, e.st, c.ID, 1); r.Attempts != 4 {
			t.Errorf("first recipient made %d attempts, want 4", r.Attempts)
		}
	})
}

func TestRequeueRefusesCodesAndCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		c := e.campaign("c", phones(2, 0), campaign.Settings{Rate: 20})
		_, err := campaign.Requeue(t.Context(), e.deps(nil), c.ID, campaign.RetryOptions{Codes: []int{131026, 132001}})
		if !errors.Is(err, campaign.ErrRefused) || !strings.Contains(err.Error(), "132001") {
			t.Errorf("Requeue with 132001: %v, want a refusal naming 132001", err)
		}
		if n, err := campaign.Cancel(t.Context(), e.deps(nil), c.ID); err != nil || n != 2 {
			t.Fatalf("Cancel = %d, %v; want 2", n, err)
		}
		if _, err := campaign.Requeue(t.Context(), e.deps(nil), c.ID, campaign.RetryOptions{}); !errors.Is(err, campaign.ErrRefused) {
			t.Errorf("Requeue of a cancelled campaign: %v, want a refusal", err)
		}
		if _, err := e.run(c, nil, campaign.RunOptions{}); !errors.Is(err, campaign.ErrRefused) {
			t.Errorf("Run of a cancelled campaign: %v, want a refusal", err)
		}
		if len(e.sim.Messages()) != 0 {
			t.Errorf("a cancelled campaign sent %d messages", len(e.sim.Messages()))
		}
	})
}

// Delete refuses while recipients are in flight (a dead run left them) or
// another live process holds the lease; cancel settles the in-flight ones
// as uncertain, and delete then works.
func TestDeleteRefusesInFlightAndBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		c := e.campaign("c", phones(3, 0), campaign.Settings{Rate: 20})
		ctx := t.Context()
		due, err := e.st.Due(ctx, c.ID, time.Now(), 10)
		if err != nil {
			t.Fatal(err)
		}
		a := store.Attempt{ID: "x-1", CampaignID: c.ID, RecipientID: due[0].ID, Number: 1, PhoneNumberID: c.PhoneNumberID,
			To: due[0].Phone, Scope: c.Scope, StartedAt: time.Now()}
		if err := e.st.BeginAttempts(ctx, []store.Attempt{a}); err != nil {
			t.Fatal(err)
		}
		if err := campaign.Delete(ctx, e.deps(nil), c.ID); !errors.Is(err, campaign.ErrRefused) || !strings.Contains(err.Error(), "1 recipients are in flight") {
			t.Errorf("Delete with one in flight: %v, want a refusal naming it", err)
		}
		if err := e.st.AcquireLease(ctx, store.Lease{Key: fmt.Sprintf("campaign:%d", c.ID), Owner: "other-process", PID: 4242, Host: "test", Heartbeat: time.Now()},
			store.LeasePolicy{Host: "test", StaleAfter: time.Minute, Alive: func(int) bool { return true }}); err != nil {
			t.Fatal(err)
		}
		if _, err := campaign.Cancel(ctx, e.deps(nil), c.ID); !errors.Is(err, campaign.ErrBusy) || !strings.Contains(err.Error(), "pid 4242") {
			t.Errorf("Cancel while another process holds the lease: %v, want busy naming pid 4242", err)
		}
		if err := campaign.Delete(ctx, e.deps(nil), c.ID); !errors.Is(err, campaign.ErrBusy) {
			t.Errorf("Delete while another process holds the lease: %v, want busy", err)
		}
		if err := e.st.ReleaseLease(ctx, fmt.Sprintf("campaign:%d", c.ID), "other-process"); err != nil {
			t.Fatal(err)
		}
		if n, err := campaign.Cancel(ctx, e.deps(nil), c.ID); err != nil || n != 2 {
			t.Fatalf("Cancel = %d, %v; want 2 cancelled", n, err)
		}
		if got := e.counts(c); got[store.StateUncertain] != 1 || got[store.StateCancelled] != 2 {
			t.Errorf("counts after cancel = %v, want 1 uncertain, 2 cancelled", got)
		}
		if err := campaign.Delete(ctx, e.deps(nil), c.ID); err != nil {
			t.Fatalf("Delete after cancel: %v", err)
		}
		if _, err := e.st.Campaign(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("campaign after delete: %v, want ErrNotFound", err)
		}
	})
}
