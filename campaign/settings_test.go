package campaign

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func validSettings() Settings {
	return Settings{Template: "order_update", Language: "en_US", PhoneNumberID: "1"}
}

func TestSettingsValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Settings)
		flag string // empty: valid
	}{
		{"defaults", func(*Settings) {}, ""},
		{"rate 1", func(s *Settings) { s.Rate = 1 }, ""},
		{"rate 1000", func(s *Settings) { s.Rate = 1000 }, ""},
		{"rate 0.5", func(s *Settings) { s.Rate = 0.5 }, "--rate"},
		{"rate 1001", func(s *Settings) { s.Rate = 1001 }, "--rate"},
		{"rate -1", func(s *Settings) { s.Rate = -1 }, "--rate"},
		{"rate NaN", func(s *Settings) { s.Rate = math.NaN() }, "--rate"},
		{"rate +Inf", func(s *Settings) { s.Rate = math.Inf(1) }, "--rate"},
		{"slow-share NaN", func(s *Settings) { s.SlowShare = math.NaN() }, "--slow-share"},
		{"slow-share -Inf", func(s *Settings) { s.SlowShare = math.Inf(-1) }, "--slow-share"},
		{"pause-share NaN", func(s *Settings) { s.PauseShare = math.NaN() }, "--pause-share"},
		{"pause-share 1", func(s *Settings) { s.PauseShare = 1 }, "--pause-share"},
		{"pause-share 0.05", func(s *Settings) { s.PauseShare = 0.05 }, ""},
		{"batch-size -1", func(s *Settings) { s.BatchSize = -1 }, "--batch-size"},
		{"max-attempts -1", func(s *Settings) { s.MaxAttempts = -1 }, "--max-attempts"},
		{"guard-window -1", func(s *Settings) { s.GuardWindow = -1 }, "--guard-window"},
		{"guard-min-sample -1", func(s *Settings) { s.GuardMinSample = -1 }, "--guard-min-sample"},
		{"max-unanswered -2", func(s *Settings) { s.MaxUnanswered = -2 }, "--max-unanswered"},
		{"pair-interval -1s", func(s *Settings) { s.PairInterval = Duration(-time.Second) }, "--pair-interval"},
		{"default-region XX", func(s *Settings) { s.DefaultRegion = "XX" }, "--default-region"},
		{"default-region br", func(s *Settings) { s.DefaultRegion = "br" }, ""},
		{"default-region BR", func(s *Settings) { s.DefaultRegion = "BR" }, ""},
		{"tier 0", func(s *Settings) { s.Tier = "0" }, "--tier"},
		{"warmup-start bad", func(s *Settings) { s.WarmupStart = "4 Dec" }, "--warmup-start"},
		{"header-media", func(s *Settings) { s.HeaderMedia = "/tmp/promo.jpg" }, ""},
		{"header and header-media", func(s *Settings) { s.Header, s.HeaderMedia = "image_url", "/tmp/promo.jpg" }, "--header-media"},
	} {
		s := validSettings()
		tc.edit(&s)
		err := s.Validate()
		switch {
		case tc.flag == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tc.name, err)
		case tc.flag != "" && err == nil:
			t.Errorf("%s: Validate() = nil, want an error naming %s", tc.name, tc.flag)
		case tc.flag != "" && !strings.Contains(err.Error(), tc.flag):
			t.Errorf("%s: Validate() = %q, want it to name %s", tc.name, err, tc.flag)
		}
	}
}

func TestSettingsValidateGiven(t *testing.T) {
	now := time.Date(2026, 12, 4, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		flag  string // the flag given
		edit  func(*Settings)
		valid bool
	}{
		{"rate 0", "--rate", func(*Settings) {}, false},
		{"batch-size 0", "--batch-size", func(*Settings) {}, false},
		{"max-attempts 0", "--max-attempts", func(*Settings) {}, false},
		{"guard-window 0", "--guard-window", func(*Settings) {}, false},
		{"guard-min-sample 0", "--guard-min-sample", func(*Settings) {}, false},
		{"defer-days 0", "--defer-days", func(*Settings) {}, false},
		{"daily-limit 0", "--daily-limit", func(*Settings) {}, false},
		{"pair-interval 0", "--pair-interval", func(*Settings) {}, false},
		{"slow-share 0", "--slow-share", func(*Settings) {}, false},
		{"batch-interval 0", "--batch-interval", func(*Settings) {}, true},
		{"rate 200", "--rate", func(s *Settings) { s.Rate = 200 }, true},
		{"warmup-start today", "--warmup-start", func(s *Settings) { s.WarmupStart = "2026-12-04" }, true},
		{"warmup-start tomorrow", "--warmup-start", func(s *Settings) { s.WarmupStart = "2026-12-05" }, false},
		{"warmup-start 2099", "--warmup-start", func(s *Settings) { s.WarmupStart = "2099-01-02" }, false},
	} {
		s := validSettings()
		tc.edit(&s)
		err := s.ValidateGiven(func(f string) bool { return f == tc.flag }, now)
		if tc.valid {
			if err != nil {
				t.Errorf("%s: ValidateGiven = %v, want nil", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%s: ValidateGiven = %v, want an error naming %s", tc.name, err, tc.flag)
		}
	}
	// A zero not given is the default, not an error.
	if err := validSettings().ValidateGiven(func(string) bool { return false }, now); err != nil {
		t.Errorf("defaults, no flag given: %v", err)
	}
}

func TestCheckTarget(t *testing.T) {
	sim := Settings{Simulate: true, PhoneNumberID: "100000000000001"}
	real1 := Settings{APIURL: "http://127.0.0.1:1", PhoneNumberID: "100000000000001"}
	for _, tc := range []struct {
		name           string
		stored, given  Settings
		wantRefusal    bool
		storedContains string
	}{
		{"rehearsal continued as a rehearsal", sim, sim, false, ""},
		{"rehearsal continued for real", sim, real1, true, "built-in simulator"},
		{"real continued as a rehearsal", real1, sim, true, "127.0.0.1:1"},
		{"real on another API", real1, Settings{APIURL: "http://127.0.0.1:2/", PhoneNumberID: "100000000000001"}, true, ""},
		{"real on the same API, trailing slash", real1, Settings{APIURL: "http://127.0.0.1:1/", PhoneNumberID: "100000000000001"}, false, ""},
		{"real on another number", real1, Settings{APIURL: "http://127.0.0.1:1", PhoneNumberID: "2"}, true, ""},
		{"default API spelled out", Settings{PhoneNumberID: "1"}, Settings{APIURL: "https://graph.facebook.com", PhoneNumberID: "1"}, false, ""},
		{"business id left out", Settings{PhoneNumberID: "1", BusinessID: "9"}, Settings{PhoneNumberID: "1"}, false, ""},
		{"business id added", Settings{PhoneNumberID: "1"}, Settings{PhoneNumberID: "1", BusinessID: "9"}, true, ""},
	} {
		err := CheckTarget("c", tc.stored, tc.given, "use --name NEW")
		if !tc.wantRefusal {
			if err != nil {
				t.Errorf("%s: CheckTarget = %v, want nil", tc.name, err)
			}
			continue
		}
		if !errors.Is(err, ErrRefused) {
			t.Errorf("%s: CheckTarget = %v, want a refusal", tc.name, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.storedContains) || !strings.Contains(err.Error(), "--name NEW") {
			t.Errorf("%s: CheckTarget = %q, want it to name %q and how to proceed", tc.name, err, tc.storedContains)
		}
	}
}

func TestChangesAndUpdate(t *testing.T) {
	stored := validSettings()
	stored.Params = []string{"name", "order_id"}
	given := func(flags ...string) func(string) bool {
		return func(f string) bool {
			for _, g := range flags {
				if g == f {
					return true
				}
			}
			return false
		}
	}
	// The default spelled out is no change; a flag not given is not compared.
	same := stored
	same.Rate, same.BatchSize, same.Tier = DefaultRate, 0, "250"
	if ch := Changes(stored, same, given("--rate", "--batch-size")); len(ch) != 0 {
		t.Errorf("Changes(default spelled out) = %v, want none", ch)
	}
	gave := stored
	gave.Rate, gave.Tier, gave.Params = 200, "1000", []string{"nom"}
	ch := Changes(stored, gave, given("--rate", "--tier"))
	want := []string{"--rate: stored 80, given 200", "--tier: stored from the API, given 1000"}
	if len(ch) != len(want) {
		t.Fatalf("Changes = %v, want %v", ch, want)
	}
	for i := range want {
		if ch[i].String() != want[i] || !ch[i].Safe {
			t.Errorf("Changes[%d] = %q (safe %v), want %q (safe)", i, ch[i], ch[i].Safe, want[i])
		}
	}
	s, applied, err := Update("c", stored, gave, given("--rate", "--tier"))
	if err != nil || len(applied) != 2 || s.Rate != 200 || s.Tier != "1000" || len(s.Params) != 2 {
		t.Errorf("Update(safe) = %+v, %v, %v; want rate 200, tier 1000, params kept", s, applied, err)
	}
	// An unsafe change refuses the whole update, naming it.
	_, _, err = Update("c", stored, gave, given("--rate", "--params"))
	var ce *ChangesError
	if !errors.As(err, &ce) || len(ce.Changes) != 1 || ce.Changes[0].Flag != "--params" || !errors.Is(err, ErrRefused) {
		t.Fatalf("Update(unsafe) = %v, want a ChangesError naming --params only", err)
	}
	if !strings.Contains(err.Error(), "--params: stored name,order_id, given nom") || !strings.Contains(err.Error(), "--name NEW") {
		t.Errorf("Update(unsafe) = %q, want the difference and how to start a new campaign", err)
	}
	// The rehearsal's simulator follows a tier change.
	sim := stored
	sim.Simulate, sim.SimTier = true, "250"
	s, _, err = Update("c", sim, gave, given("--tier"))
	if err != nil || s.SimTier != "1000" {
		t.Errorf("Update(--tier on a rehearsal) = SimTier %q, %v; want 1000", s.SimTier, err)
	}
}

// WithDefaults fills every zero with its default, the guard's included,
// keeps what was given, and keeps the -1 that --warmup-days 0 and
// --max-unanswered 0 store.
func TestWithDefaults(t *testing.T) {
	d := Settings{}.WithDefaults()
	want := Settings{Rate: DefaultRate, BatchSize: DefaultBatchSize, PairInterval: Duration(DefaultPairInterval),
		MaxAttempts: DefaultMaxAttempts, DeferDays: DefaultDeferDays, WarmupDays: DefaultWarmupDays,
		MaxUnanswered: DefaultMaxUnanswered, SettleAfter: Duration(DefaultSettleAfter),
		GuardWindow: DefaultGuardWindow, GuardMinSample: DefaultGuardMinSample, SlowShare: DefaultSlowShare, PauseShare: DefaultPauseShare}
	if string(d.Encode()) != string(want.Encode()) {
		t.Errorf("defaults\n got %s\nwant %s", d.Encode(), want.Encode())
	}
	given := Settings{Rate: 20, GuardWindow: 500, WarmupDays: -1, MaxUnanswered: -1}.WithDefaults()
	if given.Rate != 20 || given.GuardWindow != 500 || given.WarmupDays != -1 || given.MaxUnanswered != -1 {
		t.Errorf("given values not kept: %+v", given)
	}
	if again := d.WithDefaults(); string(again.Encode()) != string(d.Encode()) {
		t.Errorf("WithDefaults twice differs: %s", again.Encode())
	}
}
