package simulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
)

const sendPath = "/v24.0/" + simulator.DefaultPhoneNumberID + "/messages"

// msg is a send request as the client writes it (cloud-api.md §1).
type msg struct {
	to, template, lang, callback string
	params, names                []string
}

func order(to string) msg {
	return msg{to: to, template: "order_update", lang: "en_US", params: []string{"Ana", "A-77120"}}
}

func (m msg) json() string {
	ps := []map[string]string{}
	for i, v := range m.params {
		p := map[string]string{"type": "text", "text": v}
		if m.names != nil {
			p["parameter_name"] = m.names[i]
		}
		ps = append(ps, p)
	}
	b := map[string]any{"messaging_product": "whatsapp", "recipient_type": "individual", "to": m.to, "type": "template",
		"template": map[string]any{"name": m.template, "language": map[string]string{"code": m.lang},
			"components": []any{map[string]any{"type": "body", "parameters": ps}}}}
	if m.callback != "" {
		b["biz_opaque_callback_data"] = m.callback
	}
	out, _ := json.Marshal(b)
	return string(out)
}

// reply is what the simulator answered to a send.
type reply struct {
	status  int
	code    int
	subcode int
	typ     string
	details string
	wamid   string
}

func (r reply) String() string {
	if r.code != 0 {
		return fmt.Sprintf("HTTP %d code %d (%s)", r.status, r.code, r.details)
	}
	return fmt.Sprintf("HTTP %d %s", r.status, r.wamid)
}

// do serves one request with the simulator's handler, no socket. The
// request gives up after 10 s (at once in a synctest bubble), so a handler
// that wrongly hangs fails the test instead of blocking it.
func do(t *testing.T, s *simulator.Sim, method, path, auth, body string) *httptest.ResponseRecorder {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

func sendAs(t *testing.T, s *simulator.Sim, auth string, m msg) reply {
	t.Helper()
	w := do(t, s, http.MethodPost, sendPath, auth, m.json())
	var out struct {
		Error *struct {
			Type    string `json:"type"`
			Code    int    `json:"code"`
			Subcode int    `json:"error_subcode"`
			Data    struct {
				Details string `json:"details"`
			} `json:"error_data"`
		} `json:"error"`
		Messages []struct {
			ID     string `json:"id"`
			Status string `json:"message_status"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("send to %s: answer %q: %v", m.to, w.Body, err)
	}
	r := reply{status: w.Code}
	if out.Error != nil {
		r.code, r.subcode, r.typ, r.details = out.Error.Code, out.Error.Subcode, out.Error.Type, out.Error.Data.Details
	} else if len(out.Messages) == 1 && out.Messages[0].Status == "accepted" {
		r.wamid = out.Messages[0].ID
	} else {
		t.Fatalf("send to %s: answer %s is neither an error nor one accepted message", m.to, w.Body)
	}
	return r
}

func send(t *testing.T, s *simulator.Sim, m msg) reply {
	t.Helper()
	return sendAs(t, s, "Bearer "+simulator.DefaultToken, m)
}

// mustAccept sends and fails the test unless the message was accepted.
func mustAccept(t *testing.T, s *simulator.Sim, m msg) string {
	t.Helper()
	r := send(t, s, m)
	if r.status != http.StatusOK || r.wamid == "" {
		t.Fatalf("send to %s: %v, want accepted", m.to, r)
	}
	return r.wamid
}

// mustRefuse sends and fails the test unless Meta's code came back with
// its HTTP status.
func mustRefuse(t *testing.T, s *simulator.Sim, m msg, status, code int) reply {
	t.Helper()
	r := send(t, s, m)
	if r.status != status || r.code != code {
		t.Fatalf("send to %s: %v, want HTTP %d code %d", m.to, r, status, code)
	}
	return r
}

func phone(i int) string { return fmt.Sprintf("+55119%08d", i) }

func control(t *testing.T, s *simulator.Sim, body string) int {
	t.Helper()
	w := do(t, s, http.MethodPost, "/_sim/control", "", body)
	var out struct {
		OK bool `json:"ok"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.OK != (w.Code == http.StatusOK) {
		t.Fatalf("control %s: answer %d %q", body, w.Code, w.Body)
	}
	return w.Code
}

func mustControl(t *testing.T, s *simulator.Sim, body string) {
	t.Helper()
	if code := control(t, s, body); code != http.StatusOK {
		t.Fatalf("control %s: HTTP %d", body, code)
	}
}

func stats(t *testing.T, s *simulator.Sim) string {
	t.Helper()
	return strings.TrimSpace(do(t, s, http.MethodGet, "/_sim/stats", "", "").Body.String())
}

// TestThroughputBucket: 80 msg/s per number, a bucket of one second
// (cloud-api.md §4.1), refilled with time.
func TestThroughputBucket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := simulator.New(simulator.Config{MPS: 80, Tier: -1, Latency: -1})
		n := 0
		next := func() msg { n++; return order(phone(n)) }
		for range 80 {
			mustAccept(t, s, next())
		}
		r := mustRefuse(t, s, next(), 400, 130429)
		if r.typ != "OAuthException" || r.details == "" {
			t.Errorf("130429 answer %+v, want type OAuthException and details", r)
		}
		time.Sleep(10 * time.Millisecond) // 0.8 of a token
		mustRefuse(t, s, next(), 400, 130429)
		time.Sleep(4 * time.Millisecond) // 1.12 tokens since the burst
		mustAccept(t, s, next())
		mustRefuse(t, s, next(), 400, 130429)

		// A long pause fills the bucket to one second's worth, no more.
		time.Sleep(time.Minute)
		for range 80 {
			mustAccept(t, s, next())
		}
		mustRefuse(t, s, next(), 400, 130429)
		if got, want := stats(t, s), `{"accepted":161,"by_code":{"130429":4}}`; got != want {
			t.Errorf("stats %s, want %s", got, want)
		}
	})
}

// TestPairLimiter: a GCRA per recipient with an interval and a burst
// (cloud-api.md §4.2): burst quick sends pass, the next gets 131056, one
// more passes per interval, and the whole burst is back only after the time
// the burst would have taken at the normal rate.
func TestPairLimiter(t *testing.T) {
	for _, tt := range []struct {
		burst    int
		interval time.Duration
	}{
		{1, 6 * time.Second},
		{3, 2 * time.Second},
		{45, 6 * time.Second},
		{0, 6 * time.Second}, // the defaults: Meta's 45 in 6 s
	} {
		t.Run(fmt.Sprintf("burst %d interval %s", tt.burst, tt.interval), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := simulator.New(simulator.Config{MPS: 1000, Tier: -1, Latency: -1, PairBurst: tt.burst, PairInterval: tt.interval})
				burst, interval := tt.burst, tt.interval
				if burst == 0 {
					burst, interval = 45, 6*time.Second
				}
				ana := order("+5511987654321")
				for range burst {
					mustAccept(t, s, ana)
				}
				r := mustRefuse(t, s, ana, 400, 131056)
				if r.subcode != 2494055 || r.typ != "OAuthException" {
					t.Errorf("131056 answer %+v, want subcode 2494055, type OAuthException", r)
				}
				// Other recipients are not affected (cloud-api.md §4.2).
				mustAccept(t, s, order("+5511900000002"))

				time.Sleep(interval - time.Millisecond)
				mustRefuse(t, s, ana, 400, 131056)
				time.Sleep(time.Millisecond)
				mustAccept(t, s, ana)
				mustRefuse(t, s, ana, 400, 131056)

				// The burst and the extra send borrowed burst+1 intervals;
				// one has passed.
				time.Sleep(time.Duration(burst) * interval)
				for range burst {
					mustAccept(t, s, ana)
				}
				mustRefuse(t, s, ana, 400, 131056)
			})
		})
	}
}

// TestTierWindow: unique recipients per rolling 24 h (cloud-api.md §4.3).
func TestTierWindow(t *testing.T) {
	t.Run("tier 250", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := simulator.New(simulator.Config{MPS: 1000, Tier: 250, Latency: -1})
			for i := range 250 {
				mustAccept(t, s, order(phone(i)))
			}
			// A repeat recipient does not count twice.
			mustAccept(t, s, order(phone(0)))
			mustAccept(t, s, order(phone(249)))
			r := mustRefuse(t, s, order(phone(250)), 400, 131048)
			if !strings.Contains(r.details, "250") {
				t.Errorf("over-tier details %q do not name the limit", r.details)
			}
			// A refused recipient is not counted either.
			mustRefuse(t, s, order(phone(251)), 400, 131048)
			mustAccept(t, s, order(phone(1)))

			before := s.Now()
			mustControl(t, s, `{"advance":"24h"}`)
			if d := s.Now().Sub(before); d != 24*time.Hour {
				t.Errorf("advance moved the clock %s, want 24h", d)
			}
			for i := range 250 {
				mustAccept(t, s, order(phone(1000+i)))
			}
			mustRefuse(t, s, order(phone(2000)), 400, 131048)
			if got, want := stats(t, s), `{"accepted":503,"by_code":{"131048":3}}`; got != want {
				t.Errorf("stats %s, want %s", got, want)
			}
		})
	})
	t.Run("rolling, not a calendar day", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := simulator.New(simulator.Config{MPS: 1000, Tier: 2, Latency: -1})
			mustAccept(t, s, order(phone(1))) // counts until t0+24h
			time.Sleep(12 * time.Hour)
			mustAccept(t, s, order(phone(2))) // counts until t0+36h
			mustRefuse(t, s, order(phone(3)), 400, 131048)
			time.Sleep(12*time.Hour - time.Second)
			mustRefuse(t, s, order(phone(3)), 400, 131048)
			time.Sleep(time.Second)
			mustAccept(t, s, order(phone(3)))
			mustRefuse(t, s, order(phone(4)), 400, 131048)
			// A recipient counts for 24 h after its latest send.
			mustAccept(t, s, order(phone(2))) // now counts until t0+48h
			time.Sleep(12 * time.Hour)
			mustRefuse(t, s, order(phone(4)), 400, 131048)
		})
	})
	t.Run("unlimited and a configured code", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := simulator.New(simulator.Config{MPS: 1e6, Tier: -1, Latency: -1})
			for i := range 3000 {
				mustAccept(t, s, order(phone(i)))
			}
			s = simulator.New(simulator.Config{Tier: 1, OverTierCode: 131064, Latency: -1})
			mustAccept(t, s, order(phone(1)))
			mustRefuse(t, s, order(phone(2)), 400, 131064)
		})
	})
}

func healthJSON(t *testing.T, s *simulator.Sim, path, auth string) map[string]any {
	t.Helper()
	w := do(t, s, http.MethodGet, path, auth, "")
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", path, w.Code, w.Body)
	}
	var h map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestControl(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1, Templates: []simulator.Template{
		{Name: "order_update", Language: "en_US", Params: 2},
		{Name: "order_update", Language: "pt_BR", Params: 2},
	}})
	h := healthJSON(t, s, "/_sim/health", "")
	if h["quality_rating"] != "GREEN" || h["status"] != "CONNECTED" || h["whatsapp_business_manager_messaging_limit"] != "TIER_250" {
		t.Errorf("new number %v, want GREEN, CONNECTED, TIER_250", h)
	}

	mustControl(t, s, `{"quality":"red","status":"FLAGGED","tier":2000,"throughput_level":"HIGH"}`)
	h = healthJSON(t, s, "/v24.0/"+simulator.DefaultPhoneNumberID+"?fields=quality_rating,quality_score,status,throughput,whatsapp_business_manager_messaging_limit,messaging_limit_tier",
		"Bearer "+simulator.DefaultToken)
	want := map[string]any{"id": simulator.DefaultPhoneNumberID, "quality_rating": "RED", "quality_score": map[string]any{"score": "RED"},
		"status": "FLAGGED", "throughput": map[string]any{"level": "HIGH"},
		"whatsapp_business_manager_messaging_limit": "TIER_2K", "messaging_limit_tier": "TIER_2K"}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("phone number fields\n got %v\nwant %v", h, want)
	}
	// The client reads the same through the in-process transport.
	c, err := sender.New(sender.Config{BaseURL: "http://simulator.invalid", Token: simulator.DefaultToken,
		PhoneNumberID: simulator.DefaultPhoneNumberID, Transport: s.Transport()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.PhoneHealth(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.Quality != "RED" || got.Status != "FLAGGED" || got.ThroughputLevel != "HIGH" || got.Limit.Users != 2000 {
		t.Errorf("PhoneHealth %+v, want RED, FLAGGED, HIGH, 2000 users", got)
	}
	mustControl(t, s, `{"tier":-1}`)
	if h := healthJSON(t, s, "/_sim/health", ""); h["whatsapp_business_manager_messaging_limit"] != "TIER_UNLIMITED" {
		t.Errorf("tier -1 shows as %v, want TIER_UNLIMITED", h["whatsapp_business_manager_messaging_limit"])
	}

	pt := order("+5511900000001")
	pt.lang = "pt_BR"
	mustControl(t, s, `{"template":{"name":"order_update","status":"PAUSED"}}`)
	mustRefuse(t, s, order("+5511900000002"), 400, 132015)
	mustRefuse(t, s, pt, 400, 132015)
	mustControl(t, s, `{"template":{"name":"order_update","language":"en_US","status":"DISABLED"}}`)
	mustRefuse(t, s, order("+5511900000003"), 400, 132016)
	mustRefuse(t, s, pt, 400, 132015) // pt_BR untouched
	mustControl(t, s, `{"template":{"name":"order_update","status":"APPROVED"}}`)
	mustAccept(t, s, order("+5511900000004"))
	mustAccept(t, s, pt)

	mustControl(t, s, `{"fault_131056":1}`)
	mustRefuse(t, s, order("+5511900000005"), 400, 131056)
	mustControl(t, s, `{"fault_131056":0}`)
	mustAccept(t, s, order("+5511900000005"))

	for _, bad := range []string{`{"template":{"name":"nope","status":"PAUSED"}}`, `{"advance":"-1h"}`, `{"advance":"tomorrow"}`, `not json`} {
		if code := control(t, s, bad); code != http.StatusBadRequest {
			t.Errorf("control %s: HTTP %d, want 400", bad, code)
		}
	}
	if w := do(t, s, http.MethodGet, "/_sim/control", "", ""); w.Code != http.StatusNotFound {
		t.Errorf("GET /_sim/control: HTTP %d, want 404", w.Code)
	}
}

// TestInspectionShapes pins the JSON of /_sim/messages and /_sim/stats,
// which scripts and tests read.
func TestInspectionShapes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := simulator.New(simulator.Config{Latency: -1, PairBurst: 1})
		if got := strings.TrimSpace(do(t, s, http.MethodGet, "/_sim/messages", "", "").Body.String()); got != `{"cut_off":[],"messages":[]}` {
			t.Errorf("no messages: %s, want an empty list", got)
		}
		if got, want := stats(t, s), `{"accepted":0,"by_code":{}}`; got != want {
			t.Errorf("no sends: stats %s, want %s", got, want)
		}

		a := order("+5511987654321")
		a.callback = "c=17;r=4821;a=1"
		w1 := mustAccept(t, s, a)
		mustRefuse(t, s, a, 400, 131056)
		time.Sleep(90 * time.Second)
		mustRefuse(t, s, msg{to: "+14155550123", template: "hello", lang: "en_US"}, 404, 132001)
		w2 := mustAccept(t, s, order("+14155550123"))

		var got struct {
			Messages []map[string]any `json:"messages"`
		}
		if err := json.Unmarshal(do(t, s, http.MethodGet, "/_sim/messages", "", "").Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		// "template" is the request's template object as sent.
		var sent struct {
			Template any `json:"template"`
		}
		if err := json.Unmarshal([]byte(a.json()), &sent); err != nil {
			t.Fatal(err)
		}
		want := []map[string]any{
			{"to": "+5511987654321", "wa_id": "5511987654321", "template": sent.Template, "name": "order_update", "language": "en_US", "params": []any{"Ana", "A-77120"},
				"wamid": w1, "callback": "c=17;r=4821;a=1", "time": "2000-01-01T00:00:00Z", "received": "2000-01-01T00:00:00Z"},
			{"to": "+14155550123", "wa_id": "14155550123", "template": sent.Template, "name": "order_update", "language": "en_US", "params": []any{"Ana", "A-77120"},
				"wamid": w2, "callback": "", "time": "2000-01-01T00:01:30Z", "received": "2000-01-01T00:01:30Z"},
		}
		if !reflect.DeepEqual(got.Messages, want) {
			t.Errorf("/_sim/messages\n got %v\nwant %v", got.Messages, want)
		}
		for _, m := range got.Messages {
			if _, err := time.Parse(time.RFC3339, m["time"].(string)); err != nil {
				t.Errorf("time %v is not RFC 3339: %v", m["time"], err)
			}
		}
		if got, want := stats(t, s), `{"accepted":2,"by_code":{"131056":1,"132001":1}}`; got != want {
			t.Errorf("stats %s, want %s", got, want)
		}
		if got := s.Stats(); got.Accepted != 2 || got.ByCode["131056"] != 1 {
			t.Errorf("Stats() = %+v, want the same counts", got)
		}
	})
}

func TestTokenCheck(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1})
	paths := []struct{ method, path string }{
		{http.MethodPost, sendPath},
		{http.MethodGet, "/v24.0/" + simulator.DefaultPhoneNumberID + "?fields=quality_rating"},
		{http.MethodGet, "/v24.0/" + simulator.DefaultWABAID + "/message_templates?name=order_update"},
	}
	bad := []string{"", "Bearer", "Bearer wrong", simulator.DefaultToken, "Bearer " + simulator.DefaultToken + "x"}
	for _, p := range paths {
		for _, auth := range bad {
			w := do(t, s, p.method, p.path, auth, order("+5511987654321").json())
			var env struct {
				Error struct {
					Code int    `json:"code"`
					Type string `json:"type"`
				} `json:"error"`
			}
			json.Unmarshal(w.Body.Bytes(), &env)
			if w.Code != http.StatusUnauthorized || env.Error.Code != 190 || env.Error.Type != "OAuthException" {
				t.Errorf("%s %s with Authorization %q: HTTP %d %s, want 401 code 190", p.method, p.path, auth, w.Code, w.Body)
			}
		}
		if w := do(t, s, p.method, p.path, "Bearer "+simulator.DefaultToken, order("+5511987654321").json()); w.Code != http.StatusOK {
			t.Errorf("%s %s with the token: HTTP %d %s", p.method, p.path, w.Code, w.Body)
		}
	}
	if got, want := stats(t, s), fmt.Sprintf(`{"accepted":1,"by_code":{"190":%d}}`, len(paths)*len(bad)); got != want {
		t.Errorf("stats %s, want %s", got, want)
	}
	// A custom token replaces the default.
	s = simulator.New(simulator.Config{Token: "other", Latency: -1})
	if r := send(t, s, order("+5511987654321")); r.status != 401 || r.code != 190 {
		t.Errorf("default token on a simulator with another: %v, want 401 code 190", r)
	}
	if r := sendAs(t, s, "Bearer other", order("+5511987654321")); r.status != 200 {
		t.Errorf("custom token: %v, want accepted", r)
	}
}

func TestTemplateChecks(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1, Templates: []simulator.Template{
		{Name: "order_update", Language: "en_US", Params: 2},
		{Name: "order_named", Language: "pt_BR", Format: "NAMED", ParamNames: []string{"first_name", "order_id"}},
		{Name: "new_promo", Language: "en_US", Status: "PENDING", Params: 0},
	}})
	n := 0
	with := func(template, lang string, params []string, names []string) msg {
		n++
		return msg{to: phone(n), template: template, lang: lang, params: params, names: names}
	}
	for _, tt := range []struct {
		name         string
		m            msg
		status, code int
	}{
		{"unknown name", with("no_such", "en_US", nil, nil), 404, 132001},
		{"en is not en_US", with("order_update", "en", []string{"a", "b"}, nil), 404, 132001},
		{"not approved", with("new_promo", "en_US", nil, nil), 404, 132001},
		{"too few values", with("order_update", "en_US", []string{"a"}, nil), 400, 132000},
		{"too many values", with("order_update", "en_US", []string{"a", "b", "c"}, nil), 400, 132000},
		{"no values", with("order_update", "en_US", nil, nil), 400, 132000},
		{"unknown parameter_name", with("order_named", "pt_BR", []string{"Ana", "1"}, []string{"first_name", "order"}), 400, 132000},
		{"parameter_name twice", with("order_named", "pt_BR", []string{"Ana", "Bia"}, []string{"first_name", "first_name"}), 400, 132000},
		{"named, any order", with("order_named", "pt_BR", []string{"1", "Ana"}, []string{"order_id", "first_name"}), 200, 0},
		{"positional", with("order_update", "en_US", []string{"a", "b"}, nil), 200, 0},
	} {
		if r := send(t, s, tt.m); r.status != tt.status || r.code != tt.code {
			t.Errorf("%s: %v, want HTTP %d code %d", tt.name, r, tt.status, tt.code)
		}
	}
	if got := len(s.Messages()); got != 2 {
		t.Errorf("%d messages recorded, want only the 2 accepted", got)
	}
}

func TestRequestValidation(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1})
	long := order("+5511987654321")
	long.callback = strings.Repeat("x", 513)
	for _, tt := range []struct {
		name, body string
		code       int
	}{
		{"not JSON", `{"messaging_product":`, 100},
		{"wrong product", strings.Replace(order("+5511987654321").json(), `"whatsapp"`, `"sms"`, 1), 131008},
		{"no recipient", order("").json(), 131008},
		{"no template", `{"messaging_product":"whatsapp","to":"+5511987654321","type":"template"}`, 131008},
		{"not a template", strings.Replace(order("+5511987654321").json(), `"type":"template"`, `"type":"text"`, 1), 131008},
		{"callback over 512", long.json(), 131008},
	} {
		w := do(t, s, http.MethodPost, sendPath, "Bearer "+simulator.DefaultToken, tt.body)
		var env struct {
			Error struct {
				Code int `json:"code"`
			} `json:"error"`
		}
		json.Unmarshal(w.Body.Bytes(), &env)
		if w.Code != http.StatusBadRequest || env.Error.Code != tt.code {
			t.Errorf("%s: HTTP %d %s, want 400 code %d", tt.name, w.Code, w.Body, tt.code)
		}
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages recorded from invalid requests", n)
	}
}

// TestUndeliverableDeterministic: the share of undeliverable recipients
// sticks to the same numbers across runs and seeds.
func TestUndeliverableDeterministic(t *testing.T) {
	flags := func(seed int64, rate float64) []bool {
		s := simulator.New(simulator.Config{Seed: seed, UndeliverableRate: rate, MPS: 1e6, Tier: -1, Latency: -1})
		for i := range 1000 {
			mustAccept(t, s, order(phone(i)))
		}
		var out []bool
		for _, m := range s.Messages() {
			out = append(out, m.Undeliverable)
		}
		return out
	}
	count := func(fs []bool) (n int) {
		for _, f := range fs {
			if f {
				n++
			}
		}
		return n
	}
	a, b, other := flags(7, 0.3), flags(7, 0.3), flags(8, 0.3)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(a, other) {
		t.Error("undeliverable recipients differ between runs")
	}
	if n := count(a); n < 250 || n > 350 {
		t.Errorf("%d of 1000 undeliverable at rate 0.3", n)
	}
	if n := count(flags(7, 0)); n != 0 {
		t.Errorf("%d undeliverable at rate 0", n)
	}
	if n := count(flags(7, 1)); n != 1000 {
		t.Errorf("%d of 1000 undeliverable at rate 1", n)
	}
	// A higher rate keeps the numbers of a lower one.
	higher := flags(7, 0.5)
	for i := range a {
		if a[i] && !higher[i] {
			t.Fatalf("recipient %d undeliverable at 0.3 but not at 0.5", i)
		}
	}
	// The flag shows in /_sim/messages.
	s := simulator.New(simulator.Config{UndeliverableRate: 1, Latency: -1})
	mustAccept(t, s, order("+5511987654321"))
	if body := do(t, s, http.MethodGet, "/_sim/messages", "", "").Body.String(); !strings.Contains(body, `"undeliverable":true`) {
		t.Errorf("/_sim/messages %s lacks the undeliverable flag", body)
	}
}

// TestFailFaultSeeded: injected 131000 answers follow the seed, so a run
// can be repeated exactly.
func TestFailFaultSeeded(t *testing.T) {
	run := func(seed int64) (codes []int, st simulator.Stats, recorded int) {
		s := simulator.New(simulator.Config{Seed: seed, FailRate: 0.5, MPS: 1e6, Tier: -1, Latency: -1})
		for i := range 200 {
			r := send(t, s, order(phone(i)))
			if r.code != 0 && (r.code != 131000 || r.status != 500) {
				t.Fatalf("send %d: %v, want accepted or HTTP 500 code 131000", i, r)
			}
			codes = append(codes, r.code)
		}
		return codes, s.Stats(), len(s.Messages())
	}
	a, st, recorded := run(42)
	b, _, _ := run(42)
	c, _, _ := run(43)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave different answers")
	}
	if reflect.DeepEqual(a, c) {
		t.Error("different seeds gave the same 200 answers")
	}
	failed := st.ByCode["131000"]
	if failed < 60 || failed > 140 || st.Accepted != 200-failed || recorded != st.Accepted {
		t.Errorf("fail rate 0.5: %d failed, %d accepted, %d recorded of 200", failed, st.Accepted, recorded)
	}
}

func newClient(t *testing.T, s *simulator.Sim, timeout time.Duration) *sender.Client {
	t.Helper()
	c, err := sender.New(sender.Config{BaseURL: "http://simulator.invalid", Token: simulator.DefaultToken,
		PhoneNumberID: simulator.DefaultPhoneNumberID, Timeout: timeout, Transport: s.Transport()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func clientMessage(to string) sender.Message {
	return sender.Message{To: to, Template: "order_update", Language: "en_US", Params: []string{"Ana", "A-77120"}}
}

// The hang fault holds the request until the client gives up; nothing is
// recorded. In a bubble the client's 30 s timeout passes at once.
func TestHangFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := simulator.New(simulator.Config{HangRate: 1, Latency: -1})
		start := time.Now()
		_, err := newClient(t, s, 0).SendTemplate(t.Context(), clientMessage("+5511987654321"))
		te, ok := errors.AsType[*sender.TransportError](err)
		if !ok || !te.Timeout || !te.MayHaveReached {
			t.Fatalf("error %v, want a timeout that may have reached", err)
		}
		if d := time.Since(start); d != 30*time.Second {
			t.Errorf("gave up after %s, want the default 30s", d)
		}
		if n := len(s.Messages()); n != 0 {
			t.Errorf("%d messages recorded by a hang", n)
		}
	})
}

// Latency is served in simulated time: 20 ms ± 10 ms by default.
func TestLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := simulator.New(simulator.Config{Tier: -1, MPS: 1000})
		c := newClient(t, s, 0)
		for i := range 50 {
			start := time.Now()
			if _, err := c.SendTemplate(t.Context(), clientMessage(phone(i))); err != nil {
				t.Fatal(err)
			}
			if d := time.Since(start); d < 10*time.Millisecond || d >= 30*time.Millisecond {
				t.Errorf("send %d took %s, want 10 ms to 30 ms", i, d)
			}
		}
	})
}

func TestTransportCancelledContext(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := newClient(t, s, 0).SendTemplate(ctx, clientMessage("+5511987654321"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if st := s.Stats(); st.Accepted != 0 || len(st.ByCode) != 0 {
		t.Errorf("stats %+v after a cancelled send, want nothing", st)
	}
}

// TestQualityModel: with the model on, 131056 answers turn the rating RED.
func TestQualityModel(t *testing.T) {
	for _, model := range []bool{false, true} {
		s := simulator.New(simulator.Config{QualityModel: model, Fault131056: 1, MPS: 1000, Latency: -1})
		for i := range 49 {
			mustRefuse(t, s, order(phone(i)), 400, 131056)
		}
		if q := healthJSON(t, s, "/_sim/health", "")["quality_rating"]; q != "GREEN" {
			t.Errorf("model %v: quality %v after 49 answers, want GREEN until 50 are seen", model, q)
		}
		mustRefuse(t, s, order(phone(49)), 400, 131056)
		want := "GREEN"
		if model {
			want = "RED"
		}
		if q := healthJSON(t, s, "/_sim/health", "")["quality_rating"]; q != want {
			t.Errorf("model %v: quality %v after 50 answers of 131056, want %s", model, q, want)
		}
	}
}

// Many senders at once: every send is answered once, the counts add up and
// every wamid is distinct (run with -race).
func TestConcurrentSends(t *testing.T) {
	s := simulator.New(simulator.Config{MPS: 1e6, Tier: -1, Latency: -1})
	c := newClient(t, s, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if _, err := c.SendTemplate(t.Context(), clientMessage(phone(g*1000+i))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	msgs := s.Messages()
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.WAMID] = true
	}
	if st := s.Stats(); st.Accepted != 400 || len(msgs) != 400 || len(seen) != 400 {
		t.Errorf("accepted %d, recorded %d, distinct wamids %d, want 400 each", st.Accepted, len(msgs), len(seen))
	}
}

// TestStatsInFlight: /_sim/stats counts the sends waiting out their
// latency (what a client killed at that instant leaves unanswered), and a
// send whose client goes away leaves the count and is recorded cut off,
// with when it arrived; the accepted ones carry their arrival and answer
// times.
func TestStatsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := simulator.New(simulator.Config{Tier: -1, Latency: 100 * time.Millisecond})
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Go(func() { mustAccept(t, s, order(phone(i+1))) })
		}
		ctx, cancel := context.WithCancel(t.Context())
		wg.Go(func() {
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, sendPath, strings.NewReader(order(phone(9)).json()))
			req.Header.Set("Authorization", "Bearer "+simulator.DefaultToken)
			s.ServeHTTP(httptest.NewRecorder(), req)
		})
		synctest.Wait()
		if got := s.Stats().InFlight; got != 4 {
			t.Errorf("in flight during the latency = %d, want 4", got)
		}
		time.Sleep(30 * time.Millisecond)
		cancelAt := time.Now()
		cancel() // the client of the fourth send is gone
		synctest.Wait()
		if got := s.Stats().InFlight; got != 3 {
			t.Errorf("in flight after a client left = %d, want 3", got)
		}
		time.Sleep(70 * time.Millisecond)
		wg.Wait()
		if got, want := stats(t, s), `{"accepted":3,"by_code":{},"cut_off":1}`; got != want {
			t.Errorf("stats %s, want %s", got, want)
		}
		if cut := s.CutOffs(); len(cut) != 1 || cut[0].To != phone(9) || !cut[0].Received.Equal(cancelAt.Add(-30*time.Millisecond)) || !cut[0].At.Equal(cancelAt) {
			t.Errorf("cut off = %+v, want %s received 30 ms before %v, cut off then", cut, phone(9), cancelAt)
		}
		for _, m := range s.Messages() {
			if got := m.Time.Sub(m.Received); got != 100*time.Millisecond {
				t.Errorf("%s answered %v after it arrived, want the 100 ms latency", m.To, got)
			}
		}
	})
}
