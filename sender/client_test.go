package sender_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
)

var update = flag.Bool("update", false, "rewrite the golden request bodies in testdata")

// testToken is long and unusual so that finding it in a string means it
// leaked, not that it happened to match.
const testToken = "EAAGtestTOKENx7Qz9secretPart4242"

const phoneID = simulator.DefaultPhoneNumberID

// newClient returns a client of baseURL with the test token, closed when
// the test ends.
func newClient(t *testing.T, baseURL string, edit ...func(*sender.Config)) *sender.Client {
	t.Helper()
	cfg := sender.Config{BaseURL: baseURL, Token: testToken, PhoneNumberID: phoneID, WABAID: simulator.DefaultWABAID}
	for _, f := range edit {
		f(&cfg)
	}
	c, err := sender.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// simServer starts a simulator that knows the test token, without latency,
// on a loopback server.
func simServer(t *testing.T, cfg simulator.Config) (*simulator.Sim, *httptest.Server) {
	t.Helper()
	cfg.Token = testToken
	if cfg.Latency == 0 {
		cfg.Latency = -1
	}
	sim := simulator.New(cfg)
	ts := httptest.NewServer(sim)
	t.Cleanup(ts.Close)
	return sim, ts
}

// server starts a loopback server with a hand-written handler.
func server(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts
}

func orderUpdate(to string) sender.Message {
	return sender.Message{To: to, Template: "order_update", Language: "en_US", Format: sender.Positional,
		Params: []string{"Ana", "A-77120"}}
}

// graphError writes Meta's error envelope (cloud-api.md §1.2).
func graphError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func TestNewNeedsPhoneNumberAndToken(t *testing.T) {
	if _, err := sender.New(sender.Config{Token: testToken}); err == nil {
		t.Error("New without a phone number id: no error")
	}
	if _, err := sender.New(sender.Config{PhoneNumberID: phoneID}); err == nil {
		t.Error("New without a token: no error")
	}
}

func TestSendTemplateAccepted(t *testing.T) {
	sim, ts := simServer(t, simulator.Config{})
	c := newClient(t, ts.URL)
	m := orderUpdate("+5511987654321")
	m.Callback = "c=17;r=4821;a=1"
	got, err := c.SendTemplate(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	msgs := sim.Messages()
	if len(msgs) != 1 {
		t.Fatalf("simulator recorded %d messages, want 1", len(msgs))
	}
	want := sender.Accepted{WAMID: msgs[0].WAMID, MessageStatus: "accepted", WAID: "5511987654321"}
	if got != want {
		t.Errorf("SendTemplate = %+v, want %+v", got, want)
	}
	if !strings.HasPrefix(got.WAMID, "wamid.") {
		t.Errorf("WAMID %q does not start with wamid.", got.WAMID)
	}
	if r := msgs[0]; r.To != m.To || r.Callback != m.Callback || strings.Join(r.Params, "|") != "Ana|A-77120" {
		t.Errorf("simulator recorded %+v, want to %s, callback %s, params Ana, A-77120", r, m.To, m.Callback)
	}
}

// A paced template answers 200 with a message_status other than accepted,
// and wa_id may differ from what was sent (cloud-api.md §1.1): both are
// passed on as Meta wrote them.
func TestSendTemplatePassesMessageStatusAndWAID(t *testing.T) {
	ts := server(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"messaging_product":"whatsapp",
			"contacts":[{"input":"+55 11 98765-4321","wa_id":"5511987654321"}],
			"messages":[{"id":"wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjQ2QUZDMEVF","message_status":"held_for_quality_assessment"}]}`)
	})
	got, err := newClient(t, ts.URL).SendTemplate(t.Context(), orderUpdate("+55 11 98765-4321"))
	if err != nil {
		t.Fatal(err)
	}
	want := sender.Accepted{WAMID: "wamid.HBgNNTUxMTk4NzY1NDMyMRUCABEYEjQ2QUZDMEVF", MessageStatus: "held_for_quality_assessment", WAID: "5511987654321"}
	if got != want {
		t.Errorf("SendTemplate = %+v, want %+v", got, want)
	}
}

// request is what a test server saw.
type request struct {
	method, path, query, auth, contentType string
	body                                   []byte
}

// recorder is a handler that keeps every request on a channel and answers
// with answer.
func recorder(t *testing.T, answer string) (*httptest.Server, chan request) {
	t.Helper()
	seen := make(chan request, 32)
	ts := server(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen <- request{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), body}
		io.WriteString(w, answer)
	})
	return ts, seen
}

const acceptedAnswer = `{"messaging_product":"whatsapp","contacts":[{"input":"+5511987654321","wa_id":"5511987654321"}],"messages":[{"id":"wamid.X1","message_status":"accepted"}]}`

// goldenCase is a message and the file holding its exact request body.
type goldenCase struct {
	file string
	m    sender.Message
}

// goldenCases are the messages of TestRequestBodyGolden.
func goldenCases() []goldenCase {
	return []goldenCase{
		{"send_positional.json", sender.Message{To: "+5511987654321", Template: "order_update", Language: "pt_BR", Format: sender.Positional,
			Params: []string{"João", "A-77120"}, Callback: "c=17;r=4821;a=1"}},
		{"send_named.json", sender.Message{To: "+5511987654321", Template: "order_update_named", Language: "pt_BR", Format: sender.Named,
			Names: []string{"order_id", "first_name"}, Params: []string{"A-77120", "Ana"}}},
		{"send_no_params.json", sender.Message{To: "+14155550123", Template: "hello_world", Language: "en_US"}},
		// One file per component kind, each checked by hand against Meta's
		// documented send example cited in docs/cloud-api-notes.md
		// ("Template components").
		{"golden/header_text.json", promo(func(m *sender.Message) {
			m.Header = &sender.Param{Type: sender.ParamText, Text: "Spring sale"}
		})},
		{"golden/header_image_link.json", promo(func(m *sender.Message) {
			m.Header = &sender.Param{Type: sender.ParamImage, Link: "https://cdn.example.com/spring.jpg"}
		})},
		{"golden/header_image_id.json", promo(func(m *sender.Message) {
			m.Header = &sender.Param{Type: sender.ParamImage, MediaID: "1013859600285441"}
		})},
		{"golden/header_video.json", promo(func(m *sender.Message) {
			m.Header = &sender.Param{Type: sender.ParamVideo, Link: "https://cdn.example.com/spring.mp4"}
		})},
		{"golden/header_document.json", promo(func(m *sender.Message) {
			m.Header = &sender.Param{Type: sender.ParamDocument, Link: "https://cdn.example.com/invoice-A77120.pdf", Filename: "invoice-A77120.pdf"}
		})},
		{"golden/header_location.json", promo(func(m *sender.Message) {
			m.Header = &sender.Param{Type: sender.ParamLocation, Location: &sender.Location{Latitude: 37.483307, Longitude: -122.148981,
				Name: "Pablo Morales", Address: "1 Hacker Way, Menlo Park, CA 94025"}}
		})},
		{"golden/button_url.json", promo(func(m *sender.Message) {
			m.Buttons = []sender.Button{{Index: 0, SubType: sender.ButtonURL, Value: "spring-25"}}
		})},
		{"golden/button_quick_reply.json", promo(func(m *sender.Message) {
			m.Buttons = []sender.Button{{Index: 1, SubType: sender.ButtonQuickReply, Value: "stop-promos"}}
		})},
		{"golden/button_copy_code.json", promo(func(m *sender.Message) {
			m.Buttons = []sender.Button{{Index: 1, SubType: sender.ButtonCopyCode, Value: "25OFF"}}
		})},
		{"golden/buttons_in_index_order.json", promo(func(m *sender.Message) {
			m.Header = &sender.Param{Type: sender.ParamImage, Link: "https://cdn.example.com/spring.jpg"}
			m.Buttons = []sender.Button{{Index: 1, SubType: sender.ButtonQuickReply, Value: "stop-promos"}, {Index: 0, SubType: sender.ButtonURL, Value: "spring-25"}}
		})},
		{"golden/body_named.json", sender.Message{To: "+5511987654321", Template: "coupon_named", Language: "en_US", Format: sender.Named,
			Header: &sender.Param{Type: sender.ParamText, Name: "sale_name", Text: "Spring"},
			Names:  []string{"first_name", "discount"}, Params: []string{"Ana", "25%"}}},
		{"golden/body_currency.json", sender.Message{To: "+5511987654321", Template: "payment_due", Language: "en_US", Format: sender.Positional,
			Body: []sender.Param{{Type: sender.ParamText, Text: "Ana"},
				{Type: sender.ParamCurrency, Currency: &sender.Currency{FallbackValue: "$100.99", Code: "USD", Amount1000: 100990}}}}},
		{"golden/body_date_time.json", sender.Message{To: "+5511987654321", Template: "appointment", Language: "en_US", Format: sender.Positional,
			Body: []sender.Param{{Type: sender.ParamText, Text: "Ana"}, {Type: sender.ParamDateTime, DateTime: "February 25, 1977"}}}},
	}
}

// TestRequestBodyGolden pins the exact bytes the client sends for a
// template, against testdata/*.json (checked by hand against cloud-api.md
// §1; rewrite with -update).
func TestRequestBodyGolden(t *testing.T) {
	for _, tt := range goldenCases() {
		t.Run(tt.file, func(t *testing.T) {
			ts, seen := recorder(t, acceptedAnswer)
			if _, err := newClient(t, ts.URL).SendTemplate(t.Context(), tt.m); err != nil {
				t.Fatal(err)
			}
			r := <-seen
			if r.method != http.MethodPost || r.path != "/v24.0/"+phoneID+"/messages" || r.query != "" {
				t.Errorf("request %s %s?%s, want POST /v24.0/%s/messages", r.method, r.path, r.query, phoneID)
			}
			if r.contentType != "application/json" {
				t.Errorf("Content-Type %q, want application/json", r.contentType)
			}
			if !json.Valid(r.body) {
				t.Fatalf("body is not JSON: %s", r.body)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, append(r.body, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if want = bytes.TrimSuffix(want, []byte("\n")); !bytes.Equal(r.body, want) {
				t.Errorf("body differs from %s\ngot:  %s\nwant: %s", path, r.body, want)
			}
		})
	}
}

// promo is the spring_promo message with its two body values, edited.
func promo(edit func(*sender.Message)) sender.Message {
	m := sender.Message{To: "+5511987654321", Template: "spring_promo", Language: "en_US", Format: sender.Positional,
		Params: []string{"Ana", "25%"}}
	edit(&m)
	return m
}

// Requests the client can tell are wrong are refused before anything
// leaves: Meta would refuse them for every recipient.
func TestSendTemplateRefusesBadMessages(t *testing.T) {
	var hits atomic.Int32
	ts := server(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1); io.WriteString(w, acceptedAnswer) })
	c := newClient(t, ts.URL)
	long := orderUpdate("+5511987654321")
	long.Callback = strings.Repeat("x", sender.MaxCallback+1)
	named := sender.Message{To: "+5511987654321", Template: "t", Language: "en_US", Format: sender.Named,
		Names: []string{"first_name"}, Params: []string{"Ana", "A-77120"}}
	bad := map[string]sender.Message{"callback of 513 characters": long, "2 values for 1 name": named,
		"image with no link and no id": promo(func(m *sender.Message) { m.Header = &sender.Param{Type: sender.ParamImage} }),
		"image with a link and an id": promo(func(m *sender.Message) {
			m.Header = &sender.Param{Type: sender.ParamImage, Link: "https://x.example/a.jpg", MediaID: "1"}
		}),
		"location without coordinates": promo(func(m *sender.Message) { m.Header = &sender.Param{Type: sender.ParamLocation} }),
		"currency without amount":      promo(func(m *sender.Message) { m.Body = []sender.Param{{Type: sender.ParamCurrency}} }),
		"unknown parameter type":       promo(func(m *sender.Message) { m.Header = &sender.Param{Type: "sticker"} }),
		"button index 10": promo(func(m *sender.Message) {
			m.Buttons = []sender.Button{{Index: 10, SubType: sender.ButtonURL, Value: "x"}}
		}),
		"button index twice": promo(func(m *sender.Message) {
			m.Buttons = []sender.Button{{Index: 0, SubType: sender.ButtonURL, Value: "x"}, {Index: 0, SubType: sender.ButtonQuickReply, Value: "y"}}
		}),
		"unknown button sub_type": promo(func(m *sender.Message) {
			m.Buttons = []sender.Button{{Index: 0, SubType: "phone_number", Value: "x"}}
		}),
	}
	for name, m := range bad {
		if _, err := c.SendTemplate(t.Context(), m); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("%d requests reached the server, want none", n)
	}
	ok := orderUpdate("+5511987654321")
	ok.Callback = strings.Repeat("x", sender.MaxCallback)
	if _, err := c.SendTemplate(t.Context(), ok); err != nil {
		t.Errorf("callback of exactly %d characters: %v", sender.MaxCallback, err)
	}
}

// The token travels in the Authorization header of every request and never
// in a URL (net/http quotes URLs in its errors).
func TestAuthorizationHeader(t *testing.T) {
	ts, seen := recorder(t, `{"data":[],"messages":[{"id":"wamid.X1"}]}`)
	c := newClient(t, ts.URL)
	if _, err := c.SendTemplate(t.Context(), orderUpdate("+5511987654321")); err != nil {
		t.Fatal(err)
	}
	c.PhoneHealth(t.Context())
	c.Template(t.Context(), "order_update", "en_US")
	for range 3 {
		r := <-seen
		if r.auth != "Bearer "+testToken {
			t.Errorf("%s %s: Authorization %q, want Bearer and the token", r.method, r.path, r.auth)
		}
		if strings.Contains(r.path+r.query, testToken) {
			t.Errorf("%s %s?%s: the token is in the URL", r.method, r.path, r.query)
		}
	}
}

// A client printed in a log line does not show its token.
func TestClientDoesNotPrintToken(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1")
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%+v", *c)} {
		if strings.Contains(s, testToken) {
			t.Errorf("the token is in %s", s)
		}
	}
}

// TestTokenNeverInErrors makes requests fail in every way the client knows
// and checks that no error text carries the token, even when the server
// echoes the Authorization header back.
func TestTokenNeverInErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	echo := server(t, func(w http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		b, _ := json.Marshal(map[string]any{"error": map[string]any{
			"message": "(#190) Invalid OAuth access token: " + a, "type": "OAuthException", "code": 190,
			"error_user_title": a, "error_user_msg": "token " + a, "error_data": map[string]any{"details": "got " + a},
			"fbtrace_id": "A" + a}})
		graphError(w, 401, string(b))
	})
	_, wrongToken := simServer(t, simulator.Config{})
	hang := server(t, func(w http.ResponseWriter, r *http.Request) { hold(r) })
	_, drop := simServer(t, simulator.Config{DropRate: 1})
	html := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "<html>502 Bad Gateway "+r.Header.Get("Authorization")+"</html>")
	})
	cut := server(t, truncatedAnswer)

	for _, tt := range []struct {
		name    string
		baseURL string
		token   sender.Secret
	}{
		{"server echoes the header", echo.URL, testToken},
		{"wrong token", wrongToken.URL, testToken + "x"},
		{"dial refused", refused, testToken},
		{"timeout", hang.URL, testToken},
		{"drop", drop.URL, testToken},
		{"502 page echoing the header", html.URL, testToken},
		{"truncated answer", cut.URL, testToken},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.baseURL, func(cfg *sender.Config) { cfg.Token, cfg.Timeout = tt.token, 100*time.Millisecond })
			_, errSend := c.SendTemplate(t.Context(), orderUpdate("+5511987654321"))
			_, errHealth := c.PhoneHealth(t.Context())
			_, errTemplate := c.Template(t.Context(), "order_update", "en_US")
			if errSend == nil {
				t.Fatal("send: no error")
			}
			// Reads fail too, except where the fault is only on sends (drop).
			for op, err := range map[string]error{"send": errSend, "health": errHealth, "template": errTemplate} {
				if err == nil {
					continue
				}
				tok := string(tt.token)
				for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
					if strings.Contains(s, tok) {
						t.Errorf("%s: the token is in the error: %s", op, s)
					}
				}
				if ae, ok := errors.AsType[*sender.APIError](err); ok {
					if s := fmt.Sprintf("%+v", *ae); strings.Contains(s, tok) {
						t.Errorf("%s: the token is in the APIError fields: %s", op, s)
					}
				}
			}
		})
	}
}

// TestAPIErrorClasses provokes one answer per error class and checks that
// the client hands back Meta's fields untouched and Classify's class.
func TestAPIErrorClasses(t *testing.T) {
	fixed := func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) }
	fromSim := func(cfg simulator.Config, ms ...sender.Message) func(t *testing.T) error {
		return func(t *testing.T) error {
			_, ts := simServer(t, cfg)
			c := newClient(t, ts.URL)
			var err error
			for i, m := range ms {
				if _, err = c.SendTemplate(t.Context(), m); err != nil && i < len(ms)-1 {
					t.Fatalf("send %d of %d: %v", i+1, len(ms), err)
				}
			}
			return err
		}
	}
	fromHandler := func(status int, body string) func(t *testing.T) error {
		return func(t *testing.T) error {
			ts := server(t, func(w http.ResponseWriter, r *http.Request) { graphError(w, status, body) })
			_, err := newClient(t, ts.URL).SendTemplate(t.Context(), orderUpdate("+5511987654321"))
			return err
		}
	}
	one := orderUpdate("+5511987654321")
	wrongCount := orderUpdate("+5511987654321")
	wrongCount.Params = wrongCount.Params[:1]
	unknown := orderUpdate("+5511987654321")
	unknown.Template = "no_such_template"

	for _, tt := range []struct {
		name    string
		provoke func(t *testing.T) error
		want    sender.APIError
		class   sender.Class
	}{
		{"131056 pair rate", fromSim(simulator.Config{PairBurst: 1}, one, one),
			sender.APIError{HTTPStatus: 400, Code: 131056, Subcode: 2494055, Type: "OAuthException",
				Message: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
				Details: "Too many messages to this user recently.", FBTraceID: "AsimTrace131056"},
			sender.ClassRetryRecipient},
		{"130429 throughput", fromSim(simulator.Config{MPS: 1, Now: fixed}, orderUpdate("+5511900000001"), orderUpdate("+5511900000002")),
			sender.APIError{HTTPStatus: 400, Code: 130429, Type: "OAuthException", Message: "(#130429) Rate limit hit",
				Details:   "Message failed to send because there were too many messages sent from this phone number in a short period of time.",
				FBTraceID: "AsimTrace130429"},
			sender.ClassSlowSender},
		{"131026 undeliverable", fromHandler(400, `{"error":{"message":"(#131026) Message undeliverable","type":"OAuthException",
			"code":131026,"error_subcode":2494010,"error_user_title":"Message undeliverable","error_user_msg":"Unable to deliver the message.",
			"error_data":{"messaging_product":"whatsapp","details":"Receiver is incapable of receiving this message"},"fbtrace_id":"AbCdEf123"}}`),
			sender.APIError{HTTPStatus: 400, Code: 131026, Subcode: 2494010, Type: "OAuthException", Message: "(#131026) Message undeliverable",
				Details: "Receiver is incapable of receiving this message", UserTitle: "Message undeliverable",
				UserMsg: "Unable to deliver the message.", FBTraceID: "AbCdEf123"},
			sender.ClassRecipientFailed},
		{"131049 marketing limit", fromHandler(400, `{"error":{"message":"(#131049) This message was not delivered to maintain healthy ecosystem engagement.",
			"type":"OAuthException","code":131049,"is_transient":true,
			"error_data":{"messaging_product":"whatsapp","details":"Per-user marketing limit."},"fbtrace_id":"Ax9"}}`),
			sender.APIError{HTTPStatus: 400, Code: 131049, Type: "OAuthException",
				Message: "(#131049) This message was not delivered to maintain healthy ecosystem engagement.",
				Details: "Per-user marketing limit.", FBTraceID: "Ax9"},
			sender.ClassDefer},
		{"131000 with a Graph body is an answer, not a transport failure", fromHandler(500, `{"error":{"message":"(#131000) Something went wrong",
			"type":"OAuthException","code":131000,"fbtrace_id":"Az1"}}`),
			sender.APIError{HTTPStatus: 500, Code: 131000, Type: "OAuthException", Message: "(#131000) Something went wrong", FBTraceID: "Az1"},
			sender.ClassSlowSender},
		{"190 wrong token", func(t *testing.T) error {
			_, ts := simServer(t, simulator.Config{})
			_, err := newClient(t, ts.URL, func(c *sender.Config) { c.Token = "not-the-token" }).SendTemplate(t.Context(), one)
			return err
		},
			sender.APIError{HTTPStatus: 401, Code: 190, Type: "OAuthException", Message: "(#190) Error validating access token",
				Details: "the access token is missing or invalid", FBTraceID: "AsimTrace190"},
			sender.ClassFatal},
		{"132001 unknown template", fromSim(simulator.Config{}, unknown),
			sender.APIError{HTTPStatus: 404, Code: 132001, Type: "OAuthException", Message: "(#132001) Template does not exist",
				Details: "template name (no_such_template) does not exist in en_US", FBTraceID: "AsimTrace132001"},
			sender.ClassFatal},
		{"132000 parameter count", fromSim(simulator.Config{}, wrongCount),
			sender.APIError{HTTPStatus: 400, Code: 132000, Type: "OAuthException", Message: "(#132000) Number of parameters does not match the expected number of params",
				Details: "body: number of localizable_params (1) does not match the expected number of params (2)", FBTraceID: "AsimTrace132000"},
			sender.ClassFatal},
		{"132015 paused template", fromSim(simulator.Config{Templates: []simulator.Template{{Name: "order_update", Language: "en_US", Params: 2, Status: "PAUSED"}}}, one),
			sender.APIError{HTTPStatus: 400, Code: 132015, Type: "OAuthException", Message: "(#132015) Template is paused",
				Details: "template is paused", FBTraceID: "AsimTrace132015"},
			sender.ClassFatal},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.provoke(t)
			ae, ok := errors.AsType[*sender.APIError](err)
			if !ok {
				t.Fatalf("error %v (%T), want an *APIError", err, err)
			}
			if *ae != tt.want {
				t.Errorf("APIError\n got %+v\nwant %+v", *ae, tt.want)
			}
			if got := sender.Classify(err); got.Class != tt.class || got.Code != tt.want.Code {
				t.Errorf("Classify = code %d class %s, want code %d class %s", got.Code, got.Class, tt.want.Code, tt.class)
			}
			if s := err.Error(); !strings.Contains(s, fmt.Sprint(tt.want.Code)) {
				t.Errorf("error text %q does not name code %d", s, tt.want.Code)
			}
		})
	}
}

func transportError(t *testing.T, err error) *sender.TransportError {
	t.Helper()
	te, ok := errors.AsType[*sender.TransportError](err)
	if !ok {
		t.Fatalf("error %v (%T), want a *TransportError", err, err)
	}
	return te
}

// Nothing listens: the request surely did not leave.
func TestDialRefusedIsNotSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newClient(t, "http://"+addr)
	_, err = c.SendTemplate(t.Context(), orderUpdate("+5511987654321"))
	te := transportError(t, err)
	if te.MayHaveReached || te.Timeout || te.HTTPStatus != 0 || te.Op != "send" {
		t.Errorf("TransportError %+v, want op send, not reached, no timeout, no status", te)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error %v does not wrap ECONNREFUSED", err)
	}
	if got := sender.Classify(err).Class; got != sender.ClassNotSent {
		t.Errorf("Classify = %s, want %s", got, sender.ClassNotSent)
	}
}

// The handler holds the request until the client gives up: Meta may have
// the message.
func TestTimeoutMayHaveReached(t *testing.T) {
	ts := server(t, func(w http.ResponseWriter, r *http.Request) { hold(r) })
	c := newClient(t, ts.URL, func(c *sender.Config) { c.Timeout = 100 * time.Millisecond })
	_, err := c.SendTemplate(t.Context(), orderUpdate("+5511987654321"))
	te := transportError(t, err)
	if !te.Timeout || !te.MayHaveReached {
		t.Errorf("TransportError %+v, want timeout and may have reached", te)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}
	if got := sender.Classify(err).Class; got != sender.ClassUncertain {
		t.Errorf("Classify = %s, want %s", got, sender.ClassUncertain)
	}
}

// hold keeps a request unanswered until the client goes away. It reads the
// body first: net/http notices a closed connection (and cancels
// r.Context()) only once the body was read.
func hold(r *http.Request) {
	io.Copy(io.Discard, r.Body)
	<-r.Context().Done()
}

// truncatedAnswer promises 1000 bytes, sends a few and closes the
// connection.
func truncatedAnswer(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.`)
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	buf.Flush()
	conn.Close()
}

func TestTruncatedAnswer(t *testing.T) {
	ts := server(t, truncatedAnswer)
	_, err := newClient(t, ts.URL).SendTemplate(t.Context(), orderUpdate("+5511987654321"))
	te := transportError(t, err)
	if !te.MayHaveReached || te.Timeout || te.HTTPStatus != http.StatusOK {
		t.Errorf("TransportError %+v, want may have reached, no timeout, HTTP 200", te)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error %v does not wrap io.ErrUnexpectedEOF", err)
	}
	if got := sender.Classify(err).Class; got != sender.ClassUncertain {
		t.Errorf("Classify = %s, want %s", got, sender.ClassUncertain)
	}
}

// Answers that are not Graph answers: a proxy's page, a broken body, a 200
// without a message id.
func TestNonGraphAnswers(t *testing.T) {
	for _, tt := range []struct {
		name    string
		status  int
		body    string
		reached bool
	}{
		{"502 from a gateway", 502, "<html>Bad Gateway</html>", true},
		{"504 without a body", 504, "", true},
		{"403 from a proxy", 403, "Forbidden", false},
		{"200 that is not JSON", 200, "<html>ok</html>", true},
		{"200 without a message id", 200, `{"messaging_product":"whatsapp","messages":[]}`, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := server(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			_, err := newClient(t, ts.URL).SendTemplate(t.Context(), orderUpdate("+5511987654321"))
			te := transportError(t, err)
			if te.MayHaveReached != tt.reached || te.HTTPStatus != tt.status || te.Timeout {
				t.Errorf("TransportError %+v, want may have reached %v, HTTP %d, no timeout", te, tt.reached, tt.status)
			}
		})
	}
}

type simMessages struct {
	Messages []simulator.Message `json:"messages"`
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// The drop fault closes the connection after the simulator recorded the
// message: the client must say "may have reached", and must not have sent
// the POST again on its own (the message is recorded once).
func TestDropFaultMayHaveReached(t *testing.T) {
	sim, ts := simServer(t, simulator.Config{})
	c := newClient(t, ts.URL)
	// A first send leaves a kept-alive connection, so the drop happens on a
	// reused one, where net/http retries requests it thinks are safe.
	if _, err := c.SendTemplate(t.Context(), orderUpdate("+5511900000001")); err != nil {
		t.Fatal(err)
	}
	one := 1.0
	if err := sim.Control(simulator.Control{DropRate: &one}); err != nil {
		t.Fatal(err)
	}
	_, err := c.SendTemplate(t.Context(), orderUpdate("+5511900000002"))
	te := transportError(t, err)
	if !te.MayHaveReached || te.Timeout || te.HTTPStatus != 0 {
		t.Errorf("TransportError %+v, want may have reached, no timeout, no status", te)
	}
	if got := sender.Classify(err).Class; got != sender.ClassUncertain {
		t.Errorf("Classify = %s, want %s", got, sender.ClassUncertain)
	}
	var got simMessages
	getJSON(t, ts.URL+"/_sim/messages", &got)
	var tos []string
	for _, m := range got.Messages {
		tos = append(tos, m.To)
	}
	if strings.Join(tos, ",") != "+5511900000001,+5511900000002" {
		t.Errorf("/_sim/messages holds %v, want the sent and the dropped message once each", tos)
	}
}

func TestDropFaultInProcess(t *testing.T) {
	sim := simulator.New(simulator.Config{Token: testToken, Latency: -1, DropRate: 1})
	c := newClient(t, "http://simulator.invalid", func(c *sender.Config) { c.Transport = sim.Transport() })
	_, err := c.SendTemplate(t.Context(), orderUpdate("+5511987654321"))
	if te := transportError(t, err); !te.MayHaveReached || te.Timeout {
		t.Errorf("TransportError %+v, want may have reached, no timeout", te)
	}
	if msgs := sim.Messages(); len(msgs) != 1 || msgs[0].To != "+5511987654321" {
		t.Errorf("simulator recorded %+v, want the dropped message", msgs)
	}
}

func TestContextCancelled(t *testing.T) {
	t.Run("before sending", func(t *testing.T) {
		var hits atomic.Int32
		ts := server(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1); io.WriteString(w, acceptedAnswer) })
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := newClient(t, ts.URL).SendTemplate(ctx, orderUpdate("+5511987654321"))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		if _, ok := errors.AsType[*sender.TransportError](err); ok {
			t.Errorf("error %v is a TransportError; nothing left", err)
		}
		if got := sender.Classify(err).Class; got != "" {
			t.Errorf("Classify = %q, want no class (not a send result)", got)
		}
		if n := hits.Load(); n != 0 {
			t.Errorf("%d requests reached the server", n)
		}
	})
	t.Run("while waiting for the answer", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		ts := server(t, func(w http.ResponseWriter, r *http.Request) {
			cancel() // the request is here: the caller gives up now
			hold(r)
		})
		_, err := newClient(t, ts.URL).SendTemplate(ctx, orderUpdate("+5511987654321"))
		te := transportError(t, err)
		if !te.MayHaveReached || te.Timeout {
			t.Errorf("TransportError %+v, want may have reached, no timeout", te)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("error %v does not wrap context.Canceled", err)
		}
		if got := sender.Classify(err).Class; got != sender.ClassUncertain {
			t.Errorf("Classify = %s, want %s", got, sender.ClassUncertain)
		}
	})
}

func TestPhoneHealthFromSimulator(t *testing.T) {
	for _, tt := range []struct {
		version, field string
	}{
		{"v24.0", "whatsapp_business_manager_messaging_limit"},
		{"v25.0", "whatsapp_business_manager_messaging_limit"},
		{"v23.0", "messaging_limit_tier"},
	} {
		t.Run(tt.version, func(t *testing.T) {
			_, ts := simServer(t, simulator.Config{Tier: 2000, Quality: "YELLOW", OnBizApp: true})
			h, err := newClient(t, ts.URL, func(c *sender.Config) { c.Version = tt.version }).PhoneHealth(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			want := sender.Health{ID: phoneID, Quality: "YELLOW", Status: "CONNECTED", ThroughputLevel: "STANDARD", OnBizApp: true,
				Limit: sender.Limit{Tier: "TIER_2K", Users: 2000}, LimitField: tt.field}
			if h != want {
				t.Errorf("PhoneHealth\n got %+v\nwant %+v", h, want)
			}
		})
	}
}

// TestPhoneHealthLimitFields checks which field the limit is read from
// (cloud-api.md §2, §7): the v24.0 field first, the deprecated one when the
// new one says nothing usable.
func TestPhoneHealthLimitFields(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		limit      sender.Limit
		field      string
	}{
		{"new field", `"whatsapp_business_manager_messaging_limit":"TIER_250"`, sender.Limit{Tier: "TIER_250", Users: 250}, "whatsapp_business_manager_messaging_limit"},
		{"new field wins", `"whatsapp_business_manager_messaging_limit":"TIER_10K","messaging_limit_tier":"TIER_1K"`, sender.Limit{Tier: "TIER_10K", Users: 10000}, "whatsapp_business_manager_messaging_limit"},
		{"new field as an integer", `"whatsapp_business_manager_messaging_limit":2000`, sender.Limit{Tier: "2000", Users: 2000}, "whatsapp_business_manager_messaging_limit"},
		{"new field unlimited", `"whatsapp_business_manager_messaging_limit":"TIER_UNLIMITED"`, sender.Limit{Tier: "TIER_UNLIMITED", Unlimited: true}, "whatsapp_business_manager_messaging_limit"},
		{"deprecated field only", `"messaging_limit_tier":"TIER_1K"`, sender.Limit{Tier: "TIER_1K", Users: 1000}, "messaging_limit_tier"},
		{"deprecated field -1", `"messaging_limit_tier":-1`, sender.Limit{Tier: "-1", Unlimited: true}, "messaging_limit_tier"},
		{"new field not set, deprecated set", `"whatsapp_business_manager_messaging_limit":"TIER_NOT_SET","messaging_limit_tier":"TIER_250"`, sender.Limit{Tier: "TIER_250", Users: 250}, "messaging_limit_tier"},
		{"new field not set alone", `"whatsapp_business_manager_messaging_limit":"TIER_NOT_SET"`, sender.Limit{Tier: "TIER_NOT_SET"}, "whatsapp_business_manager_messaging_limit"},
		{"garbage", `"whatsapp_business_manager_messaging_limit":"lots"`, sender.Limit{Tier: "lots"}, "whatsapp_business_manager_messaging_limit"},
		{"neither", `"quality_score":{"score":"GREEN"}`, sender.Limit{}, ""},
		{"null", `"whatsapp_business_manager_messaging_limit":null`, sender.Limit{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ts := server(t, func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"id":"`+phoneID+`","status":"CONNECTED","quality_rating":"GREEN","throughput":{"level":"HIGH"},`+tt.body+`}`)
			})
			h, err := newClient(t, ts.URL).PhoneHealth(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if h.Limit != tt.limit || h.LimitField != tt.field {
				t.Errorf("limit %+v from %q, want %+v from %q", h.Limit, h.LimitField, tt.limit, tt.field)
			}
			if h.Limit.Known() != (tt.limit.Users > 0 || tt.limit.Unlimited) {
				t.Errorf("Known() = %v for %+v", h.Limit.Known(), h.Limit)
			}
			if h.ThroughputLevel != "HIGH" || h.Quality != "GREEN" || h.Status != "CONNECTED" || h.ID != phoneID {
				t.Errorf("health %+v, want id, GREEN, CONNECTED, HIGH", h)
			}
		})
	}
}

// The fields asked for follow the API version: the limit field changed in
// v24.0 (cloud-api.md §2).
func TestPhoneHealthRequest(t *testing.T) {
	for _, tt := range []struct{ version, want, notWant string }{
		{"v24.0", "whatsapp_business_manager_messaging_limit", "messaging_limit_tier"},
		{"v23.0", "messaging_limit_tier", "whatsapp_business_manager_messaging_limit"},
	} {
		ts, seen := recorder(t, `{"id":"1"}`)
		if _, err := newClient(t, ts.URL, func(c *sender.Config) { c.Version = tt.version }).PhoneHealth(t.Context()); err != nil {
			t.Fatal(err)
		}
		r := <-seen
		if r.method != http.MethodGet || r.path != "/"+tt.version+"/"+phoneID {
			t.Errorf("%s: request %s %s, want GET /%s/%s", tt.version, r.method, r.path, tt.version, phoneID)
		}
		fields := strings.Split(queryValue(t, r.query, "fields"), ",")
		has := map[string]bool{}
		for _, f := range fields {
			has[f] = true
		}
		for _, f := range []string{"quality_rating", "status", "throughput", "is_on_biz_app", tt.want} {
			if !has[f] {
				t.Errorf("%s: fields %v lack %s", tt.version, fields, f)
			}
		}
		if has[tt.notWant] {
			t.Errorf("%s: fields %v ask for %s", tt.version, fields, tt.notWant)
		}
	}
}

func queryValue(t *testing.T, rawQuery, key string) string {
	t.Helper()
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		t.Fatal(err)
	}
	return q.Get(key)
}

// TestParseLimit covers the lenient forms of cloud-api.md §2 and §5.8.
func TestParseLimit(t *testing.T) {
	for _, tt := range []struct {
		in   any
		want sender.Limit
	}{
		{"TIER_50", sender.Limit{Tier: "TIER_50", Users: 50}},
		{"TIER_250", sender.Limit{Tier: "TIER_250", Users: 250}},
		{"TIER_1K", sender.Limit{Tier: "TIER_1K", Users: 1000}},
		{"TIER_2K", sender.Limit{Tier: "TIER_2K", Users: 2000}},
		{"TIER_10K", sender.Limit{Tier: "TIER_10K", Users: 10000}},
		{"TIER_100K", sender.Limit{Tier: "TIER_100K", Users: 100000}},
		{"TIER_UNLIMITED", sender.Limit{Tier: "TIER_UNLIMITED", Unlimited: true}},
		{"tier_2k", sender.Limit{Tier: "tier_2k", Users: 2000}},
		{" TIER_250 ", sender.Limit{Tier: " TIER_250 ", Users: 250}},
		{"2000", sender.Limit{Tier: "2000", Users: 2000}},
		{"-1", sender.Limit{Tier: "-1", Unlimited: true}},
		{float64(10000), sender.Limit{Tier: "10000", Users: 10000}},
		{float64(-1), sender.Limit{Tier: "-1", Unlimited: true}},
		{json.Number("100000"), sender.Limit{Tier: "100000", Users: 100000}},
		{250, sender.Limit{Tier: "250", Users: 250}},
		{"TIER_NOT_SET", sender.Limit{Tier: "TIER_NOT_SET"}},
		{"0", sender.Limit{Tier: "0"}},
		{"garbage", sender.Limit{Tier: "garbage"}},
		{"TIER_", sender.Limit{Tier: "TIER_"}},
		{json.Number("1.5e3x"), sender.Limit{Tier: "1.5e3x"}},
		{"", sender.Limit{}},
		{nil, sender.Limit{}},
		{true, sender.Limit{}},
		{map[string]any{"tier": "TIER_2K"}, sender.Limit{}},
	} {
		got := sender.ParseLimit(tt.in)
		if got != tt.want {
			t.Errorf("ParseLimit(%#v) = %+v, want %+v", tt.in, got, tt.want)
		}
		if wantKnown := tt.want.Users > 0 || tt.want.Unlimited; got.Known() != wantKnown {
			t.Errorf("ParseLimit(%#v).Known() = %v, want %v", tt.in, got.Known(), wantKnown)
		}
	}
}

func TestTemplateLookup(t *testing.T) {
	_, ts := simServer(t, simulator.Config{Templates: []simulator.Template{
		{ID: "1", Name: "order_update", Language: "en_US", Params: 2},
		{ID: "2", Name: "order_update", Language: "pt_BR", Params: 3, Category: "MARKETING", Quality: "YELLOW"},
		{ID: "3", Name: "order_update_named", Language: "pt_BR", Format: "NAMED", ParamNames: []string{"first_name", "order_id"}},
		{ID: "4", Name: "promo", Language: "en", Status: "PAUSED", Params: 0},
	}})
	c := newClient(t, ts.URL)
	for _, tt := range []struct {
		name, lang string
		want       sender.Template
	}{
		{"order_update", "pt_BR", sender.Template{ID: "2", Name: "order_update", Language: "pt_BR", Status: "APPROVED", Category: "MARKETING",
			Format: sender.Positional, Quality: "YELLOW", ParamCount: 3}},
		{"order_update", "en_US", sender.Template{ID: "1", Name: "order_update", Language: "en_US", Status: "APPROVED", Category: "UTILITY",
			Format: sender.Positional, Quality: "GREEN", ParamCount: 2}},
		{"order_update_named", "pt_BR", sender.Template{ID: "3", Name: "order_update_named", Language: "pt_BR", Status: "APPROVED", Category: "UTILITY",
			Format: sender.Named, Quality: "GREEN", ParamCount: 2, ParamNames: []string{"first_name", "order_id"}}},
		{"promo", "en", sender.Template{ID: "4", Name: "promo", Language: "en", Status: "PAUSED", Category: "UTILITY",
			Format: sender.Positional, Quality: "GREEN"}},
	} {
		got, err := c.Template(t.Context(), tt.name, tt.lang)
		if err != nil {
			t.Errorf("Template(%s, %s): %v", tt.name, tt.lang, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Template(%s, %s)\n got %+v\nwant %+v", tt.name, tt.lang, got, tt.want)
		}
	}
	// The name filter matches partial names and a name exists once per
	// language: only an exact match counts (cloud-api.md §3).
	for _, q := range [][2]string{{"order_update", "en"}, {"order_update", "es"}, {"order", "en_US"}, {"nope", "en_US"}} {
		if _, err := c.Template(t.Context(), q[0], q[1]); !errors.Is(err, sender.ErrTemplateNotFound) {
			t.Errorf("Template(%s, %s) = %v, want ErrTemplateNotFound", q[0], q[1], err)
		}
	}
	noWABA := newClient(t, ts.URL, func(c *sender.Config) { c.WABAID = "" })
	if _, err := noWABA.Template(t.Context(), "order_update", "en_US"); !errors.Is(err, sender.ErrNoWABA) {
		t.Errorf("Template without a WABA id = %v, want ErrNoWABA", err)
	}
}

// TestTemplatePaging follows paging.next with the after cursor, and stops:
// at the last page (no next), and after a bounded number of pages however
// many the server claims.
func TestTemplatePaging(t *testing.T) {
	page := func(after string, data string, next bool) string {
		p := `"paging":{"cursors":{"before":"B","after":"` + after + `"}`
		if next {
			p += `,"next":"https://graph.facebook.com/v24.0/x/message_templates?after=` + after + `"`
		}
		return `{"data":[` + data + `],` + p + `}}`
	}
	other := `{"id":"9","name":"order_update_v2","language":"pt_BR","status":"APPROVED","parameter_format":"POSITIONAL","components":[{"type":"BODY","text":"{{1}}"}]}`
	match := `{"id":"7","name":"order_update","language":"pt_BR","status":"APPROVED","category":"UTILITY","parameter_format":"POSITIONAL",
		"quality_score":{"score":"GREEN","date":1767225600},"components":[{"type":"HEADER","text":"{{1}}"},{"type":"BODY","text":"Olá {{1}}, pedido {{2}} saiu ({{1}})."}]}`

	t.Run("found on page 2", func(t *testing.T) {
		var (
			mu     sync.Mutex
			afters []string
		)
		ts := server(t, func(w http.ResponseWriter, r *http.Request) {
			after := r.URL.Query().Get("after")
			mu.Lock()
			afters = append(afters, after)
			mu.Unlock()
			if after == "" {
				io.WriteString(w, page("CURSOR1", other, true))
				return
			}
			io.WriteString(w, page("CURSOR2", match, false))
		})
		got, err := newClient(t, ts.URL).Template(t.Context(), "order_update", "pt_BR")
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if strings.Join(afters, ",") != ",CURSOR1" {
			t.Errorf("after cursors sent %q, want none then CURSOR1", afters)
		}
		if got.ID != "7" || got.ParamCount != 2 {
			t.Errorf("template %+v, want id 7 with 2 body parameters", got)
		}
	})
	t.Run("last page has no next", func(t *testing.T) {
		var hits atomic.Int32
		ts := server(t, func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			io.WriteString(w, page("CURSOR1", other, false))
		})
		if _, err := newClient(t, ts.URL).Template(t.Context(), "order_update", "pt_BR"); !errors.Is(err, sender.ErrTemplateNotFound) {
			t.Errorf("err = %v, want ErrTemplateNotFound", err)
		}
		if n := hits.Load(); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("endless paging is bounded", func(t *testing.T) {
		var hits atomic.Int32
		ts := server(t, func(w http.ResponseWriter, r *http.Request) {
			n := hits.Add(1)
			io.WriteString(w, page(fmt.Sprint("C", n), other, true))
		})
		if _, err := newClient(t, ts.URL).Template(t.Context(), "order_update", "pt_BR"); !errors.Is(err, sender.ErrTemplateNotFound) {
			t.Errorf("err = %v, want ErrTemplateNotFound", err)
		}
		if n := hits.Load(); n < 2 || n > 100 {
			t.Errorf("%d requests, want a few pages and a bound", n)
		}
	})
}

// A base URL that cannot be the Graph API is refused by New with a
// *ConfigError naming the field, before any request.
func TestNewRefusesBadBaseURL(t *testing.T) {
	for _, tt := range []struct {
		url, want string
	}{
		{"graph.facebook.com", "no scheme"},
		{"localhost:8080", `scheme "localhost"`},
		{"ftp://graph.facebook.com", `scheme "ftp"`},
		{"https://", "no host"},
		{"http:///v24.0", "no host"},
		{"https://graph.facebook.com/?x=1", "has a query"},
		{"https://graph.facebook.com?", "has a query"},
		{"https://graph.facebook.com/#frag", "has a fragment"},
		{"https://graph.facebook.com#", "has a fragment"},
		{"https://user:secret@graph.facebook.com", "has user info"},
		{"https://graph.facebook.com/\x7f", "not a URL"},
		{" https://graph.facebook.com", "not a URL"},
	} {
		_, err := sender.New(sender.Config{BaseURL: tt.url, Token: testToken, PhoneNumberID: phoneID})
		ce, ok := errors.AsType[*sender.ConfigError](err)
		if !ok {
			t.Errorf("New(BaseURL %q) = %v, want a *sender.ConfigError", tt.url, err)
			continue
		}
		if ce.Field != "BaseURL" || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(BaseURL %q): field %q, error %q; want BaseURL and %q", tt.url, ce.Field, err, tt.want)
		}
		if strings.Contains(err.Error(), "secret@") {
			t.Errorf("New(BaseURL %q): the user info is in the error: %v", tt.url, err)
		}
	}
	for _, ok := range []string{"", "https://graph.facebook.com", "https://graph.facebook.com/", "http://127.0.0.1:8090",
		"http://[::1]:8090/", "https://proxy.example.com/graph", "HTTPS://Graph.Facebook.com"} {
		if _, err := sender.New(sender.Config{BaseURL: ok, Token: testToken, PhoneNumberID: phoneID}); err != nil {
			t.Errorf("New(BaseURL %q): %v, want it accepted", ok, err)
		}
	}
}

// simTemplate is a simulator template that m fits: its header format, as
// many body placeholders (named as m's, for a NAMED message), and buttons
// up to the highest index m fills (a quick reply where m fills none).
func simTemplate(m sender.Message) simulator.Template {
	t := simulator.Template{Name: m.Template, Language: m.Language, Category: "MARKETING", Status: "APPROVED", Format: string(m.Format)}
	placeholder := func(i int, name string) string {
		if m.Format == sender.Named {
			return "{{" + name + "}}"
		}
		return fmt.Sprintf("{{%d}}", i+1)
	}
	if h := m.Header; h != nil {
		c := simulator.Component{Type: "HEADER", Format: strings.ToUpper(h.Type)}
		if h.Type == sender.ParamText {
			c.Text = "Our " + placeholder(0, h.Name) + " sale"
		}
		t.Components = append(t.Components, c)
	}
	body := "Hi"
	for i := range max(len(m.Params), len(m.Body)) {
		name := ""
		if i < len(m.Names) {
			name = m.Names[i]
		}
		body += " " + placeholder(i, name)
	}
	t.Components = append(t.Components, simulator.Component{Type: "BODY", Text: body})
	var buttons []simulator.Button
	for _, b := range m.Buttons {
		for len(buttons) <= b.Index {
			buttons = append(buttons, simulator.Button{Type: "QUICK_REPLY", Text: "Stop promotions"})
		}
		switch b.SubType {
		case sender.ButtonURL:
			buttons[b.Index] = simulator.Button{Type: "URL", Text: "Shop now", URL: "https://shop.example.com/c/{{1}}"}
		case sender.ButtonCopyCode:
			buttons[b.Index] = simulator.Button{Type: "COPY_CODE", Text: "Copy offer code"}
		}
	}
	if buttons != nil {
		t.Components = append(t.Components, simulator.Component{Type: "BUTTONS", Buttons: buttons})
	}
	return t
}

// uploadImage uploads a small JPEG to the simulator and returns its id.
func uploadImage(t *testing.T, url string) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("messaging_product", "whatsapp")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="spring.jpg"`)
	h.Set("Content-Type", "image/jpeg")
	fw, _ := mw.CreatePart(h)
	fw.Write([]byte("\xff\xd8\xff\xe0 a jpeg"))
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, url+"/v24.0/"+phoneID+"/media", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.ID == "" {
		t.Fatalf("upload: %v, id %q (HTTP %d)", err, out.ID, resp.StatusCode)
	}
	return out.ID
}

// Each component kind's golden body is accepted by the simulator, which
// checks it against a template of that shape as Meta does, and the
// template object it records is the golden file's, byte for byte (an
// uploaded media id stands in for the golden's id).
func TestGoldenBodiesAcceptedBySimulator(t *testing.T) {
	for _, tt := range goldenCases() {
		if !strings.HasPrefix(tt.file, "golden/") {
			continue
		}
		t.Run(tt.file, func(t *testing.T) {
			sim, ts := simServer(t, simulator.Config{Tier: -1, Templates: []simulator.Template{simTemplate(tt.m)}})
			want, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			m := tt.m
			if h := m.Header; h != nil && h.MediaID != "" {
				id := uploadImage(t, ts.URL)
				want = bytes.ReplaceAll(want, []byte(h.MediaID), []byte(id))
				hh := *h
				hh.MediaID = id
				m.Header = &hh
			}
			if _, err := newClient(t, ts.URL).SendTemplate(t.Context(), m); err != nil {
				t.Fatalf("the simulator refused the golden body: %v", err)
			}
			var sent struct {
				Template json.RawMessage `json:"template"`
			}
			if err := json.Unmarshal(want, &sent); err != nil {
				t.Fatal(err)
			}
			msgs := sim.Messages()
			if len(msgs) != 1 || !bytes.Equal(msgs[0].Template, sent.Template) {
				t.Fatalf("the simulator recorded %d messages; template\n%s\nwant\n%s", len(msgs), msgs[0].Template, sent.Template)
			}
		})
	}
}

// Leaving is called once the client holds a connection, before the API has
// the request: the send journal notes a request leaving then, not while it
// still waits for a connection. A request it refuses never reaches the API
// and is not sent; a dial that fails never calls it.
func TestSendTemplateLeaving(t *testing.T) {
	sim, ts := simServer(t, simulator.Config{})
	c := newClient(t, ts.URL)
	calls := 0
	m := orderUpdate("+5511987654321")
	m.Leaving = func() error {
		calls++
		if n := len(sim.Messages()); n != 0 {
			t.Errorf("Leaving called after the API had the request (%d messages)", n)
		}
		return nil
	}
	if _, err := c.SendTemplate(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || len(sim.Messages()) != 1 {
		t.Fatalf("Leaving called %d times, %d messages at the API; want 1 and 1", calls, len(sim.Messages()))
	}

	refusal := errors.New("journal full")
	m = orderUpdate("+5511987654322")
	m.Leaving = func() error { return refusal }
	_, err := c.SendTemplate(t.Context(), m)
	if !errors.Is(err, refusal) {
		t.Fatalf("SendTemplate = %v, want the refusal", err)
	}
	if te := transportError(t, err); te.MayHaveReached {
		t.Errorf("refused request: %+v, want not reached", te)
	}
	if n := len(sim.Messages()); n != 1 {
		t.Errorf("the API had %d messages after a refused request, want still 1", n)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	m = orderUpdate("+5511987654323")
	m.Leaving = func() error { t.Error("Leaving called for a request that found no connection"); return nil }
	if _, err := newClient(t, "http://"+addr).SendTemplate(t.Context(), m); err == nil {
		t.Error("send to a closed port: no error")
	}
}
