package simulator_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/sender/webhook"
	"github.com/whatsend/whatsend/store"
)

const testSecret = sender.Secret("sim-app-secret")

// TestFault131056ExactShare: the injected 131056 share is exact and evenly
// spread: after n sends, exactly floor(n×F) were refused, so 3 % can never
// reach 5 % of a sample of 50 by chance.
func TestFault131056ExactShare(t *testing.T) {
	for _, f := range []float64{0.03, 0.05, 0.2, 0.5, 1} {
		t.Run(fmt.Sprint(f), func(t *testing.T) {
			s := simulator.New(simulator.Config{Fault131056: f, MPS: 1e6, Tier: -1, Latency: -1, Seed: 9})
			faults, last := 0, -1
			want := func(n int) int { return int(float64(n)*f + 1e-9) }
			for i := range 200 {
				r := send(t, s, order(phone(i)))
				switch {
				case r.code == 131056 && r.status == 400:
					faults++
					if f < 0.5 && last >= 0 && i-last < int(1/f)-1 {
						t.Errorf("F=%g: faults at sends %d and %d, closer than 1/F", f, last, i)
					}
					last = i
				case r.code != 0:
					t.Fatalf("send %d: %v", i, r)
				}
				if got := faults; got != want(i+1) {
					t.Fatalf("F=%g: %d faults after %d sends, want exactly %d", f, got, i+1, want(i+1))
				}
			}
			if st := s.Stats(); st.ByCode["131056"] != want(200) || st.Accepted != 200-want(200) {
				t.Errorf("stats %+v, want %d refused and the rest accepted", st, want(200))
			}
		})
	}
	// A share of 3 % in 50 sends: one refusal, never more.
	s := simulator.New(simulator.Config{Fault131056: 0.03, MPS: 1e6, Tier: -1, Latency: -1})
	for i := range 50 {
		send(t, s, order(phone(i)))
	}
	if n := s.Stats().ByCode["131056"]; n != 1 {
		t.Errorf("3 %% of 50 sends: %d refused, want 1", n)
	}
}

// sink records what the simulator hands to WebhookSink.
type sink struct {
	mu    sync.Mutex
	posts []post
}

type post struct {
	body []byte
	sig  string
}

func (k *sink) receive(body []byte, sig string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.posts = append(k.posts, post{append([]byte(nil), body...), sig})
}

func (k *sink) all() []post {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.posts)
}

// event is one notification as the receiver reads it.
type event struct {
	kind     string // sent, delivered, read, failed, or the reply text
	wamid    string // the status's wamid or the reply's context
	callback string
	code     int
	at       time.Time
	failTo   store.State
}

// parse checks a notification's signature and reads it with the
// receiver's own parser, so shape drift shows here.
func parse(t *testing.T, p post) (store.Notification, event) {
	t.Helper()
	if want := webhook.SignatureHeader(testSecret, p.body); p.sig != want {
		t.Fatalf("signature %q, want %q for %s", p.sig, want, p.body)
	}
	n, err := webhook.Parse(p.body, time.Time{}, webhook.DefaultOptOutKeywords)
	if err != nil {
		t.Fatalf("Parse(%s): %v", p.body, err)
	}
	var raw struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					Messages []struct {
						Context struct {
							ID string `json:"id"`
						} `json:"context"`
					} `json:"messages"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	_ = json.Unmarshal(p.body, &raw)
	switch {
	case len(n.Statuses) == 1 && len(n.Inbound) == 0:
		u := n.Statuses[0]
		return n, event{kind: string(u.Status), wamid: u.WAMID, callback: u.Callback, code: u.Code, at: u.At, failTo: u.FailState}
	case len(n.Statuses) == 0 && len(n.Inbound) == 1:
		return n, event{kind: n.Inbound[0].Text, wamid: raw.Entry[0].Changes[0].Value.Messages[0].Context.ID, at: n.Inbound[0].At}
	}
	t.Fatalf("notification %s: want one status or one message", p.body)
	return n, event{}
}

// webhookSim is a simulator whose notifications go to a sink; Close runs
// in cleanup, inside the bubble when there is one.
func webhookSim(t *testing.T, cfg simulator.Config) (*simulator.Sim, *sink) {
	k := &sink{}
	cfg.WebhookSink, cfg.AppSecret = k.receive, testSecret
	cfg.MPS, cfg.Tier, cfg.Latency = 1e6, -1, -1
	s := simulator.New(cfg)
	t.Cleanup(func() { s.Close() })
	return s, k
}

// TestWebhookShapes pins one message's notifications byte for byte: Meta's
// envelope (object, entry id = WABA id, field messages, metadata), the
// status with the wamid and our callback echoed, timestamps as strings from
// the simulator's clock, one step of WebhookDelay apart.
func TestWebhookShapes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{ReadRate: 1, ReplyRate: 1, WebhookDelay: 2 * time.Second})
		m := order("+5511987654321")
		m.callback = "c=17;r=4821;a=1"
		wamid := mustAccept(t, s, m)
		if len(k.all()) != 0 {
			t.Fatal("a notification was delivered before its time")
		}
		time.Sleep(8 * time.Second)
		synctest.Wait()
		env := `{"object":"whatsapp_business_account","entry":[{"id":"300000000000001","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},%s}}]}]}`
		status := `"statuses":[{"id":"` + wamid + `","status":"%s","timestamp":"%d","recipient_id":"5511987654321","biz_opaque_callback_data":"c=17;r=4821;a=1","pricing":{"billable":true,"pricing_model":"PMP","category":"utility","type":"regular"}}]`
		t0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		// Pricing on sent and delivered, not read (cloud-api-notes.md).
		unpriced := strings.Replace(status, `,"pricing":{"billable":true,"pricing_model":"PMP","category":"utility","type":"regular"}`, "", 1)
		want := []string{
			fmt.Sprintf(env, fmt.Sprintf(status, "sent", t0+2)),
			fmt.Sprintf(env, fmt.Sprintf(status, "delivered", t0+4)),
			fmt.Sprintf(env, fmt.Sprintf(unpriced, "read", t0+6)),
			fmt.Sprintf(env, `"contacts":[{"profile":{"name":"Simulated user"},"wa_id":"5511987654321"}],"messages":[{"from":"5511987654321","id":"wamid.HBgNSIMIN0000000001","timestamp":"`+
				strconv.FormatInt(t0+8, 10)+`","type":"text","context":{"from":"15550001111","id":"`+wamid+`"},"text":{"body":"When will it arrive?"}}]`),
		}
		got := k.all()
		if len(got) != len(want) {
			t.Fatalf("%d notifications, want %d", len(got), len(want))
		}
		for i, p := range got {
			if string(p.body) != want[i] {
				t.Errorf("notification %d\n got %s\nwant %s", i, p.body, want[i])
			}
			parse(t, p)
		}
		if st := s.Stats().Webhooks; st == nil || *st != (simulator.WebhookStats{Sent: 1, Delivered: 1, Read: 1, Replies: 1, Replied: 1, Posts: 4, OK: 4}) {
			t.Errorf("webhook stats %+v", st)
		}
	})
}

// TestWebhookOrderAndShares: per message sent → delivered → read → reply,
// timestamps never going back; the shares are exact; STOP replies parse as
// opt-outs; the flags show in /_sim/messages.
func TestWebhookOrderAndShares(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{ReadRate: 0.5, ReplyRate: 0.2, StopShare: 0.25, Seed: 3})
		const n = 1000
		for i := range n {
			mustAccept(t, s, order(phone(i)))
		}
		if err := s.FlushWebhooks(t.Context()); err != nil {
			t.Fatal(err)
		}
		seq := map[string][]event{}
		optOuts := map[string]bool{}
		for _, p := range k.all() {
			nt, e := parse(t, p)
			seq[e.wamid] = append(seq[e.wamid], e)
			for _, m := range nt.Inbound {
				if m.OptOut {
					optOuts[m.From] = true
				}
			}
		}
		var read, replies, stops int
		for _, m := range s.Messages() {
			es := seq[m.WAMID]
			var kinds []string
			for i, e := range es {
				kinds = append(kinds, e.kind)
				if i > 0 && e.at.Before(es[i-1].at) {
					t.Errorf("%s: %s at %s before %s at %s", m.To, e.kind, e.at, es[i-1].kind, es[i-1].at)
				}
			}
			want := []string{"sent", "delivered"}
			if m.Read {
				want = append(want, "read")
				read++
			}
			if m.Reply != "" {
				want = append(want, m.Reply)
				replies++
				if !m.Read {
					t.Errorf("%s replied without reading", m.To)
				}
			}
			if m.Reply == "STOP" {
				stops++
				if !optOuts[m.To] {
					t.Errorf("%s said STOP but Parse did not opt it out", m.To)
				}
			}
			if !reflect.DeepEqual(kinds, want) {
				t.Errorf("%s: notifications %v, want %v", m.To, kinds, want)
			}
		}
		if read != n/2 || replies != n/5 || stops != n/20 || len(optOuts) != stops {
			t.Errorf("of %d: %d read, %d replies, %d STOP (%d opt-outs), want exactly %d, %d, %d", n, read, replies, stops, len(optOuts), n/2, n/5, n/20)
		}
		want := simulator.WebhookStats{Sent: n, Delivered: n, Read: read, Replies: replies, Stops: stops, Replied: replies, OptedOut: stops,
			Posts: 2*n + read + replies, OK: 2*n + read + replies}
		if st := s.Stats().Webhooks; *st != want {
			t.Errorf("stats %+v, want %+v", *st, want)
		}
		body := do(t, s, http.MethodGet, "/_sim/stats", "", "").Body.String()
		var js struct {
			Webhooks map[string]int `json:"webhooks"`
		}
		if err := json.Unmarshal([]byte(body), &js); err != nil || js.Webhooks["delivered"] != n || js.Webhooks["read"] != read || js.Webhooks["stops"] != stops {
			t.Errorf("/_sim/stats %s: want the webhook counts", body)
		}
	})
}

// TestWebhookFailures: undeliverable recipients get one failed status with
// 131026 (final), recipients at the marketing limit one with 131049
// (deferred by the receiver); neither is read or replied to.
func TestWebhookFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{ReadRate: 1, ReplyRate: 1, UndeliverableRate: 1, MarketingLimitRate: 1,
			Templates: []simulator.Template{
				{Name: "order_update", Language: "en_US", Params: 2},
				{Name: "promo", Language: "en_US", Category: "MARKETING", Params: 2},
			}})
		undeliverable := mustAccept(t, s, order("+5511900000001"))
		s2, k2 := webhookSim(t, simulator.Config{ReadRate: 1, ReplyRate: 1, MarketingLimitRate: 1,
			Templates: []simulator.Template{{Name: "promo", Language: "en_US", Category: "MARKETING", Params: 2}}})
		promo := order("+5511900000002")
		promo.template = "promo"
		limited := mustAccept(t, s2, promo)
		for _, x := range []*simulator.Sim{s, s2} {
			if err := x.FlushWebhooks(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct {
			k      *sink
			wamid  string
			code   int
			failTo store.State
		}{{k, undeliverable, 131026, store.StateFailed}, {k2, limited, 131049, store.StateDeferred}} {
			ps := tt.k.all()
			if len(ps) != 1 {
				t.Fatalf("code %d: %d notifications, want one failed status", tt.code, len(ps))
			}
			_, e := parse(t, ps[0])
			if e.kind != "failed" || e.wamid != tt.wamid || e.code != tt.code || e.failTo != tt.failTo {
				t.Errorf("failed status %+v, want wamid %s code %d moving the recipient to %s", e, tt.wamid, tt.code, tt.failTo)
			}
		}
		if st := s.Stats().Webhooks; st.Failed != 1 || st.OK != 1 || st.Read != 0 {
			t.Errorf("stats %+v, want one failed notification", st)
		}
	})
}

// TestWebhookSeeded: the same seed picks the same readers and repliers; a
// different seed others, in the same numbers.
func TestWebhookSeeded(t *testing.T) {
	run := func(seed int64) (flags []string, bodies []string) {
		var out []string
		synctest.Test(t, func(t *testing.T) {
			s, k := webhookSim(t, simulator.Config{ReadRate: 0.3, ReplyRate: 0.1, StopShare: 0.5, Seed: seed, WebhookDelay: -1})
			for i := range 300 {
				mustAccept(t, s, order(phone(i)))
			}
			if err := s.FlushWebhooks(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, m := range s.Messages() {
				flags = append(flags, fmt.Sprintf("%s %v %q", m.To, m.Read, m.Reply))
			}
			for _, p := range k.all() {
				out = append(out, string(p.body))
			}
		})
		slices.Sort(out)
		return flags, out
	}
	a, ab := run(1)
	b, bb := run(1)
	c, _ := run(2)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ab, bb) {
		t.Error("the same seed gave different notifications")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("seeds 1 and 2 picked the same readers and repliers")
	}
	count := func(fs []string, sub string) (n int) {
		for _, f := range fs {
			if len(f) >= len(sub) && f[len(f)-len(sub):] == sub {
				n++
			}
		}
		return n
	}
	for _, fs := range [][]string{a, c} {
		if n := count(fs, `"STOP"`); n != 15 {
			t.Errorf("%d STOP replies of 300 at 10 %% × 50 %%, want 15", n)
		}
	}
}

// TestWebhookHTTP: POSTs to WebhookURL carry the signature; a non-200 is
// retried, a notification answered 200 is counted once, one never answered
// 200 is given up after the retries; Close stops a delivery in progress.
func TestWebhookHTTP(t *testing.T) {
	var mu sync.Mutex
	tries := map[string]int{}
	stored := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Hub-Signature-256") != webhook.SignatureHeader(testSecret, body) || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		tries[string(body)]++
		if tries[string(body)] < 3 { // two failures, then accepted
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		stored[string(body)] = true
	}))
	defer srv.Close()

	s := simulator.New(simulator.Config{WebhookURL: srv.URL, AppSecret: testSecret, WebhookDelay: -1, ReadRate: -1,
		MPS: 1e6, Tier: -1, Latency: -1})
	defer s.Close()
	for i := range 5 {
		mustAccept(t, s, order(phone(i)))
	}
	if err := s.FlushWebhooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	st := *s.Stats().Webhooks
	if want := (simulator.WebhookStats{Sent: 5, Delivered: 5, Posts: 10, OK: 10, Retries: 20}); st != want {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	mu.Lock()
	if len(stored) != 10 {
		t.Errorf("%d notifications stored, want 10", len(stored))
	}
	mu.Unlock()

	// A receiver that always refuses: each notification is tried
	// 1+WebhookRetries times, then given up.
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer refuse.Close()
	s2 := simulator.New(simulator.Config{WebhookURL: refuse.URL, AppSecret: testSecret, WebhookDelay: -1, ReadRate: -1,
		WebhookRetries: 2, MPS: 1e6, Tier: -1, Latency: -1})
	defer s2.Close()
	mustAccept(t, s2, order(phone(1)))
	if err := s2.FlushWebhooks(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := *s2.Stats().Webhooks; st != (simulator.WebhookStats{GaveUp: 2, Retries: 4}) {
		t.Errorf("refusing receiver: stats %+v, want 2 given up after 4 retries", st)
	}

	// A receiver that never answers: Close cancels the delivery in
	// progress and counts what was left.
	started := make(chan struct{}, 16)
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body) // then the server notices the client leaving
		started <- struct{}{}
		<-r.Context().Done()
	}))
	defer hang.Close()
	s3 := simulator.New(simulator.Config{WebhookURL: hang.URL, AppSecret: testSecret, WebhookDelay: -1, ReadRate: -1,
		MPS: 1e6, Tier: -1, Latency: -1})
	mustAccept(t, s3, order(phone(1)))
	<-started
	s3.Close()
	if st := *s3.Stats().Webhooks; st.GaveUp != 2 || st.Pending != 0 || st.OK != 0 {
		t.Errorf("after Close: stats %+v, want both notifications given up", st)
	}
	if err := s3.FlushWebhooks(t.Context()); err != simulator.ErrClosed {
		t.Errorf("FlushWebhooks after Close: %v, want ErrClosed", err)
	}
	// Accepted after Close: the API answers, the notifications are dropped.
	mustAccept(t, s3, order(phone(2)))
	if st := *s3.Stats().Webhooks; st.Dropped != 2 {
		t.Errorf("after Close: %d dropped, want 2", st.Dropped)
	}
}

// TestWebhookQueueBound: the queue is bounded; what does not fit is
// dropped and counted, and the send path never waits.
func TestWebhookQueueBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{ReadRate: -1, WebhookQueue: 3, WebhookDelay: time.Hour})
		for i := range 3 {
			mustAccept(t, s, order(phone(i)))
		}
		st := *s.Stats().Webhooks
		if st.Pending != 3 || st.Dropped != 3 {
			t.Errorf("stats %+v, want 3 pending and 3 dropped", st)
		}
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		if n := len(k.all()); n != 3 {
			t.Errorf("%d delivered, want the 3 queued", n)
		}
	})
}

// TestWebhookHold: control "hold" keeps due notifications queued,
// "release" lets them all go at once.
func TestWebhookHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{ReadRate: -1})
		mustControl(t, s, `{"webhooks":"hold"}`)
		for i := range 10 {
			mustAccept(t, s, order(phone(i)))
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if n, st := len(k.all()), s.Stats().Webhooks; n != 0 || st.Pending != 20 {
			t.Fatalf("held: %d delivered, %d pending, want 0 and 20", n, st.Pending)
		}
		mustControl(t, s, `{"webhooks":"release"}`)
		synctest.Wait()
		if n := len(k.all()); n != 20 {
			t.Errorf("released: %d delivered, want 20", n)
		}
		if code := control(t, s, `{"webhooks":"later"}`); code != http.StatusBadRequest {
			t.Errorf(`{"webhooks":"later"}: HTTP %d, want 400`, code)
		}
		plain := simulator.New(simulator.Config{Latency: -1})
		if code := control(t, plain, `{"webhooks":"hold"}`); code != http.StatusBadRequest {
			t.Errorf("hold without webhooks: HTTP %d, want 400", code)
		}
	})
}

// TestDropSettledByWebhook: a send whose connection drops is still
// recorded and gets its statuses, the evidence that settles an uncertain
// recipient (cloud-api.md §1.3).
func TestDropSettledByWebhook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{DropRate: 1, ReadRate: -1})
		m := clientMessage("+5511987654321")
		m.Callback = "c=1;r=2;a=1-2-1"
		if _, err := newClient(t, s, 0).SendTemplate(t.Context(), m); err == nil {
			t.Fatal("send with drop rate 1 succeeded")
		}
		if err := s.FlushWebhooks(t.Context()); err != nil {
			t.Fatal(err)
		}
		ps := k.all()
		if len(ps) != 2 {
			t.Fatalf("%d notifications, want sent and delivered", len(ps))
		}
		if _, e := parse(t, ps[0]); e.kind != "sent" || e.callback != m.Callback || e.wamid != s.Messages()[0].WAMID {
			t.Errorf("first notification %+v, want sent with the callback and the recorded wamid", e)
		}
	})
}
