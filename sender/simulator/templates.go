package simulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Template is a simulated message template.
type Template struct {
	ID, Name, Language, Category, Status, Quality string
	Format                                        string // POSITIONAL or NAMED
	// Params and ParamNames are the body's placeholders. With Components
	// set they are read from its BODY text; without, the template is a
	// BODY "Hello {{1}} {{2}}…" of that many placeholders.
	Params     int
	ParamNames []string
	// Components are Meta's (HEADER, BODY, FOOTER, BUTTONS), as the
	// message_templates edge lists them (cloud-api.md §3).
	Components []Component
}

// Component is one component of a template, in the shape of Meta's
// message_templates answer.
type Component struct {
	Type    string          `json:"type"`             // HEADER, BODY, FOOTER or BUTTONS
	Format  string          `json:"format,omitempty"` // HEADER: TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION
	Text    string          `json:"text,omitempty"`
	Buttons []Button        `json:"buttons,omitempty"`
	Example json.RawMessage `json:"example,omitempty"`
}

// Button is one button of a template's BUTTONS component.
type Button struct {
	Type        string          `json:"type"` // URL, QUICK_REPLY, COPY_CODE or PHONE_NUMBER
	Text        string          `json:"text"`
	URL         string          `json:"url,omitempty"` // dynamic when it ends in {{1}}
	PhoneNumber string          `json:"phone_number,omitempty"`
	Example     json.RawMessage `json:"example,omitempty"`
}

// Dynamic reports whether a URL button takes a suffix parameter.
func (b Button) Dynamic() bool { return b.Type == "URL" && strings.Contains(b.URL, "{{") }

// DefaultTemplates are the templates of a simulator configured with none:
// order_update (en_US, UTILITY, 2 positional body parameters) and the
// promotion demo spring_promo (en_US and pt_BR, MARKETING, an IMAGE
// header, 2 body parameters, a footer, a dynamic URL button and a quick
// reply).
func DefaultTemplates() []Template {
	promo := func(lang, body, footer, shop, stop string) Template {
		return Template{Name: "spring_promo", Language: lang, Category: "MARKETING", Status: "APPROVED", Format: "POSITIONAL",
			Components: []Component{
				{Type: "HEADER", Format: "IMAGE", Example: json.RawMessage(`{"header_handle":["https://shop.example.com/img/spring.jpg"]}`)},
				{Type: "BODY", Text: body, Example: json.RawMessage(`{"body_text":[["Ana","20%"]]}`)},
				{Type: "FOOTER", Text: footer},
				{Type: "BUTTONS", Buttons: []Button{
					{Type: "URL", Text: shop, URL: "https://shop.example.com/c/{{1}}", Example: json.RawMessage(`["https://shop.example.com/c/spring-ana"]`)},
					{Type: "QUICK_REPLY", Text: stop},
				}},
			}}
	}
	return []Template{
		{Name: "order_update", Language: "en_US", Category: "UTILITY", Status: "APPROVED", Params: 2},
		promo("en_US", "Hi {{1}}, {{2}} off everything this week.", "Reply STOP to opt out", "Shop now", "Stop promotions"),
		promo("pt_BR", "Oi {{1}}, {{2}} de desconto em tudo esta semana.", "Responda PARAR para sair", "Comprar", "Parar promoções"),
	}
}

// placeholderRE finds {{1}} or {{first_name}} in a component's text.
var placeholderRE = regexp.MustCompile(`\{\{\s*([^{}\s]*)\s*\}\}`)

// namedRE is a NAMED template's placeholder: lowercase letters, digits and
// underscores, starting with a letter or underscore (Meta's rule for
// parameter names).
var namedRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// placeholders returns the distinct placeholders of text in order of
// first appearance, checked against format: POSITIONAL wants {{1}}…{{n}},
// each number from 1 to n; NAMED wants lowercase names.
func placeholders(text, format string) ([]string, error) {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		p := m[1]
		if format == "NAMED" {
			if !namedRE.MatchString(p) {
				return nil, fmt.Errorf("placeholder {{%s}} is not a NAMED parameter name (lowercase letters, digits, underscores)", p)
			}
		} else if n, err := strconv.Atoi(p); err != nil || n < 1 {
			return nil, fmt.Errorf("placeholder {{%s}} is not a POSITIONAL parameter ({{1}}, {{2}}, …)", p)
		}
		if !contains(out, p) {
			out = append(out, p)
		}
	}
	if format != "NAMED" {
		for i := range out {
			if !contains(out, strconv.Itoa(i+1)) {
				return nil, fmt.Errorf("placeholders %v skip {{%d}}", out, i+1)
			}
		}
	}
	return out, nil
}

// component returns t's component of type typ, or nil.
func (t *Template) component(typ string) *Component {
	for i := range t.Components {
		if t.Components[i].Type == typ {
			return &t.Components[i]
		}
	}
	return nil
}

// buttons returns t's buttons, in index order.
func (t *Template) buttons() []Button {
	if c := t.component("BUTTONS"); c != nil {
		return c.Buttons
	}
	return nil
}

// headerParams returns the placeholders of a TEXT header.
func (t *Template) headerParams() []string {
	h := t.component("HEADER")
	if h == nil || h.Format != "TEXT" {
		return nil
	}
	ps, _ := placeholders(h.Text, t.Format)
	return ps
}

// normalize fills a template's components from Params/ParamNames, or its
// Params/ParamNames from its BODY: the send checks read both.
func (t *Template) normalize() {
	if len(t.Components) == 0 {
		if len(t.ParamNames) > 0 {
			t.Params = len(t.ParamNames)
		}
		body := "Hello"
		for i := 1; i <= t.Params; i++ {
			if t.Format == "NAMED" && i <= len(t.ParamNames) {
				body += " {{" + t.ParamNames[i-1] + "}}"
			} else {
				body += fmt.Sprintf(" {{%d}}", i)
			}
		}
		t.Components = []Component{{Type: "BODY", Text: body}}
		return
	}
	t.Params, t.ParamNames = 0, nil
	if b := t.component("BODY"); b != nil {
		ps, _ := placeholders(b.Text, t.Format)
		t.Params = len(ps)
		if t.Format == "NAMED" {
			t.ParamNames = ps
		}
	}
}

// templateEntry is one entry of Meta's message_templates answer.
type templateEntry struct {
	ID              string      `json:"id"`
	Name            string      `json:"name"`
	Language        string      `json:"language"`
	Status          string      `json:"status"`
	Category        string      `json:"category"`
	ParameterFormat string      `json:"parameter_format"`
	Components      []Component `json:"components"`
	QualityScore    *struct {
		Score string `json:"score"`
	} `json:"quality_score"`
}

// ParseTemplates reads templates in the JSON shape of Meta's
// GET /{waba-id}/message_templates answer, {"data":[{name, language,
// status, category, parameter_format, components}]}, and checks each
// entry as Meta would have approved it. An error names the entry
// (data[i], its name and language) and the component at fault.
func ParseTemplates(b []byte) ([]Template, error) {
	var f struct {
		Data *[]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("line %d: not JSON: %w", 1+bytes.Count(b[:se.Offset], []byte("\n")), err)
		}
		return nil, fmt.Errorf("not the JSON of a message_templates answer: %w", err)
	}
	if f.Data == nil {
		return nil, fmt.Errorf(`no "data" list: want {"data":[{"name":…,"language":…,"components":[…]}]}`)
	}
	var out []Template
	seen := map[string]int{}
	for i, raw := range *f.Data {
		var e templateEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("data[%d]: %w", i, err)
		}
		where := fmt.Sprintf("data[%d] (%s %s)", i, cmpQuote(e.Name), cmpQuote(e.Language))
		t, err := e.template()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		key := t.Name + "\x00" + t.Language
		if j, dup := seen[key]; dup {
			return nil, fmt.Errorf("%s: the same name and language as data[%d]", where, j)
		}
		seen[key] = i
		out = append(out, t)
	}
	return out, nil
}

func cmpQuote(s string) string {
	if s == "" {
		return "?"
	}
	return strconv.Quote(s)
}

// template checks an entry and turns it into a Template.
func (e templateEntry) template() (Template, error) {
	t := Template{ID: e.ID, Name: e.Name, Language: e.Language, Status: strings.ToUpper(e.Status),
		Category: strings.ToUpper(e.Category), Format: strings.ToUpper(e.ParameterFormat)}
	if e.QualityScore != nil {
		t.Quality = strings.ToUpper(e.QualityScore.Score)
	}
	switch {
	case t.Name == "":
		return t, fmt.Errorf("no name")
	case t.Language == "":
		return t, fmt.Errorf("no language")
	case t.Format != "" && t.Format != "POSITIONAL" && t.Format != "NAMED":
		return t, fmt.Errorf("parameter_format %q: want POSITIONAL or NAMED", e.ParameterFormat)
	}
	if t.Format == "" {
		t.Format = "POSITIONAL"
	}
	seen := map[string]bool{}
	for i, c := range e.Components {
		c.Type = strings.ToUpper(c.Type)
		c.Format = strings.ToUpper(c.Format)
		where := fmt.Sprintf("components[%d] (%s)", i, c.Type)
		if seen[c.Type] {
			return t, fmt.Errorf("%s: a second %s component", where, c.Type)
		}
		seen[c.Type] = true
		if err := checkComponent(&c, t.Format); err != nil {
			return t, fmt.Errorf("%s: %w", where, err)
		}
		t.Components = append(t.Components, c)
	}
	if !seen["BODY"] {
		return t, fmt.Errorf("no BODY component")
	}
	t.normalize()
	return t, nil
}

// checkComponent checks one component of a template definition.
func checkComponent(c *Component, format string) error {
	switch c.Type {
	case "HEADER":
		switch c.Format {
		case "TEXT":
			ps, err := placeholders(c.Text, format)
			if err != nil {
				return err
			}
			if len(ps) > 1 {
				return fmt.Errorf("a TEXT header takes at most one parameter, not %d", len(ps))
			}
		case "IMAGE", "VIDEO", "DOCUMENT", "LOCATION":
		default:
			return fmt.Errorf("format %q: want TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION", c.Format)
		}
	case "BODY":
		if c.Text == "" {
			return fmt.Errorf("no text")
		}
		if _, err := placeholders(c.Text, format); err != nil {
			return err
		}
	case "FOOTER":
		if strings.Contains(c.Text, "{{") {
			return fmt.Errorf("a footer takes no parameters")
		}
	case "BUTTONS":
		if len(c.Buttons) == 0 || len(c.Buttons) > 10 {
			return fmt.Errorf("%d buttons: want 1 to 10", len(c.Buttons))
		}
		for j := range c.Buttons {
			b := &c.Buttons[j]
			b.Type = strings.ToUpper(b.Type)
			switch b.Type {
			case "URL":
				if b.URL == "" {
					return fmt.Errorf("buttons[%d] (URL): no url", j)
				}
				if n := len(placeholderRE.FindAllString(b.URL, -1)); n > 1 || n == 1 && !strings.HasSuffix(b.URL, "{{1}}") {
					return fmt.Errorf("buttons[%d] (URL): url %q: a dynamic URL ends in {{1}}, its only parameter", j, b.URL)
				}
			case "PHONE_NUMBER":
				if b.PhoneNumber == "" {
					return fmt.Errorf("buttons[%d] (PHONE_NUMBER): no phone_number", j)
				}
			case "QUICK_REPLY", "COPY_CODE":
			default:
				return fmt.Errorf("buttons[%d]: type %q: want URL, QUICK_REPLY, COPY_CODE or PHONE_NUMBER", j, b.Type)
			}
		}
	default:
		return fmt.Errorf("type %q: want HEADER, BODY, FOOTER or BUTTONS", c.Type)
	}
	return nil
}
