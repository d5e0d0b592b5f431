package simulator_test

import (
	"encoding/json"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/whatsend/whatsend/sender/simulator"
)

// TestParseTemplatesFile: testdata/templates.json, in the shape of Meta's
// message_templates answer, loads with its components and body counts.
func TestParseTemplatesFile(t *testing.T) {
	b, err := os.ReadFile("testdata/templates.json")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := simulator.ParseTemplates(b)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		name, lang, format, category string
		params                       int
		names                        []string
		kinds                        []string
	}
	var got []summary
	for _, tpl := range ts {
		s := summary{tpl.Name, tpl.Language, tpl.Format, tpl.Category, tpl.Params, tpl.ParamNames, nil}
		for _, c := range tpl.Components {
			k := c.Type + c.Format
			for _, b := range c.Buttons {
				k += " " + b.Type
			}
			s.kinds = append(s.kinds, k)
		}
		got = append(got, s)
	}
	want := []summary{
		{"coupon_named", "en_US", "NAMED", "MARKETING", 3, []string{"code", "when", "total"}, []string{"HEADERTEXT", "BODY", "FOOTER", "BUTTONS COPY_CODE PHONE_NUMBER"}},
		{"invoice_ready", "pt_BR", "POSITIONAL", "UTILITY", 1, nil, []string{"HEADERDOCUMENT", "BODY", "BUTTONS URL"}},
		{"store_visit", "en_US", "POSITIONAL", "UTILITY", 1, nil, []string{"HEADERLOCATION", "BODY"}},
		{"video_teaser", "en_US", "POSITIONAL", "MARKETING", 0, nil, []string{"HEADERVIDEO", "BODY"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseTemplates\n got %+v\nwant %+v", got, want)
	}
}

// TestParseTemplatesRefuses: a bad file is refused naming the entry and
// the component at fault.
func TestParseTemplatesRefuses(t *testing.T) {
	entry := func(fields string) string {
		return `{"data":[{"name":"ok","language":"en_US","components":[{"type":"BODY","text":"Hi"}]},` + fields + `]}`
	}
	for _, tt := range []struct {
		name, file, want string
	}{
		{"not JSON", "{\"data\":[\n{\"name\":}", "line 2: not JSON"},
		{"no data", `{"templates":[]}`, `no "data" list`},
		{"no name", entry(`{"language":"en_US","components":[{"type":"BODY","text":"Hi"}]}`), `data[1] (? "en_US"): no name`},
		{"no language", entry(`{"name":"x","components":[{"type":"BODY","text":"Hi"}]}`), `data[1] ("x" ?): no language`},
		{"no body", entry(`{"name":"x","language":"en_US","components":[{"type":"FOOTER","text":"f"}]}`), `data[1] ("x" "en_US"): no BODY component`},
		{"component type", entry(`{"name":"x","language":"en_US","components":[{"type":"HADER","format":"TEXT"}]}`), `components[0] (HADER): type "HADER": want HEADER, BODY, FOOTER or BUTTONS`},
		{"header format", entry(`{"name":"x","language":"en_US","components":[{"type":"HEADER","format":"GIF"},{"type":"BODY","text":"Hi"}]}`), `components[0] (HEADER): format "GIF"`},
		{"two header params", entry(`{"name":"x","language":"en_US","components":[{"type":"HEADER","format":"TEXT","text":"{{1}} {{2}}"},{"type":"BODY","text":"Hi"}]}`), "at most one parameter, not 2"},
		{"named placeholder in a positional body", entry(`{"name":"x","language":"en_US","components":[{"type":"BODY","text":"Hi {{name}}"}]}`), "{{name}} is not a POSITIONAL parameter"},
		{"positional placeholder in a named body", entry(`{"name":"x","language":"en_US","parameter_format":"NAMED","components":[{"type":"BODY","text":"Hi {{1}}"}]}`), "{{1}} is not a NAMED parameter name"},
		{"a skipped placeholder", entry(`{"name":"x","language":"en_US","components":[{"type":"BODY","text":"Hi {{1}} {{3}}"}]}`), "skip {{2}}"},
		{"parameter_format", entry(`{"name":"x","language":"en_US","parameter_format":"MIXED","components":[{"type":"BODY","text":"Hi"}]}`), `parameter_format "MIXED"`},
		{"button type", entry(`{"name":"x","language":"en_US","components":[{"type":"BODY","text":"Hi"},{"type":"BUTTONS","buttons":[{"type":"LINK","text":"a"}]}]}`), `components[1] (BUTTONS): buttons[0]: type "LINK"`},
		{"URL button without url", entry(`{"name":"x","language":"en_US","components":[{"type":"BODY","text":"Hi"},{"type":"BUTTONS","buttons":[{"type":"URL","text":"a"}]}]}`), "buttons[0] (URL): no url"},
		{"URL placeholder not at the end", entry(`{"name":"x","language":"en_US","components":[{"type":"BODY","text":"Hi"},{"type":"BUTTONS","buttons":[{"type":"URL","text":"a","url":"https://a.example/{{1}}/x"}]}]}`), "a dynamic URL ends in {{1}}"},
		{"phone button without number", entry(`{"name":"x","language":"en_US","components":[{"type":"BODY","text":"Hi"},{"type":"BUTTONS","buttons":[{"type":"PHONE_NUMBER","text":"a"}]}]}`), "no phone_number"},
		{"same name and language twice", entry(`{"name":"ok","language":"en_US","components":[{"type":"BODY","text":"Hi"}]}`), `data[1] ("ok" "en_US"): the same name and language as data[0]`},
		{"a second BODY", entry(`{"name":"x","language":"en_US","components":[{"type":"BODY","text":"Hi"},{"type":"body","text":"Ho"}]}`), "components[1] (BODY): a second BODY component"},
	} {
		_, err := simulator.ParseTemplates([]byte(tt.file))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one with %q", tt.name, err, tt.want)
		}
	}
}

// TestListingComponents: the listing answers each template's real
// components, spring_promo's as the contract gives them and a loaded
// template's as its file has them.
func TestListingComponents(t *testing.T) {
	s := simulator.New(simulator.Config{Latency: -1, Templates: fixtureTemplates(t)})
	components := func(name, lang string) any {
		t.Helper()
		l, code := list(t, s, templatesPath+"?name="+name+"&language="+lang+"&fields="+url.QueryEscape("name,components"))
		if code != 200 || len(l.Data) != 1 {
			t.Fatalf("listing %s %s: HTTP %d, %d entries", name, lang, code, len(l.Data))
		}
		return l.Data[0]["components"]
	}
	decode := func(s string) any {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	promo := decode(`[
		{"type":"HEADER","format":"IMAGE","example":{"header_handle":["https://shop.example.com/img/spring.jpg"]}},
		{"type":"BODY","text":"Hi {{1}}, {{2}} off everything this week.","example":{"body_text":[["Ana","20%"]]}},
		{"type":"FOOTER","text":"Reply STOP to opt out"},
		{"type":"BUTTONS","buttons":[
			{"type":"URL","text":"Shop now","url":"https://shop.example.com/c/{{1}}","example":["https://shop.example.com/c/spring-ana"]},
			{"type":"QUICK_REPLY","text":"Stop promotions"}]}]`)
	if got := components("spring_promo", "en_US"); !reflect.DeepEqual(got, promo) {
		t.Errorf("spring_promo components\n got %v\nwant %v", got, promo)
	}
	invoice := decode(`[{"type":"HEADER","format":"DOCUMENT"},{"type":"BODY","text":"Sua fatura {{1}} está pronta."},
		{"type":"BUTTONS","buttons":[{"type":"URL","text":"Ver faturas","url":"https://shop.example.com/faturas"}]}]`)
	if got := components("invoice_ready", "pt_BR"); !reflect.DeepEqual(got, invoice) {
		t.Errorf("invoice_ready components\n got %v\nwant %v", got, invoice)
	}
	// A template given by a count keeps its fabricated BODY.
	if got, want := components("order_update", "en_US"), decode(`[{"type":"BODY","text":"Hello {{1}} {{2}}"}]`); !reflect.DeepEqual(got, want) {
		t.Errorf("order_update components %v, want %v", got, want)
	}
	// The pt_BR spring_promo is listed too.
	if l, _ := list(t, s, templatesPath+"?name=spring_promo"); len(l.Data) != 2 {
		t.Errorf("spring_promo languages: %d entries, want en_US and pt_BR", len(l.Data))
	}
}

// FuzzParseTemplates: any input is parsed or refused, never a panic, and
// a parsed template has a BODY whose placeholders are its Params.
func FuzzParseTemplates(f *testing.F) {
	if b, err := os.ReadFile("testdata/templates.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"data":[{"name":"a","language":"en","parameter_format":"NAMED","components":[{"type":"BODY","text":"{{x}} {{y}} {{x}}"}]}]}`))
	f.Add([]byte(`{"data":[{"name":"a","language":"en","components":[{"type":"header","format":"text","text":"{{1}}"},{"type":"BODY","text":"{{2}}{{1}}"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ts, err := simulator.ParseTemplates(b)
		if err != nil {
			return
		}
		for _, tpl := range ts {
			var body *simulator.Component
			for i := range tpl.Components {
				if tpl.Components[i].Type == "BODY" {
					body = &tpl.Components[i]
				}
			}
			if body == nil {
				t.Fatalf("%s: parsed without a BODY", tpl.Name)
			}
			if tpl.Format == "NAMED" && len(tpl.ParamNames) != tpl.Params {
				t.Fatalf("%s: %d names for %d params", tpl.Name, len(tpl.ParamNames), tpl.Params)
			}
			if n := strings.Count(body.Text, "{{"); n < tpl.Params {
				t.Fatalf("%s: %d params from a body with %d placeholders", tpl.Name, tpl.Params, n)
			}
		}
	})
}
