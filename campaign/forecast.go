package campaign

import (
	"time"
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
}

// maxForecastDays bounds a forecast (a campaign that cannot finish).
const maxForecastDays = 3660

// BuildForecast plans `left` recipients from now on: the first day gets what
// the allowance leaves after `used` (unique recipients already sent in the
// scope's last 24 h, by every campaign), each later day the full allowance
// of its warm-up day. start is the scope's warm-up start (zero: it starts
// now).
func BuildForecast(scope string, lim Limit, warmupDays int, start, now time.Time, used, left int) Forecast {
	f := Forecast{Scope: scope, Limit: lim.Users, Source: lim.Source}
	if start.IsZero() {
		start = now
	}
	for i := 0; left > 0 && i < maxForecastDays; i++ {
		at := now.Add(time.Duration(i) * Window)
		day := WarmupDay(start, at)
		allow := Allowance(lim.Users, day, warmupDays)
		capacity := allow
		if i == 0 && allow >= 0 {
			capacity = max(allow-used, 0)
		}
		n := left
		if capacity >= 0 {
			n = min(left, capacity)
		}
		left -= n
		f.Days = append(f.Days, ForecastDay{Date: at.UTC().Format(time.DateOnly), Day: day, Allowance: allow, Recipients: n})
		if left == 0 {
			f.Finish = at.UTC().Format(time.DateOnly)
		}
	}
	return f
}
