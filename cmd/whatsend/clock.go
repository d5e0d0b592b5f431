package main

import (
	"strings"
	"time"
)

// newClock returns the CLI's clock. When WHATSEND_NOW is set the clock
// starts at that instant and runs on from there: a documented testing aid
// that lets subprocess tests move the engine's clock together with the
// simulator's. It takes RFC 3339 (2026-12-05T09:00:00-03:00) or a local
// date and time followed by an IANA zone (2026-12-05T09:00
// America/Sao_Paulo), so that send windows can be tested in any zone.
func newClock(getenv func(string) string) (func() time.Time, error) {
	v := getenv("WHATSEND_NOW")
	if v == "" {
		return time.Now, nil
	}
	base, ok := parseNow(v)
	if !ok {
		return nil, usagef("WHATSEND_NOW %q: want an RFC 3339 time such as 2026-01-02T09:00:00Z, or a local time and a zone such as 2026-01-02T09:00 America/Sao_Paulo", v)
	}
	started := time.Now()
	return func() time.Time { return base.Add(time.Since(started)) }, nil
}

// parseNow reads a WHATSEND_NOW value.
func parseNow(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, true
	}
	i := strings.LastIndexByte(v, ' ')
	if i < 0 {
		return time.Time{}, false
	}
	loc, err := time.LoadLocation(v[i+1:])
	if err != nil || v[i+1:] == "Local" || v[i+1:] == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, v[:i], loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
