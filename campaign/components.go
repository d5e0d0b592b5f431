package campaign

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/sender"
)

// Skip reasons of template values refused at import (docs/cloud-api-notes.md
// "Template components").
const (
	ReasonBadParam      = "bad_param"      // a text value Meta refuses: too long, a newline or tab, 5 spaces in a row
	ReasonBadHeader     = "bad_header"     // a --header value that is not what the header takes
	ReasonBadLocation   = "bad_location"   // a LOCATION header that is not lat,lng[,name[,address]]
	ReasonBadCurrency   = "bad_currency"   // a currency value that is not "12.50 BRL" or "BRL 12.50"
	ReasonBadDateTime   = "bad_date_time"  // an empty or malformed date_time value
	ReasonBadButton     = "bad_button"     // an empty or too long --button value
	ReasonNoTranslation = "no_translation" // the row's language has no approved translation
)

// Meta's text limits (docs/cloud-api-notes.md "Template components").
const (
	MaxHeaderText = 60
	MaxBodyText   = 1024
	MaxCouponCode = 15
	MaxButtonURL  = 2000
)

// Header formats: a template's HEADER format (sender.TemplateHeader), or
// the kind of a --header value ("" while the template's header is not
// known).
const (
	HeaderText     = sender.HeaderText
	HeaderImage    = sender.HeaderImage
	HeaderVideo    = sender.HeaderVideo
	HeaderDocument = sender.HeaderDocument
	HeaderLocation = sender.HeaderLocation
)

// BodyParam is one --params entry: [PLACEHOLDER=]COLUMN[:TYPE].
type BodyParam struct {
	Name   string // the placeholder of a NAMED template (default: the column)
	Column string
	Type   string // sender.ParamText (default), sender.ParamCurrency, sender.ParamDateTime
}

// ParseBodyParam reads one --params entry.
func ParseBodyParam(v string) (BodyParam, error) {
	p := BodyParam{Type: sender.ParamText}
	if col, typ, ok := strings.Cut(v, ":"); ok {
		switch typ = strings.ToLower(strings.TrimSpace(typ)); typ {
		case sender.ParamText, sender.ParamCurrency, sender.ParamDateTime:
			v, p.Type = col, typ
		default:
			return p, fmt.Errorf("--params %q: type %q: want text, currency or date_time", v, typ)
		}
	}
	if name, col, ok := strings.Cut(v, "="); ok {
		p.Name, v = strings.TrimSpace(name), col
	}
	p.Column = strings.TrimSpace(v)
	p.Name = cmp.Or(p.Name, p.Column)
	if p.Column == "" {
		return p, fmt.Errorf("--params %q: no column name", v)
	}
	return p, nil
}

// ButtonFlag is one --button INDEX[:TYPE]=COLUMN.
type ButtonFlag struct {
	Index   int
	SubType string // sender.ButtonURL (default), ButtonQuickReply, ButtonCopyCode
	Column  string
	Typed   bool // the flag named the type; otherwise the template's button decides it when known
}

// ParseButton reads one --button value.
func ParseButton(v string) (ButtonFlag, error) {
	var b ButtonFlag
	key, col, ok := strings.Cut(v, "=")
	col = strings.TrimSpace(col)
	if !ok || col == "" {
		return b, fmt.Errorf("--button %q: want INDEX=COLUMN, e.g. 0=coupon_path", v)
	}
	idx, typ, _ := strings.Cut(key, ":")
	n, err := strconv.Atoi(strings.TrimSpace(idx))
	if err != nil || n < 0 || n > sender.MaxButtonIndex {
		return b, fmt.Errorf("--button %q: index %q: want 0 to %d, the button's place in the template", v, idx, sender.MaxButtonIndex)
	}
	b.Index, b.Column, b.SubType = n, col, sender.ButtonURL
	typ = strings.ToLower(strings.TrimSpace(typ))
	b.Typed = typ != ""
	switch typ {
	case "", sender.ButtonURL:
	case sender.ButtonQuickReply, sender.ButtonCopyCode:
		b.SubType = typ
	default:
		return b, fmt.Errorf("--button %q: type %q: want url, quick_reply or copy_code", v, typ)
	}
	return b, nil
}

// HeaderFlag is --header [FORMAT:][PLACEHOLDER=]COLUMN.
type HeaderFlag struct {
	Format string // the template's header format when given (TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION)
	Name   string // a NAMED template's header placeholder (default: the column)
	Column string
}

// ParseHeader reads a --header value.
func ParseHeader(v string) HeaderFlag {
	var h HeaderFlag
	if f, col, ok := strings.Cut(v, ":"); ok {
		switch f = strings.ToUpper(strings.TrimSpace(f)); f {
		case HeaderText, HeaderImage, HeaderVideo, HeaderDocument, HeaderLocation:
			h.Format, v = f, col
		}
	}
	if name, col, ok := strings.Cut(v, "="); ok {
		h.Name, v = strings.TrimSpace(name), col
	}
	h.Column = strings.TrimSpace(v)
	h.Name = cmp.Or(h.Name, h.Column)
	return h
}

// componentErrors checks the component flags (Settings.Validate).
func (s Settings) componentErrors() []error {
	var errs []error
	seen := map[string]bool{}
	for _, v := range s.Params {
		p, err := ParseBodyParam(v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if seen[p.Name] {
			errs = append(errs, fmt.Errorf("--params: %q given twice", p.Name))
		}
		seen[p.Name] = true
	}
	if s.Header != "" && ParseHeader(s.Header).Column == "" {
		errs = append(errs, fmt.Errorf("--header %q: no column name", s.Header))
	}
	indexes := map[int]bool{}
	for _, v := range s.Buttons {
		b, err := ParseButton(v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if indexes[b.Index] {
			errs = append(errs, fmt.Errorf("--button: index %d given twice", b.Index))
		}
		indexes[b.Index] = true
	}
	return errs
}

// MappingErrors checks the flags that map columns to the template
// (--params, --header, --button), for a command that has no template.
func (s Settings) MappingErrors() error { return errors.Join(s.componentErrors()...) }

// BodyParams are the --params entries (Validate has checked them).
func (s Settings) BodyParams() []BodyParam {
	out := make([]BodyParam, 0, len(s.Params))
	for _, v := range s.Params {
		if p, err := ParseBodyParam(v); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// ParamColumns are the CSV columns of the body parameters, in order.
func (s Settings) ParamColumns() []string {
	var out []string
	for _, p := range s.BodyParams() {
		out = append(out, p.Column)
	}
	return out
}

// placeholders are the placeholder names of a NAMED template's body, in
// --params order.
func (s Settings) placeholders() []string {
	var out []string
	for _, p := range s.BodyParams() {
		out = append(out, p.Name)
	}
	return out
}

// frozen is a recipient's template values besides its body text, as
// stored (store.Recipient.Components).
type frozen struct {
	Header  *frozenParam   `json:"header,omitempty"`
	Buttons []frozenButton `json:"buttons,omitempty"`
	// Body holds the typed body values (currency, date_time) by --params
	// position; text values stay in the recipient's Params.
	Body []frozenTyped `json:"body,omitempty"`
	Lang string        `json:"lang,omitempty"`
}

type frozenParam struct {
	Type     string      `json:"type"`
	Text     string      `json:"text,omitempty"`
	Link     string      `json:"link,omitempty"`
	ID       string      `json:"id,omitempty"`
	Filename string      `json:"filename,omitempty"`
	Loc      *[2]float64 `json:"loc,omitempty"`
	LocName  string      `json:"loc_name,omitempty"`
	LocAddr  string      `json:"loc_address,omitempty"`
}

type frozenButton struct {
	Index   int    `json:"index"`
	SubType string `json:"sub_type"`
	Value   string `json:"value"`
}

type frozenTyped struct {
	At       int             `json:"at"` // 0-based --params position
	Currency *frozenCurrency `json:"currency,omitempty"`
	DateTime string          `json:"date_time,omitempty"`
}

type frozenCurrency struct {
	Fallback   string `json:"fallback_value"`
	Code       string `json:"code"`
	Amount1000 int64  `json:"amount_1000"`
}

// Mapping is what a campaign's rows hold beyond the phone: the body
// parameters and the component columns, checked and frozen per row at
// import.
type Mapping struct {
	Body         []BodyParam
	HeaderColumn string
	HeaderFormat string // "" : inferred from each value
	Buttons      []ButtonFlag
	LangColumn   string
	Lang         string // the fallback, --lang
	// Languages are the template's APPROVED translations; nil trusts the
	// language column.
	Languages map[string]bool
}

// NewMapping is the mapping of the settings; languages as in Mapping.
func NewMapping(s Settings, languages map[string]bool) Mapping {
	m := Mapping{Body: s.BodyParams(), LangColumn: s.LangColumn, Lang: s.Language, Languages: languages}
	h := ParseHeader(s.Header)
	m.HeaderFormat, m.HeaderColumn = h.Format, h.Column
	for _, v := range s.Buttons {
		if b, err := ParseButton(v); err == nil {
			m.Buttons = append(m.Buttons, b)
		}
	}
	return m
}

// WithDefinition fills in what the flags left to guessing from the
// template's definition in the campaign's language (nil: unknown, each
// value decides): the header's format, and the sub_type of each button
// whose --button named no type. A flag that names a format or a type keeps
// it; the pre-flight refuses one that contradicts the template.
func (m Mapping) WithDefinition(t *sender.Template) Mapping {
	if t == nil {
		return m
	}
	if m.HeaderColumn != "" && m.HeaderFormat == "" && t.Header != nil {
		switch f := t.Header.Format; f {
		case sender.HeaderGIF:
			m.HeaderFormat = HeaderVideo // a GIF header is sent as a video (sender.TemplateHeader.Media)
		case HeaderText, HeaderImage, HeaderVideo, HeaderDocument, HeaderLocation:
			m.HeaderFormat = f
		}
	}
	m.Buttons = slices.Clone(m.Buttons)
	for i, b := range m.Buttons {
		if b.Typed {
			continue
		}
		for _, tb := range t.Buttons {
			if tb.Index == b.Index && tb.TakesParam() {
				m.Buttons[i].SubType = tb.SubType()
			}
		}
	}
	return m
}

// Columns are the CSV columns the campaign reads besides the phone: the
// body parameters', then the header's, the buttons' and the language's
// (store.Campaign.Params: the columns of a report's export, so that its
// skipped rows can be fixed and imported again).
func (m Mapping) Columns() []string {
	cfg := m.CSV(csvimport.Config{})
	out := slices.Clone(cfg.Params)
	for _, c := range cfg.Columns {
		out = append(out, c.Name)
	}
	return out
}

// CSV is the reader's configuration for this mapping.
func (m Mapping) CSV(base csvimport.Config) csvimport.Config {
	base.Params = nil
	for _, p := range m.Body {
		base.Params = append(base.Params, p.Column)
	}
	if m.HeaderColumn != "" {
		base.Columns = append(base.Columns, csvimport.Column{Name: m.HeaderColumn, Flag: "--header"})
	}
	for _, b := range m.Buttons {
		base.Columns = append(base.Columns, csvimport.Column{Name: b.Column, Flag: fmt.Sprintf("--button %d", b.Index)})
	}
	if m.LangColumn != "" {
		base.Columns = append(base.Columns, csvimport.Column{Name: m.LangColumn, Flag: "--lang-column"})
	}
	base.Check = m.check
	return base
}

// check validates one row's values and freezes them (csvimport.Config.Check).
func (m Mapping) check(r *csvimport.Row, values []string) (reason, detail string) {
	var f frozen
	for i, p := range m.Body {
		v := r.Params[i]
		switch p.Type {
		case sender.ParamCurrency:
			c, err := parseCurrency(v)
			if err != nil {
				return ReasonBadCurrency, fmt.Sprintf("%s: %v (%s)", p.Column, err, quoted(v))
			}
			f.Body = append(f.Body, frozenTyped{At: i, Currency: &frozenCurrency{Fallback: c.FallbackValue, Code: c.Code, Amount1000: c.Amount1000}})
		case sender.ParamDateTime:
			if err := checkText(v, MaxBodyText); err != nil {
				return ReasonBadDateTime, fmt.Sprintf("%s: %v (%s)", p.Column, err, quoted(v))
			}
			f.Body = append(f.Body, frozenTyped{At: i, DateTime: v})
		default:
			if err := checkText(v, MaxBodyText); err != nil {
				return ReasonBadParam, fmt.Sprintf("%s: %v (%s)", p.Column, err, quoted(v))
			}
		}
	}
	k := 0
	if m.HeaderColumn != "" {
		v := values[k]
		k++
		h, reason, err := headerParam(v, m.HeaderFormat)
		if err != nil {
			return reason, fmt.Sprintf("%s (--header): %v (%s)", m.HeaderColumn, err, quoted(v))
		}
		f.Header = &h
	}
	for _, b := range m.Buttons {
		v := values[k]
		k++
		if err := checkButton(b.SubType, v); err != nil {
			return ReasonBadButton, fmt.Sprintf("%s (--button %d, %s): %v (%s)", b.Column, b.Index, b.SubType, err, quoted(v))
		}
		f.Buttons = append(f.Buttons, frozenButton{Index: b.Index, SubType: b.SubType, Value: v})
	}
	if m.LangColumn != "" {
		lang := cmp.Or(values[k], m.Lang)
		if m.Languages != nil && !m.Languages[lang] {
			return ReasonNoTranslation, fmt.Sprintf("%s: the template has no approved translation in %q", m.LangColumn, lang)
		}
		if lang != m.Lang {
			f.Lang = lang
		}
	}
	if f.Header != nil || f.Buttons != nil || f.Body != nil || f.Lang != "" {
		b, err := json.Marshal(f)
		if err != nil {
			return csvimport.ReasonBadRow, err.Error()
		}
		r.Components = b
	}
	return "", ""
}

// quoted is a value for a skip's detail: quoted, at most 60 characters.
func quoted(v string) string {
	if utf8.RuneCountInString(v) > 60 {
		v = string([]rune(v)[:60]) + "…"
	}
	return strconv.Quote(v)
}

// checkText applies Meta's rules for a text parameter: not empty, at most
// max characters, no newline or tab, at most 4 spaces in a row.
func checkText(v string, max int) error {
	switch {
	case v == "":
		return errors.New("empty")
	case utf8.RuneCountInString(v) > max:
		return fmt.Errorf("%d characters, Meta takes at most %d", utf8.RuneCountInString(v), max)
	case strings.ContainsAny(v, "\n\r\t"):
		return errors.New("has a newline or tab, which Meta refuses in a parameter")
	case strings.Contains(v, "     "):
		return errors.New("has more than 4 spaces in a row, which Meta refuses in a parameter")
	}
	return nil
}

// checkButton checks a button value by its sub-type.
func checkButton(subType, v string) error {
	switch {
	case v == "":
		return errors.New("empty")
	case subType == sender.ButtonCopyCode && utf8.RuneCountInString(v) > MaxCouponCode:
		return fmt.Errorf("a coupon code of %d characters, Meta takes at most %d", utf8.RuneCountInString(v), MaxCouponCode)
	case subType == sender.ButtonURL && len(v) > MaxButtonURL:
		return fmt.Errorf("a URL suffix of %d bytes, at most %d", len(v), MaxButtonURL)
	case subType == sender.ButtonURL && strings.ContainsAny(v, " \t\r\n"):
		return errors.New("a URL suffix with spaces")
	}
	return nil
}

var (
	digitsRE   = regexp.MustCompile(`^[0-9]+$`)
	locationRE = regexp.MustCompile(`^\s*[-+]?[0-9]+(\.[0-9]+)?\s*,\s*[-+]?[0-9]+(\.[0-9]+)?\s*(,|$)`)
)

// headerParam reads a --header value for the header format; with the
// format unknown, it is inferred: lat,lng is a location, a link or a media
// id is media (video or document by the link's extension, else image),
// anything else text.
func headerParam(v, format string) (frozenParam, string, error) {
	if format == "" {
		format = inferHeader(v)
	}
	switch format {
	case HeaderLocation:
		p, err := parseLocation(v)
		return p, ReasonBadLocation, err
	case HeaderImage, HeaderVideo, HeaderDocument:
		p := frozenParam{Type: strings.ToLower(format)}
		if digitsRE.MatchString(v) {
			p.ID = v
			return p, "", nil
		}
		u, err := url.Parse(v)
		switch {
		case v == "":
			return p, ReasonBadHeader, errors.New("empty: want an https link or a media id")
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			return p, ReasonBadHeader, errors.New("not an https link nor a media id (digits)")
		case u.Scheme != "https":
			return p, ReasonBadHeader, errors.New("the link is not https: Meta fetches header media over https only")
		}
		p.Link = v
		if format == HeaderDocument {
			if name := path.Base(u.Path); name != "/" && name != "." {
				p.Filename = name
			}
		}
		return p, "", nil
	}
	if err := checkText(v, MaxHeaderText); err != nil {
		return frozenParam{}, ReasonBadParam, err
	}
	return frozenParam{Type: sender.ParamText, Text: v}, "", nil
}

func inferHeader(v string) string {
	switch {
	case locationRE.MatchString(v):
		return HeaderLocation
	case digitsRE.MatchString(v):
		return HeaderImage
	case strings.HasPrefix(strings.ToLower(v), "https://") || strings.HasPrefix(strings.ToLower(v), "http://"):
		u, _ := url.Parse(v)
		ext := ""
		if u != nil {
			ext = strings.ToLower(path.Ext(u.Path))
		}
		switch ext {
		case ".mp4", ".3gp", ".3gpp":
			return HeaderVideo
		case ".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".txt":
			return HeaderDocument
		}
		return HeaderImage
	}
	return HeaderText
}

// parseLocation reads lat,lng[,name[,address]]; the address may hold
// commas.
func parseLocation(v string) (frozenParam, error) {
	parts := strings.SplitN(v, ",", 4)
	if len(parts) < 2 {
		return frozenParam{}, errors.New("want lat,lng[,name[,address]]")
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
	lng, err2 := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
	switch {
	case err1 != nil || err2 != nil:
		return frozenParam{}, errors.New("want lat,lng[,name[,address]] with decimal degrees, e.g. -23.5614,-46.6559,Store,Av. Paulista 1000")
	case !(lat >= -90 && lat <= 90) || !(lng >= -180 && lng <= 180):
		return frozenParam{}, fmt.Errorf("latitude %g or longitude %g out of range (±90, ±180)", lat, lng)
	}
	p := frozenParam{Type: sender.ParamLocation, Loc: &[2]float64{lat, lng}}
	if len(parts) > 2 {
		p.LocName = strings.TrimSpace(parts[2])
	}
	if len(parts) > 3 {
		p.LocAddr = strings.TrimSpace(parts[3])
	}
	return p, nil
}

var currencyCodeRE = regexp.MustCompile(`^[A-Z]{3}$`)

// parseCurrency reads "12.50 BRL" or "BRL 12.50" (a comma may be the
// decimal mark: "12,50 BRL"); the value as written is the fallback text.
func parseCurrency(v string) (sender.Currency, error) {
	f := strings.Fields(v)
	if len(f) != 2 {
		return sender.Currency{}, errors.New(`want an amount and an ISO 4217 code, e.g. "12.50 BRL" or "BRL 12.50"`)
	}
	amount, code := f[0], f[1]
	if currencyCodeRE.MatchString(amount) {
		amount, code = code, amount
	}
	if !currencyCodeRE.MatchString(code) {
		return sender.Currency{}, fmt.Errorf("%q is not an ISO 4217 code (3 capital letters, e.g. BRL)", code)
	}
	n, err := amount1000(amount)
	if err != nil {
		return sender.Currency{}, err
	}
	return sender.Currency{FallbackValue: v, Code: code, Amount1000: n}, nil
}

var amountRE = regexp.MustCompile(`^([0-9]+)(?:[.,]([0-9]{1,3}))?$`)

// amount1000 is a decimal amount times 1000, exactly.
func amount1000(s string) (int64, error) {
	m := amountRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("amount %q: want digits with at most 3 decimals and no thousands separator, e.g. 1250.50", s)
	}
	whole, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || whole > math.MaxInt64/1000-1 {
		return 0, fmt.Errorf("amount %q is too large", s)
	}
	frac := m[2] + strings.Repeat("0", 3-len(m[2]))
	fn, _ := strconv.ParseInt(frac, 10, 64)
	return whole*1000 + fn, nil
}

// apply puts a recipient's frozen values into msg; a NAMED template's text
// header takes headerName as its parameter_name.
func (f frozen) apply(msg *sender.Message, headerName string) {
	if h := f.Header; h != nil {
		p := sender.Param{Type: h.Type, Text: h.Text, Link: h.Link, MediaID: h.ID, Filename: h.Filename}
		if h.Loc != nil {
			p.Location = &sender.Location{Latitude: h.Loc[0], Longitude: h.Loc[1], Name: h.LocName, Address: h.LocAddr}
		}
		if p.Type == sender.ParamText && msg.Format == sender.Named {
			p.Name = headerName
		}
		msg.Header = &p
	}
	for _, b := range f.Buttons {
		msg.Buttons = append(msg.Buttons, sender.Button{Index: b.Index, SubType: b.SubType, Value: b.Value})
	}
	if f.Lang != "" {
		msg.Language = f.Lang
	}
	if len(f.Body) == 0 {
		return
	}
	body := make([]sender.Param, len(msg.Params))
	for i, v := range msg.Params {
		body[i] = sender.Param{Type: sender.ParamText, Text: v}
		if msg.Format == sender.Named && i < len(msg.Names) {
			body[i].Name = msg.Names[i]
		}
	}
	for _, t := range f.Body {
		if t.At >= len(body) {
			continue
		}
		p := sender.Param{Name: body[t.At].Name, Type: sender.ParamDateTime, DateTime: t.DateTime}
		if t.Currency != nil {
			c := t.Currency
			p = sender.Param{Name: body[t.At].Name, Type: sender.ParamCurrency,
				Currency: &sender.Currency{FallbackValue: c.Fallback, Code: c.Code, Amount1000: c.Amount1000}}
		}
		body[t.At] = p
	}
	msg.Body = body
}

// withComponents adds a recipient's frozen components to msg. Components
// that cannot be read (written by a newer whatsend) leave msg as it is:
// Meta then refuses the message and the recipient fails with its code.
func withComponents(msg sender.Message, components []byte, s Settings) sender.Message {
	if len(components) == 0 {
		return msg
	}
	var f frozen
	if json.Unmarshal(components, &f) != nil {
		return msg
	}
	f.apply(&msg, ParseHeader(s.Header).Name)
	return msg
}

// approved is the set of a template's APPROVED languages.
func approved(ts []sender.Template) map[string]bool {
	out := map[string]bool{}
	for _, t := range ts {
		if t.Status == "APPROVED" {
			out[t.Language] = true
		}
	}
	return out
}

// TranslationReader is implemented by senders that can list a template's
// languages (sender.Client).
type TranslationReader interface {
	Translations(ctx context.Context, name string) ([]sender.Template, error)
}

// TemplateInfo is what ResolveTemplate read of a template before an
// import.
type TemplateInfo struct {
	// Languages are the template's APPROVED translations when the
	// campaign has a --lang-column; nil trusts the column.
	Languages map[string]bool
	// Definition is the template in the campaign's language; nil when it
	// was not read.
	Definition *sender.Template
}

// ResolveTemplate reads the template before an import, when the sender can
// and a WhatsApp Business Account id is set: a NAMED template given no
// --params maps its body placeholders to the CSV columns of the same names,
// the definition tells the header's format and the buttons' types, and the
// template's APPROVED languages are returned for --lang-column. A template
// that does not exist is left to the run's pre-flight, which names it.
func ResolveTemplate(ctx context.Context, snd Sender, s *Settings) (TemplateInfo, error) {
	var info TemplateInfo
	tr, ok := snd.(TranslationReader)
	needs := len(s.Params) == 0 || s.LangColumn != "" || s.Header != "" || len(s.Buttons) > 0
	if !ok || !needs {
		return info, nil
	}
	ts, err := tr.Translations(ctx, s.Template)
	switch {
	case errors.Is(err, sender.ErrNoWABA), errors.Is(err, sender.ErrTemplateNotFound):
		return info, nil
	case err != nil:
		return info, fmt.Errorf("read template %q: %w", s.Template, err)
	}
	for i, t := range ts {
		if t.Language != s.Language {
			continue
		}
		info.Definition = &ts[i]
		if t.Format == sender.Named && len(s.Params) == 0 {
			s.Params = slices.Clone(t.ParamNames)
		}
	}
	if s.LangColumn != "" {
		info.Languages = approved(ts)
	}
	return info, nil
}
