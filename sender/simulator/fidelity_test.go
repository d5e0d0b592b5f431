package simulator_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
)

// TestRecipientNormalised: Meta keys a user by the digits of to, so one
// number written three ways is one user for the pair rate and the tier;
// wa_id is the digits and input echoes what was sent (cloud-api-notes.md,
// "Recipients").
func TestRecipientNormalised(t *testing.T) {
	forms := []string{"+5511987650001", "5511987650001", "+55 11 98765-0001", "+55 (11) 98765-0001"}
	t.Run("answer", func(t *testing.T) {
		s := simulator.New(simulator.Config{Latency: -1})
		for i, to := range forms {
			if i > 0 {
				s.Control(simulator.Control{Advance: "7s"}) // past the pair interval
			}
			w := do(t, s, http.MethodPost, sendPath, "Bearer "+simulator.DefaultToken, order(to).json())
			var out struct {
				Contacts []struct {
					Input string `json:"input"`
					WAID  string `json:"wa_id"`
				} `json:"contacts"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out.Contacts) != 1 {
				t.Fatalf("to %q: answer %s", to, w.Body)
			}
			if c := out.Contacts[0]; c.Input != to || c.WAID != "5511987650001" {
				t.Errorf("to %q: contacts %+v, want input %q and wa_id 5511987650001", to, c, to)
			}
		}
	})
	t.Run("pair rate", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := simulator.New(simulator.Config{Latency: -1, PairBurst: 1, Tier: -1})
			mustAccept(t, s, order(forms[0]))
			for _, to := range forms[1:] {
				mustRefuse(t, s, order(to), 400, 131056)
			}
			time.Sleep(6 * time.Second)
			mustAccept(t, s, order(forms[2]))
		})
	})
	t.Run("tier", func(t *testing.T) {
		s := simulator.New(simulator.Config{Latency: -1, Tier: 1})
		for _, to := range forms {
			mustAccept(t, s, order(to))
		}
		mustRefuse(t, s, order("+5511987650002"), 400, 131048)
	})
	t.Run("no digits", func(t *testing.T) {
		s := simulator.New(simulator.Config{Latency: -1})
		if r := send(t, s, order("+()")); r.code != 100 || r.status != 400 {
			t.Errorf("to +(): %v, want HTTP 400 code 100", r)
		}
	})
}

// listing is a message_templates answer.
type listing struct {
	Data   []map[string]any `json:"data"`
	Paging *struct {
		Cursors struct {
			Before string `json:"before"`
			After  string `json:"after"`
		} `json:"cursors"`
		Next     string `json:"next"`
		Previous string `json:"previous"`
	} `json:"paging"`
}

const templatesPath = "/v24.0/" + simulator.DefaultWABAID + "/message_templates"

func list(t *testing.T, s *simulator.Sim, target string) (listing, int) {
	t.Helper()
	w := do(t, s, http.MethodGet, target, "Bearer "+simulator.DefaultToken, "")
	var out listing
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("GET %s: %s: %v", target, w.Body, err)
	}
	return out, w.Code
}

func names(l listing) []string {
	var out []string
	for _, d := range l.Data {
		out = append(out, d["name"].(string))
	}
	return out
}

// manyTemplates: 60 templates, every third MARKETING, every fifth PAUSED,
// every fourth pt_BR.
func manyTemplates() []simulator.Template {
	var ts []simulator.Template
	for i := range 60 {
		t := simulator.Template{Name: fmt.Sprintf("tpl_%02d", i), Language: "en_US", Category: "UTILITY", Params: 1}
		if i%3 == 0 {
			t.Category = "MARKETING"
		}
		if i%5 == 0 {
			t.Status = "PAUSED"
		}
		if i%4 == 0 {
			t.Language = "pt_BR"
		}
		ts = append(ts, t)
	}
	return ts
}

// TestTemplateListing: the message_templates edge's filters, fields, limit
// and cursor paging, with paging.next a full URL on the simulator's own
// base URL that a client follows as is (cloud-api-notes.md, "Templates").
func TestTemplateListing(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1, Templates: manyTemplates()})
	all := func(keep func(i int) bool) []string {
		var out []string
		for i := range 60 {
			if keep(i) {
				out = append(out, fmt.Sprintf("tpl_%02d", i))
			}
		}
		return out
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"status=PAUSED", all(func(i int) bool { return i%5 == 0 })},
		{"category=MARKETING", all(func(i int) bool { return i%3 == 0 })},
		{"language=pt_BR&status=APPROVED", all(func(i int) bool { return i%4 == 0 && i%5 != 0 })},
		{"name=tpl_1", all(func(i int) bool { return i >= 10 && i < 20 })},
		{"category=MARKETING,UTILITY&language=en_US&status=APPROVED,PAUSED", all(func(i int) bool { return i%4 != 0 })},
	} {
		// Follow paging.next to the end, 7 a page.
		var got []string
		next := "http://sim.test" + templatesPath + "?limit=7&" + tt.query
		for pages := 0; next != ""; pages++ {
			if pages > 20 {
				t.Fatalf("%s: paging does not end", tt.query)
			}
			u, err := url.Parse(next)
			if err != nil || u.Host != "sim.test" || u.Path != templatesPath {
				t.Fatalf("%s: next %q is not a full URL on the simulator's base URL", tt.query, next)
			}
			l, code := list(t, s, next)
			if code != 200 || len(l.Data) > 7 || l.Paging == nil {
				t.Fatalf("%s: HTTP %d, %d templates, paging %v", tt.query, code, len(l.Data), l.Paging)
			}
			got = append(got, names(l)...)
			next = l.Paging.Next
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: listed %v, want %v", tt.query, got, tt.want)
		}
	}

	t.Run("default page, cursors", func(t *testing.T) {
		p1, _ := list(t, s, templatesPath)
		if len(p1.Data) != 25 || p1.Paging.Next == "" || p1.Paging.Previous != "" {
			t.Fatalf("first page: %d templates, paging %+v; want 25 and a next only", len(p1.Data), p1.Paging)
		}
		p2, _ := list(t, s, templatesPath+"?after="+url.QueryEscape(p1.Paging.Cursors.After))
		if names(p2)[0] != "tpl_25" || p2.Paging.Previous == "" {
			t.Errorf("after the first page: %v, previous %q", names(p2), p2.Paging.Previous)
		}
		back, _ := list(t, s, templatesPath+"?before="+url.QueryEscape(p2.Paging.Cursors.Before))
		if !slices.Equal(names(back), names(p1)) {
			t.Errorf("before the second page: %v, want the first %v", names(back), names(p1))
		}
		p3, _ := list(t, s, templatesPath+"?after="+url.QueryEscape(p2.Paging.Cursors.After))
		if len(p3.Data) != 10 || p3.Paging.Next != "" {
			t.Errorf("last page: %d templates, next %q; want 10 and no next", len(p3.Data), p3.Paging.Next)
		}
	})
	t.Run("fields", func(t *testing.T) {
		l, _ := list(t, s, templatesPath+"?fields=name,status&limit=2")
		for _, d := range l.Data {
			var keys []string
			for k := range d {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if !slices.Equal(keys, []string{"id", "name", "status"}) {
				t.Errorf("fields=name,status: keys %v, want id, name, status", keys)
			}
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, q := range []string{"fields=name,colour", "limit=0", "limit=x", "after=bogus"} {
			w := do(t, s, http.MethodGet, templatesPath+"?"+q, "Bearer "+simulator.DefaultToken, "")
			if w.Code != 400 || !strings.Contains(w.Body.String(), `"code":100`) {
				t.Errorf("%s: HTTP %d %s, want 400 code 100", q, w.Code, w.Body)
			}
		}
	})
}

// countingTransport counts round trips.
type countingTransport struct {
	rt http.RoundTripper
	n  int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n++
	return c.rt.RoundTrip(r)
}

// TestClientTemplatePaging: whatsend's own template lookup follows the
// simulator's paging to a template on the second page.
func TestClientTemplatePaging(t *testing.T) {
	var ts []simulator.Template
	for i := range 120 {
		ts = append(ts, simulator.Template{Name: fmt.Sprintf("promo_%03d", i), Language: "en_US", Params: 1})
	}
	ts = append(ts, simulator.Template{Name: "promo", Language: "pt_BR", Category: "MARKETING", Params: 2})
	s := simulator.New(simulator.Config{Latency: -1, Templates: ts})
	rt := &countingTransport{rt: s.Transport()}
	c, err := sender.New(sender.Config{BaseURL: "http://sim.test", Token: simulator.DefaultToken,
		PhoneNumberID: simulator.DefaultPhoneNumberID, WABAID: simulator.DefaultWABAID, Transport: rt})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Template(t.Context(), "promo", "pt_BR")
	if err != nil || got.Name != "promo" || got.ParamCount != 2 {
		t.Fatalf("Template(promo, pt_BR) = %+v, %v", got, err)
	}
	if rt.n != 2 {
		t.Errorf("%d requests, want 2: the lookup should page past the first 100", rt.n)
	}
}

// TestPhoneNumberRead: without fields Meta answers verified_name,
// display_phone_number, quality_rating and id (cloud-api-notes.md).
func TestPhoneNumberRead(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1})
	for _, tt := range []struct {
		query string
		want  map[string]any
	}{
		{"", map[string]any{"id": simulator.DefaultPhoneNumberID, "verified_name": simulator.DefaultVerifiedName,
			"display_phone_number": "+1 555-000-1111", "quality_rating": "GREEN"}},
		{"?fields=display_phone_number,status", map[string]any{"id": simulator.DefaultPhoneNumberID,
			"display_phone_number": "+1 555-000-1111", "status": "CONNECTED"}},
	} {
		w := do(t, s, http.MethodGet, "/v24.0/"+simulator.DefaultPhoneNumberID+tt.query, "Bearer "+simulator.DefaultToken, "")
		var got map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("GET phone number%s: %s, want %v", tt.query, w.Body, tt.want)
		}
	}
}

// TestTemplateMisuseCodes: the codes, messages and details Meta answers
// when a template's parameters are misused (cloud-api-notes.md,
// "Template misuse").
func TestTemplateMisuseCodes(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1, Templates: []simulator.Template{
		{Name: "order_update", Language: "en_US", Params: 2},
		{Name: "order_named", Language: "pt_BR", Format: "NAMED", ParamNames: []string{"first_name", "order_id"}},
	}})
	n := 0
	with := func(template, lang string, params, names []string) msg {
		n++
		return msg{to: phone(n), template: template, lang: lang, params: params, names: names}
	}
	for _, tt := range []struct {
		name             string
		m                msg
		code             int
		message, details string
	}{
		{"named sent positionally", with("order_named", "pt_BR", []string{"Ana", "1"}, nil),
			100, "(#100) Invalid parameter", "Parameter name is missing or empty"},
		{"named, one name empty", with("order_named", "pt_BR", []string{"Ana", "1"}, []string{"first_name", ""}),
			100, "(#100) Invalid parameter", "Parameter name is missing or empty"},
		{"empty text, positional", with("order_update", "en_US", []string{"Ana", ""}, nil),
			100, "(#100) Invalid parameter", "Parameter 'text' is mandatory for component parameter type 'text'"},
		{"empty text, named", with("order_named", "pt_BR", []string{"", "1"}, []string{"first_name", "order_id"}),
			100, "(#100) Invalid parameter", "Parameter 'text' is mandatory for component parameter type 'text'"},
		{"parameter_name on positional", with("order_update", "en_US", []string{"Ana", "1"}, []string{"name", "order"}),
			100, "(#100) Invalid parameter", "Parameter name name is not valid for a template with positional parameters"},
		{"count", with("order_update", "en_US", []string{"Ana"}, nil),
			132000, "(#132000) Number of parameters does not match the expected number of params", "body: number of localizable_params (1) does not match the expected number of params (2)"},
	} {
		w := do(t, s, http.MethodPost, sendPath, "Bearer "+simulator.DefaultToken, tt.m.json())
		var out struct {
			Error struct {
				Message string `json:"message"`
				Code    int    `json:"code"`
				Data    struct {
					Details string `json:"details"`
				} `json:"error_data"`
			} `json:"error"`
		}
		json.Unmarshal(w.Body.Bytes(), &out)
		if e := out.Error; w.Code != 400 || e.Code != tt.code || e.Message != tt.message || e.Data.Details != tt.details {
			t.Errorf("%s: HTTP %d %s\nwant 400 code %d %q, details %q", tt.name, w.Code, w.Body, tt.code, tt.message, tt.details)
		}
	}
	if got := len(s.Messages()); got != 0 {
		t.Errorf("%d messages recorded from refused sends", got)
	}
}

// statusesOf decodes every status in the sink's notifications.
func statusesOf(t *testing.T, k *sink) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, p := range k.all() {
		var env struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						Statuses []map[string]any `json:"statuses"`
					} `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(p.body, &env); err != nil {
			t.Fatalf("%s: %v", p.body, err)
		}
		for _, e := range env.Entry {
			for _, c := range e.Changes {
				out = append(out, c.Value.Statuses...)
			}
		}
	}
	return out
}

// TestStatusDetails: pricing on sent and delivered, never on read (Meta:
// on sent and one of delivered/read); a 131049 failure has Meta's title,
// message and details (cloud-api-notes.md, "Statuses").
func TestStatusDetails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{ReadRate: 1, MarketingLimitRate: 1, Templates: []simulator.Template{
			{Name: "order_update", Language: "en_US", Params: 2},
			{Name: "promo", Language: "en_US", Category: "MARKETING", Params: 2},
		}})
		mustAccept(t, s, order(phone(1)))
		promo := order(phone(2))
		promo.template = "promo"
		mustAccept(t, s, promo)
		if err := s.FlushWebhooks(t.Context()); err != nil {
			t.Fatal(err)
		}
		priced := map[string]bool{}
		var failed map[string]any
		for _, st := range statusesOf(t, k) {
			priced[st["status"].(string)] = st["pricing"] != nil
			if st["status"] == "failed" {
				failed = st["errors"].([]any)[0].(map[string]any)
			}
		}
		if want := map[string]bool{"sent": true, "delivered": true, "read": false, "failed": false}; !reflect.DeepEqual(priced, want) {
			t.Errorf("pricing by status %v, want %v", priced, want)
		}
		want := map[string]any{"code": float64(131049),
			"title":      "This message was not delivered to maintain healthy ecosystem engagement.",
			"message":    "This message was not delivered to maintain healthy ecosystem engagement.",
			"error_data": map[string]any{"details": "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."},
			"href":       "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}
		if !reflect.DeepEqual(failed, want) {
			t.Errorf("131049 error %v\nwant %v", failed, want)
		}
	})
}

// TestSignedEscapedJSON: Meta sends and signs the body with non-ASCII
// characters \u-escaped in lowercase hex and "/" as "\/"; the simulator
// does the same, so a Meta-faithful parser verifies every notification
// (cloud-api-notes.md, "Signatures").
func TestSignedEscapedJSON(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{ReadRate: -1})
		m := order(phone(1))
		m.callback = "café/Zoë 😀 <a&b>"
		mustAccept(t, s, m)
		if err := s.FlushWebhooks(t.Context()); err != nil {
			t.Fatal(err)
		}
		posts := k.all()
		if len(posts) == 0 {
			t.Fatal("no notification")
		}
		for _, p := range posts {
			for i, b := range p.body {
				if b >= 0x80 {
					t.Fatalf("byte %d of %s is not ASCII", i, p.body)
				}
			}
			if want := `"biz_opaque_callback_data":"caf\u00e9\/Zo\u00eb \ud83d\ude00 <a&b>"`; !strings.Contains(string(p.body), want) {
				t.Errorf("body %s\nwant it to hold %s", p.body, want)
			}
			if want := simulator.Signature(testSecret, p.body); p.sig != want {
				t.Errorf("signature %s, want %s over the escaped body", p.sig, want)
			}
			var env struct {
				Entry []struct {
					Changes []struct {
						Value struct {
							Statuses []struct {
								Callback string `json:"biz_opaque_callback_data"`
							} `json:"statuses"`
						} `json:"value"`
					} `json:"changes"`
				} `json:"entry"`
			}
			if err := json.Unmarshal(p.body, &env); err != nil || env.Entry[0].Changes[0].Value.Statuses[0].Callback != m.callback {
				t.Errorf("decoded callback %+v (%v), want %q", env, err, m.callback)
			}
		}
	})
}
