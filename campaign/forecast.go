package campaign

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
)

// ForecastDay is one day of a campaign's forecast.
type ForecastDay struct {
	Date       string `json:"date"`       // YYYY-MM-DD (UTC)
	Day        int    `json:"day"`        // warm-up day
	Allowance  int    `json:"allowance"`  // unique recipients allowed that day (-1 unlimited)
	Recipients int    `json:"recipients"` // recipients of this campaign expected that day
}

// Forecast is what --dry-run prints: recipients per day under the warm-up
// and the limit, and the expected finish date.
type Forecast struct {
	Scope  string        `json:"scope"`
	Limit  int           `json:"limit"` // -1 unlimited
	Source string        `json:"limit_source"`
	Days   []ForecastDay `json:"days"`
	Finish string        `json:"finish"` // YYYY-MM-DD, empty when it cannot finish
	// Window is the send window, when the campaign has one; NextOpen is
	// when the first recipient outside it may next be sent (UTC).
	Window   string     `json:"window,omitempty"`
	NextOpen *time.Time `json:"next_open,omitempty"`
}

// maxForecastDays bounds a forecast (a campaign that cannot finish).
const maxForecastDays = 3660

// BuildForecast plans `left` recipients from now on: the first day gets what
// the allowance leaves after `used` (unique recipients already sent in the
// scope's last 24 h, by every campaign), each later day the full allowance
// of its warm-up day. start is the scope's warm-up start (zero: it starts
// now).
func BuildForecast(scope string, lim Limit, warmupDays int, start, now time.Time, used, left int) Forecast {
	return buildForecast(scope, lim, warmupDays, start, now, used, left, func(time.Time) int { return left })
}

// BuildWindowForecast is BuildForecast for recipients that may be sent
// only from their own instant on (their send window's first opening, or a
// retry's time): opens holds one instant per recipient left, and a day
// sends only those whose instant came before it ends.
func BuildWindowForecast(scope string, lim Limit, warmupDays int, start, now time.Time, used int, opens []time.Time) Forecast {
	opens = slices.SortedFunc(slices.Values(opens), time.Time.Compare)
	return buildForecast(scope, lim, warmupDays, start, now, used, len(opens), func(end time.Time) int {
		n, _ := slices.BinarySearchFunc(opens, end, time.Time.Compare)
		return n
	})
}

// buildForecast plans left recipients; ready(end) is how many of them may
// be sent before end.
func buildForecast(scope string, lim Limit, warmupDays int, start, now time.Time, used, left int, ready func(end time.Time) int) Forecast {
	f := Forecast{Scope: scope, Limit: lim.Users, Source: lim.Source}
	total := left
	if start.IsZero() {
		start = now
	}
	day0 := WarmupDay(start, now)
	for i := 0; left > 0 && i < maxForecastDays; i++ {
		at := now.Add(time.Duration(i) * Window)
		if i > 0 {
			// Day i begins when both the window and the warm-up day have
			// moved on: a warm-up that started moments after now still
			// reaches day i within day i's date.
			at = later(at, start.Add(time.Duration(day0+i)*Window))
		}
		day := WarmupDay(start, at)
		allow := Allowance(lim.Users, day, warmupDays)
		capacity := allow
		if i == 0 && allow >= 0 {
			capacity = max(allow-used, 0)
		}
		n := ready(now.Add(time.Duration(i+1)*Window)) - (total - left)
		if capacity >= 0 {
			n = min(n, capacity)
		}
		left -= n
		f.Days = append(f.Days, ForecastDay{Date: at.UTC().Format(time.DateOnly), Day: day, Allowance: allow, Recipients: n})
		if left == 0 {
			f.Finish = at.UTC().Format(time.DateOnly)
		}
	}
	return f
}

// Plan builds the --dry-run forecast of a stored campaign: it reads the
// messaging limit from the API unless --tier is set, the scope's warm-up
// start and what every campaign in the scope used in the last 24 h, and
// sends nothing.
func Plan(ctx context.Context, st store.Store, snd Sender, campaignID int64, now time.Time) (Forecast, error) {
	c, err := st.Campaign(ctx, campaignID)
	if err != nil {
		return Forecast{}, fmt.Errorf("campaign %d: %w", campaignID, err)
	}
	s, err := DecodeSettings(c.Settings)
	if err != nil {
		return Forecast{}, err
	}
	s = s.WithDefaults()
	var h sender.Health
	fromAPI := false
	if s.Tier == "" && snd != nil {
		if h, err = snd.PhoneHealth(ctx); err != nil {
			return Forecast{}, fmt.Errorf("read the messaging limit: %w", err)
		}
		fromAPI = true
		savePhone(ctx, st, c.PhoneNumberID, h, now)
	}
	lim := ResolveLimit(s, h.Limit, fromAPI)
	var start time.Time
	if s.WarmupStart != "" {
		if start, err = time.Parse(time.DateOnly, s.WarmupStart); err != nil {
			return Forecast{}, fmt.Errorf("--warmup-start: %w", err)
		}
	} else if t, ok, err := st.WarmupStart(ctx, c.Scope); err != nil {
		return Forecast{}, err
	} else if ok {
		start = t
	}
	used, err := st.WindowCount(ctx, c.Scope, now.Add(-Window))
	if err != nil {
		return Forecast{}, err
	}
	sum, err := st.Summary(ctx, campaignID)
	if err != nil {
		return Forecast{}, err
	}
	left := toSettle(sum.ByState)
	w, err := newSendWindow(s)
	if err != nil || w == nil {
		return BuildForecast(c.Scope, lim, s.WarmupDays, start, now, used, left), err
	}
	opens, err := windowOpens(ctx, st, w, campaignID, now)
	if err != nil {
		return Forecast{}, err
	}
	f := BuildWindowForecast(c.Scope, lim, s.WarmupDays, start, now, used, opens)
	f.Window = w.String()
	for _, at := range opens {
		if at.After(now) && (f.NextOpen == nil || at.Before(*f.NextOpen)) {
			u := at.UTC()
			f.NextOpen = &u
		}
	}
	return f, nil
}

// windowOpens returns, per recipient left to send, the first instant it
// may be sent: its send window's next opening from its due time.
func windowOpens(ctx context.Context, st store.Store, w *sendWindow, campaignID int64, now time.Time) ([]time.Time, error) {
	var opens []time.Time
	err := st.Recipients(ctx, campaignID, func(r store.Recipient) error {
		if !toSettleState(r.State) {
			return nil
		}
		due := now
		if r.State != store.StatePending {
			due = later(now, r.NextAttemptAt)
		}
		opens = append(opens, w.next(r.Phone, due))
		return nil
	})
	return opens, err
}

// later returns the later of two instants.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
