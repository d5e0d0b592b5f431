package main

import "time"

// newClock returns the CLI's clock. When WHATSEND_NOW (RFC 3339) is set the
// clock starts at that instant and runs on from there: a documented testing
// aid that lets subprocess tests move the engine's clock together with the
// simulator's.
func newClock(getenv func(string) string) (func() time.Time, error) {
	v := getenv("WHATSEND_NOW")
	if v == "" {
		return time.Now, nil
	}
	base, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, usagef("WHATSEND_NOW %q: want an RFC 3339 time such as 2026-01-02T09:00:00Z", v)
	}
	started := time.Now()
	return func() time.Time { return base.Add(time.Since(started)) }, nil
}
