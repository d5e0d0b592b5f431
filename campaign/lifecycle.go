package campaign

import (
	"context"
	"fmt"
	"slices"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// StateError refuses an action a campaign's state does not allow (a
// cancelled campaign is never driven again). It matches ErrRefused (exit 2).
type StateError struct {
	Campaign string
	State    store.CampaignState
	Action   string // what was refused: "resume", "retry", ...
	Hint     string // what to do instead
}

func (e *StateError) Error() string {
	s := fmt.Sprintf("campaign %s is %s: cannot %s it", e.Campaign, e.State, e.Action)
	if e.Hint != "" {
		s += "; " + e.Hint
	}
	return s
}

// Is makes every StateError match ErrRefused.
func (e *StateError) Is(target error) bool { return target == ErrRefused }

// undeliverableCode is Meta's "message undeliverable" (cloud-api.md §6):
// final for the send, but the user may install or update WhatsApp, or
// accept its terms, later.
const undeliverableCode = 131026

// Retryable reports whether `whatsend retry --failed` may re-queue a
// recipient that failed with this code: transient errors whose attempts
// ran out (pair rate, throughput, Meta's own failures: the catalog's
// retry-recipient and slow-sender classes), an exhausted 131049 deferral,
// and 131026 undeliverable. Never: template, parameter, policy, permission
// and account errors (they pause the campaign instead), a user who stopped
// marketing messages (131050), nor any other final recipient failure.
func Retryable(code int) bool {
	if code == undeliverableCode {
		return true
	}
	switch sender.Lookup(code).Class {
	case sender.ClassRetryRecipient, sender.ClassSlowSender, sender.ClassDefer:
		return true
	}
	return false
}

// RetryableCodes lists the catalog's retryable codes in ascending order:
// what retry re-queues without --codes.
func RetryableCodes() []int {
	var out []int
	for _, c := range sender.Codes() {
		if Retryable(c) {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return out
}

// RetryOptions choose which failed recipients Requeue re-queues.
type RetryOptions struct {
	Codes []int // only these codes, each retryable; empty: RetryableCodes
}

// Requeue re-queues a campaign's failed recipients whose codes are
// retryable, as one recorded retry run, under the campaign's lease: the
// caller then drives the campaign (Run) to send them. A code that is not
// retryable is refused (ErrRefused) naming it; a cancelled or importing
// campaign is refused with a StateError.
func Requeue(ctx context.Context, d Deps, campaignID int64, o RetryOptions) (store.RetryRun, error) {
	d.defaults()
	for _, c := range o.Codes {
		if !Retryable(c) {
			e := sender.Lookup(c)
			return store.RetryRun{}, fmt.Errorf("code %d (%s) is not retryable: %s; retryable codes are %v: %w",
				c, e.Title, e.Meaning, RetryableCodes(), ErrRefused)
		}
	}
	codes := o.Codes
	if len(codes) == 0 {
		codes = RetryableCodes()
	}
	var run store.RetryRun
	err := underLease(ctx, d, campaignID, func(c store.Campaign) error {
		switch c.State {
		case store.CampaignCancelled, store.CampaignImporting:
			return &StateError{Campaign: c.Name, State: c.State, Action: "retry"}
		}
		var err error
		run, err = d.Store.RequeueFailed(ctx, campaignID, codes, d.Now())
		return err
	})
	return run, err
}

// Cancel cancels a campaign under its lease: its recipients not yet sent
// become cancelled, those a gone process left in flight become uncertain
// (a status webhook still settles them), and the campaign is never driven
// again. It returns how many recipients were cancelled. A campaign whose
// import did not finish is refused: delete it instead.
func Cancel(ctx context.Context, d Deps, campaignID int64) (int, error) {
	d.defaults()
	var n int
	err := underLease(ctx, d, campaignID, func(c store.Campaign) error {
		if c.State == store.CampaignImporting {
			return &StateError{Campaign: c.Name, State: c.State, Action: "cancel",
				Hint: "delete it (whatsend campaign delete " + QuoteArg(c.Name) + ")"}
		}
		var err error
		n, err = d.Store.CancelCampaign(ctx, campaignID, d.Now())
		return err
	})
	return n, err
}

// Delete removes a campaign and everything that belongs to it, under its
// lease (and, for a campaign still importing, its import's lease); the
// opt-out list and the messaging-limit window stay (they are about the
// numbers). It refuses while recipients are in flight: a process
// that is gone left them, and resume or cancel settles them first.
func Delete(ctx context.Context, d Deps, campaignID int64) error {
	d.defaults()
	return underLease(ctx, d, campaignID, func(c store.Campaign) error {
		if c.State == store.CampaignImporting {
			// Its importer may be at work: a live one holds the import's lease.
			imp := &leases{st: d.Store, owner: d.Owner, now: d.Now}
			key := store.CampaignKey{CSVHash: c.CSVHash, Template: c.Template, Language: c.Language}
			if err := imp.acquire(ctx, importLeaseKey(key)); err != nil {
				return fmt.Errorf("campaign %s is being imported: %w", c.Name, err)
			}
			defer imp.release()
		}
		counts, err := d.Store.Counts(ctx, campaignID)
		if err != nil {
			return err
		}
		if n := counts[store.StateInFlight]; n > 0 {
			return &StateError{Campaign: c.Name, State: c.State, Action: "delete",
				Hint: fmt.Sprintf("%d recipients are in flight from an interrupted run: whatsend resume %s or whatsend campaign cancel %s settles them first", n, QuoteArg(c.Name), QuoteArg(c.Name))}
		}
		return d.Store.DeleteCampaign(ctx, campaignID)
	})
}

// underLease runs fn on the campaign while holding its lease and its pair
// leases, so no other process drives it, nor a share of it, meanwhile. A
// live holder is refused with ErrBusy naming it.
func underLease(ctx context.Context, d Deps, campaignID int64, fn func(store.Campaign) error) error {
	d.defaults()
	c, err := d.Store.Campaign(ctx, campaignID)
	if err != nil {
		return fmt.Errorf("campaign %d: %w", campaignID, err)
	}
	ls := &leases{st: d.Store, owner: d.Owner, now: d.Now}
	keys := []string{campaignLeaseKey(campaignID)}
	for _, id := range poolOf(c) {
		keys = append(keys, pairLeaseKey(campaignID, id)) // no pair run either
	}
	if err := ls.acquire(ctx, keys...); err != nil {
		return fmt.Errorf("campaign %s: %w", c.Name, err)
	}
	defer ls.release()
	// Read again under the lease: the state may have changed meanwhile.
	if c, err = d.Store.Campaign(ctx, campaignID); err != nil {
		return err
	}
	return fn(c)
}
