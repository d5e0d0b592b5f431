package sender

import (
	"fmt"
	"log/slog"
	"strings"
)

// DefaultVersion is the Graph API version used when none is configured: the
// first with whatsapp_business_manager_messaging_limit (cloud-api.md §0).
const DefaultVersion = "v24.0"

// DefaultBaseURL is Meta's Graph API.
const DefaultBaseURL = "https://graph.facebook.com"

// Secret is a value that must never be printed: the access token, the app
// secret. It redacts itself in fmt, %v of structs and slog.
type Secret string

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return "[redacted]" }
func (Secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Reveal returns the secret's value, for the Authorization header only.
func (s Secret) Reveal() string { return string(s) }

// ParamFormat is how a template names its body placeholders.
type ParamFormat string

// Parameter formats (cloud-api.md §3).
const (
	Positional ParamFormat = "POSITIONAL"
	Named      ParamFormat = "NAMED"
)

// Message is one template message to send.
type Message struct {
	To       string // E.164, with the leading +
	Template string
	Language string // exact locale code, e.g. en_US
	Format   ParamFormat
	// Params are the body parameter values in order. For a Named template,
	// Names[i] is the placeholder name of Params[i].
	Params []string
	Names  []string
	// Callback is biz_opaque_callback_data (at most 512 characters).
	Callback string
	// Header is the header parameter; nil when the template's header has
	// none.
	Header *Param
	// Buttons are the dynamic button parameters, in any order; they are
	// sent in the order of their index.
	Buttons []Button
	// Body, when not nil, replaces Params/Names: typed body parameters
	// (currency, date_time beside text), in order.
	Body []Param
	// Leaving, when set, is called as the request is about to reach the
	// API: when the HTTP client reads its body, which it does once it
	// holds a connection and before any of the body is written, so no
	// complete request leaves before it returns. A request it refuses
	// (an error) does not leave: SendTemplate returns the error, wrapped.
	// A request the client writes again (a header media re-upload, a
	// reused connection found closed) calls it again.
	Leaving func() error
}

// Parameter types (the "type" of a template parameter, cloud-api.md §1).
const (
	ParamText     = "text"
	ParamImage    = "image"
	ParamVideo    = "video"
	ParamDocument = "document"
	ParamLocation = "location"
	ParamCurrency = "currency"
	ParamDateTime = "date_time"
)

// Button sub-types of a dynamic button parameter.
const (
	ButtonURL        = "url"
	ButtonQuickReply = "quick_reply"
	ButtonCopyCode   = "copy_code"
)

// Param is one template parameter value, as an entry of Meta's
// "parameters" list.
type Param struct {
	Type     string // ParamText, ParamImage, ...
	Name     string // parameter_name, NAMED templates only
	Text     string
	Link     string // media by https link
	MediaID  string // media by uploaded id
	Filename string // document only, optional
	Location *Location
	Currency *Currency
	DateTime string // fallback_value of a date_time parameter
}

// Location is a LOCATION header's value.
type Location struct {
	Latitude, Longitude float64
	Name, Address       string
}

// Currency is a currency parameter: Amount1000 is the amount times 1000
// (12.50 is 12500), Code an ISO 4217 code.
type Currency struct {
	FallbackValue, Code string
	Amount1000          int64
}

// Button is one dynamic button: Index as in the template's BUTTONS list.
type Button struct {
	Index   int
	SubType string // ButtonURL, ButtonQuickReply, ButtonCopyCode
	Value   string // URL suffix, quick-reply payload, or coupon code
}

// Accepted is Meta's answer to a successful send (HTTP 200).
type Accepted struct {
	WAMID         string
	MessageStatus string // "", accepted, held_for_quality_assessment, paused, ...
	WAID          string // contacts[0].wa_id
}

// Limit is a messaging limit: unique users per rolling 24 h.
type Limit struct {
	Tier      string // the literal read, e.g. TIER_2K, or "2000"
	Users     int    // 0 when unknown
	Unlimited bool
}

// Known reports whether the limit has a usable value.
func (l Limit) Known() bool { return l.Unlimited || l.Users > 0 }

// Health is what the phone-number node says about the sending number.
type Health struct {
	ID              string
	Quality         string // GREEN, YELLOW, RED, UNKNOWN
	Status          string // CONNECTED, FLAGGED, RESTRICTED, ...
	ThroughputLevel string // STANDARD, HIGH, NOT_APPLICABLE
	OnBizApp        bool
	Limit           Limit
	LimitField      string // which field the limit came from, "" when none
}

// Template is one message template in one language.
type Template struct {
	ID         string
	Name       string
	Language   string
	Status     string // APPROVED, PAUSED, DISABLED, ...
	Category   string // MARKETING, UTILITY, AUTHENTICATION
	Format     ParamFormat
	Quality    string   // GREEN, YELLOW, RED, UNKNOWN
	ParamCount int      // distinct body placeholders
	ParamNames []string // for Named templates, in order of first appearance
	// Header is the template's HEADER component; nil when it has none.
	Header *TemplateHeader
	// Footer is the FOOTER text, "" when none (a footer takes no parameter).
	Footer string
	// Buttons are the BUTTONS component's buttons, in their index order.
	Buttons []TemplateButton
}

// Header formats of a template (Meta, "Template components").
const (
	HeaderText     = "TEXT"
	HeaderImage    = "IMAGE"
	HeaderVideo    = "VIDEO"
	HeaderDocument = "DOCUMENT"
	HeaderLocation = "LOCATION"
	HeaderGIF      = "GIF"
)

// TemplateHeader is a template's HEADER component.
type TemplateHeader struct {
	Format string // TEXT, IMAGE, VIDEO, DOCUMENT, LOCATION, GIF (upper case)
	Text   string // a TEXT header's text
	// ParamCount is the number of parameters the header takes on a send:
	// the placeholders of a TEXT header (at most 1), 1 for a media or
	// location header (it is given on every send), 0 for a TEXT header
	// without a placeholder.
	ParamCount int
	ParamNames []string // a NAMED template's TEXT header placeholder
}

// Media reports whether the header takes a media parameter (image, video,
// document; a GIF header is sent as a video).
func (h TemplateHeader) Media() bool {
	switch h.Format {
	case HeaderImage, HeaderVideo, HeaderDocument, HeaderGIF:
		return true
	}
	return false
}

// Button types of a template's BUTTONS component (Meta, "Template
// components"); OTP is an AUTHENTICATION template's one-time-password
// button.
const (
	ButtonTypeURL        = "URL"
	ButtonTypeQuickReply = "QUICK_REPLY"
	ButtonTypeCopyCode   = "COPY_CODE"
	ButtonTypePhone      = "PHONE_NUMBER"
	ButtonTypeOTP        = "OTP"
	ButtonTypeFlow       = "FLOW"
)

// TemplateButton is one button of a template.
type TemplateButton struct {
	Index int    // position in the BUTTONS list, the send's "index"
	Type  string // URL, QUICK_REPLY, COPY_CODE, PHONE_NUMBER, OTP, FLOW, ... (upper case)
	Text  string // the label
	URL   string // a URL button's URL, with {{1}} when it is dynamic
	// Dynamic: a URL button whose URL ends in a {{1}} placeholder; each
	// send gives the suffix.
	Dynamic bool
	OTPType string // an OTP button's otp_type: COPY_CODE, ONE_TAP, ZERO_TAP
}

// NeedsParam reports whether every send must give this button a parameter:
// a dynamic URL's suffix, a copy-code button's coupon code, a
// one-time-password button's code. A quick reply's payload is optional.
func (b TemplateButton) NeedsParam() bool {
	switch b.Type {
	case ButtonTypeURL:
		return b.Dynamic
	case ButtonTypeCopyCode, ButtonTypeOTP:
		return true
	}
	return false
}

// TakesParam reports whether a send may give this button a parameter.
func (b TemplateButton) TakesParam() bool {
	return b.NeedsParam() || b.Type == ButtonTypeQuickReply
}

// SubType is the button's sub_type in a send (Meta, "Send message
// templates"): url, quick_reply, copy_code; an OTP button is sent as url.
func (b TemplateButton) SubType() string {
	switch b.Type {
	case ButtonTypeURL, ButtonTypeOTP:
		return ButtonURL
	case ButtonTypeQuickReply:
		return ButtonQuickReply
	case ButtonTypeCopyCode:
		return ButtonCopyCode
	}
	return strings.ToLower(b.Type)
}

// APIError is an error answer from the Graph API (cloud-api.md §1.2).
type APIError struct {
	HTTPStatus int
	Code       int
	Subcode    int
	Type       string
	Message    string
	Details    string // error_data.details
	UserTitle  string
	UserMsg    string
	FBTraceID  string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("whatsapp api: code %d (http %d)", e.Code, e.HTTPStatus)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Details != "" {
		s += ": " + e.Details
	}
	return s
}

// ConfigError is a Config the client refuses: Field names the Config field
// (BaseURL, PhoneNumberID, Token) so a caller can name its own flag.
type ConfigError struct {
	Field string
	Value string // the value refused; empty for the token
	Err   error
}

func (e *ConfigError) Error() string {
	if e.Value == "" {
		return "sender: " + e.Field + ": " + e.Err.Error()
	}
	return fmt.Sprintf("sender: %s %q: %v", e.Field, e.Value, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// RedirectError is a 3xx answer. The client never follows a redirect: the
// request would carry the token (and the message) to an address nobody
// configured. It is a configuration problem (the API URL points at the
// wrong place), so every message would meet it: Classify calls it fatal
// and the campaign pauses, recipients stay pending.
type RedirectError struct {
	Op         string // "send", "health", "template"
	HTTPStatus int
	Location   string // where it redirects, redacted and bounded; "" when the answer named none
}

func (e *RedirectError) Error() string {
	to := e.Location
	if to == "" {
		to = "an address it does not name"
	}
	return fmt.Sprintf("%s: not sent: the API URL redirects (http %d) to %s: check --api-url; whatsend does not follow redirects", e.Op, e.HTTPStatus, to)
}

// TransportError is a failure to get an API answer: the network, a timeout,
// a truncated or non-Graph body.
type TransportError struct {
	Op string // "send", "health", "template"
	// MayHaveReached is true when the request could have been processed by
	// Meta: it was written and then the connection broke, timed out, or
	// answered with a body that is not a Graph answer. False when it surely
	// did not leave (dial, DNS, TLS failure).
	MayHaveReached bool
	Timeout        bool
	HTTPStatus     int // when an HTTP status was read without a Graph body
	Err            error
}

func (e *TransportError) Error() string {
	s := e.Op + ": "
	if e.MayHaveReached {
		s += "outcome unknown: "
	} else {
		s += "not sent: "
	}
	if e.HTTPStatus != 0 {
		s += fmt.Sprintf("http %d: ", e.HTTPStatus)
	}
	return s + e.Err.Error()
}

func (e *TransportError) Unwrap() error { return e.Err }
