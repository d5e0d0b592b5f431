package simulator_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/sender/simulator"
)

// change is one change of a notification, as Meta's payloads have them.
type change struct {
	Field string `json:"field"`
	Value struct {
		Contacts []struct {
			WAID   *string `json:"wa_id"`
			UserID *string `json:"user_id"`
		} `json:"contacts"`
		Statuses []struct {
			ID              string  `json:"id"`
			Status          string  `json:"status"`
			RecipientID     string  `json:"recipient_id"`
			RecipientUserID *string `json:"recipient_user_id"`
		} `json:"statuses"`
		Messages []struct {
			From       *string `json:"from"`
			FromUserID *string `json:"from_user_id"`
			Type       string  `json:"type"`
			Context    struct {
				ID string `json:"id"`
			} `json:"context"`
			Text struct {
				Body string `json:"body"`
			} `json:"text"`
			Button struct {
				Payload string `json:"payload"`
				Text    string `json:"text"`
			} `json:"button"`
		} `json:"messages"`
		UserPreferences []struct {
			WAID   *string `json:"wa_id"`
			UserID *string `json:"user_id"`
			Value  string  `json:"value"`
		} `json:"user_preferences"`
	} `json:"value"`
}

// changes checks a POST's signature and returns its changes in order.
func changes(t *testing.T, p post) []change {
	t.Helper()
	if want := simulator.Signature(testSecret, p.body); p.sig != want {
		t.Fatalf("signature %q, want %q for %s", p.sig, want, p.body)
	}
	var env struct {
		Object string `json:"object"`
		Entry  []struct {
			ID      string   `json:"id"`
			Changes []change `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(p.body, &env); err != nil || env.Object != "whatsapp_business_account" {
		t.Fatalf("body %s: %v", p.body, err)
	}
	var out []change
	for _, e := range env.Entry {
		out = append(out, e.Changes...)
	}
	return out
}

// TestWebhookBatch: with WebhookBatch 50, what is ready at once goes out
// 50 notifications a POST, in order: a held backlog of 50 is one POST, 60
// are two; notifications falling due in the same step share a POST.
func TestWebhookBatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{ReadRate: -1, WebhookBatch: 50})
		mustControl(t, s, `{"webhooks":"hold"}`)
		for i := range 25 {
			mustAccept(t, s, order(phone(i)))
		}
		if err := s.FlushWebhooks(t.Context()); err != nil {
			t.Fatal(err)
		}
		posts := k.all()
		if len(posts) != 1 {
			t.Fatalf("25 messages, 50 notifications: %d POSTs, want 1", len(posts))
		}
		cs := changes(t, posts[0])
		if len(cs) != 50 {
			t.Fatalf("the POST holds %d notifications, want 50", len(cs))
		}
		seen := map[string]string{}
		for _, c := range cs {
			st := c.Value.Statuses[0]
			if st.Status == "delivered" && seen[st.ID] != "sent" {
				t.Errorf("%s: delivered before sent in the batch", st.ID)
			}
			seen[st.ID] = st.Status
		}

		for i := range 30 {
			mustAccept(t, s, order(phone(100+i)))
		}
		if err := s.FlushWebhooks(t.Context()); err != nil {
			t.Fatal(err)
		}
		var sizes []int
		for _, p := range k.all()[1:] {
			sizes = append(sizes, len(changes(t, p)))
		}
		if !slices.Equal(sizes, []int{50, 10}) {
			t.Errorf("60 notifications went out in POSTs of %v, want [50 10]", sizes)
		}

		// Released in time: the sent statuses of 100 messages accepted at
		// once fall due together, then their delivered.
		mustControl(t, s, `{"webhooks":"release"}`)
		before := len(k.all())
		for i := range 100 {
			mustAccept(t, s, order(phone(200+i)))
		}
		time.Sleep(10 * simulator.DefaultWebhookDelay)
		synctest.Wait()
		sizes = nil
		for _, p := range k.all()[before:] {
			sizes = append(sizes, len(changes(t, p)))
		}
		if !slices.Equal(sizes, []int{50, 50, 50, 50}) {
			t.Errorf("200 notifications in time went out in POSTs of %v, want 4 of 50", sizes)
		}
		if st := s.Stats().Webhooks; st.Posts != 7 || st.Sent != 155 || st.Delivered != 155 || st.OK != 310 {
			t.Errorf("stats %+v, want 7 POSTs, 155 sent and delivered, 310 ok", st)
		}
	})
}

// TestWebhookDuplicates: DuplicateRate of the notifications come twice,
// byte for byte, exactly (an integer rate × count is exact; otherwise within
// one); the kinds count each once.
func TestWebhookDuplicates(t *testing.T) {
	for _, seed := range []int64{1, 7} {
		synctest.Test(t, func(t *testing.T) {
			s, k := webhookSim(t, simulator.Config{ReadRate: -1, WebhookDuplicateRate: 0.05, Seed: seed})
			for i := range 1000 {
				mustAccept(t, s, order(phone(i)))
			}
			if err := s.FlushWebhooks(t.Context()); err != nil {
				t.Fatal(err)
			}
			bodies := map[string]int{}
			for _, p := range k.all() {
				changes(t, p)
				bodies[string(p.body)]++
			}
			extra := 0
			for _, n := range bodies {
				if n > 2 {
					t.Errorf("a notification came %d times", n)
				}
				extra += n - 1
			}
			if len(bodies) != 2000 || extra != 100 {
				t.Errorf("seed %d: %d distinct notifications and %d copies, want 2000 and exactly 100 (5 %%)", seed, len(bodies), extra)
			}
			if st := s.Stats().Webhooks; st.Sent != 1000 || st.Delivered != 1000 || st.Duplicates != 100 || st.OK != 2100 {
				t.Errorf("stats %+v, want 1000 sent and delivered, 100 duplicates, 2100 ok", st)
			}
		})
	}
}

// TestWebhookReorder: ReorderRate of the read messages get their read
// before their delivered, exactly; the others keep Meta's usual order.
func TestWebhookReorder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{ReadRate: 1, WebhookReorderRate: 0.1, Seed: 5})
		for i := range 500 {
			mustAccept(t, s, order(phone(i)))
		}
		time.Sleep(10 * simulator.DefaultWebhookDelay) // in time, not flushed
		synctest.Wait()
		kinds := map[string][]string{}
		for _, p := range k.all() {
			for _, c := range changes(t, p) {
				st := c.Value.Statuses[0]
				kinds[st.ID] = append(kinds[st.ID], st.Status)
			}
		}
		reordered := 0
		for _, m := range s.Messages() {
			want := []string{"sent", "delivered", "read"}
			if m.Reordered {
				want = []string{"sent", "read", "delivered"}
				reordered++
			}
			if !slices.Equal(kinds[m.WAMID], want) {
				t.Errorf("%s: %v, want %v", m.To, kinds[m.WAMID], want)
			}
		}
		if st := s.Stats().Webhooks; reordered != 50 || st.Reordered != 50 || st.Delivered != 500 || st.Read != 500 {
			t.Errorf("%d reordered (stats %+v), want exactly 50 of 500, all delivered and read", reordered, st)
		}
	})
}

// TestBSUIDShare: BSUIDShare of the recipients, exactly, are shown by a
// business-scoped user id: statuses carry recipient_user_id; their replies
// and stops carry user_id / from_user_id and no wa_id / from; a recipient
// keeps its id.
func TestBSUIDShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{ReadRate: 1, ReplyRate: 1, StopShare: 0.5, UserPrefsShare: 0.5,
			ButtonShare: 0.5, BSUIDShare: 0.1, Seed: 11})
		for i := range 1000 {
			mustAccept(t, s, order(phone(i)))
		}
		for i := range 100 {
			mustAccept(t, s, order(phone(i))) // the same recipients again
		}
		if err := s.FlushWebhooks(t.Context()); err != nil {
			t.Fatal(err)
		}
		ids := map[string]string{}
		for _, m := range s.Messages() {
			if id, ok := ids[m.WAID]; ok && id != m.UserID {
				t.Errorf("%s: user id %q, then %q", m.WAID, id, m.UserID)
			}
			ids[m.WAID] = m.UserID
		}
		users := 0
		for _, id := range ids {
			if id != "" {
				users++
			}
		}
		if users != 100 {
			t.Errorf("%d of 1000 recipients shown by user id, want exactly 100", users)
		}
		byWAMID := map[string]simulator.Message{}
		for _, m := range s.Messages() {
			byWAMID[m.WAMID] = m
		}
		str := func(p *string) string {
			if p == nil {
				return "<absent>"
			}
			return *p
		}
		for _, p := range k.all() {
			for _, c := range changes(t, p) {
				v := c.Value
				for _, st := range v.Statuses {
					m := byWAMID[st.ID]
					if want := m.UserID; (want == "") != (st.RecipientUserID == nil) || want != "" && *st.RecipientUserID != want {
						t.Errorf("%s status: recipient_user_id %s, want %q", m.To, str(st.RecipientUserID), want)
					}
				}
				if len(v.Contacts) == 0 {
					continue
				}
				ct := v.Contacts[0]
				switch {
				case ct.UserID == nil && ct.WAID != nil:
					if ids[*ct.WAID] != "" {
						t.Errorf("%s has a user id but its contact shows the wa_id only", *ct.WAID)
					}
				case ct.UserID != nil && ct.WAID == nil:
					for _, in := range v.Messages {
						if in.From != nil || str(in.FromUserID) != *ct.UserID || byWAMID[in.Context.ID].UserID != *ct.UserID {
							t.Errorf("message from %s / %s in context %s, want from_user_id %s only", str(in.From), str(in.FromUserID), in.Context.ID, *ct.UserID)
						}
					}
					for _, up := range v.UserPreferences {
						if up.WAID != nil || str(up.UserID) != *ct.UserID {
							t.Errorf("user_preferences wa_id %s user_id %s, want user_id %s only", str(up.WAID), str(up.UserID), *ct.UserID)
						}
					}
				default:
					t.Errorf("contact wa_id %s user_id %s: want exactly one", str(ct.WAID), str(ct.UserID))
				}
			}
		}
		if st := s.Stats().Webhooks; st.BSUID != 100 {
			t.Errorf("stats: %d recipients by user id, want 100", st.BSUID)
		}
	})
}

// TestReplyPayloadShapes pins a quick-reply button tap, an opt-out button
// tap and a user_preferences stop byte for byte against Meta's documented
// examples:
// https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/button/
// https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/user_preferences
// and an unsupported message, shaped as
// https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/unsupported
// (errors and unsupported.type as https://whatsappapijs.web.app/types/types.ServerUnsupportedMessage.html).
func TestReplyPayloadShapes(t *testing.T) {
	env := `{"object":"whatsapp_business_account","entry":[{"id":"300000000000001","changes":[{"field":"%s","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},"contacts":[{"profile":{"name":"Simulated user"},"wa_id":"5511987654321"}],%s}}]}]}`
	t8 := strconv.FormatInt(time.Date(2000, 1, 1, 0, 0, 8, 0, time.UTC).Unix(), 10)
	button := `"messages":[{"from":"5511987654321","id":"wamid.HBgNSIMIN0000000001","timestamp":"` + t8 + `","type":"button","context":{"from":"15550001111","id":"%s"},"button":{"payload":"%s","text":"%s"}}]`
	for _, tt := range []struct {
		name string
		cfg  simulator.Config
		want string // %s: the wamid
	}{
		{"button", simulator.Config{ButtonShare: 1},
			fmt.Sprintf(env, "messages", fmt.Sprintf(button, "%[1]s", "TALK", "Talk to us"))},
		{"opt-out button", simulator.Config{ButtonShare: 1, StopShare: 1},
			fmt.Sprintf(env, "messages", fmt.Sprintf(button, "%[1]s", "STOP", "Stop promotions"))},
		{"user_preferences stop", simulator.Config{StopShare: 1, UserPrefsShare: 1},
			fmt.Sprintf(env, "user_preferences", `"user_preferences":[{"wa_id":"5511987654321","detail":"User requested to stop marketing messages","category":"marketing_messages","value":"stop","timestamp":`+t8+`}]`)},
		{"unsupported", simulator.Config{UnsupportedShare: 1},
			fmt.Sprintf(env, "messages", `"messages":[{"from":"5511987654321","id":"wamid.HBgNSIMIN0000000001","timestamp":"`+t8+`","type":"unsupported","errors":[{"code":131051,"title":"Message type unknown","message":"Message type unknown","error_data":{"details":"Message type is currently not supported."}}],"unsupported":{"type":"poll_creation"}}]`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := tt.cfg
				cfg.ReplyRate, cfg.WebhookDelay = 1, 2*time.Second
				s, k := webhookSim(t, cfg)
				wamid := mustAccept(t, s, order("+5511987654321"))
				time.Sleep(10 * time.Second)
				synctest.Wait()
				posts := k.all()
				if len(posts) != 4 {
					t.Fatalf("%d notifications, want sent, delivered, read and the reply", len(posts))
				}
				want := tt.want
				if tt.name == "button" || tt.name == "opt-out button" {
					want = fmt.Sprintf(tt.want, wamid)
				}
				if got := string(posts[3].body); got != want {
					t.Errorf("reply\n got %s\nwant %s", got, want)
				}
			})
		})
	}
}

// TestWebhookCounters: with every option on, the simulator's own counts
// equal what its notifications say, counted once per message or recipient
// as a store would: a test can compare a store with them exactly.
func TestWebhookCounters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{ReadRate: 0.7, ReplyRate: 0.3, StopShare: 0.3, ButtonShare: 0.5,
			UserPrefsShare: 0.5, UnsupportedShare: 0.1, UndeliverableRate: 0.05, BSUIDShare: 0.1, WebhookBatch: 10,
			WebhookDuplicateRate: 0.05, WebhookReorderRate: 0.1, Seed: 4})
		for i := range 1000 {
			mustAccept(t, s, order(phone(i)))
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		waID := map[string]string{} // user id → wa_id
		for _, m := range s.Messages() {
			if m.UserID != "" {
				waID[m.UserID] = m.WAID
			}
		}
		who := func(wa, user *string) string {
			if wa != nil {
				return *wa
			}
			return waID[*user]
		}
		status := map[string]map[string]bool{}
		replied, opted := map[string]bool{}, map[string]bool{}
		for _, p := range k.all() {
			for _, c := range changes(t, p) {
				for _, st := range c.Value.Statuses {
					if status[st.Status] == nil {
						status[st.Status] = map[string]bool{}
					}
					status[st.Status][st.ID] = true
				}
				for _, in := range c.Value.Messages {
					if in.Type == "unsupported" {
						continue // not a reply whatsend can read
					}
					u := who(in.From, in.FromUserID)
					replied[u] = true
					if in.Text.Body == "STOP" || in.Button.Payload == "STOP" {
						opted[u] = true
					}
				}
				for _, up := range c.Value.UserPreferences {
					if up.Value == "stop" {
						opted[who(up.WAID, up.UserID)] = true
					}
				}
			}
		}
		st := s.Stats().Webhooks
		got := []int{st.Delivered, st.Read, st.Failed, st.Replied, st.OptedOut}
		want := []int{len(status["delivered"]), len(status["read"]), len(status["failed"]), len(replied), len(opted)}
		if !reflect.DeepEqual(got, want) || st.Pending != 0 || st.GaveUp != 0 {
			t.Errorf("stats delivered, read, failed, replied, opted out = %v; the notifications say %v (%+v)", got, want, st)
		}
		if st.Failed == 0 || st.Duplicates == 0 || st.Reordered == 0 || st.UserPrefs == 0 || st.Buttons == 0 || st.Unsupported == 0 || st.BSUID != 100 {
			t.Errorf("stats %+v: want some of every option", st)
		}
	})
}
