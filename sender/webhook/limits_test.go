package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/whatsend/whatsend/sender/webhook"
	"github.com/whatsend/whatsend/store"
)

// readCounter is a request body that records whether it was read.
type readCounter struct {
	r     io.Reader
	reads atomic.Int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.r.Read(p)
}

// A POST without a well-formed X-Hub-Signature-256 (sha256= and 64 hex
// digits) is refused with 403 before its body is read, and nothing is
// stored.
func TestMalformedSignatureRefusedUnread(t *testing.T) {
	w := newWorld(t, 1)
	rcv := webhook.New(webhook.Config{Store: w.st, AppSecret: appSecret})
	t.Cleanup(rcv.Close)
	body := statusBody(wamid(w.rs[0]), "read", t0, 0)
	good := webhook.SignatureHeader(appSecret, []byte(body))
	hexSig := strings.TrimPrefix(good, "sha256=")
	for name, header := range map[string]string{
		"missing":              "",
		"empty":                "sha256=",
		"no prefix":            hexSig,
		"sha1":                 "sha1=" + hexSig[:40],
		"short":                "sha256=" + hexSig[:63],
		"long":                 "sha256=" + hexSig + "0",
		"not hex":              "sha256=" + strings.Repeat("z", 64),
		"space inside":         "sha256= " + hexSig[1:],
		"prefix in upper case": "SHA256=" + hexSig,
	} {
		t.Run(name, func(t *testing.T) {
			rc := &readCounter{r: strings.NewReader(body)}
			req := httptest.NewRequest(http.MethodPost, "/webhook", rc)
			if header != "" {
				req.Header.Set("X-Hub-Signature-256", header)
			}
			rec := httptest.NewRecorder()
			rcv.ServeHTTP(rec, req)
			if rec.Code != http.StatusForbidden {
				t.Errorf("answered %d, want 403", rec.Code)
			}
			if n := rc.reads.Load(); n != 0 {
				t.Errorf("the body was read %d times before the header was checked", n)
			}
		})
	}
	if r := w.recipient(0); r.Delivery != store.DeliverySent {
		t.Errorf("a refused notification changed the recipient: delivery %q", r.Delivery)
	}
	// The well-formed, right signature is accepted by the same receiver.
	req := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", good)
	rec := httptest.NewRecorder()
	rcv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("a signed notification: %d, want 200", rec.Code)
	}
}

// A receiver without an app secret verifies nothing, so it reads nothing.
func TestNoAppSecretRefusesUnread(t *testing.T) {
	w := newWorld(t, 1)
	rcv := webhook.New(webhook.Config{Store: w.st})
	t.Cleanup(rcv.Close)
	body := statusBody(wamid(w.rs[0]), "read", t0, 0)
	rc := &readCounter{r: strings.NewReader(body)}
	req := httptest.NewRequest(http.MethodPost, "/webhook", rc)
	req.Header.Set("X-Hub-Signature-256", webhook.SignatureHeader(appSecret, []byte(body)))
	rec := httptest.NewRecorder()
	rcv.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || rc.reads.Load() != 0 {
		t.Errorf("answered %d after %d reads, want 403 unread", rec.Code, rc.reads.Load())
	}
}

// signedPadded is a valid notification padded with spaces to size bytes,
// and its signature.
func signedPadded(body string, size int) (string, string) {
	b := body + strings.Repeat(" ", size-len(body))
	m := hmac.New(sha256.New, []byte(appSecret.Reveal()))
	m.Write([]byte(b))
	return b, "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// With the default limit, a body the size of Meta's largest payload (3 MB,
// cloud-api.md §5.7) is accepted; one over the limit is refused with 413
// whether its length is announced or not, and nothing is stored.
func TestDefaultBodyLimit(t *testing.T) {
	if webhook.DefaultMaxBody < 3<<20 || webhook.DefaultMaxBody >= 4<<20 {
		t.Fatalf("DefaultMaxBody = %d, want at least Meta's 3 MB and under the old 4 MiB", webhook.DefaultMaxBody)
	}
	w := newWorld(t, 2)
	rcv := webhook.New(webhook.Config{Store: w.st, AppSecret: appSecret})
	t.Cleanup(rcv.Close)
	post := func(body, sig string, announce bool) int {
		req := httptest.NewRequest(http.MethodPost, "/webhook", io.NopCloser(strings.NewReader(body)))
		req.ContentLength = -1
		if announce {
			req.ContentLength = int64(len(body))
		}
		req.Header.Set("X-Hub-Signature-256", sig)
		rec := httptest.NewRecorder()
		rcv.ServeHTTP(rec, req)
		return rec.Code
	}
	largest, sig := signedPadded(statusBody(wamid(w.rs[0]), "read", t0, 0), 3<<20)
	if got := post(largest, sig, true); got != http.StatusOK {
		t.Errorf("a signed 3 MiB notification: %d, want 200", got)
	}
	if r := w.recipient(0); r.Delivery != store.DeliveryRead {
		t.Errorf("the 3 MiB notification was not applied: delivery %q", r.Delivery)
	}
	over, sig := signedPadded(statusBody(wamid(w.rs[1]), "read", t0, 0), int(webhook.DefaultMaxBody)+1)
	for _, announce := range []bool{true, false} {
		if got := post(over, sig, announce); got != http.StatusRequestEntityTooLarge {
			t.Errorf("a signed body over the limit (length announced %v): %d, want 413", announce, got)
		}
	}
	if r := w.recipient(1); r.Delivery != store.DeliverySent {
		t.Errorf("an oversize notification changed the recipient: delivery %q", r.Delivery)
	}
	fresh, err := w.st.SaveNotifications(t.Context(), []store.Notification{{Hash: hashOf(over), Body: []byte(over), At: t0}})
	if err != nil || !fresh[0] {
		t.Errorf("the oversize body was stored (fresh %v, %v)", fresh, err)
	}
}
