package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
	"github.com/whatsend/whatsend/store/storetest"
)

// A typo in --template leaves a paused campaign that made every cron run
// exit 3; once cancelled, resume --all skips it and exits 0, the report
// shows its recipients cancelled, and nothing drives it again.
func TestCancelPausedCampaign(t *testing.T) {
	sim := startSim(t, "--latency", "1ms", "--tier", "unlimited")
	p := newProc(t, sim)
	csv := writeCSV(t, p.dir, 20, 0)
	bad := p.runArgs(csv)
	bad[3] = "order_updte" // the typo
	if code := p.exec(bad...); code != exitPaused {
		t.Fatalf("run with a bad template exited %d, want 3\n%s%s", code, &p.stdout, &p.stderr)
	}
	if code := p.exec("resume", "--all"); code != exitPaused {
		t.Fatalf("resume --all before cancel exited %d, want 3\n%s%s", code, &p.stdout, &p.stderr)
	}
	if code := p.exec("campaign", "cancel", "1"); code != exitOK {
		t.Fatalf("campaign cancel exited %d, want 0\n%s%s", code, &p.stdout, &p.stderr)
	}
	if !strings.Contains(p.stdout.String(), "cancelled; 20 recipients cancelled now") {
		t.Errorf("cancel output:\n%s", &p.stdout)
	}
	if code := p.exec("resume", "--all"); code != exitOK {
		t.Fatalf("resume --all after cancel exited %d, want 0\n%s%s", code, &p.stdout, &p.stderr)
	}
	if code := p.exec("resume", "1"); code != exitUsage || !strings.Contains(p.stderr.String(), "is cancelled: cannot send it") {
		t.Errorf("resume of a cancelled campaign exited %d, want 2 saying it is cancelled\n%s", code, &p.stderr)
	}
	if p.stdout.Len() != 0 {
		t.Errorf("resume of a cancelled campaign printed a run summary:\n%s", &p.stdout)
	}
	if code := p.exec(bad...); code != exitUsage {
		t.Errorf("run on the cancelled campaign's CSV exited %d, want 2\n%s%s", code, &p.stdout, &p.stderr)
	}
	if code := p.exec("report", "1"); code != exitOK {
		t.Fatalf("report exited %d\n%s", code, &p.stderr)
	}
	rep := p.stdout.String()
	if !strings.Contains(rep, "(id 1): cancelled") || !regexp.MustCompile(`(?m)^  cancelled +20 +100\.0%`).MatchString(rep) {
		t.Errorf("report does not show the campaign and its 20 recipients cancelled:\n%s", rep)
	}
	if code := p.exec("campaign", "list"); code != exitOK {
		t.Fatalf("campaign list exited %d\n%s", code, &p.stderr)
	}
	list := p.stdout.String()
	if !strings.Contains(list, "[cancelled]") || !strings.Contains(list, "20 cancelled, 0 remaining") {
		t.Errorf("campaign list:\n%s", list)
	}
	if code := p.exec("status"); code != exitOK || p.stdout.String() != list {
		t.Errorf("status without a campaign (exit %d) differs from campaign list:\n%s", code, &p.stdout)
	}
	if got := countAccepted(t, sim); got != 0 {
		t.Errorf("the simulator accepted %d messages, want none", got)
	}
}

// delete refuses while a live run holds the campaign's lease (exit 4,
// naming the holder) and works once it stopped; the opt-out list and the
// messaging-limit window stay.
func TestDeleteRefusesWhileLeaseHeld(t *testing.T) {
	sim := startSim(t, "--latency", "1ms", "--tier", "unlimited")
	p := newProc(t, sim)
	csv := writeCSV(t, p.dir, 200, 0)
	if code := p.exec("optout", "add", "+5511999999999"); code != exitOK {
		t.Fatalf("optout add exited %d\n%s", code, &p.stderr)
	}
	runner := p.command(p.runArgs(csv, "--rate", "2")...)
	runner.Stdout, runner.Stderr = &syncBuffer{}, &syncBuffer{}
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runner.Wait() }()
	t.Cleanup(func() {
		_ = runner.Process.Kill()
		<-done
	})
	waitFor(t, "the run's first send", time.Minute, func() bool { return countAccepted(t, sim) >= 1 })

	if code := p.exec("campaign", "delete", "1", "--yes"); code != exitBusy {
		t.Fatalf("delete during the run exited %d, want 4\n%s%s", code, &p.stdout, &p.stderr)
	}
	if want := fmt.Sprintf("held by pid %d", runner.Process.Pid); !strings.Contains(p.stderr.String(), want) {
		t.Errorf("delete's refusal does not name the holder (%s):\n%s", want, &p.stderr)
	}
	_ = runner.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		done <- nil // for the cleanup
	case <-time.After(time.Minute):
		t.Fatal("the run did not stop on SIGTERM")
	}

	st, err := sqlite.Open(t.Context(), filepath.Join(p.dir, "whatsend.db"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Campaign(t.Context(), 1)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	// stdin is not a terminal: no question, no --yes needed.
	if code := p.exec("campaign", "delete", "1"); code != exitOK {
		t.Fatalf("delete after the run exited %d, want 0\n%s%s", code, &p.stdout, &p.stderr)
	}
	if code := p.exec("campaign", "list"); code != exitOK || !strings.Contains(p.stdout.String(), "no campaigns yet") {
		t.Errorf("campaign list after delete (exit %d):\n%s", code, &p.stdout)
	}
	if code := p.exec("campaign", "delete", "1"); code != exitUsage {
		t.Errorf("deleting it again exited %d, want 2", code)
	}
	st, err = sqlite.Open(t.Context(), filepath.Join(p.dir, "whatsend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.WindowCount(t.Context(), c.Scope, time.Time{}); err != nil || n == 0 {
		t.Errorf("window of scope %s after delete = %d, %v; want the run's sends kept", c.Scope, n, err)
	}
	if o, err := st.OptedOut(t.Context(), []string{"+5511999999999"}); err != nil || !o["+5511999999999"] {
		t.Errorf("opt-out lost by delete: %v %v", o, err)
	}
}

func TestConfirm(t *testing.T) {
	for in, want := range map[string]bool{"y\n": true, "YES\n": true, " yes ": true, "n\n": false, "\n": false, "": false, "yep\n": false} {
		var out strings.Builder
		got, err := confirm(strings.NewReader(in), &out, "delete? ")
		if err != nil || got != want || out.String() != "delete? " {
			t.Errorf("confirm(%q) = %v, %v (prompt %q); want %v", in, got, err, out.String(), want)
		}
	}
}

// retry --failed sends again, once each, only the failed recipients whose
// code is retryable; never the skipped, the opted-out, nor a 131050.
func TestRetryFailed(t *testing.T) {
	sim := startSim(t, "--latency", "1ms", "--tier", "unlimited")
	p := newProc(t, sim)
	phone := func(i int) string { return fmt.Sprintf("+55119%08d", 10000000+i) }
	var b strings.Builder
	b.WriteString("name,phone,order_id\n")
	for i := range 10 {
		fmt.Fprintf(&b, "Customer %d,%s,A-%05d\n", i, phone(i), i)
	}
	b.WriteString("Bad,12345,A-99999\n") // skipped at import: invalid number
	csv := filepath.Join(p.dir, "list.csv")
	if err := os.WriteFile(csv, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := p.exec("optout", "add", phone(9)); code != exitOK { // skipped: opted out before the run
		t.Fatalf("optout add exited %d\n%s", code, &p.stderr)
	}
	if code := p.exec(p.runArgs(csv)...); code != exitOK {
		t.Fatalf("run exited %d\n%s%s", code, &p.stdout, &p.stderr)
	}

	// Status webhooks, as the receiver would store them: four sent
	// messages failed afterwards.
	fail := map[string]int{phone(0): 131026, phone(1): 131050, phone(2): 131000, phone(3): 131026}
	st, err := sqlite.Open(t.Context(), filepath.Join(p.dir, "whatsend.db"))
	if err != nil {
		t.Fatal(err)
	}
	var us []store.StatusUpdate
	err = st.Recipients(t.Context(), 1, func(r store.Recipient) error {
		if code, ok := fail[r.Phone]; ok {
			us = append(us, store.StatusUpdate{WAMID: r.WAMID, Status: store.DeliveryFailed,
				Code: code, Error: "failed by webhook", At: time.Now(), FailState: store.StateFailed})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	storetest.Notify(t, st, us, nil)
	st.Close()
	if code := p.exec("optout", "add", phone(3)); code != exitOK { // opted out after failing
		t.Fatalf("optout add exited %d\n%s", code, &p.stderr)
	}

	if code := p.exec("retry", "--failed", "--codes", "131026,131050"); code != exitUsage || !strings.Contains(p.stderr.String(), "--codes 131050: not retryable") {
		t.Errorf("retry --codes 131050 exited %d, want 2 naming the code\n%s", code, &p.stderr)
	}
	if code := p.exec("retry", "1"); code != exitUsage || !strings.Contains(p.stderr.String(), "--failed") {
		t.Errorf("retry without --failed exited %d, want 2 naming --failed\n%s", code, &p.stderr)
	}
	if got := countAccepted(t, sim); got != 9 {
		t.Fatalf("accepted %d before the retry, want 9", got)
	}
	if code := p.exec("retry", "1", "--failed"); code != exitOK {
		t.Fatalf("retry --failed exited %d, want 0\n%s%s", code, &p.stdout, &p.stderr)
	}
	if want := "retry 1: 2 re-queued (131000 ×1, 131026 ×1); 1 opted out, not re-queued"; !strings.Contains(p.stdout.String(), want) {
		t.Errorf("retry output lacks %q:\n%s", want, &p.stdout)
	}
	var msgs simMessages
	sim.getJSON(t, "/_sim/messages", &msgs)
	per := map[string]int{}
	for _, m := range msgs.Messages {
		per[m.To]++
	}
	for i := range 10 {
		want := 1
		switch i {
		case 0, 2:
			want = 2 // retried: 131026 and 131000
		case 9:
			want = 0 // opted out before the run
		}
		if got := per[strings.TrimPrefix(phone(i), "+")] + per[phone(i)]; got != want {
			t.Errorf("%s got %d messages, want %d", phone(i), got, want)
		}
	}
	if len(msgs.Messages) != 11 {
		t.Errorf("the simulator has %d messages, want 11", len(msgs.Messages))
	}

	if code := p.exec("report", "1"); code != exitOK {
		t.Fatalf("report exited %d\n%s", code, &p.stderr)
	}
	line := regexp.MustCompile(`retry 1 at \S+: 2 re-queued \(131000 ×1, 131026 ×1\), 1 opted out \(not re-queued\): 2 sent`)
	if !line.MatchString(p.stdout.String()) {
		t.Errorf("report lacks the retry line:\n%s", &p.stdout)
	}
	if code := p.exec("retry", "1", "--failed"); code != exitOK || !strings.Contains(p.stdout.String(), "nothing to retry") {
		t.Errorf("second retry exited %d:\n%s%s", code, &p.stdout, &p.stderr)
	}
	if got := countAccepted(t, sim); got != 11 {
		t.Errorf("accepted %d after the second retry, want still 11", got)
	}
}
