// Package simulator is a faithful local stand-in for Meta's WhatsApp Cloud
// API: the send endpoint, the phone-number and template reads, Meta's error
// shapes and HTTP statuses, throughput per number (130429), the pair rate
// per recipient as a GCRA with interval and burst (131056), the rolling
// 24 h unique-recipient limit, quality and template states, latency with
// jitter and injected faults, and the signed status and reply webhooks Meta
// would send for every accepted message. It serves `whatsend sim`,
// `--simulate` (in process, through Transport) and every test.
//
// Defaults, as for a new Meta number: token sim-token, phone number id
// 100000000000001, business portfolio 200000000000001, WhatsApp Business
// Account 300000000000001, any vNN.N version, 80 msg/s, tier 250, pair
// interval 6 s with a burst of 45, quality GREEN, status CONNECTED, no
// faults, latency 20 ms ± 10 ms, and DefaultTemplates: order_update (en_US,
// UTILITY, APPROVED, 2 positional body parameters) and spring_promo (an
// IMAGE header, a URL and a quick-reply button).
//
// Templates carry Meta's components (Template.Components; ParseTemplates
// reads Meta's message_templates answer) and the listing answers them.
// Every send is checked against them as Meta checks it, per component:
// counts (132000), formats (132012), a button left without its parameter
// (131008), parameter shapes (100, 131008, 131009), media links (https)
// and media ids (issued here, not expired). POST /{phone-number-id}/media
// takes Meta's media types within Meta's size limits and answers an id
// that lasts MediaTTL (30 days) on the simulator's clock.
//
// Fault131056 is an exact share, evenly spread: 3 % answers exactly 3 sends
// in every 100 (error diffusion), so a sample cannot exceed it by chance.
// The other faults are drawn from the seeded generator.
//
// Recipients are keyed by the digits of to, as Meta keys them: wa_id is the
// digits, input echoes what was sent, and the pair rate and tier count the
// digits. The template listing takes Meta's filters (name, partial;
// status; category; language), fields and limit, and pages with cursors
// and a paging.next URL on the simulator's own base URL.
//
// Webhooks (cloud-api.md §5), when Config.WebhookURL or Config.WebhookSink
// is set: every accepted message gets the status notifications Meta would
// send, signed (X-Hub-Signature-256 under AppSecret) over the body as Meta
// sends it, non-ASCII \u-escaped and "/" as "\/": sent and delivered (both
// priced) and, for ReadRate of them, read; or one failed status with
// 131026 for an undeliverable recipient, 131049 for one at the marketing
// limit. ReplyRate of the delivered messages get a reply with context.id =
// the wamid, a text or (ButtonShare) a quick-reply button tap; StopShare of
// those say STOP, UserPrefsShare of the STOPs as a user_preferences stop.
// BSUIDShare of the recipients are shown by business-scoped user id.
// WebhookBatch notifications ready at once share a POST;
// WebhookDuplicateRate of them come twice; WebhookReorderRate of the read
// messages get read before delivered. The shares are exact over the
// sequence, their phases set by Seed; timestamps come from the simulator's
// clock. A bounded queue and a few workers deliver them, one step of
// WebhookDelay apart, retrying a non-200 answer a few times; the send path
// never waits for them, and Close stops them. The sources of these facts
// are in docs/cloud-api-notes.md.
//
// Inspection and control, no token needed:
//
//	GET  /_sim/messages  {"messages":[{"to","template","name","params","wamid","callback","time","received"}],
//	                     "cut_off":[{"to","received","at"}]}: "template" the request's
//	                     template object as sent; "received" when the request arrived,
//	                     "time" when it was accepted and answered; cut_off the sends
//	                     whose client went away during their latency (never accepted)
//	GET  /_sim/stats     {"accepted":N,"by_code":{"131056":N},"uploads":N,"webhooks":{"sent":N,"delivered":N,"read":N,
//	                     "failed":N,"replied":N,"opted_out":N,...}}: what it notified, once each
//	GET  /_sim/health    the phone-number fields
//	POST /_sim/control   {"quality":"RED"} {"status":"FLAGGED"} {"tier":2000}
//	                     {"template":{"name":"order_update","status":"PAUSED"}}
//	                     {"advance":"24h"} {"fault_131056":0.2} {"fail_rate":0}
//	                     {"webhooks":"hold"} {"webhooks":"release"}
package simulator

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whatsend/whatsend/sender"
)

// Defaults of a new simulated number.
const (
	DefaultToken         = "sim-token"
	DefaultPhoneNumberID = "100000000000001"
	DefaultBusinessID    = "200000000000001"
	DefaultWABAID        = "300000000000001"
)

// Config configures a simulator; zero values mean the defaults above.
type Config struct {
	Token, PhoneNumberID, BusinessID, WABAID string
	MPS                                      float64 // throughput per number
	Tier                                     int     // unique recipients per rolling 24 h; -1 unlimited
	PairInterval                             time.Duration
	PairBurst                                int
	Quality, Status, ThroughputLevel         string
	OnBizApp                                 bool
	Latency, Jitter                          time.Duration // Latency < 0: none
	FailRate, DropRate, HangRate             float64
	Fault131056                              float64       // share answered 131056 whatever the pacing
	UndeliverableRate, MarketingLimitRate    float64       // deterministic per number; failures come by webhook
	OverTierCode                             int           // Meta documents none; default 131048
	QualityModel                             bool          // YELLOW then RED as 131056 answers pile up
	Templates                                []Template    // nil: DefaultTemplates
	MediaTTL                                 time.Duration // how long an uploaded media id lasts; 0: DefaultMediaTTL
	Seed                                     int64
	Now                                      func() time.Time
	Logger                                   *slog.Logger

	// Webhooks, on when WebhookURL or WebhookSink is set.
	WebhookURL           string                              // POST each notification here
	WebhookSink          func(body []byte, signature string) // in-process delivery instead of WebhookURL
	AppSecret            sender.Secret                       // the HMAC key of X-Hub-Signature-256
	ReadRate             float64                             // share of delivered messages read; 0: DefaultReadRate; < 0: none
	ReplyRate            float64                             // share of delivered messages answered with a text
	StopShare            float64                             // share of those replies that say STOP
	WebhookDelay         time.Duration                       // acceptance to sent, and between steps; 0: DefaultWebhookDelay; < 0: none
	WebhookWorkers       int                                 // deliveries at once; default DefaultWebhookWorkers
	WebhookRetries       int                                 // retries after a non-200; default DefaultWebhookRetries; < 0: none
	WebhookQueue         int                                 // notifications waiting at most; default DefaultWebhookQueue
	ButtonShare          float64                             // share of replies that are quick-reply button taps
	UserPrefsShare       float64                             // share of STOPs sent as a user_preferences stop
	BSUIDShare           float64                             // share of recipients shown by business-scoped user id, without wa_id
	UnsupportedShare     float64                             // share of replies that are unsupported messages (error 131051), not counted as replies
	WebhookBatch         int                                 // notifications per POST at most; 0 or 1: each alone
	WebhookDuplicateRate float64                             // share of notifications sent twice
	WebhookReorderRate   float64                             // share of read messages whose read precedes delivered
	DisplayPhoneNumber   string                              // metadata.display_phone_number (digits); default DefaultDisplayPhoneNumber
	VerifiedName         string                              // the number's verified_name; default DefaultVerifiedName
}

// Message is one accepted message.
type Message struct {
	To               string          `json:"to"`       // as sent
	WAID             string          `json:"wa_id"`    // to's digits: Meta's key for the user
	Template         json.RawMessage `json:"template"` // the request's "template" object, byte for byte
	Name             string          `json:"name"`     // the template's name
	Language         string          `json:"language"`
	Params           []string        `json:"params"` // the body's text values (a currency's or date_time's fallback_value)
	WAMID            string          `json:"wamid"`
	Callback         string          `json:"callback"`
	Time             time.Time       `json:"time"`
	Received         time.Time       `json:"received"` // when the request arrived; Time: when it was accepted and answered
	Undeliverable    bool            `json:"undeliverable,omitempty"`
	MarketingLimited bool            `json:"marketing_limited,omitempty"`
	// With webhooks: whether the user reads it, and the reply, if any.
	Read      bool   `json:"read,omitempty"`
	Reply     string `json:"reply,omitempty"`      // the text or the button's text
	ReplyType string `json:"reply_type,omitempty"` // ReplyText, ReplyButton or ReplyUserPrefs
	Stop      bool   `json:"stop,omitempty"`       // the reply opts out
	Reordered bool   `json:"reordered,omitempty"`  // its read went out before its delivered
	UserID    string `json:"user_id,omitempty"`    // the business-scoped user id Meta shows, if any
}

// CutOff is a send whose client went away while it waited out its
// latency (a process killed, a request cancelled): never accepted, never
// answered. With a kill -9 these are the requests in flight at the kill.
type CutOff struct {
	To       string    `json:"to"`
	Received time.Time `json:"received"`
	At       time.Time `json:"at"` // when the connection ended
}

// Stats counts answers.
type Stats struct {
	Accepted int            `json:"accepted"`
	ByCode   map[string]int `json:"by_code"`
	Uploads  int            `json:"uploads,omitempty"` // media uploads answered with an id
	// InFlight counts the sends waiting out their latency (or hung) at this instant:
	// the requests a client killed now would leave unanswered.
	InFlight int           `json:"in_flight,omitempty"`
	CutOff   int           `json:"cut_off,omitempty"`  // sends cut off during their latency (Sim.CutOffs)
	Webhooks *WebhookStats `json:"webhooks,omitempty"` // with webhooks only
}

// TemplateControl changes a template.
type TemplateControl struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	Status   string `json:"status"`
	Quality  string `json:"quality"`
}

// Control is a change through POST /_sim/control.
type Control struct {
	Quality         string           `json:"quality"`
	Status          string           `json:"status"`
	ThroughputLevel string           `json:"throughput_level"`
	Tier            *int             `json:"tier"`
	Template        *TemplateControl `json:"template"`
	Advance         string           `json:"advance"`
	Fault131056     *float64         `json:"fault_131056"`
	FailRate        *float64         `json:"fail_rate"`
	DropRate        *float64         `json:"drop_rate"`
	HangRate        *float64         `json:"hang_rate"`
	// Webhooks "hold" keeps notifications queued past their time; "release"
	// lets them go, all that are due at once: a backlog on demand.
	Webhooks string `json:"webhooks"`
}

// Sim is the simulator. It is safe for concurrent use.
type Sim struct {
	mu         sync.Mutex
	cfg        Config
	offset     time.Duration
	rnd        *rand.Rand
	bucket     float64 // throughput tokens
	bucketAt   time.Time
	tat        map[string]time.Time // GCRA theoretical arrival time per recipient
	tatSweepAt int                  // prunePairs sweeps when tat reaches this size
	lastSent   map[string]time.Time // latest send per recipient in the last 24 h (tier)
	fifo       []sendEntry          // sends in order, for pruning the window
	msgs       []Message
	cut        []CutOff
	stats      Stats
	recent     []bool // last answers: 131056 or not (quality model)
	seq        uint64
	waiting    atomic.Int64      // sends waiting out their latency (Stats.InFlight)
	fault      share             // Fault131056's error diffusion
	wh         *webhooks         // nil without webhooks
	media      map[string]upload // uploaded media by id
	mediaSeq   uint64
}

// New returns a simulator with cfg's defaults applied.
func New(cfg Config) *Sim {
	cfg.Token = cmp.Or(cfg.Token, DefaultToken)
	cfg.PhoneNumberID = cmp.Or(cfg.PhoneNumberID, DefaultPhoneNumberID)
	cfg.BusinessID = cmp.Or(cfg.BusinessID, DefaultBusinessID)
	cfg.WABAID = cmp.Or(cfg.WABAID, DefaultWABAID)
	cfg.MPS = cmp.Or(cfg.MPS, 80)
	cfg.Tier = cmp.Or(cfg.Tier, 250)
	cfg.PairInterval = cmp.Or(cfg.PairInterval, 6*time.Second)
	cfg.PairBurst = cmp.Or(cfg.PairBurst, 45)
	cfg.Quality = cmp.Or(cfg.Quality, "GREEN")
	cfg.Status = cmp.Or(cfg.Status, "CONNECTED")
	cfg.ThroughputLevel = cmp.Or(cfg.ThroughputLevel, "STANDARD")
	if cfg.Latency == 0 {
		cfg.Latency, cfg.Jitter = 20*time.Millisecond, cmp.Or(cfg.Jitter, 10*time.Millisecond)
	}
	cfg.OverTierCode = cmp.Or(cfg.OverTierCode, 131048)
	if cfg.Templates == nil {
		cfg.Templates = DefaultTemplates()
	}
	// A copy: normalize fills in components, and Control changes statuses.
	cfg.Templates = append([]Template(nil), cfg.Templates...)
	for i := range cfg.Templates {
		t := &cfg.Templates[i]
		t.ID = cmp.Or(t.ID, fmt.Sprintf("13%014d", i+42))
		t.Status = cmp.Or(t.Status, "APPROVED")
		t.Quality = cmp.Or(t.Quality, "GREEN")
		t.Category = cmp.Or(t.Category, "UTILITY")
		t.Format = cmp.Or(t.Format, "POSITIONAL")
		t.normalize()
	}
	if cfg.MediaTTL == 0 {
		cfg.MediaTTL = DefaultMediaTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ReadRate == 0 {
		cfg.ReadRate = DefaultReadRate
	}
	if cfg.WebhookDelay == 0 {
		cfg.WebhookDelay = DefaultWebhookDelay
	}
	cfg.WebhookWorkers = cmp.Or(cfg.WebhookWorkers, DefaultWebhookWorkers)
	if cfg.WebhookRetries == 0 {
		cfg.WebhookRetries = DefaultWebhookRetries
	}
	cfg.WebhookRetries = max(cfg.WebhookRetries, 0)
	cfg.WebhookQueue = cmp.Or(cfg.WebhookQueue, DefaultWebhookQueue)
	cfg.DisplayPhoneNumber = cmp.Or(cfg.DisplayPhoneNumber, DefaultDisplayPhoneNumber)
	cfg.VerifiedName = cmp.Or(cfg.VerifiedName, DefaultVerifiedName)
	s := &Sim{cfg: cfg, rnd: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed)), tat: map[string]time.Time{},
		lastSent: map[string]time.Time{}, media: map[string]upload{}, stats: Stats{ByCode: map[string]int{}}, wh: newWebhooks(cfg)}
	s.bucket = s.burst()
	return s
}

// Close stops the webhook deliveries: notifications still queued are
// counted as given up. The API keeps answering. Close is idempotent.
func (s *Sim) Close() error {
	if s.wh != nil {
		s.wh.close()
	}
	return nil
}

// FlushWebhooks delivers every queued notification at once, without
// waiting for its time, and returns when none is pending: the in-process
// rehearsal calls it before reading delivery figures. Without webhooks it
// returns nil at once; after Close, ErrClosed.
func (s *Sim) FlushWebhooks(ctx context.Context) error {
	if s.wh == nil {
		return nil
	}
	return s.wh.flush(ctx)
}

func (s *Sim) burst() float64 { return max(s.cfg.MPS, 1) }

// Now is the simulator's clock: the base clock plus what control advanced.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

func (s *Sim) now() time.Time { return s.cfg.Now().Add(s.offset) }

// Messages returns every accepted message, in order.
func (s *Sim) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// CutOffs returns the sends cut off during their latency, in order.
func (s *Sim) CutOffs() []CutOff {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CutOff(nil), s.cut...)
}

// Stats returns the answer counts.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{Accepted: s.stats.Accepted, Uploads: s.stats.Uploads, ByCode: map[string]int{}, InFlight: int(s.waiting.Load()), CutOff: len(s.cut)}
	for k, v := range s.stats.ByCode {
		out.ByCode[k] = v
	}
	if s.wh != nil {
		wh := s.wh.snapshot()
		out.Webhooks = &wh
	}
	return out
}

// Control applies a change.
func (s *Sim) Control(c Control) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Advance != "" {
		d, err := time.ParseDuration(c.Advance)
		if err != nil || d < 0 {
			return fmt.Errorf("advance %q: want a positive Go duration such as 24h", c.Advance)
		}
		s.offset += d
		s.wh.advance(d) // pending notifications move with the clock
	}
	if c.Quality != "" {
		s.cfg.Quality = strings.ToUpper(c.Quality)
	}
	if c.Status != "" {
		s.cfg.Status = strings.ToUpper(c.Status)
	}
	if c.ThroughputLevel != "" {
		s.cfg.ThroughputLevel = strings.ToUpper(c.ThroughputLevel)
	}
	if c.Tier != nil {
		s.cfg.Tier = *c.Tier
	}
	switch c.Webhooks {
	case "":
	case "hold", "release":
		if s.wh == nil {
			return fmt.Errorf("webhooks %q: the simulator sends no webhooks", c.Webhooks)
		}
		s.wh.hold(c.Webhooks == "hold")
	default:
		return fmt.Errorf("webhooks %q: want hold or release", c.Webhooks)
	}
	for _, f := range []struct {
		v   *float64
		dst *float64
	}{{c.Fault131056, &s.cfg.Fault131056}, {c.FailRate, &s.cfg.FailRate}, {c.DropRate, &s.cfg.DropRate}, {c.HangRate, &s.cfg.HangRate}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if tc := c.Template; tc != nil {
		found := false
		for i := range s.cfg.Templates {
			t := &s.cfg.Templates[i]
			if t.Name == tc.Name && (tc.Language == "" || t.Language == tc.Language) {
				found = true
				t.Status = cmp.Or(strings.ToUpper(tc.Status), t.Status)
				t.Quality = cmp.Or(strings.ToUpper(tc.Quality), t.Quality)
			}
		}
		if !found {
			return fmt.Errorf("no template %q", tc.Name)
		}
	}
	return nil
}

var versionRE = regexp.MustCompile(`^v\d+\.\d+$`)

// ServeHTTP serves the API and the /_sim endpoints.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 2 && parts[0] == "_sim" {
		s.serveSim(w, r, parts[1])
		return
	}
	if len(parts) < 2 || !versionRE.MatchString(parts[0]) {
		writeError(w, 100, 400, "Unknown path components", "unknown path "+r.URL.Path)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.cfg.Token {
		s.count(190)
		writeError(w, 190, 401, "Error validating access token", "the access token is missing or invalid")
		return
	}
	switch {
	case len(parts) == 3 && parts[2] == "messages" && r.Method == http.MethodPost:
		if parts[1] != s.cfg.PhoneNumberID {
			s.count(100)
			writeError(w, 100, 400, "Invalid parameter", "unknown phone number id "+parts[1])
			return
		}
		s.send(w, r)
	case len(parts) == 3 && parts[2] == "media" && r.Method == http.MethodPost:
		if parts[1] != s.cfg.PhoneNumberID {
			s.count(100)
			writeError(w, 100, 400, "Invalid parameter", "unknown phone number id "+parts[1])
			return
		}
		s.upload(w, r)
	case len(parts) == 2 && r.Method == http.MethodGet && parts[1] == s.cfg.PhoneNumberID:
		s.health(w, r)
	case len(parts) == 3 && parts[2] == "message_templates" && r.Method == http.MethodGet && parts[1] == s.cfg.WABAID:
		s.templates(w, r)
	case len(parts) == 2 && r.Method == http.MethodGet && parts[1] != s.cfg.WABAID:
		// A health read of another number: answered like a send to it.
		s.count(100)
		writeError(w, 100, 400, "Invalid parameter", "unknown phone number id "+parts[1])
	default:
		writeError(w, 100, 400, "Unsupported request", fmt.Sprintf("%s %s is not supported", r.Method, r.URL.Path))
	}
}

// writeError writes Meta's Graph error envelope (cloud-api.md §1.2).
func writeError(w http.ResponseWriter, code, status int, title, details string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	e := map[string]any{"message": fmt.Sprintf("(#%d) %s", code, title), "type": "OAuthException", "code": code,
		"error_data": map[string]any{"messaging_product": "whatsapp", "details": details}, "fbtrace_id": "AsimTrace" + strconv.Itoa(code)}
	if code == 131056 {
		e["error_subcode"] = 2494055
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

// apiError answers with a catalog code and its documented HTTP status.
func (s *Sim) apiError(w http.ResponseWriter, code int, details string) {
	s.apiErrorTitled(w, code, "", details)
}

// apiErrorTitled is apiError with a title of its own ("" for the code's).
func (s *Sim) apiErrorTitled(w http.ResponseWriter, code int, title, details string) {
	e := sender.Lookup(code)
	status := cmp.Or(e.HTTPStatus, 400)
	writeError(w, code, status, cmp.Or(title, metaTitles[code], e.Title), details)
}

// metaTitles are Meta's own message texts where the catalog's title is
// ours (cloud-api-notes.md, "Template misuse").
var metaTitles = map[int]string{
	131008: "Required parameter is missing",
	131009: "Parameter value is not valid",
	132000: "Number of parameters does not match the expected number of params",
	132012: "Parameter format does not match format in the created template",
}

func (s *Sim) count(code int) {
	s.mu.Lock()
	s.stats.ByCode[strconv.Itoa(code)]++
	s.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Sim) serveSim(w http.ResponseWriter, r *http.Request, what string) {
	switch {
	case what == "messages" && r.Method == http.MethodGet:
		msgs := s.Messages()
		if msgs == nil {
			msgs = []Message{}
		}
		cut := s.CutOffs()
		if cut == nil {
			cut = []CutOff{}
		}
		writeJSON(w, map[string]any{"messages": msgs, "cut_off": cut})
	case what == "stats" && r.Method == http.MethodGet:
		writeJSON(w, s.Stats())
	case what == "health" && r.Method == http.MethodGet:
		writeJSON(w, s.healthFields(nil))
	case what == "control" && r.Method == http.MethodPost:
		var c Control
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&c); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			writeJSON(w, map[string]any{"ok": false, "error": "bad control JSON: " + err.Error()})
			return
		}
		if err := s.Control(c); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			writeJSON(w, map[string]any{"ok": false, "error": err.Error()})
			return
		}
		writeJSON(w, map[string]any{"ok": true})
	default:
		http.NotFound(w, r)
	}
}

// displayNumber is a number as the phone-number node shows it, "+1
// 555-000-1111" for a North American one and "+" and the digits otherwise;
// webhooks' metadata carries the digits alone.
func displayNumber(d string) string {
	if len(d) == 11 && d[0] == '1' {
		return "+1 " + d[1:4] + "-" + d[4:7] + "-" + d[7:]
	}
	return "+" + d
}

// tierLiteral is Meta's literal for a limit (cloud-api.md §2).
func tierLiteral(n int) any {
	switch n {
	case -1:
		return "TIER_UNLIMITED"
	case 50, 250:
		return fmt.Sprintf("TIER_%d", n)
	case 1000:
		return "TIER_1K"
	case 2000:
		return "TIER_2K"
	case 10000:
		return "TIER_10K"
	case 100000:
		return "TIER_100K"
	}
	return n
}

func (s *Sim) healthFields(want map[string]bool) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := map[string]any{
		"id": s.cfg.PhoneNumberID, "quality_rating": s.cfg.Quality, "status": s.cfg.Status,
		"verified_name": s.cfg.VerifiedName, "display_phone_number": displayNumber(s.cfg.DisplayPhoneNumber),
		"throughput": map[string]any{"level": s.cfg.ThroughputLevel}, "is_on_biz_app": s.cfg.OnBizApp,
		"whatsapp_business_manager_messaging_limit": tierLiteral(s.cfg.Tier),
		"messaging_limit_tier":                      tierLiteral(s.cfg.Tier),
		"quality_score":                             map[string]any{"score": s.cfg.Quality},
		"name_status":                               "APPROVED", "platform_type": "CLOUD_API", "code_verification_status": "VERIFIED",
	}
	if want == nil {
		return all
	}
	out := map[string]any{"id": s.cfg.PhoneNumberID}
	for k := range want {
		if v, ok := all[k]; ok {
			out[k] = v
		}
	}
	return out
}

func (s *Sim) health(w http.ResponseWriter, r *http.Request) {
	want := map[string]bool{}
	for _, f := range strings.Split(r.URL.Query().Get("fields"), ",") {
		if f = strings.TrimSpace(f); f != "" {
			want[f] = true
		}
	}
	if len(want) == 0 {
		// Without fields Meta answers these four (cloud-api-notes.md).
		want = map[string]bool{"id": true, "verified_name": true, "display_phone_number": true, "quality_rating": true}
	}
	writeJSON(w, s.healthFields(want))
}

// Template listing defaults, as Meta's message_templates edge: 25 a page,
// at most 100 however many are asked for (cloud-api-notes.md).
const (
	defaultTemplatePage = 25
	maxTemplatePage     = 100
)

// templateFields are the fields of a listed template without ?fields=.
var templateFields = []string{"id", "name", "language", "status", "category", "parameter_format", "components", "quality_score"}

// templates lists the WABA's templates as Meta's message_templates edge
// does: the name (partial), status, category and language filters, fields,
// limit, and cursor paging with paging.next as a full URL on the
// simulator's own base URL.
func (s *Sim) templates(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := defaultTemplatePage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			writeError(w, 100, 400, "Invalid parameter", "limit "+strconv.Quote(v)+" must be a positive integer")
			return
		}
		limit = min(n, maxTemplatePage)
	}
	fields := templateFields
	if v := q.Get("fields"); v != "" {
		fields = []string{"id"} // Graph always returns the id
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "" || f == "id" {
				continue
			}
			if !contains(allTemplateFields, f) {
				writeError(w, 100, 400, "Tried accessing nonexisting field ("+f+")", "message_templates has no field "+f)
				return
			}
			fields = append(fields, f)
		}
	}
	name, lang := q.Get("name"), q.Get("language")
	status, category := strings.ToUpper(q.Get("status")), strings.ToUpper(q.Get("category"))
	s.mu.Lock()
	var all []Template
	for _, t := range s.cfg.Templates {
		if name != "" && !strings.Contains(t.Name, name) || lang != "" && t.Language != lang ||
			status != "" && !inList(status, t.Status) || category != "" && !inList(category, t.Category) {
			continue
		}
		all = append(all, t)
	}
	s.mu.Unlock()
	// Cursors are opaque to the client: here the position of a template in
	// the filtered list, base64-encoded as Meta's are.
	from, to := 0, min(limit, len(all))
	if c := q.Get("after"); c != "" {
		i, ok := decodeCursor(c)
		if !ok {
			writeError(w, 100, 400, "Invalid parameter", "after "+strconv.Quote(c)+" is not a cursor of this list")
			return
		}
		from, to = min(i+1, len(all)), min(i+1+limit, len(all))
	} else if c := q.Get("before"); c != "" {
		i, ok := decodeCursor(c)
		if !ok {
			writeError(w, 100, 400, "Invalid parameter", "before "+strconv.Quote(c)+" is not a cursor of this list")
			return
		}
		to = min(max(i, 0), len(all))
		from = max(to-limit, 0)
	}
	data := []map[string]any{}
	for _, t := range all[from:to] {
		full := templateJSON(t)
		out := map[string]any{}
		for _, f := range fields {
			if v, ok := full[f]; ok {
				out[f] = v
			}
		}
		data = append(data, out)
	}
	resp := map[string]any{"data": data}
	if len(data) > 0 {
		paging := map[string]any{"cursors": map[string]any{"before": encodeCursor(from), "after": encodeCursor(to - 1)}}
		base := "http://" + r.Host + r.URL.Path
		if r.TLS != nil {
			base = "https://" + r.Host + r.URL.Path
		}
		page := func(key string, i int) string {
			v := url.Values{}
			for k, vs := range q {
				if k != "after" && k != "before" {
					v[k] = vs
				}
			}
			v.Set("limit", strconv.Itoa(limit))
			v.Set(key, encodeCursor(i))
			return base + "?" + v.Encode()
		}
		if to < len(all) {
			paging["next"] = page("after", to-1)
		}
		if from > 0 {
			paging["previous"] = page("before", from)
		}
		resp["paging"] = paging
	}
	writeJSON(w, resp)
}

// allTemplateFields are the fields a listing may ask for.
var allTemplateFields = append([]string{"rejected_reason"}, templateFields...)

// inList reports whether v is one of the comma-separated values of list,
// as Meta's status and category filters take them.
func inList(list, v string) bool {
	for _, x := range strings.Split(list, ",") {
		if strings.TrimSpace(x) == v {
			return true
		}
	}
	return false
}

func encodeCursor(i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("sim:" + strconv.Itoa(i)))
}

func decodeCursor(c string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !strings.HasPrefix(string(b), "sim:") {
		return 0, false
	}
	i, err := strconv.Atoi(string(b[4:]))
	return i, err == nil && i >= 0
}

// templateJSON is every field of a listed template.
func templateJSON(t Template) map[string]any {
	return map[string]any{
		"id": t.ID, "name": t.Name, "language": t.Language, "status": t.Status, "category": t.Category,
		"parameter_format": t.Format, "quality_score": map[string]any{"score": t.Quality, "date": 1767225600},
		"components":      t.Components,
		"rejected_reason": "NONE",
	}
}

// hashShare is a deterministic number in [0,1) for a recipient, so shares
// such as "not on WhatsApp" stick to the same numbers across runs.
func hashShare(salt, to string) float64 {
	h := fnv.New64a()
	h.Write([]byte(salt + to))
	return float64(h.Sum64()%1_000_000) / 1_000_000
}
