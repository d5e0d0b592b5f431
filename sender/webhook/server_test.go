package webhook_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/webhook"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
	"github.com/whatsend/whatsend/store/storetest"
)

const (
	appSecret   = sender.Secret("test-app-secret")
	verifyToken = sender.Secret("test-verify-token")
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// world is a store with one campaign whose recipients were sent, and a
// receiver on loopback.
type world struct {
	t   testing.TB
	st  store.Store
	srv *httptest.Server
	c   store.Campaign
	rs  []store.Recipient // by index: +5511900000000 + i, wamid.i
}

func newWorld(t testing.TB, n int) *world {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "whatsend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "c", CSVHash: "h", Template: "order_update", Language: "en_US",
		PhoneNumberID: "100000000000001", Scope: "phone:100000000000001", Settings: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	var rs []store.Recipient
	for i := range n {
		rs = append(rs, store.Recipient{Line: i + 2, Phone: fmt.Sprintf("+55119%08d", i)})
	}
	if _, err := st.ImportBatch(ctx, id, rs, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishImport(ctx, id, n); err != nil {
		t.Fatal(err)
	}
	due, err := st.Due(ctx, id, t0, n)
	if err != nil || len(due) != n {
		t.Fatalf("due: %d, %v", len(due), err)
	}
	var as []store.Attempt
	var os []store.Outcome
	for _, r := range due {
		a := store.Attempt{ID: fmt.Sprintf("%d-%d-1", id, r.ID), CampaignID: id, RecipientID: r.ID, Number: 1,
			PhoneNumberID: "100000000000001", To: r.Phone, Scope: "phone:100000000000001", StartedAt: t0}
		as = append(as, a)
		os = append(os, store.Outcome{AttemptID: a.ID, RecipientID: r.ID, State: store.StateSent, WAMID: wamid(r), FinishedAt: t0})
	}
	if err := st.BeginAttempts(ctx, as); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishAttempts(ctx, os); err != nil {
		t.Fatal(err)
	}
	c, _ := st.Campaign(ctx, id)
	rcv := webhook.New(webhook.Config{Store: st, AppSecret: appSecret, VerifyToken: verifyToken, MaxBody: 64 << 10,
		Now: func() time.Time { return t0.Add(time.Hour) }})
	mux := http.NewServeMux()
	mux.Handle("/webhook", rcv)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); rcv.Close() })
	return &world{t: t, st: st, srv: srv, c: c, rs: due}
}

func wamid(r store.Recipient) string { return fmt.Sprintf("wamid.%d", r.ID) }

// statusBody is a notification shaped like Meta's (cloud-api.md §5.4).
func statusBody(id, status string, at time.Time, errCode int) string {
	errs := ""
	if errCode != 0 {
		errs = fmt.Sprintf(`,"errors":[{"code":%d,"title":"Not delivered","error_data":{"details":"test details"}}]`, errCode)
	}
	return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"300000000000001","changes":[{"field":"messages",
 "value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},
 "statuses":[{"id":%q,"status":%q,"timestamp":"%d","recipient_id":"5511900000000"%s}]}}]}]}`, id, status, at.Unix(), errs)
}

func inboundBody(from, id, text string, at time.Time) string {
	return fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"300000000000001","changes":[{"field":"messages",
 "value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},
 "contacts":[{"profile":{"name":"Ana"},"wa_id":%q}],
 "messages":[{"from":%q,"id":%q,"timestamp":"%d","type":"text","text":{"body":%q}}]}}]}]}`, from, from, id, at.Unix(), text)
}

// post sends a body signed with secret (empty: no signature header).
func (w *world) post(body string, secret sender.Secret) int {
	w.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/webhook", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Hub-Signature-256", webhook.SignatureHeader(secret, []byte(body)))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (w *world) recipient(i int) store.Recipient {
	w.t.Helper()
	return storetest.Recipient(w.t, w.st, w.rs[i].CampaignID, w.rs[i].ID)
}

func TestVerifyHandshake(t *testing.T) {
	w := newWorld(t, 1)
	get := func(q string) (int, string) {
		resp, err := http.Get(w.srv.URL + "/webhook?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=1158201444"); code != 200 || body != "1158201444" {
		t.Errorf("good token: %d %q, want 200 and the challenge", code, body)
	}
	if code, _ := get("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1"); code != 403 {
		t.Errorf("wrong token: %d, want 403", code)
	}
	if code, _ := get("hub.challenge=1"); code != 403 {
		t.Errorf("no token: %d, want 403", code)
	}
}

func TestStatusesApplied(t *testing.T) {
	w := newWorld(t, 4)
	at := t0.Add(time.Minute)
	for _, tc := range []struct {
		i      int
		status string
		code   int
	}{{0, "delivered", 0}, {1, "read", 0}, {2, "failed", 131026}, {3, "failed", 131049}} {
		if got := w.post(statusBody(wamid(w.rs[tc.i]), tc.status, at, tc.code), appSecret); got != 200 {
			t.Fatalf("%s: answered %d", tc.status, got)
		}
	}
	if r := w.recipient(0); r.Delivery != store.DeliveryDelivered || !r.DeliveredAt.Equal(at) {
		t.Errorf("delivered: %+v", r)
	}
	if r := w.recipient(1); r.Delivery != store.DeliveryRead || !r.ReadAt.Equal(at) {
		t.Errorf("read: delivery %q read at %v", r.Delivery, r.ReadAt)
	}
	if r := w.recipient(2); r.State != store.StateFailed || r.LastCode != 131026 || !strings.Contains(r.LastError, "test details") {
		t.Errorf("failed 131026: state %s code %d error %q", r.State, r.LastCode, r.LastError)
	}
	// 131049 (per-user marketing limit) defers the recipient by a day.
	if r := w.recipient(3); r.State != store.StateDeferred || !r.NextAttemptAt.Equal(at.Add(24*time.Hour)) {
		t.Errorf("failed 131049: state %s next %v, want deferred a day later", r.State, r.NextAttemptAt)
	}
}

func TestBadSignatureStoresNothing(t *testing.T) {
	w := newWorld(t, 1)
	body := statusBody(wamid(w.rs[0]), "read", t0, 0)
	for name, secret := range map[string]sender.Secret{"missing": "", "wrong": "another-secret"} {
		if got := w.post(body, secret); got != 403 {
			t.Errorf("%s signature: answered %d, want 403", name, got)
		}
	}
	// A signature over other bytes.
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/webhook", strings.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", webhook.SignatureHeader(appSecret, []byte(body+" ")))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("signature of other bytes: %d, want 403", resp.StatusCode)
	}
	if r := w.recipient(0); r.Delivery != store.DeliverySent {
		t.Errorf("an unsigned notification changed the recipient: delivery %q", r.Delivery)
	}
	// The same body correctly signed is new: nothing was stored before.
	fresh, err := w.st.SaveNotifications(t.Context(), []store.Notification{{Hash: hashOf(body), Body: []byte(body), At: t0}})
	if err != nil || !fresh[0] {
		t.Errorf("the rejected body was stored (fresh %v, %v)", fresh, err)
	}
}

func TestDuplicateAndOutOfOrder(t *testing.T) {
	w := newWorld(t, 1)
	read := statusBody(wamid(w.rs[0]), "read", t0.Add(2*time.Minute), 0)
	for range 3 {
		if got := w.post(read, appSecret); got != 200 {
			t.Fatalf("duplicate delivery answered %d, want 200", got)
		}
	}
	// A late delivered and a late failed never downgrade read.
	w.post(statusBody(wamid(w.rs[0]), "delivered", t0.Add(time.Minute), 0), appSecret)
	w.post(statusBody(wamid(w.rs[0]), "failed", t0.Add(3*time.Minute), 131026), appSecret)
	r := w.recipient(0)
	if r.Delivery != store.DeliveryRead || r.State != store.StateSent {
		t.Errorf("after read, delivered, failed: delivery %q state %s; want read and sent", r.Delivery, r.State)
	}
	sum, err := w.st.Summary(t.Context(), w.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sum.ByDelivery[store.DeliveryRead] != 1 {
		t.Errorf("read counted %d times", sum.ByDelivery[store.DeliveryRead])
	}
}

func TestUnknownMessageAcknowledged(t *testing.T) {
	w := newWorld(t, 1)
	if got := w.post(statusBody("wamid.from-another-tool", "delivered", t0, 0), appSecret); got != 200 {
		t.Errorf("a signed status matching no recipient answered %d, want 200", got)
	}
}

func TestBadBodiesAndTheServerKeepsServing(t *testing.T) {
	w := newWorld(t, 1)
	for name, body := range map[string]string{
		"not JSON":   "hello",
		"truncated":  statusBody(wamid(w.rs[0]), "read", t0, 0)[:80],
		"other kind": `{"object":"page","entry":[]}`,
	} {
		if got := w.post(body, appSecret); got != 400 {
			t.Errorf("%s: answered %d, want 400", name, got)
		}
	}
	big := `{"object":"whatsapp_business_account","pad":"` + strings.Repeat("x", 70<<10) + `"}`
	if got := w.post(big, appSecret); got != 413 {
		t.Errorf("oversized: answered %d, want 413", got)
	}
	// A body cut short by the client (Content-Length larger than sent).
	conn, err := (&net.Dialer{}).DialContext(t.Context(), "tcp", strings.TrimPrefix(w.srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nX-Hub-Signature-256: sha256=00\r\n\r\n{\"object\":")
	conn.Close()
	if got := w.post(statusBody(wamid(w.rs[0]), "read", t0, 0), appSecret); got != 200 {
		t.Errorf("after bad bodies a good one answered %d, want 200", got)
	}
	if r := w.recipient(0); r.Delivery != store.DeliveryRead {
		t.Errorf("delivery %q, want read", r.Delivery)
	}
}

func TestRepliesAndOptOuts(t *testing.T) {
	w := newWorld(t, 2)
	ctx := t.Context()
	if got := w.post(inboundBody(w.rs[0].Phone[1:], "wamid.in1", "Thanks!", t0), appSecret); got != 200 {
		t.Fatalf("inbound answered %d", got)
	}
	if got := w.post(inboundBody(w.rs[1].Phone[1:], "wamid.in2", "  stop ", t0), appSecret); got != 200 {
		t.Fatalf("STOP answered %d", got)
	}
	prefs := `{"object":"whatsapp_business_account","entry":[{"id":"300000000000001","changes":[{"field":"user_preferences",
 "value":{"messaging_product":"whatsapp","user_preferences":[{"wa_id":"5511987654321","category":"marketing_messages","value":"stop","timestamp":1767225800}]}}]}]}`
	if got := w.post(prefs, appSecret); got != 200 {
		t.Fatalf("user_preferences answered %d", got)
	}
	replied := storetest.Replied(t, w.st, []string{w.rs[0].Phone, w.rs[1].Phone})
	if !replied[w.rs[0].Phone] || !replied[w.rs[1].Phone] {
		t.Errorf("replied = %v, want both", replied)
	}
	opted, err := w.st.OptedOut(ctx, []string{w.rs[0].Phone, w.rs[1].Phone, "+5511987654321"})
	if err != nil || opted[w.rs[0].Phone] || !opted[w.rs[1].Phone] || !opted["+5511987654321"] {
		t.Errorf("opted out = %v (%v), want the STOP sender and the marketing opt-out only", opted, err)
	}
}

func TestConcurrentPostsAllCommitted(t *testing.T) {
	w := newWorld(t, 200)
	var wg sync.WaitGroup
	for i := range w.rs {
		wg.Go(func() {
			if got := w.post(statusBody(wamid(w.rs[i]), "delivered", t0, 0), appSecret); got != 200 {
				t.Errorf("post %d answered %d", i, got)
			}
		})
	}
	wg.Wait()
	sum, err := w.st.Summary(context.Background(), w.c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.ByDelivery[store.DeliveryDelivered]; got != 200 {
		t.Errorf("%d delivered after 200 concurrent posts answered 200", got)
	}
}

func hashOf(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}
