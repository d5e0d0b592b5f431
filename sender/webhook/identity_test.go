package webhook_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/storetest"
)

// The payloads below follow Meta's documented shapes: inbound messages with
// contacts[] and context {from, id} (cloud-api.md §5.5; Meta's "Messages
// webhook reference", developers.facebook.com/documentation/business-messaging/
// whatsapp/webhooks/reference/messages), user_preferences (§5.8, M9d), and
// business-scoped user ids beside or instead of wa_id (§1.1, L1: contacts[].user_id,
// messages[].from_user_id, user_preferences[].user_id).

func replyBody(from, fromUserID, contactWAID, contactUserID, id, contextID, text string, at time.Time) string {
	return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"300000000000001","changes":[{"field":"messages",
 "value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},
 "contacts":[{"profile":{"name":"Ana"},"wa_id":%q,"user_id":%q}],
 "messages":[{"from":%q,"from_user_id":%q,"id":%q,"timestamp":"%d","type":"text",
  "context":{"from":"15550001111","id":%q},"text":{"body":%q}}]}}]}]}`,
		contactWAID, contactUserID, from, fromUserID, id, at.Unix(), contextID, text)
}

func preferenceBody(waID, userID, value string, at time.Time) string {
	return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"300000000000001","changes":[{"field":"user_preferences",
 "value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},
 "user_preferences":[{"wa_id":%q,"user_id":%q,"category":"marketing_messages","value":%q,
   "detail":"User asked to stop marketing","timestamp":%d}]}}]}]}`, waID, userID, value, at.Unix())
}

// A STOP whose from / wa_id differs from the number we sent to (Meta: they
// may not match), with context.id = our message, opts out and marks as
// replied the recipient we message.
func TestReplyLandsOnTheRecipientItAnswers(t *testing.T) {
	w := newWorld(t, 2)
	ctx := t.Context()
	r := w.rs[1]            // +5511900000001
	other := "551190000001" // the same user as Meta may report it: one digit fewer
	if got := w.post(replyBody(other, "", other, "", "wamid.in.stop", wamid(r), "STOP", t0), appSecret); got != 200 {
		t.Fatalf("reply answered %d", got)
	}
	opted, err := w.st.OptedOut(ctx, []string{r.Phone})
	if err != nil || !opted[r.Phone] {
		t.Errorf("the recipient answered (%s) is not opted out: %v, %v", r.Phone, opted, err)
	}
	replied := storetest.Replied(t, w.st, []string{r.Phone, w.rs[0].Phone})
	if !replied[r.Phone] || replied[w.rs[0].Phone] {
		t.Errorf("replied = %v, want only %s", replied, r.Phone)
	}
}

// Business-scoped user ids: a marketing stop with an empty wa_id never
// stores an empty number; it waits for the user id's number and is applied
// when a message links the two. A text with an empty from and a
// from_user_id that answers our message counts for our recipient.
func TestBusinessScopedUserIDs(t *testing.T) {
	w := newWorld(t, 3)
	ctx := t.Context()
	const uid = "BR.1349120865530274191"
	if got := w.post(preferenceBody("", uid, "stop", t0), appSecret); got != 200 {
		t.Fatalf("user_preferences answered %d", got)
	}
	list, err := w.st.OptOuts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(list, func(o store.OptOut) bool { return o.Phone == "" }) || len(list) != 0 {
		t.Fatalf("opt-out list after a stop by user id alone = %+v, want empty (no number known yet)", list)
	}

	// A reply with only the user id, answering our message to rs[0]: it
	// counts for rs[0], and links the user id to its number, which applies
	// the waiting stop.
	r := w.rs[0]
	if got := w.post(replyBody("", uid, "", uid, "wamid.in.bsuid", wamid(r), "hello", t0.Add(time.Minute)), appSecret); got != 200 {
		t.Fatalf("reply answered %d", got)
	}
	if replied := storetest.Replied(t, w.st, []string{r.Phone}); !replied[r.Phone] {
		t.Errorf("a reply with from_user_id only was not counted for %s", r.Phone)
	}
	opted, err := w.st.OptedOut(ctx, []string{r.Phone})
	if err != nil || !opted[r.Phone] {
		t.Errorf("the stop by user id was not applied once its number was known: %v, %v", opted, err)
	}

	// A later stop by user id alone goes to the number it is linked to;
	// resume removes it again.
	r2 := w.rs[2]
	const uid2 = "BR.9988776655443322110"
	link := replyBody(r2.Phone[1:], uid2, r2.Phone[1:], uid2, "wamid.in.link", "", "hi", t0)
	if got := w.post(link, appSecret); got != 200 {
		t.Fatalf("link answered %d", got)
	}
	if got := w.post(preferenceBody("", uid2, "stop", t0.Add(time.Hour)), appSecret); got != 200 {
		t.Fatal("stop answered", got)
	}
	if opted, _ := w.st.OptedOut(ctx, []string{r2.Phone}); !opted[r2.Phone] {
		t.Errorf("a stop by a linked user id did not opt out %s", r2.Phone)
	}
	if got := w.post(preferenceBody("", uid2, "resume", t0.Add(2*time.Hour)), appSecret); got != 200 {
		t.Fatal("resume answered", got)
	}
	if opted, _ := w.st.OptedOut(ctx, []string{r2.Phone}); opted[r2.Phone] {
		t.Errorf("resume by a linked user id did not remove the opt-out of %s", r2.Phone)
	}
}

// Read may arrive before delivered, even in one POST: the delivered time
// is kept, not replaced by the read time.
func TestDeliveredTimeKeptWhenReadComesFirst(t *testing.T) {
	w := newWorld(t, 1)
	r := w.rs[0]
	delivered, read := t0.Add(10*time.Second), t0.Add(5*time.Minute)
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"300000000000001","changes":[{"field":"messages",
 "value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},
 "statuses":[{"id":%q,"status":"read","timestamp":"%d","recipient_id":%q},
             {"id":%q,"status":"delivered","timestamp":"%d","recipient_id":%q}]}}]}]}`,
		wamid(r), read.Unix(), r.Phone[1:], wamid(r), delivered.Unix(), r.Phone[1:])
	if got := w.post(body, appSecret); got != 200 {
		t.Fatalf("statuses answered %d", got)
	}
	got := w.recipient(0)
	if got.Delivery != store.DeliveryRead || !got.DeliveredAt.Equal(delivered) || !got.ReadAt.Equal(read) {
		t.Errorf("delivery %q delivered_at %s read_at %s; want read, delivered at %s, read at %s",
			got.Delivery, got.DeliveredAt, got.ReadAt, delivered, read)
	}
}

// A message of a type the Cloud API does not support (type "unsupported",
// error 131051) is not a reply: the user's number is not marked replied.
func TestUnsupportedMessageIsNoReply(t *testing.T) {
	w := newWorld(t, 1)
	r := w.rs[0]
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"300000000000001","changes":[{"field":"messages",
 "value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},
 "contacts":[{"profile":{"name":"Ana"},"wa_id":%q}],
 "messages":[{"from":%q,"id":"wamid.in.unsup","timestamp":"%d","type":"unsupported",
  "errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","error_data":{"details":"Message type is currently not supported."}}]}]}}]}]}`,
		r.Phone[1:], r.Phone[1:], t0.Unix())
	if got := w.post(body, appSecret); got != 200 {
		t.Fatalf("unsupported message answered %d", got)
	}
	if replied := storetest.Replied(t, w.st, []string{r.Phone}); replied[r.Phone] {
		t.Errorf("an unsupported message counted as a reply: %v", replied)
	}
}
