package main

import (
	"strings"
	"testing"
)

// A wrong phone number id pauses the campaign (exit 3) with Meta's details
// in the reason that the run and `status` print, not only in `report`.
func TestUnknownPhoneNumberIDPauseShowsDetails(t *testing.T) {
	sim := startSim(t, "--latency", "1ms", "--tier", "unlimited")
	p := newProc(t, sim)
	p.extra = []string{"WHATSEND_PHONE_NUMBER_ID=999000999"}
	csv := writeCSV(t, p.dir, 3, 0)
	if code := p.exec(p.runArgs(csv)...); code != exitPaused {
		t.Fatalf("run exited %d, want 3\n%s%s", code, &p.stdout, &p.stderr)
	}
	const details = "unknown phone number id 999000999"
	if out := p.stdout.String() + p.stderr.String(); !strings.Contains(out, details) {
		t.Errorf("the run's output does not show %q:\n%s", details, out)
	}
	if code := p.exec("status"); code != 0 {
		t.Fatalf("status exited %d\n%s%s", code, &p.stdout, &p.stderr)
	}
	if out := p.stdout.String(); !strings.Contains(out, "[paused]") || !strings.Contains(out, details) || !strings.Contains(out, "answered 100") {
		t.Errorf("status does not show the pause with code 100 and %q:\n%s", details, out)
	}
	if got := countAccepted(t, sim); got != 0 {
		t.Errorf("the simulator accepted %d messages, want none", got)
	}
}
