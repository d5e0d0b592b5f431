package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// simArgs are the flags of a --simulate run (a rehearsal) of csv.
func simArgs(csv string, more ...string) []string {
	return append([]string{"run", csv, "--template", "order_update", "--lang", "en_US", "--params", "name,order_id",
		"--simulate", "--tier", "unlimited"}, more...)
}

// accepted is how many sends the simulator process accepted.
func (s *simProc) accepted(t *testing.T) int {
	t.Helper()
	var st simStats
	s.getJSON(t, "/_sim/stats", &st)
	return st.Accepted
}

// reportJSON reads `whatsend report --format json` of the latest campaign.
func (p *proc) reportJSON() map[string]any {
	p.t.Helper()
	if code := p.exec("report", "--format", "json"); code != 0 {
		p.t.Fatalf("report exited %d\n%s", code, &p.stderr)
	}
	var m map[string]any
	if err := json.Unmarshal(p.stdout.Bytes(), &m); err != nil {
		p.t.Fatalf("report JSON: %v\n%s", err, &p.stdout)
	}
	return m
}

// A rehearsal stays a rehearsal: a run without --simulate on its CSV is
// refused before anything is sent (here to a `whatsend sim` standing for
// the real API), and resume sends it to the built-in simulator, never to
// the API. The campaign is marked a rehearsal in status, summary and report.
func TestRehearsalNeverBecomesReal(t *testing.T) {
	api := startSim(t, "--latency", "1ms")
	p := newProc(t, api)
	csv := writeCSV(t, p.dir, 5, 0)
	if code := p.exec(simArgs(csv, "--dry-run")...); code != 0 {
		t.Fatalf("rehearsal dry run exited %d\n%s", code, &p.stderr)
	}
	if code := p.exec(p.runArgs(csv)...); code != exitUsage {
		t.Fatalf("real run of the rehearsal's CSV exited %d, want 2\n%s%s", code, &p.stdout, &p.stderr)
	}
	for _, want := range []string{"built-in simulator", api.url, "--name NEW"} {
		if !strings.Contains(p.stderr.String(), want) {
			t.Errorf("refusal does not name %q:\n%s", want, &p.stderr)
		}
	}
	if strings.Contains(p.stderr.String(), "continuing") {
		t.Errorf("refused run says it continues the rehearsal:\n%s", &p.stderr)
	}
	if n := api.accepted(t); n != 0 {
		t.Fatalf("the API accepted %d sends of a rehearsal, want 0", n)
	}
	if code := p.exec("resume"); code != 0 {
		t.Fatalf("resume exited %d\n%s%s", code, &p.stdout, &p.stderr)
	}
	if !strings.Contains(p.stdout.String(), "(rehearsal): finished") {
		t.Errorf("resume summary does not mark the rehearsal:\n%s", &p.stdout)
	}
	if n := api.accepted(t); n != 0 {
		t.Errorf("after resume the API accepted %d sends of a rehearsal, want 0", n)
	}
	if m := p.reportJSON(); m["rehearsal"] != true || m["sent"] != 5.0 {
		t.Errorf("report: rehearsal %v, sent %v; want true, 5", m["rehearsal"], m["sent"])
	}
	if code := p.exec("status"); code != 0 || !strings.Contains(p.stdout.String(), "(rehearsal)") {
		t.Errorf("status exited %d and does not mark the rehearsal:\n%s", code, &p.stdout)
	}
}

// A real campaign stays where it started: a --simulate run or a run
// against another API (a second `whatsend sim`) on its CSV is refused, a
// resume with another WHATSEND_PHONE_NUMBER_ID is refused, and resume sends
// every message to the campaign's own API, none to the built-in simulator.
func TestRealCampaignNeverRehearsed(t *testing.T) {
	api := startSim(t, "--latency", "1ms")
	other := startSim(t, "--latency", "1ms")
	p := newProc(t, api)
	csv := writeCSV(t, p.dir, 5, 0)
	if code := p.exec(p.runArgs(csv, "--dry-run")...); code != 0 {
		t.Fatalf("real dry run exited %d\n%s", code, &p.stderr)
	}
	refusals := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"run --simulate", simArgs(csv), nil, "would send to the built-in simulator"},
		{"run on another API", []string{"run", csv, "--template", "order_update", "--lang", "en_US", "--params", "name,order_id",
			"--api-url", other.url, "--tier", "unlimited"}, nil, other.url},
		{"run with another number", p.runArgs(csv), []string{"WHATSEND_PHONE_NUMBER_ID=100000000000009"}, "phone number id 100000000000009"},
		{"resume with another number", []string{"resume"}, []string{"WHATSEND_PHONE_NUMBER_ID=100000000000009"}, "WHATSEND_PHONE_NUMBER_ID names phone number id 100000000000009"},
	}
	for _, r := range refusals {
		p.extra = r.env
		if code := p.exec(r.args...); code != exitUsage {
			t.Errorf("%s: exited %d, want 2\n%s%s", r.name, code, &p.stdout, &p.stderr)
		} else if !strings.Contains(p.stderr.String(), r.want) || !strings.Contains(p.stderr.String(), api.url) {
			t.Errorf("%s: refusal does not name %q and the campaign's API %s:\n%s", r.name, r.want, api.url, &p.stderr)
		}
	}
	p.extra = nil
	if a, o := api.accepted(t), other.accepted(t); a != 0 || o != 0 {
		t.Fatalf("after the refusals the APIs accepted %d and %d sends, want 0 and 0", a, o)
	}
	if code := p.exec("resume"); code != 0 {
		t.Fatalf("resume exited %d\n%s%s", code, &p.stdout, &p.stderr)
	}
	if strings.Contains(p.stdout.String(), "rehearsal") {
		t.Errorf("a real campaign's summary says rehearsal:\n%s", &p.stdout)
	}
	if a, o := api.accepted(t), other.accepted(t); a != 5 || o != 0 {
		t.Errorf("resume: the campaign's API accepted %d, the other %d; want 5 and 0", a, o)
	}
	if m := p.reportJSON(); m["rehearsal"] != false || m["sent"] != 5.0 {
		t.Errorf("report: rehearsal %v, sent %v; want false, 5", m["rehearsal"], m["sent"])
	}
}

// run continuing a campaign sends with the stored settings, as resume
// does: a rehearsal started with --tier unlimited and continued by a run
// that leaves --tier out still plays an unlimited simulator, not the
// simulator's default tier of 250.
func TestRunContinuesWithStoredSettings(t *testing.T) {
	p := newProc(t, nil)
	csv := writeCSV(t, p.dir, 260, 0)
	base := []string{"run", csv, "--template", "order_update", "--lang", "en_US", "--params", "name,order_id", "--simulate"}
	if code := p.exec(append(base, "--tier", "unlimited", "--dry-run")...); code != 0 {
		t.Fatalf("dry run exited %d\n%s", code, &p.stderr)
	}
	if code := p.exec(base...); code != 0 {
		t.Fatalf("run without --tier exited %d, want 0\n%s%s", code, &p.stdout, &p.stderr)
	}
	if m := p.reportJSON(); m["sent"] != 260.0 || m["failed"] != 0.0 {
		t.Errorf("report: sent %v, failed %v; want 260, 0", m["sent"], m["failed"])
	}
}

// Cron with WHATSEND_PHONE_NUMBER_ID set drives that number's campaigns
// and skips another number's with a line saying why, instead of exiting 2
// for it every hour; by name, the contradiction is still refused.
func TestResumeAllSkipsOtherNumbers(t *testing.T) {
	sim := startSim(t, "--latency", "0")
	p := newProc(t, sim)
	csv := writeCSV(t, p.dir, 30, 0)
	if code := p.exec(p.runArgs(csv, "--tier", "10")...); code != exitMoreWork {
		t.Fatalf("run exited %d, want 10\n%s%s", code, &p.stdout, &p.stderr)
	}
	p.extra = []string{"WHATSEND_PHONE_NUMBER_ID=100000000000009"}
	if code := p.exec("resume", "--all"); code != exitOK {
		t.Errorf("resume --all with another number's id exited %d, want 0\n%s%s", code, &p.stdout, &p.stderr)
	}
	if !strings.Contains(p.stdout.String(), "not WHATSEND_PHONE_NUMBER_ID=100000000000009") || !strings.Contains(p.stdout.String(), "skipped") {
		t.Errorf("resume --all does not say why it skipped the campaign:\n%s", &p.stdout)
	}
	if code := p.exec("resume", "1"); code != exitUsage {
		t.Errorf("resume by name with another number's id exited %d, want 2", code)
	}
}
