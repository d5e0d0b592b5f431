package campaign

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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

	// Simulator settings used with Simulate.
	SimTier string `json:"sim_tier,omitempty"`
}

// withDefaults returns s with every zero value replaced by its default.
func (s Settings) withDefaults() Settings {
	s.Rate = cmp.Or(s.Rate, DefaultRate)
	s.BatchSize = cmp.Or(s.BatchSize, DefaultBatchSize)
	s.PairInterval = cmp.Or(s.PairInterval, Duration(DefaultPairInterval))
	s.MaxAttempts = cmp.Or(s.MaxAttempts, DefaultMaxAttempts)
	s.DeferDays = cmp.Or(s.DeferDays, DefaultDeferDays)
	s.WarmupDays = cmp.Or(s.WarmupDays, DefaultWarmupDays)
	s.MaxUnanswered = cmp.Or(s.MaxUnanswered, DefaultMaxUnanswered)
	return s
}

// Validate reports the first setting out of range, naming its flag.
func (s Settings) Validate() error {
	var errs []error
	if s.Template == "" {
		errs = append(errs, errors.New("--template is required"))
	}
	if s.Language == "" {
		errs = append(errs, errors.New("--lang is required"))
	}
	if s.Rate < 0 || s.Rate > MaxRate {
		errs = append(errs, fmt.Errorf("--rate %g: want 1 to %g msg/s", s.Rate, MaxRate))
	}
	if s.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("--batch-size %d: want a positive number", s.BatchSize))
	}
	if s.BatchInterval < 0 {
		errs = append(errs, errors.New("--batch-interval: want a non-negative duration"))
	}
	if s.PairInterval < 0 {
		errs = append(errs, errors.New("--pair-interval: want a non-negative duration"))
	}
	if s.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("--max-attempts %d: want a positive number", s.MaxAttempts))
	}
	if s.DeferDays < 0 {
		errs = append(errs, fmt.Errorf("--defer-days %d: want a positive number", s.DeferDays))
	}
	if s.DailyLimit < 0 {
		errs = append(errs, fmt.Errorf("--daily-limit %d: want a positive number", s.DailyLimit))
	}
	if s.WarmupDays < -1 {
		errs = append(errs, fmt.Errorf("--warmup-days %d: want 0 (no warm-up) or more", s.WarmupDays))
	}
	if s.SlowShare < 0 || s.SlowShare >= 1 || s.PauseShare < 0 || s.PauseShare >= 1 {
		errs = append(errs, errors.New("--slow-share and --pause-share: want a share between 0 and 1, e.g. 0.02"))
	}
	if s.GuardWindow < 0 || s.GuardMinSample < 0 {
		errs = append(errs, errors.New("--guard-window and --guard-min-sample: want positive numbers"))
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
