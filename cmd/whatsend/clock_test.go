package main

import (
	"testing"
	"time"
)

// TestClockZones: WHATSEND_NOW takes RFC 3339 (any offset) or a local
// date and time followed by an IANA zone; anything else is a usage error.
func TestClockZones(t *testing.T) {
	sp, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]time.Time{
		"2026-12-05T09:00:00Z":               time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC),
		"2026-12-05T09:00:00-03:00":          time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC),
		"2026-12-05T09:00 America/Sao_Paulo": time.Date(2026, 12, 5, 9, 0, 0, 0, sp),
		"2026-12-05T09:00:30 Asia/Jakarta":   time.Date(2026, 12, 5, 2, 0, 30, 0, time.UTC),
		"2026-12-05 09:00 America/Sao_Paulo": time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC),
	} {
		now, err := newClock(func(string) string { return v })
		if err != nil {
			t.Errorf("WHATSEND_NOW=%q: %v", v, err)
			continue
		}
		if d := now().Sub(want); d < 0 || d > time.Minute {
			t.Errorf("WHATSEND_NOW=%q: clock at %v, want %v", v, now(), want)
		}
	}
	for _, v := range []string{"tomorrow", "2026-12-05T09:00 Mars/Base", "2026-12-05T09:00"} {
		if _, err := newClock(func(string) string { return v }); err == nil {
			t.Errorf("WHATSEND_NOW=%q accepted", v)
		}
	}
}
