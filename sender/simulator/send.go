package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type sendRequest struct {
	MessagingProduct string           `json:"messaging_product"`
	To               string           `json:"to"`
	Type             string           `json:"type"`
	Callback         string           `json:"biz_opaque_callback_data"`
	Template         *templateRequest `json:"template"`
	raw              json.RawMessage  // the "template" object as sent
}

type templateRequest struct {
	Name     string `json:"name"`
	Language struct {
		Code string `json:"code"`
	} `json:"language"`
	Components []reqComponent `json:"components"`
}

// reqComponent is one entry of a send's template.components (cloud-api.md
// §1): header, body or button (with sub_type and index).
type reqComponent struct {
	Type       string          `json:"type"`
	SubType    string          `json:"sub_type"`
	Index      json.RawMessage `json:"index"` // "0" as Meta's examples write it, or 0
	Parameters []reqParam      `json:"parameters"`
}

// reqParam is one parameter, of any type a template send takes.
type reqParam struct {
	Type       string       `json:"type"`
	Name       string       `json:"parameter_name"`
	Text       string       `json:"text"`
	Payload    *string      `json:"payload"`
	CouponCode *string      `json:"coupon_code"`
	Image      *reqMedia    `json:"image"`
	Video      *reqMedia    `json:"video"`
	Document   *reqMedia    `json:"document"`
	Location   *reqLocation `json:"location"`
	Currency   *struct {
		FallbackValue string          `json:"fallback_value"`
		Code          string          `json:"code"`
		Amount1000    json.RawMessage `json:"amount_1000"`
	} `json:"currency"`
	DateTime *struct {
		FallbackValue string `json:"fallback_value"`
	} `json:"date_time"`
}

type reqMedia struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Filename string `json:"filename"`
}

type reqLocation struct {
	Latitude  json.RawMessage `json:"latitude"` // a number, or a string of one
	Longitude json.RawMessage `json:"longitude"`
	Name      string          `json:"name"`
	Address   string          `json:"address"`
}

// inProcessKey marks a request that came through Transport: a drop fault
// then ends the round trip with an error instead of a hijacked socket.
type inProcessKey struct{}

// errDrop tells the in-process transport to break the connection.
const dropHeader = "X-Sim-Drop"

// decision is what the simulator decided for one send.
type decision struct {
	code    int    // 0: accepted
	title   string // the message's title when not the code's own
	details string
	drop    bool
	hang    bool
	fail    bool
	latency time.Duration
}

func (s *Sim) send(w http.ResponseWriter, r *http.Request) {
	received := s.Now()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	var req sendRequest
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err == nil {
		var raw struct {
			Template json.RawMessage `json:"template"`
		}
		err = json.Unmarshal(body, &raw)
		req.raw = raw.Template
	}
	if err != nil {
		s.count(100)
		writeError(w, 100, 400, "Invalid parameter", "request body is not valid JSON")
		return
	}
	if msg := validate(req); msg != "" {
		s.count(131008)
		s.apiError(w, 131008, msg)
		return
	}
	params := []string{}
	for _, c := range req.Template.Components {
		if strings.EqualFold(c.Type, "body") {
			for _, p := range c.Parameters {
				params = append(params, p.value())
			}
		}
	}
	// Meta keys a recipient by the digits of to: "+55 11 98765-0001" and
	// "5511987650001" are one user, for the pair rate, the tier and wa_id.
	waID := digits(req.To)
	if waID == "" {
		s.count(100)
		writeError(w, 100, 400, "Invalid parameter", "to "+strconv.Quote(req.To)+" holds no phone number digits")
		return
	}
	d := s.decide(req, waID)
	if d.code != 0 {
		s.apiErrorTitled(w, d.code, d.title, d.details)
		return
	}
	if d.hang {
		s.waiting.Add(1)
		<-r.Context().Done()
		s.waiting.Add(-1)
		return
	}
	if d.latency > 0 {
		s.waiting.Add(1)
		t := time.NewTimer(d.latency)
		select {
		case <-t.C:
			s.waiting.Add(-1)
		case <-r.Context().Done():
			s.waiting.Add(-1)
			t.Stop()
			s.mu.Lock()
			s.cut = append(s.cut, CutOff{To: req.To, Received: received, At: s.now()})
			s.mu.Unlock()
			return
		}
	}
	if d.fail {
		s.apiError(w, 131000, "injected server error (--fail-rate)")
		return
	}
	m := s.accept(req, waID, params, received)
	if d.drop {
		s.dropConnection(w, r)
		return
	}
	writeJSON(w, map[string]any{
		"messaging_product": "whatsapp",
		"contacts":          []map[string]any{{"input": req.To, "wa_id": waID}},
		"messages":          []map[string]any{{"id": m.WAMID, "message_status": "accepted"}},
	})
}

// digits is to as Meta keys it: its digits only, the wa_id of a reply.
func digits(to string) string {
	var b strings.Builder
	for _, r := range to {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func validate(req sendRequest) string {
	switch {
	case req.MessagingProduct != "whatsapp":
		return `messaging_product must be "whatsapp"`
	case req.To == "":
		return "to is required"
	case req.Type != "template":
		return `type must be "template"`
	case req.Template == nil || req.Template.Name == "":
		return "template.name is required"
	case req.Template.Language.Code == "":
		return "template.language.code is required"
	case len(req.Callback) > 512:
		return "biz_opaque_callback_data is longer than 512 characters"
	}
	return ""
}

// decide applies the checks in Meta's order and records the answer code.
func (s *Sim) decide(req sendRequest, waID string) decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	d := s.check(req, waID, now)
	if d.code != 0 {
		s.stats.ByCode[fmt.Sprint(d.code)]++
	}
	s.observeQuality(d.code == 131056)
	if d.code == 0 {
		d.latency = s.latency()
		switch x := s.rnd.Float64(); {
		case x < s.cfg.FailRate:
			d.fail = true
			s.stats.ByCode["131000"]++
		case x < s.cfg.FailRate+s.cfg.HangRate:
			d.hang = true
		case x < s.cfg.FailRate+s.cfg.HangRate+s.cfg.DropRate:
			d.drop = true
		}
	}
	return d
}

func (s *Sim) check(req sendRequest, waID string, now time.Time) decision {
	t := s.template(req.Template.Name, req.Template.Language.Code)
	switch {
	case t == nil:
		return decision{code: 132001, details: fmt.Sprintf("template name (%s) does not exist in %s", req.Template.Name, req.Template.Language.Code)}
	case t.Status == "PAUSED":
		return decision{code: 132015, details: "template is paused"}
	case t.Status == "DISABLED":
		return decision{code: 132016, details: "template is disabled"}
	case t.Status != "APPROVED":
		return decision{code: 132001, details: "template is not approved (" + t.Status + ")"}
	}
	if code, details := s.checkComponents(t, req.Template.Components, now); code != 0 {
		d := decision{code: code, details: details}
		if strings.HasSuffix(details, mediaIDRefused) || strings.HasSuffix(details, linkRefused) {
			// Meta answers these in the message ("(#100) Param image['id']
			// is not a valid …"); clients match it there.
			d.title = details
		}
		return d
	}
	if !s.takeToken(now) {
		return decision{code: 130429, details: "Message failed to send because there were too many messages sent from this phone number in a short period of time."}
	}
	// An exact share, evenly spread (error diffusion): a random draw
	// could exceed the setting by chance in a small sample.
	if s.fault.next(s.cfg.Fault131056) {
		return decision{code: 131056, details: "Too many messages to this user recently."}
	}
	if !s.pairAllows(waID, now) {
		return decision{code: 131056, details: "Too many messages to this user recently."}
	}
	if !s.tierAllows(waID, now) {
		return decision{code: s.cfg.OverTierCode, details: fmt.Sprintf("messaging limit of %d unique users per 24 hours reached", s.cfg.Tier)}
	}
	return decision{}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func (s *Sim) template(name, lang string) *Template {
	for i := range s.cfg.Templates {
		if t := &s.cfg.Templates[i]; t.Name == name && t.Language == lang {
			return t
		}
	}
	return nil
}

// takeToken is the number's throughput bucket (cloud-api.md §4.1).
func (s *Sim) takeToken(now time.Time) bool {
	if el := now.Sub(s.bucketAt); el > 0 {
		s.bucket = min(s.burst(), s.bucket+el.Seconds()*s.cfg.MPS)
	}
	s.bucketAt = now
	if s.bucket < 1 {
		return false
	}
	s.bucket--
	return true
}

// pairAllows is a GCRA per recipient: emission interval PairInterval,
// tolerance PairBurst-1 intervals (cloud-api.md §4.2).
func (s *Sim) pairAllows(to string, now time.Time) bool {
	t := s.cfg.PairInterval
	tau := time.Duration(max(s.cfg.PairBurst-1, 0)) * t
	tat := s.tat[to]
	if tat.Before(now) {
		tat = now
	}
	if tat.Sub(now) > tau {
		return false
	}
	s.tat[to] = tat.Add(t)
	s.prunePairs(now)
	return true
}

// prunePairs drops recipients whose theoretical arrival time has passed
// (they are as good as never seen), each time the map has doubled since the
// last sweep: amortised O(1) a send, and a long-running simulator's memory
// follows the recipients of the last interval × burst.
func (s *Sim) prunePairs(now time.Time) {
	if len(s.tat) < max(s.tatSweepAt, minPairSweep) {
		return
	}
	for to, tat := range s.tat {
		if !tat.After(now) {
			delete(s.tat, to)
		}
	}
	s.tatSweepAt = 2 * len(s.tat)
}

// minPairSweep is the pair map's size below which it is never swept.
const minPairSweep = 4096

// tierAllows counts unique recipients in the rolling 24 h of the clock: a
// recipient counts until 24 h after its latest send. The send log is a FIFO,
// so each check costs amortised O(1).
func (s *Sim) tierAllows(to string, now time.Time) bool {
	if s.cfg.Tier < 0 {
		return true
	}
	cut := now.Add(-24 * time.Hour)
	for len(s.fifo) > 0 && !s.fifo[0].at.After(cut) {
		e := s.fifo[0]
		s.fifo = s.fifo[1:]
		if s.lastSent[e.to].Equal(e.at) {
			delete(s.lastSent, e.to)
		}
	}
	if _, counted := s.lastSent[to]; !counted && len(s.lastSent) >= s.cfg.Tier {
		return false
	}
	s.lastSent[to] = now
	s.fifo = append(s.fifo, sendEntry{to, now})
	return true
}

type sendEntry struct {
	to string
	at time.Time
}

func (s *Sim) latency() time.Duration {
	if s.cfg.Latency <= 0 {
		return 0
	}
	d := s.cfg.Latency
	if s.cfg.Jitter > 0 {
		d += time.Duration(s.rnd.Int64N(int64(2*s.cfg.Jitter))) - s.cfg.Jitter
	}
	return max(d, 0)
}

// observeQuality is the optional quality model: the rating turns YELLOW
// above 2 % and RED above 5 % of 131056 answers in the last 200.
func (s *Sim) observeQuality(hit bool) {
	if !s.cfg.QualityModel {
		return
	}
	s.recent = append(s.recent, hit)
	if len(s.recent) > 200 {
		s.recent = s.recent[1:]
	}
	if len(s.recent) < 50 {
		return
	}
	hits := 0
	for _, h := range s.recent {
		if h {
			hits++
		}
	}
	share := float64(hits) / float64(len(s.recent))
	switch {
	case share > 0.05:
		s.cfg.Quality = "RED"
	case share > 0.02 && s.cfg.Quality == "GREEN":
		s.cfg.Quality = "YELLOW"
	}
}

// accept records an accepted message.
func (s *Sim) accept(req sendRequest, waID string, params []string, received time.Time) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	t := s.template(req.Template.Name, req.Template.Language.Code)
	m := Message{
		To: req.To, WAID: waID, Template: req.raw, Name: req.Template.Name, Language: req.Template.Language.Code, Params: params,
		WAMID:    fmt.Sprintf("wamid.HBgN%s%010dFQIAERgS", waID, s.seq),
		Callback: req.Callback, Time: s.now(), Received: received,
		Undeliverable: hashShare("undeliverable", waID) < s.cfg.UndeliverableRate,
	}
	m.MarketingLimited = t != nil && t.Category == "MARKETING" && hashShare("marketing", waID) < s.cfg.MarketingLimitRate
	category := ""
	if t != nil {
		category = t.Category
	}
	s.planWebhooks(&m, category)
	s.msgs = append(s.msgs, m)
	s.stats.Accepted++
	return m
}

// dropConnection breaks the connection after the message was recorded: the
// ambiguous case where the client cannot know whether Meta has it.
func (s *Sim) dropConnection(w http.ResponseWriter, r *http.Request) {
	if r.Context().Value(inProcessKey{}) != nil {
		w.Header().Set(dropHeader, "1")
		w.WriteHeader(http.StatusOK)
		return
	}
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection without an answer
}
