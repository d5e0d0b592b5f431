package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// A --simulate rehearsal wires the in-process simulator's webhooks straight
// into a receiver on the run's store: these tests check what the user sees
// afterwards (store, status, report) with no port and no `whatsend webhook`.

func simulateArgs(csv string, more ...string) []string {
	return append([]string{"run", csv, "--template", "order_update", "--lang", "en_US", "--params", "name,order_id", "--simulate"}, more...)
}

func openTestStore(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "whatsend.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// findFigure looks for key anywhere in a decoded JSON document and returns
// the first number under it.
func findFigure(v any, key string) (float64, bool) {
	switch x := v.(type) {
	case map[string]any:
		if n, ok := x[key].(float64); ok {
			return n, true
		}
		for _, k := range sortedKeys(x) {
			if n, ok := findFigure(x[k], key); ok {
				return n, true
			}
		}
	case []any:
		for _, e := range x {
			if n, ok := findFigure(e, key); ok {
				return n, true
			}
		}
	}
	return 0, false
}

// TestSimulateReportShowsDelivery: the rehearsal's summary, report and
// store show every message delivered, the read and replied shares of the
// in-process simulator (70 % read, 10 % replied), and no opt-out: a
// rehearsal never says STOP for a real number.
func TestSimulateReportShowsDelivery(t *testing.T) {
	p := newProc(t, nil)
	csv := writeCSV(t, p.dir, 50, 0)
	if code := p.exec(simulateArgs(csv, "--tier", "10000", "--warmup-start", "2020-01-01")...); code != 0 {
		t.Fatalf("run --simulate exited %d\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}
	st := openTestStore(t, p.dir)
	cs, err := st.Campaigns(t.Context())
	if err != nil || len(cs) != 1 {
		t.Fatalf("campaigns %v, %v", cs, err)
	}
	sum, err := st.Summary(t.Context(), cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	delivered := sum.ByDelivery[store.DeliveryDelivered] + sum.ByDelivery[store.DeliveryRead]
	read := sum.ByDelivery[store.DeliveryRead]
	if sum.ByState[store.StateSent] != 50 || delivered != 50 || (read != 35 && read != 36) || sum.Replied != 5 {
		t.Errorf("store after the rehearsal: %d sent, %d delivered, %d read, %d replied; want 50, 50, 35 or 36, 5",
			sum.ByState[store.StateSent], delivered, read, sum.Replied)
	}
	if rows := countWebhookRows(t, filepath.Join(p.dir, "whatsend.db")); rows != 2*50+read+sum.Replied {
		t.Errorf("%d notifications stored, want sent and delivered for each, %d read, %d replies", rows, read, sum.Replied)
	}
	if oo, err := st.OptOuts(t.Context()); err != nil || len(oo) != 0 {
		t.Errorf("opt-out list after a rehearsal: %v (%v), want empty", oo, err)
	}

	// The summary printed at the end of the run and the report written
	// there already have the figures: the run's end delivered the
	// simulator's notifications before reading them (settleRehearsal).
	if want := fmt.Sprintf("50 sent (50 delivered, %d read, %d replied)", read, sum.Replied); !strings.Contains(p.stdout.String(), want) {
		t.Errorf("the run's summary does not say %q:\n%s", want, p.stdout.String())
	}
	m := regexp.MustCompile(`reports: (\S+\.json) `).FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("no report path in the run's output:\n%s", p.stdout.String())
	}
	b, err := os.ReadFile(m[1])
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("report %s: %v", m[1], err)
	}
	for key, want := range map[string]int{"delivered": 50, "read": read, "replied": sum.Replied} {
		if got, ok := findFigure(doc, key); !ok || int(got) != want {
			t.Errorf("report %q = %v (found %v), want %d", key, got, ok, want)
		}
	}
}

// TestSimulateResumeDelivers: resume opens the store before it builds the
// client (run does the opposite); its rehearsal's webhooks land too.
func TestSimulateResumeDelivers(t *testing.T) {
	p := newProc(t, nil)
	csv := writeCSV(t, p.dir, 40, 0)
	p.extra = []string{"WHATSEND_NOW=2026-03-02T09:00:00Z"}
	if code := p.exec(simulateArgs(csv, "--tier", "250")...); code != 10 {
		t.Fatalf("run --simulate on day 0 exited %d, want 10 (allowance used up)\nstdout: %s", code, p.stdout.String())
	}
	p.extra = []string{"WHATSEND_NOW=2026-03-03T09:00:01Z"}
	if code := p.exec("resume"); code != 0 {
		t.Fatalf("resume exited %d, want 0\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
	}
	st := openTestStore(t, p.dir)
	cs, _ := st.Campaigns(t.Context())
	sum, err := st.Summary(t.Context(), cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	delivered := sum.ByDelivery[store.DeliveryDelivered] + sum.ByDelivery[store.DeliveryRead]
	if sum.ByState[store.StateSent] != 40 || delivered != 40 || sum.ByDelivery[store.DeliveryRead] == 0 {
		t.Errorf("after run and resume: %d sent, %d delivered, %d read; want 40 sent and delivered, some read",
			sum.ByState[store.StateSent], delivered, sum.ByDelivery[store.DeliveryRead])
	}
	if code := p.exec("status"); code != 0 || !strings.Contains(p.stdout.String(), "40 sent (40 delivered,") {
		t.Errorf("status exited %d:\n%s", code, p.stdout.String())
	}
}

// TestSimWebhookFlags: the webhook flags of `whatsend sim` are checked
// before it listens.
func TestSimWebhookFlags(t *testing.T) {
	p := newProc(t, nil)
	p.extra = []string{"WHATSEND_APP_SECRET="}
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--webhook-url", "http://127.0.0.1:9/webhook"}, "WHATSEND_APP_SECRET"},
		{[]string{"--webhook-url", "ftp://127.0.0.1/webhook", "--app-secret-file", "/dev/null"}, "--webhook-url"},
		{[]string{"--webhook-url", "http://127.0.0.1:9/webhook", "--app-secret-file", filepath.Join(p.dir, "missing")}, "--app-secret-file"},
		{[]string{"--reply-rate", "1.5"}, "--reply-rate"},
		{[]string{"--stop-share", "-0.1"}, "--stop-share"},
		{[]string{"--webhook-batch", "0"}, "--webhook-batch"},
		{[]string{"--webhook-batch", "1001"}, "--webhook-batch"},
		{[]string{"--webhook-duplicate-rate", "1.1"}, "--webhook-duplicate-rate"},
		{[]string{"--webhook-reorder-rate", "-1"}, "--webhook-reorder-rate"},
		{[]string{"--bsuid-share", "2"}, "--bsuid-share"},
		{[]string{"--button-share", "-0.5"}, "--button-share"},
		{[]string{"--user-prefs-share", "1.5"}, "--user-prefs-share"},
		{[]string{"--unsupported-share", "-1"}, "--unsupported-share"},
	} {
		args := append([]string{"sim", "--addr", "127.0.0.1:0"}, tt.args...)
		if code := p.exec(args...); code != 2 || !strings.Contains(p.stderr.String(), tt.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming %s", tt.args, code, p.stderr.String(), tt.msg)
		}
	}
}
