package simulator_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/whatsend/whatsend/sender/simulator"
)

// fixtureTemplates are the built-in templates and testdata/templates.json.
func fixtureTemplates(t *testing.T) []simulator.Template {
	t.Helper()
	b, err := os.ReadFile("testdata/templates.json")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := simulator.ParseTemplates(b)
	if err != nil {
		t.Fatalf("testdata/templates.json: %v", err)
	}
	return append(simulator.DefaultTemplates(), ts...)
}

// templateSend is a send request body with the given components JSON.
func templateSend(to, name, lang, components string) string {
	return fmt.Sprintf(`{"messaging_product":"whatsapp","to":%q,"type":"template","template":{"name":%q,"language":{"code":%q},"components":%s}}`,
		to, name, lang, components)
}

// answer decodes a send's answer: the error's code, message and details,
// or the wamid.
type answer struct {
	status           int
	code             int
	message, details string
	wamid            string
}

func sendRaw(t *testing.T, s *simulator.Sim, body string) answer {
	t.Helper()
	w := do(t, s, http.MethodPost, sendPath, "Bearer "+simulator.DefaultToken, body)
	var out struct {
		Error *struct {
			Message string `json:"message"`
			Code    int    `json:"code"`
			Data    struct {
				Details string `json:"details"`
			} `json:"error_data"`
		} `json:"error"`
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer %q: %v", w.Body, err)
	}
	a := answer{status: w.Code}
	if out.Error != nil {
		a.code, a.message, a.details = out.Error.Code, out.Error.Message, out.Error.Data.Details
	} else if len(out.Messages) == 1 {
		a.wamid = out.Messages[0].ID
	}
	return a
}

// Components JSON of the sends below.
const (
	imageLink  = `{"type":"header","parameters":[{"type":"image","image":{"link":"https://shop.example.com/img/a.jpg"}}]}`
	promoBody  = `{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":"20%"}]}`
	shopButton = `{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"spring-ana"}]}`
	stopButton = `{"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":"STOP"}]}`
	namedHead  = `{"type":"header","parameters":[{"type":"text","parameter_name":"first_name","text":"Ana"}]}`
	couponBtn  = `{"type":"button","sub_type":"copy_code","index":0,"parameters":[{"type":"coupon_code","coupon_code":"SPRING20"}]}`
)

func namedBody(code, when, total string) string {
	return `{"type":"body","parameters":[{"type":"text","parameter_name":"code","text":"` + code + `"},` + when + `,` + total + `]}`
}

const (
	whenOK  = `{"type":"date_time","parameter_name":"when","date_time":{"fallback_value":"Friday, May 1"}}`
	totalOK = `{"type":"currency","parameter_name":"total","currency":{"fallback_value":"$50.00","code":"USD","amount_1000":50000}}`
)

func jsonList(parts ...string) string { return "[" + strings.Join(parts, ",") + "]" }

// TestComponentChecks: each way a send can miss its template's components
// gets Meta's code and details (docs/cloud-api-notes.md, "Template
// components"), and only the sends that fit are accepted.
func TestComponentChecks(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1, Templates: fixtureTemplates(t)})
	named := func(parts ...string) (string, string, string) { return "coupon_named", "en_US", jsonList(parts...) }
	promo := func(parts ...string) (string, string, string) { return "spring_promo", "en_US", jsonList(parts...) }
	type send struct{ name, lang, comps string }
	mk := func(n, l, c string) send { return send{n, l, c} }
	okNamed := namedBody("SPRING20", whenOK, totalOK)
	for _, tt := range []struct {
		name    string
		send    send
		code    int
		details string // a substring; "" for an accepted send
	}{
		{"promo: image link, body, URL suffix", mk(promo(imageLink, promoBody, shopButton)), 0, ""},
		{"promo: with the quick reply's payload, any order", mk(promo(stopButton, shopButton, promoBody, imageLink)), 0, ""},
		{"promo: pt_BR", send{"spring_promo", "pt_BR", jsonList(imageLink, promoBody, shopButton)}, 0, ""},
		{"header missing", mk(promo(promoBody, shopButton)), 132012, "header: Format mismatch, expected IMAGE, received UNKNOWN"},
		{"header video for image", mk(promo(`{"type":"header","parameters":[{"type":"video","video":{"link":"https://shop.example.com/v.mp4"}}]}`, promoBody, shopButton)),
			132012, "header: Format mismatch, expected IMAGE, received VIDEO"},
		{"header text for image", mk(promo(`{"type":"header","parameters":[{"type":"text","text":"Hi"}]}`, promoBody, shopButton)),
			132012, "header: Format mismatch, expected IMAGE, received TEXT"},
		{"two header parameters", mk(promo(`{"type":"header","parameters":[{"type":"image","image":{"link":"https://a.example/1.jpg"}},{"type":"image","image":{"link":"https://a.example/2.jpg"}}]}`, promoBody, shopButton)),
			132000, "header: number of localizable_params (2) does not match the expected number of params (1)"},
		{"http link", mk(promo(`{"type":"header","parameters":[{"type":"image","image":{"link":"http://shop.example.com/a.jpg"}}]}`, promoBody, shopButton)),
			131009, "must be https"},
		{"link not a URL", mk(promo(`{"type":"header","parameters":[{"type":"image","image":{"link":"a.jpg"}}]}`, promoBody, shopButton)),
			100, "Param image['link'] is not a valid URI."},
		{"unknown media id", mk(promo(`{"type":"header","parameters":[{"type":"image","image":{"id":"123"}}]}`, promoBody, shopButton)),
			100, "Param image['id'] is not a valid whatsapp business account media attachment ID"},
		{"id and link", mk(promo(`{"type":"header","parameters":[{"type":"image","image":{"id":"1","link":"https://a.example/1.jpg"}}]}`, promoBody, shopButton)),
			100, "an id or a link, not both"},
		{"image without id or link", mk(promo(`{"type":"header","parameters":[{"type":"image","image":{}}]}`, promoBody, shopButton)),
			131008, "Parameter 'image' requires an id or a link"},
		{"image in the body", mk(promo(imageLink, `{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"image","image":{"link":"https://a.example/1.jpg"}}]}`, shopButton)),
			132012, "body: Format mismatch, expected TEXT, received IMAGE"},
		{"one body value of two", mk(promo(imageLink, `{"type":"body","parameters":[{"type":"text","text":"Ana"}]}`, shopButton)),
			132000, "body: number of localizable_params (1) does not match the expected number of params (2)"},
		{"no body", mk(promo(imageLink, shopButton)),
			132000, "body: number of localizable_params (0) does not match the expected number of params (2)"},
		{"empty body text", mk(promo(imageLink, `{"type":"body","parameters":[{"type":"text","text":"Ana"},{"type":"text","text":""}]}`, shopButton)),
			100, "Parameter 'text' is mandatory for component parameter type 'text'"},
		{"new line in a body value", mk(promo(imageLink, `{"type":"body","parameters":[{"type":"text","text":"Ana\nMaria"},{"type":"text","text":"20%"}]}`, shopButton)),
			100, "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"},
		{"tab in a body value", mk(promo(imageLink, `{"type":"body","parameters":[{"type":"text","text":"Ana\tMaria"},{"type":"text","text":"20%"}]}`, shopButton)),
			100, "Param text cannot have new-line/tab characters"},
		{"five spaces in a body value", mk(promo(imageLink, `{"type":"body","parameters":[{"type":"text","text":"Ana     Maria"},{"type":"text","text":"20%"}]}`, shopButton)),
			100, "more than 4 consecutive spaces"},
		{"four spaces are fine", mk(promo(imageLink, `{"type":"body","parameters":[{"type":"text","text":"Ana    Maria"},{"type":"text","text":"20%"}]}`, shopButton)), 0, ""},
		{"parameter_name on a positional template", mk(promo(imageLink, `{"type":"body","parameters":[{"type":"text","parameter_name":"name","text":"Ana"},{"type":"text","text":"20%"}]}`, shopButton)),
			100, "Parameter name name is not valid for a template with positional parameters"},
		{"URL button without its suffix", mk(promo(imageLink, promoBody)),
			131008, "buttons: Button at index 0 of type Url requires a parameter"},
		{"URL button with no parameter", mk(promo(imageLink, promoBody, `{"type":"button","sub_type":"url","index":"0","parameters":[]}`)),
			132000, "button: number of localizable_params (0) does not match the expected number of params (1)"},
		{"URL button given a payload", mk(promo(imageLink, promoBody, `{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"payload","payload":"x"}]}`)),
			132012, "buttons: Format mismatch, expected TEXT, received PAYLOAD"},
		{"empty URL suffix", mk(promo(imageLink, promoBody, `{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":""}]}`)),
			100, "Parameter 'text' is mandatory"},
		{"button index the template lacks", mk(promo(imageLink, promoBody, shopButton, `{"type":"button","sub_type":"quick_reply","index":"5","parameters":[{"type":"payload","payload":"x"}]}`)),
			131009, "no button at index 5"},
		{"sub_type not the button's", mk(promo(imageLink, promoBody, `{"type":"button","sub_type":"quick_reply","index":"0","parameters":[{"type":"payload","payload":"x"}]}`)),
			131009, "Button at index 0 is of type Url"},
		{"button without index", mk(promo(imageLink, promoBody, `{"type":"button","sub_type":"url","parameters":[{"type":"text","text":"x"}]}`)),
			131008, "index is required"},
		{"quick reply given text", mk(promo(imageLink, promoBody, shopButton, `{"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"text","text":"x"}]}`)),
			132012, "buttons: Format mismatch, expected PAYLOAD, received TEXT"},
		{"empty payload", mk(promo(imageLink, promoBody, shopButton, `{"type":"button","sub_type":"quick_reply","index":"1","parameters":[{"type":"payload","payload":""}]}`)),
			100, "Parameter 'payload' is mandatory"},
		{"parameter_name on a button", mk(promo(imageLink, promoBody, `{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","parameter_name":"x","text":"a"}]}`)),
			100, "not valid for a button parameter"},
		{"unknown component type", mk(promo(imageLink, promoBody, shopButton, `{"type":"footer","parameters":[]}`)),
			100, `components: type "footer" is not header, body or button`},

		{"named: text header, currency, date_time, copy code", mk(named(namedHead, okNamed, couponBtn)), 0, ""},
		{"named: body without parameter_name", mk(named(namedHead, `{"type":"body","parameters":[{"type":"text","text":"SPRING20"},`+whenOK+`,`+totalOK+`]}`, couponBtn)),
			100, "Parameter name is missing or empty"},
		{"named: header without parameter_name", mk(named(`{"type":"header","parameters":[{"type":"text","text":"Ana"}]}`, okNamed, couponBtn)),
			100, "Parameter name is missing or empty"},
		{"named: header name unknown", mk(named(`{"type":"header","parameters":[{"type":"text","parameter_name":"name","text":"Ana"}]}`, okNamed, couponBtn)),
			132000, "header: unknown parameter_name name"},
		{"named: no header value", mk(named(okNamed, couponBtn)),
			132000, "header: number of localizable_params (0) does not match the expected number of params (1)"},
		{"named: copy code missing", mk(named(namedHead, okNamed)),
			131008, "buttons: Button at index 0 of type CopyCode requires a parameter"},
		{"named: empty coupon", mk(named(namedHead, okNamed, `{"type":"button","sub_type":"copy_code","index":0,"parameters":[{"type":"coupon_code","coupon_code":""}]}`)),
			100, "Parameter 'coupon_code' is mandatory"},
		{"named: phone button as a URL", mk(named(namedHead, okNamed, couponBtn, `{"type":"button","sub_type":"url","index":"1","parameters":[{"type":"text","text":"x"}]}`)),
			131009, "Button at index 1 is of type PhoneNumber"},
		{"named: currency code lowercase", mk(named(namedHead, namedBody("A", whenOK, `{"type":"currency","parameter_name":"total","currency":{"fallback_value":"$50","code":"usd","amount_1000":50000}}`), couponBtn)),
			131009, `currency code "usd" is not an ISO 4217 code`},
		{"named: currency without amount_1000", mk(named(namedHead, namedBody("A", whenOK, `{"type":"currency","parameter_name":"total","currency":{"fallback_value":"$50","code":"USD"}}`), couponBtn)),
			131008, "currency requires fallback_value, code and amount_1000"},
		{"named: amount_1000 not an integer", mk(named(namedHead, namedBody("A", whenOK, `{"type":"currency","parameter_name":"total","currency":{"fallback_value":"$50","code":"USD","amount_1000":50.5}}`), couponBtn)),
			131009, "amount_1000 50.5 is not an integer"},
		{"named: date_time without fallback", mk(named(namedHead, namedBody("A", `{"type":"date_time","parameter_name":"when","date_time":{}}`, totalOK), couponBtn)),
			131008, "Parameter 'date_time' is mandatory"},

		{"document by link with a filename", send{"invoice_ready", "pt_BR", jsonList(`{"type":"header","parameters":[{"type":"document","document":{"link":"https://shop.example.com/f/1.pdf","filename":"fatura.pdf"}}]}`, `{"type":"body","parameters":[{"type":"text","text":"F-1"}]}`)}, 0, ""},
		{"image for a document header", send{"invoice_ready", "pt_BR", jsonList(imageLink, `{"type":"body","parameters":[{"type":"text","text":"F-1"}]}`)},
			132012, "header: Format mismatch, expected DOCUMENT, received IMAGE"},
		{"static URL button given a suffix", send{"invoice_ready", "pt_BR", jsonList(`{"type":"header","parameters":[{"type":"document","document":{"link":"https://shop.example.com/f/1.pdf"}}]}`, `{"type":"body","parameters":[{"type":"text","text":"F-1"}]}`, `{"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":"x"}]}`)},
			132000, "button: number of localizable_params (1) does not match the expected number of params (0)"},
		{"location header", send{"store_visit", "en_US", jsonList(`{"type":"header","parameters":[{"type":"location","location":{"latitude":"-23.56","longitude":-46.65,"name":"Loja","address":"Av. Paulista"}}]}`, `{"type":"body","parameters":[{"type":"text","text":"10am"}]}`)}, 0, ""},
		{"latitude out of range", send{"store_visit", "en_US", jsonList(`{"type":"header","parameters":[{"type":"location","location":{"latitude":95,"longitude":-46.65}}]}`, `{"type":"body","parameters":[{"type":"text","text":"10am"}]}`)},
			131009, "is not a latitude"},
		{"location without longitude", send{"store_visit", "en_US", jsonList(`{"type":"header","parameters":[{"type":"location","location":{"latitude":1}}]}`, `{"type":"body","parameters":[{"type":"text","text":"10am"}]}`)},
			131008, "location requires latitude and longitude"},
		{"a value for a body without placeholders", send{"video_teaser", "en_US", jsonList(`{"type":"header","parameters":[{"type":"video","video":{"link":"https://shop.example.com/v.mp4"}}]}`, `{"type":"body","parameters":[{"type":"text","text":"x"}]}`)},
			132000, "body: number of localizable_params (1) does not match the expected number of params (0)"},
		{"video header, body without placeholders left out", send{"video_teaser", "en_US", jsonList(`{"type":"header","parameters":[{"type":"video","video":{"link":"https://shop.example.com/v.mp4"}}]}`)}, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(s.Messages())
			a := sendRaw(t, s, templateSend(phone(len(tt.name)*1000+before), tt.send.name, tt.send.lang, tt.send.comps))
			if tt.code == 0 {
				if a.status != http.StatusOK || a.wamid == "" {
					t.Fatalf("HTTP %d code %d %q (%s), want accepted", a.status, a.code, a.message, a.details)
				}
				if got := len(s.Messages()); got != before+1 {
					t.Errorf("%d messages recorded, want %d", got, before+1)
				}
				return
			}
			if a.status != http.StatusBadRequest || a.code != tt.code || !strings.Contains(a.details+" "+a.message, tt.details) {
				t.Errorf("HTTP %d code %d %q details %q\nwant 400 code %d with %q", a.status, a.code, a.message, a.details, tt.code, tt.details)
			}
			if got := len(s.Messages()); got != before {
				t.Errorf("a refused send was recorded: %d messages, want %d", got, before)
			}
		})
	}
}

// TestMetaTitles: the error message is "(#code) title" with Meta's title
// for each template-misuse code.
func TestMetaTitles(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1})
	for _, tt := range []struct {
		comps, message string
	}{
		{jsonList(promoBody, shopButton), "(#132012) Parameter format does not match format in the created template"},
		{jsonList(imageLink, promoBody), "(#131008) Required parameter is missing"},
		{jsonList(`{"type":"header","parameters":[{"type":"image","image":{"link":"http://a.example/a.jpg"}}]}`, promoBody, shopButton), "(#131009) Parameter value is not valid"},
		{jsonList(imageLink, shopButton), "(#132000) Number of parameters does not match the expected number of params"},
		{jsonList(`{"type":"header","parameters":[{"type":"image","image":{"id":"9"}}]}`, promoBody, shopButton), "(#100) Param image['id'] is not a valid whatsapp business account media attachment ID"},
		{jsonList(imageLink, `{"type":"body","parameters":[{"type":"text","text":""}]}`, shopButton), "(#100) Invalid parameter"},
		{jsonList(imageLink, `{"type":"body","parameters":[{"type":"text","text":"a	b"}]}`, shopButton), "(#100) Invalid parameter"},
		{jsonList(`{"type":"header","parameters":[{"type":"image","image":{"link":"shop"}}]}`, promoBody, shopButton), "(#100) Param image['link'] is not a valid URI."},
	} {
		a := sendRaw(t, s, templateSend(phone(1), "spring_promo", "en_US", tt.comps))
		if a.message != tt.message {
			t.Errorf("%s: message %q, want %q", tt.comps, a.message, tt.message)
		}
	}
}

// TestMessagesKeepTemplate: /_sim/messages carries the request's template
// object as sent, whatever its key order and spacing.
func TestMessagesKeepTemplate(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1})
	tpl := `{ "language": {"code":"en_US"}, "name":"spring_promo",
	  "components": ` + jsonList(shopButton, imageLink, promoBody) + `}`
	body := `{"messaging_product":"whatsapp","to":"+5511987650001","type":"template","template":` + tpl + `}`
	if a := sendRaw(t, s, body); a.wamid == "" {
		t.Fatalf("send: code %d %s", a.code, a.details)
	}
	m := s.Messages()[0]
	if string(m.Template) != tpl {
		t.Errorf("Messages()[0].Template\n got %s\nwant %s", m.Template, tpl)
	}
	if m.Name != "spring_promo" || strings.Join(m.Params, "|") != "Ana|20%" {
		t.Errorf("name %q params %q, want spring_promo [Ana 20%%]", m.Name, m.Params)
	}
	var got struct {
		Messages []struct {
			Template json.RawMessage `json:"template"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(do(t, s, http.MethodGet, "/_sim/messages", "", "").Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	json.Compact(&want, []byte(tpl))
	if len(got.Messages) != 1 || string(got.Messages[0].Template) != want.String() {
		t.Errorf("/_sim/messages template %s, want %s", got.Messages, want.String())
	}
}
