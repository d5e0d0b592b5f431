package campaign

import (
	"strings"
	"testing"
	"time"
)

func TestWindowSettingsRefused(t *testing.T) {
	base := Settings{Template: "t", Language: "en_US"}
	for _, tc := range []struct {
		set  func(*Settings)
		flag string
	}{
		{func(s *Settings) { s.Window = "9-20" }, "--window"},
		{func(s *Settings) { s.Window = "09:00-09:00" }, "--window"},
		{func(s *Settings) { s.Window = "09:00-25:00" }, "--window"},
		{func(s *Settings) { s.Days = "monday-friday" }, "--days"},
		{func(s *Settings) { s.TZ = "Mars/Olympus" }, "--tz"},
		{func(s *Settings) { s.NotAfter = "next week" }, "--not-after"},
		{func(s *Settings) { s.NotAfter = "-1h" }, "--not-after"},
		{func(s *Settings) { s.SettleAfter = Duration(-time.Minute) }, "--settle-after"},
	} {
		s := base
		tc.set(&s)
		err := s.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.flag) {
			t.Errorf("%+v: Validate = %v, want an error naming %s", s, err, tc.flag)
		}
	}
	ok := base
	ok.Window, ok.Days, ok.TZ, ok.NotAfter, ok.SettleAfter = "22:00-06:00", "fri-mon", "Europe/Lisbon", "2026-12-24T18:00", Duration(time.Hour)
	if err := ok.Validate(); err != nil {
		t.Errorf("valid window settings refused: %v", err)
	}
}

func TestWindowChangesAreSafe(t *testing.T) {
	stored := Settings{Template: "t", Language: "en_US", Window: "09:00-20:00"}
	gave := stored
	gave.Window, gave.Days, gave.NotAfter = "10:00-18:00", "mon-fri", "72h"
	given := func(f string) bool { return f == "--window" || f == "--days" || f == "--not-after" }
	s, changes, err := Update("c", stored, gave, given)
	if err != nil || len(changes) != 3 || s.Window != "10:00-18:00" || s.Days != "mon-fri" || s.NotAfter != "72h" {
		t.Errorf("Update = %+v, %v, %v; want the three window changes applied", s, changes, err)
	}
}

func TestWindowOverMidnightAndDays(t *testing.T) {
	w, err := newSendWindow(Settings{Window: "22:00-06:00", Days: "fri", TZ: "UTC"})
	if err != nil {
		t.Fatal(err)
	}
	fri := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC) // a Friday
	for _, tc := range []struct {
		at   time.Time
		open bool
	}{
		{fri.Add(23 * time.Hour), true},                // Friday 23:00
		{fri.Add(29 * time.Hour), true},                // Saturday 05:00, Friday's night
		{fri.Add(30 * time.Hour), false},               // Saturday 06:00
		{fri.Add(5 * time.Hour), false},                // Friday 05:00 belongs to Thursday
		{fri.Add(7*24*time.Hour + 22*time.Hour), true}, // next Friday 22:00
	} {
		if got := w.open("+15550100", tc.at); got != tc.open {
			t.Errorf("open at %v = %v, want %v", tc.at, got, tc.open)
		}
	}
	if got := w.next("+15550100", fri.Add(30*time.Hour)); !got.Equal(fri.Add(7*24*time.Hour + 22*time.Hour)) {
		t.Errorf("next after Saturday 06:00 = %v, want next Friday 22:00", got)
	}
	end, ok, err := NotAfter("2026-12-24", time.Time{})
	if err != nil || !ok || !end.Equal(time.Date(2026, 12, 25, 0, 0, 0, 0, time.Local)) {
		t.Errorf("NotAfter(date) = %v %v %v, want the end of that day", end, ok, err)
	}
}
