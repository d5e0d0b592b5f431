package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender/webhook"
	"github.com/whatsend/whatsend/store"
)

// oneMethodStore is a webhook.Store and nothing more: the receiver needs
// no other store method.
type oneMethodStore struct {
	mu   sync.Mutex
	seen map[string]bool
	got  []store.Notification
	err  error
}

func (s *oneMethodStore) SaveNotifications(_ context.Context, ns []store.Notification) ([]bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	fresh := make([]bool, len(ns))
	for i, n := range ns {
		if !s.seen[n.Hash] {
			s.seen[n.Hash], fresh[i] = true, true
			s.got = append(s.got, n)
		}
	}
	return fresh, nil
}

// The receiver runs on a store with the one method it declares: a signed
// status is handed to SaveNotifications parsed and answered 200; a store
// error is answered 503 (Meta retries).
func TestReceiverNeedsOneStoreMethod(t *testing.T) {
	st := &oneMethodStore{seen: map[string]bool{}}
	rcv := webhook.New(webhook.Config{Store: st, AppSecret: appSecret, Now: func() time.Time { return t0 }})
	t.Cleanup(rcv.Close)
	post := func(body string) int {
		req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Hub-Signature-256", webhook.SignatureHeader(appSecret, []byte(body)))
		w := httptest.NewRecorder()
		rcv.ServeHTTP(w, req)
		return w.Code
	}
	body := statusBody("wamid.7", "delivered", t0, 0)
	if code := post(body); code != http.StatusOK {
		t.Fatalf("status answered %d, want 200", code)
	}
	st.mu.Lock()
	got := st.got
	st.mu.Unlock()
	if len(got) != 1 || string(got[0].Body) != body || len(got[0].Statuses) != 1 ||
		got[0].Statuses[0].WAMID != "wamid.7" || got[0].Statuses[0].Status != store.DeliveryDelivered {
		t.Fatalf("notifications saved = %+v, want the one status", got)
	}
	st.mu.Lock()
	st.err = errors.New("disk full")
	st.mu.Unlock()
	if code := post(statusBody("wamid.8", "read", t0, 0)); code != http.StatusServiceUnavailable {
		t.Errorf("with the store failing: %d, want 503 so that Meta retries", code)
	}
}
