package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
)

// TestSettleAfterKillNine: 20 recipients are left uncertain by a kill -9
// while `whatsend webhook` runs on the store. The simulator accepted some
// (their answers were lost) and never accepted the others (their requests
// hung until the kill). The accepted ones are settled by their status; the
// others get no status and are resent exactly once by the first resume
// after --settle-after; the simulator's record then has every recipient
// exactly once.
func TestSettleAfterKillNine(t *testing.T) {
	w := newWebhookWorld(t, "--hang-rate", "0.5", "--drop-rate", "0.5", "--read-rate", "0", "--reply-rate", "0",
		"--stop-share", "0", "--webhook-delay", "3s", "--seed", "3")
	csv := writeCSV(t, w.p.dir, 20, 0)
	count := storeCount(t, w.p)

	cmd := w.p.command(w.p.runArgs(csv, "--max-attempts", "1", "--name", "settle")...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Every request is out: the dropped ones recorded uncertain (their
	// statuses come 3 s later), the hung ones held by the simulator.
	var accepted int
	waitFor(t, "all 20 sends to be out", time.Minute, func() bool {
		accepted = len(w.messages(t))
		var st struct {
			InFlight int `json:"in_flight"`
		}
		w.sim.getJSON(t, "/_sim/stats", &st)
		return count(`SELECT count(*) FROM recipients WHERE state = 'uncertain'`) == accepted && accepted+st.InFlight == 20
	})
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	// A request the snapshot above saw in flight may still have been
	// accepted as the process died; count again once the simulator has
	// delivered every status (seconds after the kill).
	w.settled(t, 30*time.Second)
	accepted = len(w.messages(t))
	hung := 20 - accepted
	if accepted == 0 || hung == 0 {
		t.Fatalf("the simulator accepted %d of 20: the test needs some accepted and some hung (change --seed)", accepted)
	}
	w.sim.control(t, `{"hang_rate": 0, "drop_rate": 0}`)

	// Before --settle-after nothing is resent: the campaign waits (exit 10).
	if code := w.p.exec("resume", "settle"); code != 10 {
		t.Fatalf("resume before --settle-after exited %d, want 10\nstdout: %s\nstderr: %s", code, w.p.stdout.String(), w.p.stderr.String())
	}
	if !strings.Contains(w.p.stdout.String(), "wait for a status") {
		t.Errorf("resume before --settle-after does not say the uncertain wait for a status:\n%s", w.p.stdout.String())
	}
	if n := len(w.messages(t)); n != accepted {
		t.Fatalf("resume before --settle-after sent %d messages", n-accepted)
	}

	// An hour later: the silent ones are resent once, the campaign finishes.
	w.p.extra = []string{"WHATSEND_NOW=" + time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}
	if code := w.p.exec("resume", "settle"); code != 0 {
		t.Fatalf("resume after --settle-after exited %d, want 0\nstdout: %s\nstderr: %s", code, w.p.stdout.String(), w.p.stderr.String())
	}
	if !strings.Contains(w.p.stdout.String(), "resent after silence") {
		t.Errorf("summary does not list the resent recipients:\n%s", w.p.stdout.String())
	}
	if code := w.p.exec("resume", "settle"); code != 0 {
		t.Fatalf("a further resume exited %d, want 0 (finished)", code)
	}

	seen := map[string]int{}
	for _, m := range w.messages(t) {
		seen[m.To]++
	}
	if len(seen) != 20 {
		t.Errorf("the simulator has %d distinct recipients, want all 20", len(seen))
	}
	for to, n := range seen {
		if n != 1 {
			t.Errorf("%s accepted %d times, want exactly once", to, n)
		}
	}
	st := w.openStore(t)
	c := campaignNamed(t, st, "settle")
	resent := 0
	err := st.Recipients(t.Context(), c.ID, func(r store.Recipient) error {
		if r.State != store.StateSent {
			t.Errorf("line %d ended %s, want sent", r.Line, r.State)
		}
		if r.ResentAfterSilence {
			resent++
			if r.Attempts != 2 {
				t.Errorf("line %d resent after silence with %d attempts, want 2", r.Line, r.Attempts)
			}
		} else if r.Delivery == store.DeliveryNone {
			t.Errorf("line %d settled without a status", r.Line)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if resent != hung {
		t.Errorf("%d recipients resent after silence, want the %d the simulator never accepted", resent, hung)
	}
}
