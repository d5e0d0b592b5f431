package main

import (
	"strings"
	"testing"
)

// Against `whatsend sim --fault-131056 0.2` the run pauses with exit 3, the
// stored reason names the share and the window, and resume continues once
// the fault is turned off.
func TestGuardPausesOn131056Share(t *testing.T) {
	sim := startSim(t, "--latency", "1ms", "--fault-131056", "0.2", "--pair-burst", "1000", "--tier", "unlimited")
	p := newProc(t, sim)
	csv := writeCSV(t, p.dir, 300, 0)
	if code := p.exec(p.runArgs(csv, "--rate", "200")...); code != exitPaused {
		t.Fatalf("run exited %d, want 3\n%s%s", code, &p.stdout, &p.stderr)
	}
	if code := p.exec("status"); code != 0 {
		t.Fatalf("status exited %d", code)
	}
	status := p.stdout.String()
	if !strings.Contains(status, "[paused]") || !strings.Contains(status, "of the last 50 send attempts were answered 131056") ||
		!strings.Contains(status, "the limit is 5%") {
		t.Fatalf("status does not show the pause with share and window:\n%s", status)
	}
	before := countAccepted(t, sim)
	if before >= 300 {
		t.Fatalf("all %d were accepted before the pause", before)
	}

	sim.control(t, `{"fault_131056": 0}`)
	if code := p.exec("resume"); code != exitOK {
		t.Fatalf("resume exited %d, want 0\n%s%s", code, &p.stdout, &p.stderr)
	}
	if got := countAccepted(t, sim); got != 300 {
		t.Errorf("accepted %d after resume, want all 300", got)
	}
}

// resume --all (cron) skips a paused campaign, still exits 3, and drives the
// others; resume by name continues it.
func TestResumeAllSkipsPaused(t *testing.T) {
	sim := startSim(t, "--latency", "1ms", "--tier", "unlimited", "--quality", "RED")
	p := newProc(t, sim)
	a := writeCSV(t, p.dir, 20, 0)
	if code := p.exec(p.runArgs(a)...); code != exitPaused {
		t.Fatalf("run while RED exited %d, want 3\n%s%s", code, &p.stdout, &p.stderr)
	}
	sim.control(t, `{"quality": "GREEN"}`)
	b := writeCSV(t, p.dir, 20, 1000)
	if code := p.exec(p.runArgs(b, "--max-duration", "1ms")...); code != exitMoreWork && code != exitOK {
		t.Fatalf("second campaign exited %d\n%s%s", code, &p.stdout, &p.stderr)
	}
	if code := p.exec("resume", "--all"); code != exitPaused {
		t.Fatalf("resume --all exited %d, want 3 for the paused campaign\n%s%s", code, &p.stdout, &p.stderr)
	}
	if !strings.Contains(p.stdout.String(), "paused, skipped") {
		t.Errorf("resume --all did not list the paused campaign:\n%s", &p.stdout)
	}
	if got := countAccepted(t, sim); got != 20 {
		t.Errorf("accepted %d, want the second campaign's 20 only", got)
	}
	if code := p.exec("resume", "1"); code != exitOK {
		t.Fatalf("resume 1 exited %d, want 0\n%s%s", code, &p.stdout, &p.stderr)
	}
	if got := countAccepted(t, sim); got != 40 {
		t.Errorf("accepted %d after resuming by name, want 40", got)
	}
}

// With --fault-131056 0.03 the share sits between 2 % and 5 %: the rate is
// halved and the campaign finishes.
func TestGuardSlowsOnModerate131056Share(t *testing.T) {
	sim := startSim(t, "--latency", "1ms", "--fault-131056", "0.03", "--pair-burst", "1000", "--tier", "unlimited")
	p := newProc(t, sim)
	csv := writeCSV(t, p.dir, 300, 0)
	if code := p.exec(p.runArgs(csv, "--rate", "200")...); code != exitOK {
		t.Fatalf("run exited %d, want 0\n%s%s", code, &p.stdout, &p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "halv") {
		t.Errorf("the run did not say it slowed down:\n%s", &p.stderr)
	}
	if got := countAccepted(t, sim); got != 300 {
		t.Errorf("accepted %d, want 300", got)
	}
}
