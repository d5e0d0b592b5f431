package main

import (
	"strings"
	"testing"
)

// settingsOf reads the latest campaign's settings from its JSON report.
func (p *proc) settingsOf() map[string]any {
	p.t.Helper()
	s, _ := p.reportJSON()["settings"].(map[string]any)
	return s
}

// run on an existing campaign compares the flags given with the stored
// settings: the same continue, different ones are refused with the list of
// differences; --update applies the safe ones and refuses the unsafe ones;
// campaign set changes them without the CSV.
func TestChangedSettings(t *testing.T) {
	p := newProc(t, nil)
	csv := writeCSV(t, p.dir, 5, 0)
	dry := func(more ...string) int { return p.exec(simArgs(csv, append(more, "--dry-run")...)...) }
	if code := dry("--rate", "80"); code != 0 {
		t.Fatalf("first dry run exited %d\n%s", code, &p.stderr)
	}
	if code := dry("--rate", "80", "--batch-size", "100"); code != 0 || !strings.Contains(p.stderr.String(), "continuing") {
		t.Fatalf("same settings (defaults spelled out): exited %d, want 0 and continuing\n%s", code, &p.stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"changed flags", []string{"--rate", "200", "--tier", "1000"},
			[]string{"--rate: stored 80, given 200", "--tier: stored unlimited, given 1000", "--update"}},
		// simArgs gives --params name,order_id: a second --params adds to it.
		{"params naming a missing column", []string{"--params", "nope"},
			[]string{"--params: stored name,order_id, given name,order_id,nope", "--name NEW"}},
		{"update with an unsafe change", []string{"--rate", "200", "--params", "nope", "--update"},
			[]string{"cannot change mid-campaign", "--params: stored name,order_id, given name,order_id,nope", "--name NEW"}},
		{"update out of range", []string{"--rate", "2000", "--update"}, []string{"--rate 2000"}},
	} {
		if code := dry(tc.args...); code != exitUsage {
			t.Errorf("%s: exited %d, want 2\n%s", tc.name, code, &p.stderr)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(p.stderr.String(), w) {
				t.Errorf("%s: stderr does not say %q:\n%s", tc.name, w, &p.stderr)
			}
		}
	}
	if s := p.settingsOf(); s["rate"] != 80.0 || s["tier"] != "unlimited" {
		t.Fatalf("after the refusals: rate %v, tier %v; want 80, unlimited (nothing applied)", s["rate"], s["tier"])
	}
	if code := dry("--rate", "200", "--update"); code != 0 || !strings.Contains(p.stderr.String(), "--rate was 80, now 200") {
		t.Fatalf("--update: exited %d, want 0 and the change said\n%s", code, &p.stderr)
	}
	if code := dry("--rate", "200"); code != 0 {
		t.Fatalf("the updated rate given again: exited %d, want 0\n%s", code, &p.stderr)
	}

	// campaign set: the same without the CSV.
	if code := p.exec("campaign", "set", "1", "--rate", "40", "--batch-size", "10", "--tier", "2000"); code != 0 {
		t.Fatalf("campaign set exited %d\n%s%s", code, &p.stdout, &p.stderr)
	}
	for _, w := range []string{"--rate was 200, now 40", "--batch-size was 100, now 10", "(rehearsal)", "picks them up at its next start"} {
		if !strings.Contains(p.stdout.String(), w) {
			t.Errorf("campaign set output does not say %q:\n%s", w, &p.stdout)
		}
	}
	if s := p.settingsOf(); s["rate"] != 40.0 || s["batch_size"] != 10.0 || s["tier"] != "2000" {
		t.Errorf("after campaign set: rate %v, batch size %v, tier %v; want 40, 10, 2000", s["rate"], s["batch_size"], s["tier"])
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unsafe", []string{"campaign", "set", "1", "--template", "other", "--rate", "5"}, "--template: stored order_update, given other"},
		{"target", []string{"campaign", "set", "1", "--api-url", "http://127.0.0.1:9"}, "--api-url"},
		{"zero", []string{"campaign", "set", "1", "--rate", "0"}, "--rate 0"},
		{"NaN", []string{"campaign", "set", "1", "--pause-share", "NaN"}, "--pause-share"},
		{"unknown campaign", []string{"campaign", "set", "nosuch", "--rate", "5"}, "nosuch"},
	} {
		if code := p.exec(tc.args...); code != exitUsage || !strings.Contains(p.stderr.String(), tc.want) {
			t.Errorf("campaign set, %s: exited %d, want 2 naming %q\n%s", tc.name, code, tc.want, &p.stderr)
		}
	}
	if s := p.settingsOf(); s["rate"] != 40.0 {
		t.Errorf("after the refused sets: rate %v, want 40", s["rate"])
	}
	// The new settings drive the next run.
	if code := p.exec("resume"); code != 0 || !strings.Contains(p.stdout.String(), "rate: 40 msg/s") {
		t.Errorf("resume after campaign set: exited %d, want 0 at rate 40\n%s%s", code, &p.stdout, &p.stderr)
	}
}

// Every flag edge is a usage error (exit 2) naming the flag, with no stack
// trace and no campaign imported.
func TestFlagEdges(t *testing.T) {
	p := newProc(t, nil)
	csv := writeCSV(t, p.dir, 3, 0)
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{simArgs(csv, "--rate", "NaN"), "--rate"},
		{simArgs(csv, "--rate", "Inf"), "--rate"},
		{simArgs(csv, "--slow-share", "NaN"), "--slow-share"},
		{simArgs(csv, "--pause-share", "NaN"), "--pause-share"},
		{simArgs(csv, "--pause-share", "-Inf"), "--pause-share"},
		{simArgs(csv, "--slow-share", "1.5"), "--slow-share"},
		{simArgs(csv, "--rate", "0"), "--rate"},
		{simArgs(csv, "--rate", "0.5"), "--rate"},
		{simArgs(csv, "--rate", "1001"), "--rate"},
		{simArgs(csv, "--batch-size", "0"), "--batch-size"},
		{simArgs(csv, "--batch-size", "-1"), "--batch-size"},
		{simArgs(csv, "--max-attempts", "0"), "--max-attempts"},
		{simArgs(csv, "--guard-window", "0"), "--guard-window"},
		{simArgs(csv, "--guard-min-sample", "0"), "--guard-min-sample"},
		{simArgs(csv, "--defer-days", "0"), "--defer-days"},
		{simArgs(csv, "--daily-limit", "0"), "--daily-limit"},
		{simArgs(csv, "--pair-interval", "0s"), "--pair-interval"},
		{simArgs(csv, "--batch-interval", "-1s"), "--batch-interval"},
		{simArgs(csv, "--max-unanswered", "-2"), "--max-unanswered"},
		{simArgs(csv, "--max-duration", "-1s"), "--max-duration"},
		{simArgs(csv, "--default-region", "XX"), "--default-region"},
		{simArgs(csv, "--warmup-start", "2099-01-02"), "--warmup-start"},
		{simArgs(csv, "--warmup-days", "-2"), "--warmup-days"},
		{simArgs(csv, "--tier", "0"), "--tier"},
		{[]string{"resume", "--max-duration", "-1s"}, "--max-duration"},
		{simArgs(csv, "--shutdown-wait", "0s"), "--shutdown-wait"},
		{[]string{"resume", "--shutdown-wait", "-5s"}, "--shutdown-wait"},
		{[]string{"sim", "--mps", "NaN"}, "--mps"},
		{[]string{"sim", "--fail-rate", "Inf"}, "--fail-rate"},
	} {
		code := p.exec(tc.args...)
		stderr := p.stderr.String()
		if code != exitUsage || !strings.Contains(stderr, tc.flag) {
			t.Errorf("%v: exited %d, want 2 naming %s\n%s", tc.args, code, tc.flag, stderr)
		}
		if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
			t.Errorf("%v: stack trace:\n%s", tc.args, stderr)
		}
	}
	if code := p.exec("status"); code != 0 || !strings.Contains(p.stdout.String(), "no campaigns yet") && !strings.Contains(p.stdout.String(), "no store at") {
		t.Errorf("a refused flag imported a campaign: status exited %d\n%s", code, &p.stdout)
	}
	// Edges that are fine: today's warm-up start, --batch-interval 0,
	// --max-unanswered 0, --default-region in lower case.
	if code := p.exec(simArgs(csv, "--dry-run", "--batch-interval", "0s", "--max-unanswered", "0", "--default-region", "br")...); code != 0 {
		t.Errorf("valid edges: exited %d, want 0\n%s", code, &p.stderr)
	}
}
