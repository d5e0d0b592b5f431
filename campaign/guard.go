package campaign

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// Guard defaults (DESIGN.md "The guard").
const (
	DefaultGuardWindow    = 200  // most recent send attempts judged
	DefaultGuardMinSample = 50   // attempts before the ratio is judged
	DefaultSlowShare      = 0.02 // 131056 share above which the rate is halved
	DefaultPauseShare     = 0.05 // 131056 share above which the campaign pauses
	healthMinInterval     = 15 * time.Second
	healthMaxInterval     = time.Minute
	minRateFactor         = 1.0 / 16
)

// guard watches the signals that say the number is being hurt: the share of
// 131056 answers, the quality rating and status, and 130429 answers. It is
// used under the runner's mutex.
type guard struct {
	now        func() time.Time
	window     *ShareWindow
	minSample  int
	slowShare  float64
	pauseShare float64

	ratioFactor   float64 // 0.5 above slowShare, restored in quarter steps
	sinceChange   int
	qualityFactor float64 // 0.5 while quality is YELLOW
	slowFactor    float64 // halved on 130429, restored on successes
	okStreak      int
	lastSlow      time.Time

	quality    string
	status     string
	lastHealth time.Time
}

func newGuard(s Settings, now func() time.Time) *guard {
	size := cmp.Or(s.GuardWindow, DefaultGuardWindow)
	return &guard{
		now:           now,
		window:        NewShareWindow(size),
		minSample:     min(cmp.Or(s.GuardMinSample, DefaultGuardMinSample), size),
		slowShare:     cmp.Or(s.SlowShare, DefaultSlowShare),
		pauseShare:    cmp.Or(s.PauseShare, DefaultPauseShare),
		ratioFactor:   1,
		qualityFactor: 1,
		slowFactor:    1,
	}
}

// observe records one send attempt's answer code (0 for success) and
// returns a pause when the 131056 share went over the pause threshold.
func (g *guard) observe(code int) *pauseCause {
	g.window.Observe(code == rateLimitedCode)
	g.sinceChange++
	if code == 0 {
		g.okStreak++
		if g.slowFactor < 1 && g.okStreak >= 100 {
			g.slowFactor = min(1, g.slowFactor*1.25)
			g.okStreak = 0
		}
	}
	if g.window.Len() < g.minSample {
		return nil
	}
	share := g.share()
	switch {
	case share > g.pauseShare:
		return &pauseCause{
			Kind:   "ratio",
			Reason: fmt.Sprintf("%.1f%% of the last %d send attempts were answered 131056 (pair rate limit); the limit is %.0f%%", share*100, g.window.Len(), g.pauseShare*100),
			Detail: map[string]any{"share": share, "window": g.window.Len(), "hits": g.window.Hits(), "threshold": g.pauseShare},
		}
	case share > g.slowShare:
		if g.ratioFactor == 1 {
			g.ratioFactor = 0.5
			g.sinceChange = 0
		}
	case g.ratioFactor < 1 && g.sinceChange >= g.minSample:
		// Back under the threshold for a whole sample: a quarter step up.
		g.ratioFactor = min(1, g.ratioFactor+0.25)
		g.sinceChange = 0
	}
	return nil
}

// share is the 131056 share of the attempts in the window.
func (g *guard) share() float64 { return g.window.Share() }

// rateFactor is the multiplier applied to the chosen send rate.
func (g *guard) rateFactor() float64 {
	return max(g.ratioFactor*g.qualityFactor*g.slowFactor, minRateFactor)
}

// slowDown reacts to a throughput answer (130429): halve the rate, at most
// once a second.
func (g *guard) slowDown(code int) {
	g.okStreak = 0
	if code != 130429 {
		return
	}
	if now := g.now(); now.Sub(g.lastSlow) >= time.Second {
		g.slowFactor = max(g.slowFactor/2, minRateFactor)
		g.lastSlow = now
	}
}

// observeHealth records a health read; YELLOW halves the rate.
func (g *guard) observeHealth(h sender.Health) {
	g.quality, g.status, g.lastHealth = h.Quality, h.Status, g.now()
	if h.Quality == "YELLOW" {
		g.qualityFactor = 0.5
	} else {
		g.qualityFactor = 1
	}
}

// healthPause returns a pause when the number's quality is RED (LOW) or its
// status does not allow sending (cloud-api.md §4.6).
func (g *guard) healthPause(h sender.Health) *pauseCause {
	if h.Quality == "RED" {
		return &pauseCause{Kind: "quality", Reason: "the phone number's quality rating is LOW (RED)",
			Detail: map[string]any{"quality": h.Quality, "status": h.Status}}
	}
	switch h.Status {
	case "", "CONNECTED", "UNKNOWN":
		return nil
	}
	return &pauseCause{Kind: "status", Reason: fmt.Sprintf("the phone number's status is %s: it cannot send now", h.Status),
		Detail: map[string]any{"quality": h.Quality, "status": h.Status}}
}

// pauseCause is why the guard paused a campaign.
type pauseCause struct {
	Kind   string         // ratio, quality, status, template, fatal
	Reason string         // one line for the user
	Detail map[string]any // figures, stored as JSON
}

func pauseFromError(err error, e sender.Entry) *pauseCause {
	d := map[string]any{"code": e.Code, "class": string(e.Class), "meaning": e.Meaning, "advice": e.Advice}
	ae, ok := errorsAsAPI(err)
	if !ok {
		// Not Meta's answer (e.g. the API URL redirects): the entry's
		// meaning is the whole story.
		return &pauseCause{
			Kind:   "fatal",
			Reason: fmt.Sprintf("%s, which would fail every message. Advice: %s", upperFirst(e.Meaning), e.Advice),
			Detail: d,
		}
	}
	d["details"], d["fbtrace_id"], d["http_status"] = ae.Details, ae.FBTraceID, ae.HTTPStatus
	code := strconv.Itoa(e.Code)
	if ae.Subcode != 0 {
		d["subcode"] = ae.Subcode
		code += fmt.Sprintf(" (subcode %d: %s)", ae.Subcode, e.Meaning)
	} else {
		code += " (" + e.Meaning + ")"
	}
	// What Meta said goes into the reason that run and status print, not
	// only into the report: a code's meaning cannot say which parameter or
	// which id was wrong. The client has already redacted the token.
	said := ""
	if t := metaSaid(ae); t != "" {
		said = fmt.Sprintf(" Meta said: %q.", t)
	}
	return &pauseCause{
		Kind:   "fatal",
		Reason: fmt.Sprintf("Meta answered %s, which would fail every message.%s Advice: %s", code, said, e.Advice),
		Detail: d,
	}
}

// maxSaid bounds Meta's text in a pause reason.
const maxSaid = 200

// metaSaid is the most specific text of an error answer (error_data.details,
// else error_user_msg, else message), on one line and at most maxSaid
// bytes.
func metaSaid(ae *sender.APIError) string {
	t := cmp.Or(ae.Details, ae.UserMsg, ae.Message)
	t = strings.Join(strings.Fields(t), " ")
	if len(t) <= maxSaid {
		return t
	}
	n := maxSaid
	for n > 0 && !utf8.RuneStart(t[n]) {
		n--
	}
	return t[:n] + "…"
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

// pauseKindNetwork is the kind of a pause caused by an unreachable API.
const pauseKindNetwork = "network"

// networkPause is the pause of a run that cannot reach the API.
func networkPause(err error, what string) *pauseCause {
	return &pauseCause{Kind: pauseKindNetwork,
		Reason: fmt.Sprintf("cannot reach the API: %s: %s (nothing was sent or counted; resume --all retries it)", what, errorDetail(err)),
		Detail: map[string]any{"error": errorDetail(err)}}
}

// RetriesItself reports whether a paused campaign may be resumed without a
// person: only a pause whose cause is the network (the API was
// unreachable) is; resume --all re-runs the pre-flight and continues when
// the API answers. Every other pause needs someone to fix its cause.
func RetriesItself(c store.Campaign) bool {
	if c.State != store.CampaignPaused {
		return false
	}
	var d struct {
		Kind string `json:"kind"`
	}
	return json.Unmarshal(c.PauseDetail, &d) == nil && d.Kind == pauseKindNetwork
}

func errorsAsAPI(err error) (*sender.APIError, bool) {
	return errors.AsType[*sender.APIError](err)
}
