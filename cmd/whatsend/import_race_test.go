package main

import (
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// Two runs of one new CSV started together: the import is owned by one of
// them, the other waits or exits 4, no campaign with attempts is ever
// deleted, and no recipient is messaged twice, by either process or by the
// run after them.
func TestConcurrentRunsOfOneNewCSV(t *testing.T) {
	sim := startSim(t, "--latency", "5ms", "--jitter", "0", "--mps", "1000", "--throughput", "HIGH", "--tier", "unlimited")
	bin := whatsendBin(t)
	const rows = 9000
	trials := 10
	if testing.Short() {
		trials = 2
	}
	for g, gap := range []time.Duration{0, 50 * time.Millisecond, 500 * time.Millisecond} {
		for trial := range trials {
			t.Run(fmt.Sprintf("gap=%v/trial=%d", gap, trial), func(t *testing.T) {
				p := &proc{t: t, bin: bin, dir: t.TempDir(), sim: sim}
				offset := (g*trials + trial) * rows
				csv := writeCSV(t, p.dir, rows, offset)
				args := p.runArgs(csv, "--rate", "300", "--max-duration", "700ms")

				codes := make([]int, 2)
				outs := make([]syncBuffer, 2)
				done := make(chan int, 2)
				for i := range 2 {
					if i == 1 {
						time.Sleep(gap)
					}
					cmd := p.command(args...)
					cmd.Stdout, cmd.Stderr = &outs[i], &outs[i]
					if err := cmd.Start(); err != nil {
						t.Fatal(err)
					}
					go func() {
						codes[i] = exitCodeOf(cmd.Wait())
						done <- i
					}()
				}
				for range 2 {
					select {
					case <-done:
					case <-time.After(2 * time.Minute):
						t.Fatal("a run did not end within 2 minutes")
					}
				}
				for i, c := range codes {
					if c != exitMoreWork && c != exitBusy {
						t.Errorf("run %d exited %d, want 10 (work left) or 4 (busy)\n%s", i+1, c, outs[i].String())
					}
				}
				// The run after them continues the same campaign.
				if code := p.exec(args...); code != exitMoreWork {
					t.Errorf("third run exited %d, want 10\n%s%s", code, &p.stdout, &p.stderr)
				}
				checkNoDuplicate(t, sim, p, offset, rows)
			})
		}
	}
}

// exitCodeOf is a finished command's exit code.
func exitCodeOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// checkNoDuplicate asserts that the simulator accepted each of this trial's
// numbers at most once, and that every accepted message is still an attempt
// of a campaign in the store (no campaign with attempts was deleted).
func checkNoDuplicate(t *testing.T, sim *simProc, p *proc, offset, rows int) {
	t.Helper()
	var msgs simMessages
	sim.getJSON(t, "/_sim/messages", &msgs)
	lo, hi := fmt.Sprintf("+55119%08d", 10000000+offset), fmt.Sprintf("+55119%08d", 10000000+offset+rows-1)
	seen := map[string]int{}
	for _, m := range msgs.Messages {
		to := m.To
		if to[0] != '+' {
			to = "+" + to
		}
		if to >= lo && to <= hi {
			seen[to]++
		}
	}
	dups := 0
	for _, n := range seen {
		if n > 1 {
			dups++
		}
	}
	if dups > 0 {
		t.Errorf("%d recipients were messaged more than once", dups)
	}
	count := storeCount(t, p)
	attempted, campaigns := count(`SELECT count(DISTINCT to_phone) FROM attempts`), count(`SELECT count(*) FROM campaigns`)
	if attempted < len(seen) {
		t.Errorf("the simulator accepted %d numbers but the store holds attempts for %d: a campaign with attempts was deleted", len(seen), attempted)
	}
	if campaigns != 1 {
		t.Errorf("%d campaigns in the store, want 1", campaigns)
	}
	if len(seen) == 0 {
		t.Errorf("nothing was sent")
	}
}
