package campaign_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/sender/webhook"
	"github.com/whatsend/whatsend/store"
)

// deliver131049 applies a status webhook saying Meta did not deliver the
// recipient's message (131049), as the webhook receiver does.
func (e *env) deliver131049(r store.Recipient, at time.Time) {
	e.t.Helper()
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
		"statuses":[{"id":%q,"status":"failed","timestamp":"%d","recipient_id":%q,
		"errors":[{"code":131049,"title":"This message was not delivered to maintain healthy ecosystem engagement."}]}]}}]}]}`,
		r.WAMID, at.Unix(), r.Phone[1:])
	n, err := webhook.Parse([]byte(body), at, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	n.Hash, n.Body, n.At = fmt.Sprintf("h-%s-%d", r.WAMID, at.Unix()), []byte(body), at
	if _, err := e.st.SaveNotifications(e.t.Context(), []store.Notification{n}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) recipientByPhone(c store.Campaign, phone string) store.Recipient {
	e.t.Helper()
	var got store.Recipient
	_ = e.st.Recipients(e.t.Context(), c.ID, func(r store.Recipient) error {
		if r.Phone == phone {
			got = r
		}
		return nil
	})
	return got
}

// TestRunDeferralHasOneOwner: a 131049 webhook after the campaign finished
// reopens it; the next run sends the recipient once the deferral is due;
// and the recipient is deferred at most --defer-days times whether the
// 131049 comes by webhook or in a send answer.
func TestRunDeferralHasOneOwner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
		nums := phones(5, 0)
		capped := nums[3]
		sends := 0
		sc := &scripted{inner: e.client, fail: func(to string, n int) error {
			if to == capped {
				sends++
				if n == 2 { // the retry is answered 131049 directly
					return apiErr(131049)
				}
			}
			return nil
		}}
		c := e.campaign("d", nums, campaign.Settings{DeferDays: 2})
		if _, err := e.run(c, sc, campaign.RunOptions{}); err != nil {
			t.Fatalf("first run: %v, want finished", err)
		}
		// Deferral 1, by webhook after the campaign finished.
		e.deliver131049(e.recipientByPhone(c, capped), time.Now())
		if got, _ := e.st.Campaign(t.Context(), c.ID); got.State != store.CampaignReady {
			t.Fatalf("campaign %s after a 131049 webhook, want ready (reopened)", got.State)
		}
		if _, err := e.run(c, sc, campaign.RunOptions{}); !errors.Is(err, campaign.ErrMoreWork) {
			t.Fatalf("run before the deferral is due: %v, want work left", err)
		}
		if sends != 1 {
			t.Fatalf("the deferred recipient was sent %d times before due, want 1", sends)
		}
		// Deferral 2: the retry a day later is answered 131049.
		time.Sleep(store.DeferInterval)
		if _, err := e.run(c, sc, campaign.RunOptions{}); !errors.Is(err, campaign.ErrMoreWork) {
			t.Fatalf("run a day later: %v, want work left (deferred again)", err)
		}
		if r := e.recipientByPhone(c, capped); sends != 2 || r.State != store.StateDeferred || r.Deferrals != 2 {
			t.Fatalf("after %d sends: %s with %d deferrals, want deferred twice after 2 sends", sends, r.State, r.Deferrals)
		}
		// The third try is accepted, then a 131049 webhook: that third
		// deferral is over --defer-days 2, so the recipient fails.
		time.Sleep(store.DeferInterval)
		if _, err := e.run(c, sc, campaign.RunOptions{}); err != nil {
			t.Fatalf("third run: %v, want finished", err)
		}
		e.deliver131049(e.recipientByPhone(c, capped), time.Now())
		r := e.recipientByPhone(c, capped)
		if sends != 3 || r.State != store.StateFailed || r.Deferrals != 2 || r.LastCode != 131049 {
			t.Errorf("after %d sends: %s with %d deferrals, code %d; want failed after 3 sends and 2 deferrals, 131049", sends, r.State, r.Deferrals, r.LastCode)
		}
		if got, _ := e.st.Campaign(t.Context(), c.ID); got.State != store.CampaignFinished {
			t.Errorf("campaign %s after the capped webhook, want finished (nothing left to do)", got.State)
		}
		if cn := e.counts(c); cn[store.StateSent] != 4 || cn[store.StateFailed] != 1 {
			t.Errorf("counts %v, want 4 sent and 1 failed", cn)
		}
	})
}
