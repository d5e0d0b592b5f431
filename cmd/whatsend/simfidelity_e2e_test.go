package main

import (
	"cmp"
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/storetest"
)

// TestWebhookE2EFidelityOptions: a campaign against `whatsend sim` with
// Meta's harder webhook habits on (50 notifications a POST, 5 % duplicates,
// 10 % of the read messages read before delivered, 10 % of the recipients
// shown only by business-scoped user id, button replies, user_preferences
// stops), received by `whatsend webhook` on the campaign's store: the
// store's delivered, read, failed, replied and opt-out figures equal the
// simulator's own counts of what it notified, exactly.
func TestWebhookE2EFidelityOptions(t *testing.T) {
	w := newWebhookWorld(t, "--webhook-batch", "50", "--webhook-duplicate-rate", "0.05",
		"--webhook-reorder-rate", "0.1", "--bsuid-share", "0.1",
		"--read-rate", "0.6", "--reply-rate", "0.3", "--stop-share", "0.3", "--button-share", "0.5",
		"--user-prefs-share", "0.5", "--undeliverable-rate", "0.1", "--webhook-delay", "100ms", "--seed", "5")
	csv := writeCSV(t, w.p.dir, 300, 0)
	if code := w.p.exec(w.p.runArgs(csv, "--rate", "500")...); code != 0 {
		t.Fatalf("run exited %d\nstdout: %s\nstderr: %s", code, w.p.stdout.String(), w.p.stderr.String())
	}
	st := w.openStore(t)
	c := campaignNamed(t, st, "")
	wh := w.settled(t, time.Minute)
	if wh.GaveUp != 0 || wh.Dropped != 0 || wh.Duplicates == 0 || wh.Reordered == 0 || wh.BSUID == 0 ||
		wh.Buttons == 0 || wh.UserPrefs == 0 || wh.Posts >= wh.OK {
		t.Fatalf("simulator %+v: want every option exercised, batches, nothing lost", wh)
	}
	type figures struct{ Delivered, Read, Failed, Replied, OptedOut int }
	want := figures{wh.Delivered, wh.Read, wh.Failed, wh.Replied, wh.OptedOut}
	var got figures
	// The receiver stores what it was sent before it answers 200, so once
	// the simulator has nothing pending the store must already agree; a
	// short wait only absorbs the receiver's commit of the last POST.
	deadline := time.Now().Add(10 * time.Second)
	for {
		sum, err := st.Summary(t.Context(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		opts, err := st.OptOuts(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got = figures{sum.ByDelivery[store.DeliveryDelivered] + sum.ByDelivery[store.DeliveryRead],
			sum.ByDelivery[store.DeliveryRead], sum.ByDelivery[store.DeliveryFailed], sum.Replied, len(opts)}
		if got == want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got != want {
		t.Errorf("store figures %+v, simulator's %+v", got, want)
		explainMismatch(t, w, st, c)
	}
	t.Logf("simulator webhooks %+v", wh)
}

// TestWebhookE2EUnsupportedIsNoReply: a message of a type the Cloud API
// does not support (type "unsupported", error 131051, no context) is not a
// reply whatsend can read (cloud-api.md §5.5: ignore, log), so the store's
// replied figure counts only the text and button replies.
func TestWebhookE2EUnsupportedIsNoReply(t *testing.T) {
	w := newWebhookWorld(t, "--reply-rate", "1", "--stop-share", "0", "--unsupported-share", "0.5",
		"--webhook-delay", "10ms", "--seed", "2")
	csv := writeCSV(t, w.p.dir, 20, 0)
	if code := w.p.exec(w.p.runArgs(csv)...); code != 0 {
		t.Fatalf("run exited %d\nstderr: %s", code, w.p.stderr.String())
	}
	st := w.openStore(t)
	c := campaignNamed(t, st, "")
	wh := w.settled(t, 30*time.Second)
	if wh.Unsupported != 10 || wh.Replied != 10 {
		t.Fatalf("simulator %+v: want 10 unsupported messages and 10 replies", wh)
	}
	sum, err := st.Summary(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Replied != wh.Replied {
		t.Errorf("store: %d recipients replied, want the %d who sent a text: an unsupported message is no reply", sum.Replied, wh.Replied)
		explainMismatch(t, w, st, c)
	}
}

// explainMismatch logs, per kind of notification, which recipients the
// store disagrees with the simulator on, so a failure names the case.
func explainMismatch(t *testing.T, w *webhookWorld, st store.Store, c store.Campaign) {
	t.Helper()
	var msgs struct {
		Messages []simulator.Message `json:"messages"`
	}
	w.sim.getJSON(t, "/_sim/messages", &msgs)
	var phones []string
	for _, m := range msgs.Messages {
		phones = append(phones, m.To)
	}
	replied := storetest.Replied(t, st, phones)
	opted, err := st.OptedOut(t.Context(), phones)
	if err != nil {
		t.Fatal(err)
	}
	isOpted := opted
	type key struct{ kind, user string }
	miss := map[key]int{}
	for _, m := range msgs.Messages {
		user := "wa_id"
		if m.UserID != "" {
			user = "user_id"
		}
		kind := m.ReplyType
		if m.Stop {
			kind += " STOP"
		}
		replies := m.ReplyType != "" && m.ReplyType != simulator.ReplyUserPrefs && m.ReplyType != simulator.ReplyUnsupported
		if replies && !replied[m.To] {
			miss[key{"reply not recorded: " + kind, user}]++
		}
		if !replies && replied[m.To] {
			miss[key{"reply recorded without one: " + cmp.Or(kind, "no reply"), user}]++
		}
		if m.Stop && !isOpted[m.To] {
			miss[key{"opt-out not recorded: " + kind, user}]++
		}
		if !m.Stop && isOpted[m.To] {
			miss[key{"opt-out recorded without a stop: " + kind, user}]++
		}
	}
	for k, n := range miss {
		t.Errorf("%d recipients shown by %s: %s", n, k.user, k.kind)
	}
}
