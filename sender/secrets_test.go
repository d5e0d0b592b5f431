package sender_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/whatsend/whatsend/sender"
)

// longToken is shaped like a system-user token: 200 letters and digits,
// made by a fixed generator so failures repeat.
var longToken = func() sender.Secret {
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := []byte("CANARY-7f3a9Qx")
	for x := uint32(7); len(b) < 200; {
		x = x*1664525 + 1013904223
		b = append(b, alnum[(x>>24)%uint32(len(alnum))])
	}
	return sender.Secret(b)
}()

// leakedRun returns the first run of 8 or more consecutive characters of tok
// found in s, or "".
func leakedRun(s, tok string) string {
	for i := 0; i+8 <= len(tok); i++ {
		if strings.Contains(s, tok[i:i+8]) {
			return tok[i : i+8]
		}
	}
	return ""
}

// A proxy that echoes part of the token (a truncated prefix, a piece from
// the middle) in any field of its error does not carry that part into the
// error: every run of 8 or more characters of the token is redacted, and
// the rest of the text is kept.
func TestTokenFragmentsNeverInErrors(t *testing.T) {
	tok := string(longToken)
	prefix := tok[:10] + "..." // CANARY-7f3...
	middle := tok[60 : 60+23]  // a fragment from the middle
	short := tok[100 : 100+7]  // 7 characters: too short to be told from text
	ts := server(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(map[string]any{"error": map[string]any{
			"message": "(#190) Invalid OAuth access token " + prefix, "type": "OAuthException " + middle, "code": 190,
			"error_subcode": 467, "error_user_title": "token " + middle + " end", "error_user_msg": "got " + prefix + " and " + middle,
			"error_data": map[string]any{"details": "token starts " + prefix + ", contains " + middle + " and " + short},
			"fbtrace_id": "A" + middle}})
		graphError(w, 401, string(b))
	})
	c := newClient(t, ts.URL, func(cfg *sender.Config) { cfg.Token = longToken })
	_, errSend := c.SendTemplate(t.Context(), orderUpdate("+5511987654321"))
	_, errHealth := c.PhoneHealth(t.Context())
	_, errTemplate := c.Template(t.Context(), "order_update", "en_US")
	for op, err := range map[string]error{"send": errSend, "health": errHealth, "template": errTemplate} {
		ae, ok := errors.AsType[*sender.APIError](err)
		if !ok {
			t.Fatalf("%s: %v, want an *APIError", op, err)
		}
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", *ae), fmt.Sprintf("%#v", *ae)} {
			if run := leakedRun(s, tok); run != "" {
				t.Errorf("%s: %q of the token is in %s", op, run, s)
			}
		}
		if want := "token starts [redacted]..., contains [redacted] and " + short; ae.Details != want {
			t.Errorf("%s: details %q, want %q", op, ae.Details, want)
		}
		if !strings.Contains(ae.Message, "Invalid OAuth access token") || ae.FBTraceID != "A[redacted]" {
			t.Errorf("%s: message %q, trace %q: the text around the token is lost", op, ae.Message, ae.FBTraceID)
		}
	}
}

// The client never follows a redirect: the second server never sees a
// request (nor the token), and the answer is a campaign-fatal error naming
// where the API URL redirects.
func TestRedirectNeverFollowed(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var seen atomic.Int32
			other := server(t, func(w http.ResponseWriter, r *http.Request) {
				seen.Add(1)
				if strings.Contains(r.Header.Get("Authorization"), string(longToken)) {
					t.Errorf("the second server got the token: %s %s", r.Method, r.URL)
				}
				w.Write([]byte(`{"messages":[{"id":"wamid.X"}],"data":[]}`))
			})
			first := server(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+r.URL.Path+"?next="+string(longToken)[:20], status)
			})
			c := newClient(t, first.URL, func(cfg *sender.Config) { cfg.Token = longToken })
			_, errSend := c.SendTemplate(t.Context(), orderUpdate("+5511987654321"))
			_, errHealth := c.PhoneHealth(t.Context())
			_, errTemplate := c.Template(t.Context(), "order_update", "en_US")
			if n := seen.Load(); n != 0 {
				t.Fatalf("the redirect was followed: the second server got %d requests", n)
			}
			for op, err := range map[string]error{"send": errSend, "health": errHealth, "template": errTemplate} {
				re, ok := errors.AsType[*sender.RedirectError](err)
				if !ok {
					t.Fatalf("%s: %v (%T), want a *sender.RedirectError", op, err, err)
				}
				if re.HTTPStatus != status || !strings.HasPrefix(re.Location, other.URL) {
					t.Errorf("%s: %+v, want HTTP %d to %s", op, re, status, other.URL)
				}
				msg := err.Error()
				if !strings.Contains(msg, "redirects") || !strings.Contains(msg, other.URL) || !strings.Contains(msg, "--api-url") {
					t.Errorf("%s: %q, want it to say the API URL redirects to %s and to check --api-url", op, msg, other.URL)
				}
				if run := leakedRun(msg, string(longToken)); run != "" {
					t.Errorf("%s: %q of the token is in %q", op, run, msg)
				}
				if e := sender.Classify(err); e.Class != sender.ClassFatal || !strings.Contains(e.Meaning, other.URL) {
					t.Errorf("%s: Classify %+v, want fatal (a configuration problem pauses) naming the target", op, e)
				}
			}
		})
	}
}

// A success answer that echoes pieces of the token does not carry them into
// what the client hands back (it goes to the store).
func TestTokenFragmentsNeverInAnswers(t *testing.T) {
	tok := string(longToken)
	piece := tok[40:52]
	ts := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"messages":[{"id":"wamid.` + piece + `","message_status":"held ` + piece + `"}],"contacts":[{"wa_id":"` + piece + `"}],` +
			`"id":"` + piece + `","status":"CONNECTED ` + piece + `","quality_rating":"` + piece + `","throughput":{"level":"` + piece + `"}}`))
	})
	c := newClient(t, ts.URL, func(cfg *sender.Config) { cfg.Token = longToken })
	acc, err := c.SendTemplate(t.Context(), orderUpdate("+5511987654321"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.PhoneHealth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprintf("%+v", acc), fmt.Sprintf("%+v", h)} {
		if run := leakedRun(s, tok); run != "" {
			t.Errorf("%q of the token is in %s", run, s)
		}
	}
	if acc.WAMID != "wamid.[redacted]" || h.Status != "CONNECTED [redacted]" {
		t.Errorf("wamid %q, status %q: want the text around the token kept", acc.WAMID, h.Status)
	}
}
