package campaign

import (
	"context"
	"errors"
	"fmt"

	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/store"
)

// TestSent is one test message's outcome.
type TestSent struct {
	To    string // E.164
	WAMID string // the message id; empty when Err is set
	Err   error
}

// errStop ends a store iteration early.
var errStop = errors.New("stop")

// TestSend sends the message of the campaign's first valid row to each
// number in to (the operator's own phones, for a look at the real message
// before the campaign) after the same pre-flight as a run. It writes no
// attempt: the campaign's recipients, its allowance (the scope's
// messaging-limit window counts attempts) and its reports are untouched,
// and the message carries no callback data, so its status webhooks match
// no recipient. A pre-flight failure pauses the campaign as a run would
// (ErrPaused); o gives the pre-flight's options (Force, SkipLinkCheck).
func TestSend(ctx context.Context, d Deps, campaignID int64, to []string, o RunOptions) ([]TestSent, error) {
	d.defaults()
	c, err := d.Store.Campaign(ctx, campaignID)
	if err != nil {
		return nil, fmt.Errorf("campaign %d: %w", campaignID, err)
	}
	s, err := DecodeSettings(c.Settings)
	if err != nil {
		return nil, err
	}
	s = s.WithDefaults()
	if c.State == store.CampaignCancelled {
		return nil, &StateError{Campaign: c.Name, State: c.State, Action: "test-send", Hint: "delete it (whatsend campaign delete " + QuoteArg(c.Name) + ") to import its CSV again"}
	}
	phones := make([]string, 0, len(to))
	for _, raw := range to {
		e164, reason, detail := csvimport.Normalize(raw, s.DefaultRegion)
		if reason != "" {
			return nil, fmt.Errorf("%w: --test-to %q: %s %s", ErrRefused, raw, reason, detail)
		}
		phones = append(phones, e164)
	}
	if len(phones) == 0 {
		return nil, fmt.Errorf("%w: --test-to: give one or more numbers", ErrRefused)
	}
	var first store.Recipient
	err = d.Store.Recipients(ctx, c.ID, func(rc store.Recipient) error {
		if rc.State == store.StateSkipped {
			return nil
		}
		first = rc
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	if first.ID == 0 {
		return nil, fmt.Errorf("%w: campaign %s has no valid row to test-send", ErrRefused, c.Name)
	}
	r := &runner{d: d, c: c, s: s, o: o, start: d.Now(), num: newNumber(c.PhoneNumberID, d.Sender, s, d.Now)}
	if err := r.preflightTemplate(ctx); err != nil {
		return nil, err
	}
	out := make([]TestSent, 0, len(phones))
	for _, p := range phones {
		m := r.message(dispatched{r: first})
		m.To, m.Callback = p, ""
		acc, err := r.num.send.SendTemplate(ctx, m)
		out = append(out, TestSent{To: p, WAMID: acc.WAMID, Err: err})
		if ctx.Err() != nil {
			return out, context.Cause(ctx)
		}
	}
	return out, nil
}

// String is how a test send is reported.
func (t TestSent) String() string {
	if t.Err != nil {
		return fmt.Sprintf("test message to %s: not sent: %v", t.To, t.Err)
	}
	return fmt.Sprintf("test message to %s: %s", t.To, t.WAMID)
}
