package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

func TestKillNineThenResumeSendsNothingTwice(t *testing.T) {
	sim := startSim(t, "--mps", "1000", "--tier", "unlimited", "--latency", "30ms", "--jitter", "10ms",
		"--drop-rate", "0.02", "--fail-rate", "0.03", "--seed", "7")
	p := newProc(t, sim)
	csv := writeCSV(t, p.dir, 400, 0)

	kills, inFlightAtKills := 0, 0
	count := storeCount(t, p)
	for i, at := range []int{40, 150, 280} {
		args := p.runArgs(csv, "--rate", "200")
		if i > 0 {
			args = []string{"resume"}
		}
		cmd := p.command(args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sim.waitAccepted(t, at)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		kills++
		// What the killed process had checkpointed and not recorded: the
		// most this kill can leave uncertain.
		inFlightAtKills += count(`SELECT count(*) FROM recipients WHERE state = 'in_flight'`)
	}
	p.resumeUntilFinished(10)

	accepted, uncertainAtKill := checkNothingSentTwice(t, sim, p)
	// An uncertain recipient without an ambiguous answer was in flight at a
	// kill: never more than the store held in flight right after the kills.
	if uncertainAtKill > inFlightAtKills {
		t.Errorf("%d recipients uncertain without an ambiguous answer, more than the %d in flight at the %d kills", uncertainAtKill, inFlightAtKills, kills)
	}
	t.Logf("%d messages accepted, %d uncertain from kills, %d in flight at the kills", accepted, uncertainAtKill, inFlightAtKills)
}

// checkNothingSentTwice checks a finished campaign against the simulator's
// record: no number accepted twice, every sent recipient accepted once,
// every failed or skipped one never, nothing left but sent, failed, skipped
// or uncertain, and the store intact. It returns the messages accepted and
// the recipients left uncertain by a kill (not by an ambiguous answer).
func checkNothingSentTwice(t *testing.T, sim *simProc, p *proc) (accepted, uncertainAtKill int) {
	t.Helper()
	var msgs simMessages
	sim.getJSON(t, "/_sim/messages", &msgs)
	seen := map[string]int{}
	for _, m := range msgs.Messages {
		seen[m.To]++
		if seen[m.To] == 2 {
			t.Errorf("%s was accepted twice", m.To)
		}
	}
	if n := storeCount(t, p)(`SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'`); n != 0 {
		t.Errorf("integrity_check reports %d problems", n)
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(p.dir, "whatsend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs, err := st.Campaigns(t.Context())
	if err != nil || len(cs) != 1 {
		t.Fatalf("campaigns: %v %v", cs, err)
	}
	err = st.Recipients(t.Context(), cs[0].ID, func(r store.Recipient) error {
		switch r.State {
		case store.StateSent:
			if seen[r.Phone] != 1 {
				t.Errorf("line %d recorded sent but the simulator accepted it %d times", r.Line, seen[r.Phone])
			}
		case store.StateFailed, store.StateSkipped:
			if seen[r.Phone] != 0 {
				t.Errorf("line %d recorded %s but the simulator accepted it", r.Line, r.State)
			}
		case store.StateUncertain:
			if !strings.Contains(r.LastError, "outcome unknown") {
				uncertainAtKill++
			}
		default:
			t.Errorf("line %d ended %s, want sent, failed, skipped or uncertain", r.Line, r.State)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return len(msgs.Messages), uncertainAtKill
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	sim := startSim(t, "--mps", "1000", "--tier", "unlimited", "--latency", "50ms")
	p := newProc(t, sim)
	csv := writeCSV(t, p.dir, 300, 0)
	cmd := p.command(p.runArgs(csv, "--rate", "50")...)
	var out syncBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sim.waitAccepted(t, 30)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 143 {
		t.Fatalf("exit code %d (%v), want 143", code, err)
	}
	if !strings.Contains(out.String(), "campaign") {
		t.Errorf("no summary on stdout after SIGTERM: %q", out.String())
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(p.dir, "whatsend.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs, _ := st.Campaigns(t.Context())
	counts, err := st.Counts(t.Context(), cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.StateInFlight] != 0 {
		t.Errorf("%d recipients left in_flight after SIGTERM, want 0", counts[store.StateInFlight])
	}
	if counts[store.StateSent] < 30 || counts[store.StatePending] == 0 {
		t.Errorf("counts %v: want the sent ones recorded and the rest pending", counts)
	}
}

func TestLeases(t *testing.T) {
	sim := startSim(t, "--mps", "1000", "--tier", "unlimited", "--latency", "20ms")
	p := newProc(t, sim)
	csvA := writeCSV(t, p.dir, 400, 0)
	csvB := writeCSV(t, p.dir, 10, 5000)

	holder := p.command(p.runArgs(csvA, "--rate", "20")...)
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	waitFor(t, "the first run to send", time.Minute, func() bool {
		var s simStats
		sim.getJSON(t, "/_sim/stats", &s)
		return s.Accepted >= 5
	})
	pid := fmt.Sprintf("pid %d", holder.Process.Pid)

	// A second resume of the same campaign.
	if code := p.exec("resume"); code != 4 {
		t.Errorf("concurrent resume exited %d, want 4", code)
	} else if !strings.Contains(p.stderr.String(), pid) {
		t.Errorf("busy message %q does not name the holder (%s)", p.stderr.String(), pid)
	}
	// A run of another campaign on the same number.
	if code := p.exec(p.runArgs(csvB)...); code != 4 {
		t.Errorf("second run on the same number exited %d, want 4", code)
	} else if !strings.Contains(p.stderr.String(), pid) {
		t.Errorf("busy message %q does not name the holder (%s)", p.stderr.String(), pid)
	}
	// kill -9 the holder: its lease is taken over at once.
	_ = holder.Process.Signal(syscall.SIGKILL)
	_ = holder.Wait()
	if code := p.exec("resume", "1", "--max-duration", "2s"); code != 0 && code != 10 {
		t.Errorf("resume after kill -9 exited %d, want 0 or 10 (lease taken over)\n%s", code, p.stderr.String())
	}
}

// With every request hung, SIGTERM ends the run after --shutdown-wait, not
// after the client's 30 s timeout: exit 143, and the requests that never
// answered are left uncertain, never re-sent.
func TestSIGTERMWithHungRequests(t *testing.T) {
	sim := startSim(t, "--mps", "1000", "--tier", "unlimited", "--hang-rate", "1")
	p := newProc(t, sim)
	csv := writeCSV(t, p.dir, 50, 0)
	cmd := p.command(p.runArgs(csv, "--rate", "20", "--shutdown-wait", "1s")...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	count := storeCount(t, p)
	waitFor(t, "requests in flight", time.Minute, func() bool {
		return count(`SELECT count(*) FROM recipients WHERE state = 'in_flight'`) >= 3
	})
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if code := exitCodeOf(err); code != 143 {
			t.Errorf("exit %d, want 143\n%s", code, out.String())
		}
	case <-time.After(25 * time.Second): // the client's own timeout is 30 s
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("SIGTERM with hung requests did not end the run before the HTTP timeout\n%s", out.String())
	}
	if n := count(`SELECT count(*) FROM recipients WHERE state = 'in_flight'`); n != 0 {
		t.Errorf("%d recipients still in_flight after shutdown", n)
	}
	if n := count(`SELECT count(*) FROM recipients WHERE state = 'uncertain'`); n < 3 {
		t.Errorf("%d recipients uncertain, want the hung ones (at least 3)", n)
	}
}
