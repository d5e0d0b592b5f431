// Package sender talks to Meta's WhatsApp Cloud API: the client (send a
// template, read the number's health, read a template), the error catalog,
// and, in sender/simulator, a faithful local stand-in for the API.
package sender

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Errors of the template lookup.
var (
	ErrTemplateNotFound = errors.New("template not found")
	ErrNoWABA           = errors.New("no WhatsApp Business Account id: template checks need --waba-id")
)

// MaxCallback is the longest biz_opaque_callback_data Meta accepts (§1).
const MaxCallback = 512

// maxBody bounds what is read of an answer.
const maxBody = 1 << 20

// Config configures a Client. Zero values mean the defaults.
type Config struct {
	BaseURL       string // default DefaultBaseURL
	Version       string // default DefaultVersion
	PhoneNumberID string
	WABAID        string
	Token         Secret
	Timeout       time.Duration     // per request, default 30 s
	MaxConns      int               // connections per host, default 512: the engine keeps up to rate × latency requests in flight (1,000 msg/s × 150 ms needs 150; 64 capped it at ~427 msg/s)
	Transport     http.RoundTripper // e.g. the simulator's in-process transport
}

// Client is a Cloud API client. It is safe for concurrent use.
type Client struct {
	cfg  Config // without the token
	http *http.Client
	base string
	// token sits behind a pointer: fmt prints an unexported field's value
	// raw, without calling Secret's String, so %+v of a Client would
	// otherwise show it; a pointer prints as an address. The redactor
	// holds pieces of it, so it is a pointer too.
	token    *Secret
	redactor *redactor
}

// New returns a client.
func New(cfg Config) (*Client, error) {
	if cfg.PhoneNumberID == "" {
		return nil, &ConfigError{Field: "PhoneNumberID", Err: errors.New("a phone number id is required")}
	}
	if cfg.Token == "" {
		return nil, &ConfigError{Field: "Token", Err: errors.New("an access token is required")}
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if err := checkBaseURL(cfg.BaseURL); err != nil {
		return nil, &ConfigError{Field: "BaseURL", Value: withoutUserinfo(cfg.BaseURL), Err: err}
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 512
	}
	rt := cfg.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = cfg.MaxConns * 2
		t.MaxIdleConnsPerHost = cfg.MaxConns
		t.MaxConnsPerHost = cfg.MaxConns
		t.IdleConnTimeout = 90 * time.Second
		rt = t
	}
	token := cfg.Token
	cfg.Token = ""
	// Never follow a redirect: net/http would re-send the Authorization
	// header (and a POST's body) to any host of the same domain, and a
	// redirect from the Graph API means the URL is wrong anyway. The 3xx
	// answer comes back to do, which reports it.
	hc := &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Client{cfg: cfg, http: hc, base: strings.TrimRight(cfg.BaseURL, "/") + "/" + cfg.Version,
		token: &token, redactor: newRedactor(token.Reveal())}, nil
}

// checkBaseURL refuses a base URL that cannot be the Graph API (or a
// stand-in for it): requests would fail one by one, or worse, go somewhere
// unintended with the token.
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	switch {
	case u.Scheme == "":
		return errors.New("no scheme: want http:// or https://, e.g. https://graph.facebook.com")
	case !strings.EqualFold(u.Scheme, "http") && !strings.EqualFold(u.Scheme, "https"):
		return fmt.Errorf("scheme %q: want http or https, e.g. https://graph.facebook.com", u.Scheme)
	case u.User != nil:
		// Credentials in the URL would be stored with the campaign's
		// settings and quoted by net/http's errors.
		return errors.New("has user info: put no credentials in the URL")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("no host")
	case u.RawQuery != "" || u.ForceQuery:
		return errors.New("has a query: the API URL is a base (scheme, host, optional path)")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return errors.New("has a fragment: the API URL is a base (scheme, host, optional path)")
	}
	return nil
}

// withoutUserinfo is a URL for an error message: any user info (a password)
// is dropped.
func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// Close releases idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// ForNumber returns a client sending from another phone number of the
// same business, sharing this one's connections and token.
func (c *Client) ForNumber(phoneNumberID string) *Client {
	d := *c
	d.cfg.PhoneNumberID = phoneNumberID
	return &d
}

// wireParam is one entry of a component's "parameters" (cloud-api.md §1,
// docs/cloud-api-notes.md "Template components"): type, parameter_name,
// then the value under the key its type names.
type wireParam struct {
	Type       string        `json:"type"`
	Name       string        `json:"parameter_name,omitempty"`
	Text       *string       `json:"text,omitempty"`
	Payload    *string       `json:"payload,omitempty"`
	CouponCode *string       `json:"coupon_code,omitempty"`
	Image      *wireMedia    `json:"image,omitempty"`
	Video      *wireMedia    `json:"video,omitempty"`
	Document   *wireMedia    `json:"document,omitempty"`
	Location   *wireLocation `json:"location,omitempty"`
	Currency   *wireCurrency `json:"currency,omitempty"`
	DateTime   *wireDateTime `json:"date_time,omitempty"`
}

type wireMedia struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// wireLocation carries the coordinates as strings, as Meta's location
// template example does.
type wireLocation struct {
	Latitude  string `json:"latitude"`
	Longitude string `json:"longitude"`
	Name      string `json:"name,omitempty"`
	Address   string `json:"address,omitempty"`
}

type wireCurrency struct {
	FallbackValue string `json:"fallback_value"`
	Code          string `json:"code"`
	Amount1000    int64  `json:"amount_1000"`
}

type wireDateTime struct {
	FallbackValue string `json:"fallback_value"`
}

type component struct {
	Type       string      `json:"type"`
	SubType    string      `json:"sub_type,omitempty"`
	Index      string      `json:"index,omitempty"`
	Parameters []wireParam `json:"parameters"`
}

type sendBody struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Callback         string `json:"biz_opaque_callback_data,omitempty"`
	Template         struct {
		Name     string `json:"name"`
		Language struct {
			Code string `json:"code"`
		} `json:"language"`
		Components []component `json:"components,omitempty"`
	} `json:"template"`
}

// MaxButtonIndex is the highest button index Meta accepts (0–9, §1).
const MaxButtonIndex = 9

// requestBody builds the JSON body of a template send (cloud-api.md §1):
// the header component, the body, then one component per dynamic button in
// index order.
func requestBody(m Message) ([]byte, error) {
	if len(m.Callback) > MaxCallback {
		return nil, fmt.Errorf("biz_opaque_callback_data is %d characters, at most %d", len(m.Callback), MaxCallback)
	}
	if m.Format == Named && m.Body == nil && len(m.Names) != len(m.Params) {
		return nil, fmt.Errorf("named template: %d names for %d values", len(m.Names), len(m.Params))
	}
	b := sendBody{MessagingProduct: "whatsapp", RecipientType: "individual", To: m.To, Type: "template", Callback: m.Callback}
	b.Template.Name, b.Template.Language.Code = m.Template, m.Language
	if m.Header != nil {
		p, err := encodeParam(*m.Header)
		if err != nil {
			return nil, fmt.Errorf("header: %w", err)
		}
		b.Template.Components = append(b.Template.Components, component{Type: "header", Parameters: []wireParam{p}})
	}
	body := m.Body
	if body == nil {
		for i, v := range m.Params {
			p := Param{Type: ParamText, Text: v}
			if m.Format == Named {
				p.Name = m.Names[i]
			}
			body = append(body, p)
		}
	}
	if len(body) > 0 {
		ps := make([]wireParam, len(body))
		for i, p := range body {
			var err error
			if ps[i], err = encodeParam(p); err != nil {
				return nil, fmt.Errorf("body parameter %d: %w", i+1, err)
			}
		}
		b.Template.Components = append(b.Template.Components, component{Type: "body", Parameters: ps})
	}
	buttons, err := encodeButtons(m.Buttons)
	if err != nil {
		return nil, err
	}
	b.Template.Components = append(b.Template.Components, buttons...)
	return json.Marshal(b)
}

// encodeParam is one parameter in Meta's shape.
func encodeParam(p Param) (wireParam, error) {
	w := wireParam{Type: p.Type, Name: p.Name}
	switch p.Type {
	case ParamText:
		w.Text = &p.Text
	case ParamImage, ParamVideo, ParamDocument:
		if (p.Link == "") == (p.MediaID == "") {
			return w, fmt.Errorf("%s: give a link or a media id, exactly one", p.Type)
		}
		md := &wireMedia{ID: p.MediaID, Link: p.Link}
		switch p.Type {
		case ParamImage:
			w.Image = md
		case ParamVideo:
			w.Video = md
		default:
			md.Filename = p.Filename
			w.Document = md
		}
	case ParamLocation:
		if p.Location == nil {
			return w, errors.New("location: no coordinates")
		}
		l := p.Location
		w.Location = &wireLocation{Latitude: strconv.FormatFloat(l.Latitude, 'f', -1, 64),
			Longitude: strconv.FormatFloat(l.Longitude, 'f', -1, 64), Name: l.Name, Address: l.Address}
	case ParamCurrency:
		if p.Currency == nil {
			return w, errors.New("currency: no amount")
		}
		c := p.Currency
		w.Currency = &wireCurrency{FallbackValue: c.FallbackValue, Code: c.Code, Amount1000: c.Amount1000}
	case ParamDateTime:
		w.DateTime = &wireDateTime{FallbackValue: p.DateTime}
	default:
		return w, fmt.Errorf("unknown parameter type %q", p.Type)
	}
	return w, nil
}

// encodeButtons is one "button" component per dynamic button, in index
// order; an index given twice or out of 0–9 is refused.
func encodeButtons(bs []Button) ([]component, error) {
	if len(bs) == 0 {
		return nil, nil
	}
	sorted := slices.Clone(bs)
	slices.SortFunc(sorted, func(a, b Button) int { return cmp.Compare(a.Index, b.Index) })
	out := make([]component, 0, len(sorted))
	for i, bt := range sorted {
		if bt.Index < 0 || bt.Index > MaxButtonIndex {
			return nil, fmt.Errorf("button index %d: want 0 to %d", bt.Index, MaxButtonIndex)
		}
		if i > 0 && sorted[i-1].Index == bt.Index {
			return nil, fmt.Errorf("button index %d given twice", bt.Index)
		}
		v := bt.Value
		var p wireParam
		switch bt.SubType {
		case ButtonURL:
			p = wireParam{Type: "text", Text: &v}
		case ButtonQuickReply:
			p = wireParam{Type: "payload", Payload: &v}
		case ButtonCopyCode:
			p = wireParam{Type: "coupon_code", CouponCode: &v}
		default:
			return nil, fmt.Errorf("button %d: unknown sub_type %q", bt.Index, bt.SubType)
		}
		out = append(out, component{Type: "button", SubType: bt.SubType, Index: strconv.Itoa(bt.Index), Parameters: []wireParam{p}})
	}
	return out, nil
}

// SendTemplate sends one template message.
func (c *Client) SendTemplate(ctx context.Context, m Message) (Accepted, error) {
	body, err := requestBody(m)
	if err != nil {
		return Accepted{}, err
	}
	var out struct {
		Contacts []struct {
			WAID string `json:"wa_id"`
		} `json:"contacts"`
		Messages []struct {
			ID     string `json:"id"`
			Status string `json:"message_status"`
		} `json:"messages"`
	}
	if err := c.doType(ctx, "send", http.MethodPost, c.base+"/"+url.PathEscape(c.cfg.PhoneNumberID)+"/messages", body, "application/json", m.Leaving, &out); err != nil {
		return Accepted{}, err
	}
	if len(out.Messages) == 0 || out.Messages[0].ID == "" {
		return Accepted{}, &TransportError{Op: "send", MayHaveReached: true, HTTPStatus: 200, Err: errors.New("answer without a message id")}
	}
	// Even a success's texts go to the store: an echoing proxy must not
	// put the token there (a real wamid never holds 8 of its characters).
	r := c.redactor.redact
	a := Accepted{WAMID: r(out.Messages[0].ID), MessageStatus: r(out.Messages[0].Status)}
	if len(out.Contacts) > 0 {
		a.WAID = r(out.Contacts[0].WAID)
	}
	return a, nil
}

// healthFields returns the phone-number fields to ask for, by API version:
// the messaging limit field changed in v24.0 (cloud-api.md §2).
func healthFields(version string) string {
	f := "id,quality_rating,status,throughput,is_on_biz_app"
	if v, err := strconv.ParseFloat(strings.TrimPrefix(version, "v"), 64); err == nil && v < 24 {
		return f + ",messaging_limit_tier"
	}
	return f + ",whatsapp_business_manager_messaging_limit"
}

// PhoneHealth reads the sending number's health.
func (c *Client) PhoneHealth(ctx context.Context) (Health, error) {
	var out struct {
		ID         string `json:"id"`
		Quality    string `json:"quality_rating"`
		Status     string `json:"status"`
		OnBizApp   bool   `json:"is_on_biz_app"`
		Throughput struct {
			Level string `json:"level"`
		} `json:"throughput"`
		NewLimit any `json:"whatsapp_business_manager_messaging_limit"`
		OldLimit any `json:"messaging_limit_tier"`
	}
	u := c.base + "/" + url.PathEscape(c.cfg.PhoneNumberID) + "?fields=" + url.QueryEscape(healthFields(c.cfg.Version))
	if err := c.do(ctx, "health", http.MethodGet, u, nil, &out); err != nil {
		return Health{}, err
	}
	r := c.redactor.redact
	h := Health{ID: r(out.ID), Quality: r(out.Quality), Status: r(out.Status), ThroughputLevel: r(out.Throughput.Level), OnBizApp: out.OnBizApp}
	if l := ParseLimit(out.NewLimit); l.Known() || out.NewLimit != nil {
		h.Limit, h.LimitField = l, "whatsapp_business_manager_messaging_limit"
	}
	if !h.Limit.Known() && out.OldLimit != nil {
		h.Limit, h.LimitField = ParseLimit(out.OldLimit), "messaging_limit_tier"
	}
	return h, nil
}

// tierUsers maps Meta's tier literals to unique users per 24 h (§2).
var tierUsers = map[string]int{
	"TIER_50": 50, "TIER_250": 250, "TIER_1K": 1000, "TIER_2K": 2000, "TIER_10K": 10000, "TIER_100K": 100000,
}

// ParseLimit reads a messaging limit leniently: TIER_* strings, plain
// integers (as numbers or strings), -1 or TIER_UNLIMITED for unlimited.
// TIER_NOT_SET and anything unreadable give an unknown limit.
func ParseLimit(v any) Limit {
	switch x := v.(type) {
	case string:
		s := strings.ToUpper(strings.TrimSpace(x))
		if s == "TIER_UNLIMITED" || s == "UNLIMITED" {
			return Limit{Tier: x, Unlimited: true}
		}
		if n, ok := tierUsers[s]; ok {
			return Limit{Tier: x, Users: n}
		}
		if n, err := strconv.Atoi(s); err == nil {
			return limitFromInt(x, n)
		}
		return Limit{Tier: x}
	case float64:
		return limitFromInt(strconv.FormatFloat(x, 'f', -1, 64), int(x))
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			return Limit{Tier: x.String()}
		}
		return limitFromInt(x.String(), int(n))
	case int:
		return limitFromInt(strconv.Itoa(x), x)
	}
	return Limit{}
}

func limitFromInt(lit string, n int) Limit {
	switch {
	case n < 0:
		return Limit{Tier: lit, Unlimited: true}
	case n == 0:
		return Limit{Tier: lit}
	}
	return Limit{Tier: lit, Users: n}
}

var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// Template reads one template by exact name and language.
func (c *Client) Template(ctx context.Context, name, lang string) (Template, error) {
	var found *Template
	err := c.eachTemplate(ctx, name, func(t Template) bool {
		if t.Language == lang {
			found = &t
			return false
		}
		return true
	})
	switch {
	case err != nil:
		return Template{}, err
	case found == nil:
		return Template{}, fmt.Errorf("%s (%s): %w", name, lang, ErrTemplateNotFound)
	}
	return *found, nil
}

// Translations reads every language of the template with exactly this
// name, whatever its status; ErrTemplateNotFound when there is none.
func (c *Client) Translations(ctx context.Context, name string) ([]Template, error) {
	var out []Template
	if err := c.eachTemplate(ctx, name, func(t Template) bool { out = append(out, t); return true }); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w", name, ErrTemplateNotFound)
	}
	return out, nil
}

// eachTemplate pages through the WABA's templates named name (Meta's name
// filter also matches partial names: only exact names are passed to fn),
// until fn returns false. At most 20 pages are read.
func (c *Client) eachTemplate(ctx context.Context, name string, fn func(Template) bool) error {
	if c.cfg.WABAID == "" {
		return ErrNoWABA
	}
	type tpl struct {
		ID         string                 `json:"id"`
		Name       string                 `json:"name"`
		Language   string                 `json:"language"`
		Status     string                 `json:"status"`
		Category   string                 `json:"category"`
		Format     string                 `json:"parameter_format"`
		Quality    struct{ Score string } `json:"quality_score"`
		Components []templateComponent    `json:"components"`
	}
	q := url.Values{"name": {name}, "fields": {"id,name,language,status,category,parameter_format,components,quality_score"}, "limit": {"100"}}
	next := c.base + "/" + url.PathEscape(c.cfg.WABAID) + "/message_templates?" + q.Encode()
	for page := 0; page < 20 && next != ""; page++ {
		var out struct {
			Data   []tpl `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := c.do(ctx, "template", http.MethodGet, next, nil, &out); err != nil {
			return err
		}
		for _, t := range out.Data {
			if t.Name != name {
				continue
			}
			rd := c.redactor.redact
			r := Template{ID: rd(t.ID), Name: t.Name, Language: t.Language, Status: rd(t.Status), Category: rd(t.Category),
				Format: Positional, Quality: rd(t.Quality.Score)}
			if strings.EqualFold(t.Format, "named") {
				r.Format = Named
			}
			readComponents(&r, t.Components, rd)
			if !fn(r) {
				return nil
			}
		}
		next = ""
		if a := out.Paging.Cursors.After; a != "" && len(out.Data) > 0 && out.Paging.Next != "" {
			q.Set("after", a)
			next = c.base + "/" + url.PathEscape(c.cfg.WABAID) + "/message_templates?" + q.Encode()
		}
	}
	return nil
}

// countPlaceholders counts the distinct body placeholders (§3).
func countPlaceholders(text string, f ParamFormat) (int, []string) {
	seen := map[string]bool{}
	var names []string
	maxPos := 0
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		p := m[1]
		if seen[p] {
			continue
		}
		seen[p] = true
		names = append(names, p)
		if n, err := strconv.Atoi(p); err == nil && n > maxPos {
			maxPos = n
		}
	}
	if f == Named {
		return len(names), names
	}
	return max(maxPos, len(names)), nil
}

// do performs one request and decodes a success into out. Failures are an
// *APIError (Meta answered with a Graph error) or a *TransportError.
func (c *Client) do(ctx context.Context, op, method, u string, body []byte, out any) error {
	return c.doType(ctx, op, method, u, body, "application/json", nil, out)
}

// doType is do with the body's content type (a media upload is multipart).
func (c *Client) doType(ctx context.Context, op, method, u string, body []byte, contentType string, leaving func() error, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return &TransportError{Op: op, Err: errors.New("bad request URL")}
	}
	var l *leavingBody
	if body != nil && leaving != nil {
		l = &leavingBody{body: body, leaving: leaving}
		req.Body, _ = l.open()
		req.GetBody = l.open
	}
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if refused := l.refusal(); refused != nil {
			// Its headers may have gone, its body did not: no request
			// the API could take.
			return &TransportError{Op: op, Err: refused}
		}
		return transportError(ctx, op, wrote.Load(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		// The answer started and broke off: Meta had the request.
		return &TransportError{Op: op, MayHaveReached: true, HTTPStatus: resp.StatusCode, Timeout: isTimeout(err), Err: fmt.Errorf("answer cut off: %w", withoutURL(err))}
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return &RedirectError{Op: op, HTTPStatus: resp.StatusCode, Location: c.clean(location(resp))}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if err := json.Unmarshal(data, out); err != nil {
			return &TransportError{Op: op, MayHaveReached: true, HTTPStatus: resp.StatusCode, Err: errors.New("answer is not valid JSON")}
		}
		return nil
	}
	var env struct {
		Error *struct {
			Message   string `json:"message"`
			Type      string `json:"type"`
			Code      int    `json:"code"`
			Subcode   int    `json:"error_subcode"`
			UserTitle string `json:"error_user_title"`
			UserMsg   string `json:"error_user_msg"`
			FBTraceID string `json:"fbtrace_id"`
			Data      struct {
				Details string `json:"details"`
			} `json:"error_data"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &env) == nil && env.Error != nil {
		// The texts come from the server: one that echoes the request (a
		// proxy, a misconfigured gateway) must not carry the token into
		// logs, the store or reports.
		e, r := env.Error, c.clean
		return &APIError{HTTPStatus: resp.StatusCode, Code: e.Code, Subcode: e.Subcode, Type: r(e.Type), Message: r(e.Message),
			Details: r(e.Data.Details), UserTitle: r(e.UserTitle), UserMsg: r(e.UserMsg), FBTraceID: r(e.FBTraceID)}
	}
	// No Graph body: a proxy or gateway answered. A 5xx may hide a
	// processed request; a 4xx from a proxy did not reach the API.
	return &TransportError{Op: op, MayHaveReached: resp.StatusCode >= 500, HTTPStatus: resp.StatusCode,
		Err: fmt.Errorf("HTTP %d without a Graph error body", resp.StatusCode)}
}

// maxErrText bounds each text of an error answer kept by the client.
const maxErrText = 1024

// clean makes a text the server wrote fit for an error: every run of 8 or
// more characters of the token is redacted (a proxy that echoes the
// request, whole or cut, must not carry it into logs, the store or
// reports), and the text is cut to maxErrText bytes.
func (c *Client) clean(s string) string {
	return clip(c.redactor.redact(s), maxErrText)
}

// clip cuts s to at most n bytes, on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// location is where a 3xx answer points, resolved against the request URL.
func location(resp *http.Response) string {
	if u, err := resp.Location(); err == nil {
		return u.String()
	}
	return resp.Header.Get("Location")
}

// leavingBody makes the bodies of one request (the first, and one per
// write again) that call leaving before their first byte is read; once it
// refused, every later body fails without asking again. The transport
// reads bodies on its own goroutines, and may still be writing when the
// request's round trip has ended: hence the lock.
type leavingBody struct {
	body    []byte
	leaving func() error
	mu      sync.Mutex
	refused error
}

func (l *leavingBody) open() (io.ReadCloser, error) {
	return io.NopCloser(&leavingReader{l: l}), nil
}

// note calls leaving unless it refused before, and returns its refusal.
func (l *leavingBody) note() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.refused == nil {
		l.refused = l.leaving()
	}
	return l.refused
}

// refusal is leaving's refusal; nil for a request without a hook.
func (l *leavingBody) refusal() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.refused
}

type leavingReader struct {
	l *leavingBody
	r *bytes.Reader
}

func (r *leavingReader) Read(p []byte) (int, error) {
	if r.r == nil {
		if err := r.l.note(); err != nil {
			return 0, err
		}
		r.r = bytes.NewReader(r.l.body)
	}
	return r.r.Read(p)
}

// transportError classifies a failed round trip. The request URL (which
// holds no secret) is dropped from the message all the same.
func transportError(ctx context.Context, op string, wrote bool, err error) error {
	if !wrote && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err() // cancelled by the caller before anything left
	}
	return &TransportError{Op: op, MayHaveReached: wrote, Timeout: isTimeout(err) || errors.Is(ctx.Err(), context.DeadlineExceeded), Err: withoutURL(err)}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// withoutURL is err without the *url.Error net/http wraps around it, whose
// text quotes the request URL. The cause stays in the chain, so callers can
// still ask errors.Is(err, context.DeadlineExceeded) or io.ErrUnexpectedEOF.
func withoutURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
