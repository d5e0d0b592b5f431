package simulator

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The send checks of a template's components, with the codes and texts
// Meta answers (docs/cloud-api-notes.md, "Template components"): first
// each parameter's own shape (100, 131008, 131009), then each component
// against the template (132000 counts, 132012 formats, 131008 a button
// left without its parameter).

// value is a body parameter as /_sim/messages lists it: the text, or the
// fallback_value of a currency or date_time.
func (p reqParam) value() string {
	switch {
	case p.Type == "currency" && p.Currency != nil:
		return p.Currency.FallbackValue
	case p.Type == "date_time" && p.DateTime != nil:
		return p.DateTime.FallbackValue
	}
	return p.Text
}

// media returns a media parameter's object, nil for other types.
func (p reqParam) media() *reqMedia {
	switch p.Type {
	case "image":
		return p.Image
	case "video":
		return p.Video
	case "document":
		return p.Document
	}
	return nil
}

// mandatory is Meta's details for a parameter without its value
// (reported for text; the same wording for the other types).
func mandatory(typ string) string {
	return fmt.Sprintf("Parameter '%s' is mandatory for component parameter type '%s'", typ, typ)
}

// Meta's texts for a media id it does not know (or that expired) and for
// a link that is no URI, after "Param image['id']".
const (
	mediaIDRefused = " is not a valid whatsapp business account media attachment ID"
	linkRefused    = " is not a valid URI."
)

// textRefused is Meta's details for a text parameter with a new line, a
// tab or more than 4 spaces in a row (docs/cloud-api-notes.md).
const textRefused = "Param text cannot have new-line/tab characters or more than 4 consecutive spaces"

// currencyCodeRE is an ISO 4217 code as Meta's currency parameter takes it.
var currencyCodeRE = regexp.MustCompile(`^[A-Z]{3}$`)

// checkParam checks one parameter's own shape. named says whether the
// template is NAMED, and the component whether it is a header or body
// (where parameter_name belongs).
func (s *Sim) checkParam(p reqParam, comp string, named bool, now time.Time) (int, string) {
	switch p.Type {
	case "text":
		if p.Text == "" {
			return 100, mandatory("text")
		}
		if (comp == "body" || comp == "header") && (strings.ContainsAny(p.Text, "\n\t") || strings.Contains(p.Text, "     ")) {
			return 100, textRefused
		}
	case "currency":
		c := p.Currency
		if c == nil {
			return 131008, mandatory("currency")
		}
		if c.FallbackValue == "" || c.Code == "" || len(c.Amount1000) == 0 {
			return 131008, "currency requires fallback_value, code and amount_1000"
		}
		if !currencyCodeRE.MatchString(c.Code) {
			return 131009, fmt.Sprintf("currency code %q is not an ISO 4217 code", c.Code)
		}
		if _, err := strconv.ParseInt(string(c.Amount1000), 10, 64); err != nil {
			return 131009, fmt.Sprintf("currency amount_1000 %s is not an integer (the amount times 1000)", c.Amount1000)
		}
	case "date_time":
		if p.DateTime == nil || p.DateTime.FallbackValue == "" {
			return 131008, mandatory("date_time")
		}
	case "image", "video", "document":
		m := p.media()
		switch {
		case m == nil || m.ID == "" && m.Link == "":
			return 131008, fmt.Sprintf("Parameter '%s' requires an id or a link", p.Type)
		case m.ID != "" && m.Link != "":
			return 100, fmt.Sprintf("Parameter '%s' takes an id or a link, not both", p.Type)
		case m.Link != "":
			u, err := url.Parse(m.Link)
			if err != nil || u.Host == "" {
				return 100, fmt.Sprintf("Param %s['link']%s", p.Type, linkRefused)
			}
			if u.Scheme != "https" {
				return 131009, fmt.Sprintf("%s link %s: media links must be https", p.Type, m.Link)
			}
		default:
			if !s.mediaValid(m.ID, now) {
				return 100, fmt.Sprintf("Param %s['id']%s", p.Type, mediaIDRefused)
			}
			if u := s.media[m.ID]; mediaKind(u.mimeType) != p.Type {
				article := "a"
				if p.Type == "image" {
					article = "an"
				}
				return 131053, fmt.Sprintf("media id %s holds %s, not %s %s", m.ID, u.mimeType, article, p.Type)
			}
		}
		if m.Filename != "" && p.Type != "document" {
			return 100, fmt.Sprintf("Parameter '%s' takes no filename (documents only)", p.Type)
		}
	case "location":
		l := p.Location
		if l == nil || len(l.Latitude) == 0 || len(l.Longitude) == 0 {
			return 131008, "location requires latitude and longitude"
		}
		lat, err1 := coordinate(l.Latitude)
		lng, err2 := coordinate(l.Longitude)
		if err1 != nil || err2 != nil || math.Abs(lat) > 90 || math.Abs(lng) > 180 {
			return 131009, fmt.Sprintf("location %s,%s is not a latitude (-90 to 90) and longitude (-180 to 180)", l.Latitude, l.Longitude)
		}
	case "payload":
		if p.Payload == nil || *p.Payload == "" {
			return 100, mandatory("payload")
		}
	case "coupon_code":
		if p.CouponCode == nil || *p.CouponCode == "" {
			return 100, mandatory("coupon_code")
		}
	case "":
		return 131008, "Parameter 'type' is mandatory for every component parameter"
	default:
		return 100, fmt.Sprintf("Parameter type %q is not supported", p.Type)
	}
	if comp != "header" && comp != "body" {
		if p.Name != "" {
			return 100, "Parameter name " + p.Name + " is not valid for a button parameter"
		}
		return 0, ""
	}
	switch {
	case named && p.Name == "":
		return 100, "Parameter name is missing or empty"
	case !named && p.Name != "":
		return 100, "Parameter name " + p.Name + " is not valid for a template with positional parameters"
	}
	return 0, ""
}

// mediaKind is the parameter type that takes an uploaded file of type
// mimeType: image (jpeg, png), video, audio, sticker (webp) or document.
func mediaKind(mimeType string) string {
	switch {
	case mimeType == "image/webp":
		return "sticker"
	case strings.HasPrefix(mimeType, "image/"):
		return "image"
	case strings.HasPrefix(mimeType, "video/"):
		return "video"
	case strings.HasPrefix(mimeType, "audio/"):
		return "audio"
	}
	return "document"
}

// coordinate reads a latitude or longitude sent as a number or a string.
func coordinate(raw json.RawMessage) (float64, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case float64:
		return x, nil
	case string:
		return strconv.ParseFloat(strings.TrimSpace(x), 64)
	}
	return 0, fmt.Errorf("not a number")
}

// buttonTypeNames are the button types as Meta's details name them
// ("Button at index 0 of type Url requires a parameter").
var buttonTypeNames = map[string]string{"URL": "Url", "QUICK_REPLY": "QuickReply", "COPY_CODE": "CopyCode", "PHONE_NUMBER": "PhoneNumber"}

// subTypes are the button sub_type a send gives each template button type.
var subTypes = map[string]string{"URL": "url", "QUICK_REPLY": "quick_reply", "COPY_CODE": "copy_code"}

// buttonParamTypes is the parameter type each sub_type takes.
var buttonParamTypes = map[string]string{"url": "text", "quick_reply": "payload", "copy_code": "coupon_code"}

func countMismatch(comp string, got, want int) (int, string) {
	return 132000, fmt.Sprintf("%s: number of localizable_params (%d) does not match the expected number of params (%d)", comp, got, want)
}

func formatMismatch(comp, want, got string) (int, string) {
	return 132012, fmt.Sprintf("%s: Format mismatch, expected %s, received %s", comp, want, got)
}

// checkComponents checks a send's components against the template t.
func (s *Sim) checkComponents(t *Template, comps []reqComponent, now time.Time) (int, string) {
	named := t.Format == "NAMED"
	// Each parameter's own shape first, in the order sent.
	for _, c := range comps {
		typ := strings.ToLower(c.Type)
		for _, p := range c.Parameters {
			if code, d := s.checkParam(p, typ, named, now); code != 0 {
				return code, d
			}
		}
	}
	var header, body *reqComponent
	buttons := map[int]*reqComponent{}
	tb := t.buttons()
	for i := range comps {
		c := &comps[i]
		switch typ := strings.ToLower(c.Type); typ {
		case "header", "body":
			if typ == "header" && header != nil || typ == "body" && body != nil {
				return 100, fmt.Sprintf("components: a second %s component", typ)
			}
			if typ == "header" {
				header = c
			} else {
				body = c
			}
		case "button":
			idx, err := buttonIndex(c.Index)
			if err != nil {
				return 131008, "buttons: index is required, a number from 0 to 9"
			}
			if buttons[idx] != nil {
				return 100, fmt.Sprintf("buttons: a second component for the button at index %d", idx)
			}
			if idx >= len(tb) {
				return 131009, fmt.Sprintf("buttons: the template has no button at index %d (it has %d)", idx, len(tb))
			}
			b := tb[idx]
			sub := strings.ToLower(c.SubType)
			if want, ok := subTypes[b.Type]; !ok || sub != want {
				return 131009, fmt.Sprintf("buttons: Button at index %d is of type %s, not sub_type %q", idx, buttonTypeNames[b.Type], c.SubType)
			}
			buttons[idx] = c
		case "":
			return 131008, "components: type is required (header, body or button)"
		default:
			return 100, fmt.Sprintf("components: type %q is not header, body or button", c.Type)
		}
	}
	if code, d := checkHeader(t, header); code != 0 {
		return code, d
	}
	if code, d := checkBody(t, body); code != 0 {
		return code, d
	}
	for i, b := range tb {
		c := buttons[i]
		need := b.Dynamic() || b.Type == "COPY_CODE"
		switch {
		case c == nil && need:
			return 131008, fmt.Sprintf("buttons: Button at index %d of type %s requires a parameter", i, buttonTypeNames[b.Type])
		case c == nil:
			continue
		}
		want := 1
		if b.Type == "URL" && !b.Dynamic() {
			want = 0
		}
		if len(c.Parameters) != want {
			return countMismatch("button", len(c.Parameters), want)
		}
		if want == 1 {
			sub := strings.ToLower(c.SubType)
			if got := c.Parameters[0].Type; got != buttonParamTypes[sub] {
				return formatMismatch("buttons", strings.ToUpper(buttonParamTypes[sub]), strings.ToUpper(got))
			}
		}
	}
	return 0, ""
}

// buttonIndex reads a button component's index, "0" or 0.
func buttonIndex(raw json.RawMessage) (int, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, err
	}
	var n int
	var err error
	switch x := v.(type) {
	case string:
		n, err = strconv.Atoi(x)
	case float64:
		n = int(x)
		if float64(n) != x {
			err = fmt.Errorf("index %v is not an integer", x)
		}
	default:
		err = fmt.Errorf("index is not a number")
	}
	if err == nil && (n < 0 || n > 9) {
		err = fmt.Errorf("index %d out of 0-9", n)
	}
	return n, err
}

// textTypes are the parameter types a text header or a body takes.
var textTypes = map[string]bool{"text": true, "currency": true, "date_time": true}

// checkHeader checks the header component sent (nil: none) against the
// template's HEADER.
func checkHeader(t *Template, c *reqComponent) (int, string) {
	h := t.component("HEADER")
	var ps []reqParam
	if c != nil {
		ps = c.Parameters
	}
	if h == nil || h.Format == "TEXT" {
		want := t.headerParams()
		if len(ps) != len(want) {
			return countMismatch("header", len(ps), len(want))
		}
		for _, p := range ps {
			if !textTypes[p.Type] {
				return formatMismatch("header", "TEXT", strings.ToUpper(p.Type))
			}
			if t.Format == "NAMED" && !contains(want, p.Name) {
				return 132000, "header: unknown parameter_name " + p.Name
			}
		}
		return 0, ""
	}
	// A media or location header needs its parameter on every send.
	if len(ps) == 0 {
		return formatMismatch("header", h.Format, "UNKNOWN")
	}
	if len(ps) > 1 {
		return countMismatch("header", len(ps), 1)
	}
	if got := strings.ToUpper(ps[0].Type); got != h.Format {
		return formatMismatch("header", h.Format, got)
	}
	return 0, ""
}

// checkBody checks the body component sent (nil: none) against the
// template's BODY placeholders.
func checkBody(t *Template, c *reqComponent) (int, string) {
	var ps []reqParam
	if c != nil {
		ps = c.Parameters
	}
	for _, p := range ps {
		if !textTypes[p.Type] {
			return formatMismatch("body", "TEXT", strings.ToUpper(p.Type))
		}
	}
	if len(ps) != t.Params {
		return countMismatch("body", len(ps), t.Params)
	}
	if t.Format == "NAMED" {
		// One value per distinct name (cloud-api.md §3): with as many
		// values as names, every name known and none repeated is exactly
		// the template's set.
		for i, p := range ps {
			if !contains(t.ParamNames, p.Name) {
				return 132000, "body: unknown parameter_name " + p.Name
			}
			for _, q := range ps[:i] {
				if q.Name == p.Name {
					return 132000, "body: parameter_name " + p.Name + " given twice"
				}
			}
		}
	}
	return 0, ""
}
