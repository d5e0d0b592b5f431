package campaign

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// Defaults (DESIGN.md "Limits the engine enforces", cloud-api.md §4).
const (
	DefaultRate          = 80.0            // msg/s: Meta's standard throughput
	MaxRate              = 1000.0          // msg/s: the most Meta allows a number
	CoexistenceRate      = 20.0            // msg/s: a number shared with the WhatsApp Business app
	DefaultBatchSize     = 100             // recipients per batch
	DefaultPairInterval  = 6 * time.Second // one message per user every 6 s (cloud-api.md §4.2)
	DefaultMaxAttempts   = 5
	DefaultDeferDays     = 3
	DefaultDeferInterval = store.DeferInterval // 131049: wait at least 24 h (cloud-api.md §4.4); the store applies it
	DefaultWarmupDays    = 14
	DefaultMaxUnanswered = 3
)

// Duration is a time.Duration that reads and writes JSON as "6s".
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err2 := json.Unmarshal(b, &n); err2 != nil {
			return err
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Settings are a campaign's stored settings: what run was given, so that
// resume needs no flags. Zero values mean the default.
type Settings struct {
	Template    string   `json:"template"`
	Language    string   `json:"language"`
	Params      []string `json:"params,omitempty"`
	PhoneColumn string   `json:"phone_column,omitempty"`
	// ParamFormat and ParamNames come from the template (pre-flight): for
	// a NAMED template the --params columns are its placeholder names.
	ParamFormat   string   `json:"param_format,omitempty"`
	ParamNames    []string `json:"param_names,omitempty"`
	DefaultRegion string   `json:"default_region,omitempty"`
	// HeaderMedia is --header-media: one header for every row, a link or
	// a local file (stored absolute). HeaderMediaID is the file's media id
	// once uploaded: every send and every resume reuse it; it is replaced
	// only when Meta answers that it expired.
	HeaderMedia   string `json:"header_media,omitempty"`
	HeaderMediaID string `json:"header_media_id,omitempty"`
	// Template components (issue 14): --header [FORMAT:]COLUMN, --button
	// INDEX[:TYPE]=COLUMN (repeatable), --lang-column COLUMN (--lang is
	// the fallback). Their values are frozen per recipient at import.
	Header     string   `json:"header,omitempty"`
	Buttons    []string `json:"buttons,omitempty"`
	LangColumn string   `json:"lang_column,omitempty"`

	PhoneNumberID string `json:"phone_number_id"`
	WABAID        string `json:"waba_id,omitempty"`
	BusinessID    string `json:"business_id,omitempty"`
	APIURL        string `json:"api_url,omitempty"`
	APIVersion    string `json:"api_version,omitempty"`
	// Simulate: the campaign was started with --simulate; resume never
	// reaches the real API.
	Simulate bool `json:"simulate,omitempty"`

	Rate          float64  `json:"rate,omitempty"`
	BatchSize     int      `json:"batch_size,omitempty"`
	BatchInterval Duration `json:"batch_interval,omitempty"`
	PairInterval  Duration `json:"pair_interval,omitempty"`
	MaxAttempts   int      `json:"max_attempts,omitempty"`
	DeferDays     int      `json:"defer_days,omitempty"`

	// Allowance (part 2): the messaging limit and the warm-up.
	Tier        string `json:"tier,omitempty"` // "N" or "unlimited"; empty: from the API
	DailyLimit  int    `json:"daily_limit,omitempty"`
	WarmupStart string `json:"warmup_start,omitempty"` // YYYY-MM-DD
	WarmupDays  int    `json:"warmup_days,omitempty"`

	// Guard (DESIGN.md "The guard").
	GuardWindow    int     `json:"guard_window,omitempty"`
	GuardMinSample int     `json:"guard_min_sample,omitempty"`
	SlowShare      float64 `json:"slow_share,omitempty"`
	PauseShare     float64 `json:"pause_share,omitempty"`

	// MaxUnanswered skips a recipient sent this many template messages (any
	// campaign) without ever replying; 0 is the default, -1 never skips.
	MaxUnanswered int `json:"max_unanswered,omitempty"`

	// Send window (issue 17): recipients are messaged only inside Window
	// ("09:00-20:00") on Days ("mon-fri") in their own time zone, or in TZ
	// for everyone. NotAfter stops the campaign (pending recipients
	// expire); SettleAfter is how long an uncertain recipient waits for a
	// status before it is resent while the webhook receiver is up.
	Window      string   `json:"window,omitempty"`
	Days        string   `json:"days,omitempty"`
	TZ          string   `json:"tz,omitempty"`
	NotAfter    string   `json:"not_after,omitempty"`
	SettleAfter Duration `json:"settle_after,omitempty"`

	// Simulator settings used with Simulate.
	SimTier string `json:"sim_tier,omitempty"`
}

// WithDefaults returns s with every zero value replaced by its default: the
// one place the defaults are applied, for the engine and for what reports
// show. WarmupDays and MaxUnanswered stay -1 when the user asked for none
// (--warmup-days 0, --max-unanswered 0: stored as -1 since 0 means the
// default); shown to a person, they read 0.
func (s Settings) WithDefaults() Settings {
	s.Rate = cmp.Or(s.Rate, DefaultRate)
	s.BatchSize = cmp.Or(s.BatchSize, DefaultBatchSize)
	s.PairInterval = cmp.Or(s.PairInterval, Duration(DefaultPairInterval))
	s.MaxAttempts = cmp.Or(s.MaxAttempts, DefaultMaxAttempts)
	s.DeferDays = cmp.Or(s.DeferDays, DefaultDeferDays)
	s.WarmupDays = cmp.Or(s.WarmupDays, DefaultWarmupDays)
	s.MaxUnanswered = cmp.Or(s.MaxUnanswered, DefaultMaxUnanswered)
	s.SettleAfter = cmp.Or(s.SettleAfter, Duration(DefaultSettleAfter))
	s.GuardWindow = cmp.Or(s.GuardWindow, DefaultGuardWindow)
	s.GuardMinSample = cmp.Or(s.GuardMinSample, DefaultGuardMinSample)
	s.SlowShare = cmp.Or(s.SlowShare, DefaultSlowShare)
	s.PauseShare = cmp.Or(s.PauseShare, DefaultPauseShare)
	return s
}

// Validate reports every setting out of range, naming its flag. A zero
// value means the default here; ValidateGiven also refuses a zero the user
// typed where zero means nothing.
func (s Settings) Validate() error {
	var errs []error
	if s.Template == "" {
		errs = append(errs, errors.New("--template is required"))
	}
	if s.Language == "" {
		errs = append(errs, errors.New("--lang is required"))
	}
	if s.Header != "" && s.HeaderMedia != "" {
		errs = append(errs, errors.New("--header and --header-media both give the header: keep one"))
	}
	errs = append(errs, s.componentErrors()...)
	// Written as !(in range) so that NaN, which compares false with
	// everything, is refused too.
	if s.Rate != 0 && !(s.Rate >= 1 && s.Rate <= MaxRate) {
		errs = append(errs, fmt.Errorf("--rate %g: want 1 to %g msg/s", s.Rate, MaxRate))
	}
	if s.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("--batch-size %d: want 1 or more recipients", s.BatchSize))
	}
	if s.BatchInterval < 0 {
		errs = append(errs, fmt.Errorf("--batch-interval %s: want 0 or a positive duration", time.Duration(s.BatchInterval)))
	}
	if s.PairInterval < 0 {
		errs = append(errs, fmt.Errorf("--pair-interval %s: want a positive duration, e.g. 6s", time.Duration(s.PairInterval)))
	}
	if s.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("--max-attempts %d: want 1 or more", s.MaxAttempts))
	}
	if s.DeferDays < 0 {
		errs = append(errs, fmt.Errorf("--defer-days %d: want 1 or more days", s.DeferDays))
	}
	if s.DailyLimit < 0 {
		errs = append(errs, fmt.Errorf("--daily-limit %d: want 1 or more recipients", s.DailyLimit))
	}
	if s.WarmupDays < -1 {
		errs = append(errs, fmt.Errorf("--warmup-days %d: want 0 (no warm-up) or more", s.WarmupDays))
	}
	if s.MaxUnanswered < -1 {
		errs = append(errs, fmt.Errorf("--max-unanswered %d: want 0 (never skip) or more", s.MaxUnanswered))
	}
	for _, sh := range []struct {
		flag string
		v    float64
	}{{"--slow-share", s.SlowShare}, {"--pause-share", s.PauseShare}} {
		if sh.v != 0 && !(sh.v > 0 && sh.v < 1) {
			errs = append(errs, fmt.Errorf("%s %g: want a share between 0 and 1, e.g. 0.02", sh.flag, sh.v))
		}
	}
	if s.GuardWindow < 0 {
		errs = append(errs, fmt.Errorf("--guard-window %d: want 1 or more send attempts", s.GuardWindow))
	}
	if s.GuardMinSample < 0 {
		errs = append(errs, fmt.Errorf("--guard-min-sample %d: want 1 or more send attempts", s.GuardMinSample))
	}
	if s.WarmupStart != "" {
		if _, err := time.Parse(time.DateOnly, s.WarmupStart); err != nil {
			errs = append(errs, fmt.Errorf("--warmup-start %q: want YYYY-MM-DD", s.WarmupStart))
		}
	}
	if s.Tier != "" {
		if _, err := ParseTier(s.Tier); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := newSendWindow(s); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := NotAfter(s.NotAfter, time.Now()); err != nil {
		errs = append(errs, err)
	}
	if s.SettleAfter < 0 {
		errs = append(errs, fmt.Errorf("--settle-after %s: want a positive duration, e.g. 30m", time.Duration(s.SettleAfter)))
	}
	if s.DefaultRegion != "" && !knownRegion(s.DefaultRegion) {
		errs = append(errs, fmt.Errorf("--default-region %q: want a region code libphonenumber knows, e.g. BR, US, DE", s.DefaultRegion))
	}
	return errors.Join(errs...)
}

// knownRegion reports whether libphonenumber has numbering data for the
// region code (any case, as csvimport upper-cases it).
func knownRegion(code string) bool {
	_, ok := phonenumbers.GetSupportedRegions()[strings.ToUpper(code)]
	return ok
}

// ValidateGiven is Validate for settings read from flags: given reports
// whether the user set a flag. A flag set to zero where zero means nothing
// (--rate 0, --batch-size 0, --max-attempts 0...) is refused rather than
// silently read as the default, and a warm-up that starts after now is
// refused (its day count would be negative).
func (s Settings) ValidateGiven(given func(flag string) bool, now time.Time) error {
	errs := []error{s.Validate()}
	for _, f := range settingFields {
		if f.zero != nil && given(f.flag) && f.zero(s) {
			errs = append(errs, fmt.Errorf("%s 0: want %s", f.flag, f.want))
		}
	}
	if d, err := time.Parse(time.DateOnly, s.WarmupStart); err == nil && d.After(now.UTC()) {
		errs = append(errs, fmt.Errorf("--warmup-start %s: a date in the future; want today (%s) or earlier", s.WarmupStart, now.UTC().Format(time.DateOnly)))
	}
	return errors.Join(errs...)
}

// Format is the template's parameter format, positional unless the
// template said NAMED.
func (s Settings) Format() sender.ParamFormat {
	if s.ParamFormat == string(sender.Named) {
		return sender.Named
	}
	return sender.Positional
}

// componentMapping is how the campaign fills the template's components,
// for the pre-flight.
func (s Settings) componentMapping() ComponentMapping {
	m := ComponentMapping{Params: s.Params, HeaderMedia: s.HeaderMedia}
	h := ParseHeader(s.Header)
	m.HeaderFormat, m.Header = h.Format, h.Column
	for _, v := range s.Buttons {
		if b, err := ParseButton(v); err == nil {
			if m.Buttons == nil {
				m.Buttons = map[int]ButtonFlag{}
			}
			m.Buttons[b.Index] = b
		}
	}
	return m
}

// Scope is the messaging-limit scope: the business portfolio when known,
// else the phone number standing in for it (DESIGN.md "Limits" §3).
func (s Settings) Scope() string {
	if s.BusinessID != "" {
		return "business:" + s.BusinessID
	}
	return "phone:" + s.PhoneNumberID
}

// Encode serialises settings for the store.
func (s Settings) Encode() []byte {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // only plain fields: cannot fail
	}
	return b
}

// DecodeSettings reads settings stored with a campaign.
func DecodeSettings(b []byte) (Settings, error) {
	var s Settings
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("stored settings: %w", err)
	}
	return s, nil
}

// ParseTier reads a --tier value: a positive number of unique users per
// 24 h, or "unlimited" (returned as -1).
func ParseTier(v string) (int, error) {
	if v == "unlimited" {
		return -1, nil
	}
	var n int
	if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != v {
		return 0, fmt.Errorf("--tier %q: want a number of users per 24 h or unlimited", v)
	}
	return n, nil
}

// Target is where a campaign sends: the built-in simulator (a rehearsal),
// or a Graph API base URL, with a phone number and, when given, the
// business portfolio that scopes its messaging limit. A campaign keeps
// its target for life: a rehearsal never reaches Meta, and a real
// campaign's recipients are never reported sent by a simulator.
type Target struct {
	Simulator     bool
	APIURL        string // normalised; empty for the simulator
	PhoneNumberID string
	BusinessID    string
}

// Target returns the campaign's target.
func (s Settings) Target() Target {
	t := Target{Simulator: s.Simulate, PhoneNumberID: s.PhoneNumberID, BusinessID: s.BusinessID}
	if !s.Simulate {
		t.APIURL = normalAPIURL(s.APIURL)
	}
	return t
}

func normalAPIURL(u string) string {
	return strings.TrimRight(cmp.Or(u, sender.DefaultBaseURL), "/")
}

func (t Target) String() string {
	where := t.APIURL
	if t.Simulator {
		where = "the built-in simulator (a rehearsal)"
	}
	s := fmt.Sprintf("%s, phone number id %s", where, t.PhoneNumberID)
	if t.BusinessID != "" {
		s += ", business id " + t.BusinessID
	}
	return s
}

// TargetError refuses a command that would send a campaign somewhere else
// than where it was started. It matches ErrRefused (exit 2).
type TargetError struct {
	Campaign string
	Stored   Target
	Given    Target
	Hint     string // how to proceed
	// Env names the variable that gave the phone number id, when the
	// command (resume) takes the target from the campaign and only that
	// variable contradicts it.
	Env string
}

func (e *TargetError) Error() string {
	if e.Env != "" {
		return fmt.Sprintf("campaign %s sends to %s; %s names phone number id %s: a campaign never changes where it sends; %s",
			e.Campaign, e.Stored, e.Env, e.Given.PhoneNumberID, e.Hint)
	}
	return fmt.Sprintf("campaign %s sends to %s; this command would send to %s: a campaign never changes where it sends; %s",
		e.Campaign, e.Stored, e.Given, e.Hint)
}

// Unwrap makes a TargetError match ErrRefused.
func (e *TargetError) Unwrap() error { return ErrRefused }

// CheckTarget refuses given settings whose target is not the stored
// campaign's. A business id not given is the stored one: leaving out
// WHATSEND_BUSINESS_ID does not move a campaign to another scope.
func CheckTarget(name string, stored, given Settings, hint string) error {
	if given.BusinessID == "" {
		given.BusinessID = stored.BusinessID
	}
	if st, gt := stored.Target(), given.Target(); st != gt {
		return &TargetError{Campaign: name, Stored: st, Given: gt, Hint: hint}
	}
	return nil
}

// CheckPhoneNumberID refuses a phone number id taken from the environment
// variable env (resume) that contradicts the campaign's target; an empty
// id names nothing.
func CheckPhoneNumberID(name string, stored Settings, env, id string) error {
	if id == "" || id == stored.PhoneNumberID {
		return nil
	}
	given := stored.Target()
	given.PhoneNumberID = id
	return &TargetError{Campaign: name, Stored: stored.Target(), Given: given, Env: env,
		Hint: fmt.Sprintf("resume sends only where the campaign started: unset %s (or set it to %s), or start a campaign for that number with whatsend run --name NEW", env, stored.PhoneNumberID)}
}

// Change is one setting given to an existing campaign that differs from
// the stored one. Stored and Given are shown with defaults filled in.
type Change struct {
	Flag   string
	Stored string
	Given  string
	// Safe: the change may be applied mid-campaign (pacing, limits, guard,
	// retries). The others (template, parameters, phone column, region,
	// target) would make the recipients already sent a different campaign.
	Safe bool
}

func (c Change) String() string {
	return fmt.Sprintf("%s: stored %s, given %s", c.Flag, c.Stored, c.Given)
}

// ChangesError refuses settings that differ from the stored ones: all of
// them without an update, the unsafe ones with it. It matches ErrRefused.
type ChangesError struct {
	Campaign string
	Changes  []Change
	Update   bool // the command asked for the changes to be applied
}

func (e *ChangesError) Error() string {
	var b strings.Builder
	if e.Update {
		fmt.Fprintf(&b, "campaign %s: these settings cannot change mid-campaign:", e.Campaign)
	} else {
		fmt.Fprintf(&b, "campaign %s was started with other settings:", e.Campaign)
	}
	safe := true
	for _, c := range e.Changes {
		fmt.Fprintf(&b, "\n  %s", c)
		safe = safe && c.Safe
	}
	switch {
	case e.Update || !safe:
		b.WriteString("\nthey need a new campaign: run the same command with --name NEW (and without the settings to keep this one)")
		if !e.Update {
			b.WriteString("; --update applies only --rate, --tier, --daily-limit, batch, pair, guard, retry, warm-up and send-window settings")
		}
	default:
		b.WriteString("\nto apply them to this campaign, add --update (or use whatsend campaign set); to keep the stored ones, leave the flags out")
	}
	return b.String()
}

// Unwrap makes a ChangesError match ErrRefused.
func (e *ChangesError) Unwrap() error { return ErrRefused }

// Changes lists the settings the user gave (given reports whether a flag
// was set) whose value differs from the stored one, in flag order.
func Changes(stored, gave Settings, given func(flag string) bool) []Change {
	var out []Change
	for _, f := range settingFields {
		if !given(f.flag) {
			continue
		}
		if a, b := f.show(stored.WithDefaults()), f.show(gave.WithDefaults()); a != b {
			out = append(out, Change{Flag: f.flag, Stored: a, Given: b, Safe: f.safe})
		}
	}
	return out
}

// Update applies the given settings that differ from the stored ones and
// are safe mid-campaign, returning the new settings and the changes. It
// refuses (ChangesError, nothing applied) when any change is unsafe, and
// checks the result's ranges.
func Update(name string, stored, gave Settings, given func(flag string) bool) (Settings, []Change, error) {
	changes := Changes(stored, gave, given)
	var unsafe []Change
	for _, c := range changes {
		if !c.Safe {
			unsafe = append(unsafe, c)
		}
	}
	if len(unsafe) > 0 {
		return stored, nil, &ChangesError{Campaign: name, Changes: unsafe, Update: true}
	}
	s := stored
	for _, f := range settingFields {
		if given(f.flag) && f.safe {
			f.copy(&s, gave)
		}
	}
	if err := s.Validate(); err != nil {
		return stored, nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return s, changes, nil
}

// settingField is one flag of the stored settings: how to show its value
// (defaults filled in), copy it, and whether zero is meaningless for it.
type settingField struct {
	flag string
	safe bool
	show func(Settings) string
	copy func(dst *Settings, src Settings)
	zero func(Settings) bool // nil: zero given on the command line is meaningful
	want string              // the range, for the refusal of zero
}

// settingFields are the stored settings' flags, in the order run lists them.
var settingFields = []settingField{
	{flag: "--template", show: func(s Settings) string { return s.Template },
		copy: func(d *Settings, s Settings) { d.Template = s.Template }},
	{flag: "--lang", show: func(s Settings) string { return s.Language },
		copy: func(d *Settings, s Settings) { d.Language = s.Language }},
	{flag: "--params", show: func(s Settings) string { return orNone(strings.Join(s.Params, ",")) },
		copy: func(d *Settings, s Settings) { d.Params = s.Params }},
	{flag: "--header-media", show: func(s Settings) string { return orNone(s.HeaderMedia) },
		copy: func(d *Settings, s Settings) { d.HeaderMedia = s.HeaderMedia }},
	{flag: "--header", show: func(s Settings) string { return orNone(s.Header) },
		copy: func(d *Settings, s Settings) { d.Header = s.Header }},
	{flag: "--button", show: func(s Settings) string { return orNone(strings.Join(s.Buttons, " ")) },
		copy: func(d *Settings, s Settings) { d.Buttons = s.Buttons }},
	{flag: "--lang-column", show: func(s Settings) string { return orNone(s.LangColumn) },
		copy: func(d *Settings, s Settings) { d.LangColumn = s.LangColumn }},
	{flag: "--phone-column", show: func(s Settings) string { return cmp.Or(s.PhoneColumn, "detected") },
		copy: func(d *Settings, s Settings) { d.PhoneColumn = s.PhoneColumn }},
	{flag: "--default-region", show: func(s Settings) string { return orNone(strings.ToUpper(s.DefaultRegion)) },
		copy: func(d *Settings, s Settings) { d.DefaultRegion = s.DefaultRegion }},
	{flag: "--simulate", show: func(s Settings) string { return fmt.Sprint(s.Simulate) },
		copy: func(d *Settings, s Settings) { d.Simulate = s.Simulate }},
	{flag: "--api-url", show: func(s Settings) string { return normalAPIURL(s.APIURL) },
		copy: func(d *Settings, s Settings) { d.APIURL = s.APIURL }},
	{flag: "--phone-number-id", show: func(s Settings) string { return s.PhoneNumberID },
		copy: func(d *Settings, s Settings) { d.PhoneNumberID = s.PhoneNumberID }},
	{flag: "--business-id", show: func(s Settings) string { return orNone(s.BusinessID) },
		copy: func(d *Settings, s Settings) { d.BusinessID = s.BusinessID }},
	{flag: "--waba-id", safe: true, show: func(s Settings) string { return orNone(s.WABAID) },
		copy: func(d *Settings, s Settings) { d.WABAID = s.WABAID }},
	{flag: "--api-version", safe: true, show: func(s Settings) string { return cmp.Or(s.APIVersion, sender.DefaultVersion) },
		copy: func(d *Settings, s Settings) { d.APIVersion = s.APIVersion }},
	{flag: "--rate", safe: true, show: func(s Settings) string { return fmt.Sprint(s.Rate) },
		copy: func(d *Settings, s Settings) { d.Rate = s.Rate },
		zero: func(s Settings) bool { return s.Rate == 0 }, want: fmt.Sprintf("1 to %g msg/s", MaxRate)},
	{flag: "--batch-size", safe: true, show: func(s Settings) string { return fmt.Sprint(s.BatchSize) },
		copy: func(d *Settings, s Settings) { d.BatchSize = s.BatchSize },
		zero: func(s Settings) bool { return s.BatchSize == 0 }, want: "1 or more recipients"},
	{flag: "--batch-interval", safe: true, show: func(s Settings) string { return time.Duration(s.BatchInterval).String() },
		copy: func(d *Settings, s Settings) { d.BatchInterval = s.BatchInterval }},
	{flag: "--pair-interval", safe: true, show: func(s Settings) string { return time.Duration(s.PairInterval).String() },
		copy: func(d *Settings, s Settings) { d.PairInterval = s.PairInterval },
		zero: func(s Settings) bool { return s.PairInterval == 0 }, want: "a positive duration, e.g. 6s (Meta's pair rate)"},
	{flag: "--max-attempts", safe: true, show: func(s Settings) string { return fmt.Sprint(s.MaxAttempts) },
		copy: func(d *Settings, s Settings) { d.MaxAttempts = s.MaxAttempts },
		zero: func(s Settings) bool { return s.MaxAttempts == 0 }, want: "1 or more"},
	{flag: "--defer-days", safe: true, show: func(s Settings) string { return fmt.Sprint(s.DeferDays) },
		copy: func(d *Settings, s Settings) { d.DeferDays = s.DeferDays },
		zero: func(s Settings) bool { return s.DeferDays == 0 }, want: "1 or more days"},
	{flag: "--tier", safe: true, show: func(s Settings) string { return cmp.Or(s.Tier, "from the API") },
		copy: func(d *Settings, s Settings) {
			d.Tier = s.Tier
			if d.Simulate {
				d.SimTier = s.Tier // the rehearsal's simulator plays that tier
			}
		}},
	{flag: "--daily-limit", safe: true, show: func(s Settings) string { return orNone(positive(s.DailyLimit)) },
		copy: func(d *Settings, s Settings) { d.DailyLimit = s.DailyLimit },
		zero: func(s Settings) bool { return s.DailyLimit == 0 }, want: "1 or more recipients (leave the flag out for no cap)"},
	{flag: "--warmup-start", safe: true, show: func(s Settings) string { return cmp.Or(s.WarmupStart, "the scope's first send") },
		copy: func(d *Settings, s Settings) { d.WarmupStart = s.WarmupStart }},
	{flag: "--warmup-days", safe: true, show: func(s Settings) string { return fmt.Sprint(max(s.WarmupDays, 0)) },
		copy: func(d *Settings, s Settings) { d.WarmupDays = s.WarmupDays }},
	{flag: "--guard-window", safe: true, show: func(s Settings) string { return fmt.Sprint(s.GuardWindow) },
		copy: func(d *Settings, s Settings) { d.GuardWindow = s.GuardWindow },
		zero: func(s Settings) bool { return s.GuardWindow == 0 }, want: "1 or more send attempts"},
	{flag: "--guard-min-sample", safe: true, show: func(s Settings) string { return fmt.Sprint(s.GuardMinSample) },
		copy: func(d *Settings, s Settings) { d.GuardMinSample = s.GuardMinSample },
		zero: func(s Settings) bool { return s.GuardMinSample == 0 }, want: "1 or more send attempts"},
	{flag: "--slow-share", safe: true, show: func(s Settings) string { return fmt.Sprint(s.SlowShare) },
		copy: func(d *Settings, s Settings) { d.SlowShare = s.SlowShare },
		zero: func(s Settings) bool { return s.SlowShare == 0 }, want: "a share between 0 and 1, e.g. 0.02"},
	{flag: "--pause-share", safe: true, show: func(s Settings) string { return fmt.Sprint(s.PauseShare) },
		copy: func(d *Settings, s Settings) { d.PauseShare = s.PauseShare },
		zero: func(s Settings) bool { return s.PauseShare == 0 }, want: "a share between 0 and 1, e.g. 0.05"},
	{flag: "--window", safe: true, show: func(s Settings) string { return orNone(s.Window) },
		copy: func(d *Settings, s Settings) { d.Window = s.Window }},
	{flag: "--days", safe: true, show: func(s Settings) string { return cmp.Or(s.Days, "every day") },
		copy: func(d *Settings, s Settings) { d.Days = s.Days }},
	{flag: "--tz", safe: true, show: func(s Settings) string { return cmp.Or(s.TZ, "each recipient's") },
		copy: func(d *Settings, s Settings) { d.TZ = s.TZ }},
	{flag: "--not-after", safe: true, show: func(s Settings) string { return orNone(s.NotAfter) },
		copy: func(d *Settings, s Settings) { d.NotAfter = s.NotAfter }},
	{flag: "--settle-after", safe: true, show: func(s Settings) string { return time.Duration(s.SettleAfter).String() },
		copy: func(d *Settings, s Settings) { d.SettleAfter = s.SettleAfter },
		zero: func(s Settings) bool { return s.SettleAfter == 0 }, want: "a positive duration, e.g. 30m"},
	{flag: "--max-unanswered", safe: true, show: func(s Settings) string { return fmt.Sprint(max(s.MaxUnanswered, 0)) },
		copy: func(d *Settings, s Settings) { d.MaxUnanswered = s.MaxUnanswered }},
}

func orNone(v string) string { return cmp.Or(v, "none") }

func positive(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprint(n)
}
