package storetest

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/whatsend/whatsend/store"
)

// notificationSeq makes the hash of each notification the helpers below
// write unique, so that none is taken for a re-delivery.
var notificationSeq atomic.Int64

// Recipient returns the recipient id of a campaign as it is stored now,
// read through Recipients (the contract has no lookup by id: nothing but
// tests needs one). It fails the test when there is none.
func Recipient(t testing.TB, st store.Store, campaignID, id int64) store.Recipient {
	t.Helper()
	var got store.Recipient
	found := false
	err := st.Recipients(t.Context(), campaignID, func(r store.Recipient) error {
		if r.ID == id {
			got, found = r, true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("recipients of campaign %d: %v", campaignID, err)
	}
	if !found {
		t.Fatalf("campaign %d has no recipient %d", campaignID, id)
	}
	return got
}

// Notify stores and applies one webhook notification carrying the given
// statuses and inbound messages, as the receiver does (SaveNotifications),
// under a hash of its own.
func Notify(t testing.TB, st store.Store, us []store.StatusUpdate, in []store.Inbound) {
	t.Helper()
	n := store.Notification{Hash: fmt.Sprintf("storetest-%d", notificationSeq.Add(1)), Body: []byte(`{}`), Statuses: us, Inbound: in}
	for _, u := range us {
		n.At = u.At
	}
	for _, m := range in {
		n.At = m.At
	}
	fresh, err := st.SaveNotifications(t.Context(), []store.Notification{n})
	if err != nil {
		t.Fatalf("save notification: %v", err)
	}
	if len(fresh) != 1 || !fresh[0] {
		t.Fatalf("notification %s taken for a re-delivery", n.Hash)
	}
}

// Status applies one delivery status (Notify).
func Status(t testing.TB, st store.Store, u store.StatusUpdate) {
	t.Helper()
	Notify(t, st, []store.StatusUpdate{u}, nil)
}

// Inbound records one message a user sent (Notify).
func Inbound(t testing.TB, st store.Store, m store.Inbound) {
	t.Helper()
	Notify(t, st, nil, []store.Inbound{m})
}

// Replied reports which of the given numbers, each sent a template,
// replied after the last one: those absent from Unanswered.
func Replied(t testing.TB, st store.Store, sent []string) map[string]bool {
	t.Helper()
	un, err := st.Unanswered(t.Context(), sent)
	if err != nil {
		t.Fatalf("unanswered: %v", err)
	}
	out := map[string]bool{}
	for _, p := range sent {
		out[p] = un[p] == 0
	}
	return out
}
