package main

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/postgres/pgtest"
)

// workerProc is a `whatsend resume --all --worker` subprocess.
type workerProc struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
	err    error
}

// startWorkers starts n workers on the store dsn (resume --all --worker
// plus args) from p's folder, each as if on a host of its own
// (WHATSEND_HOST=worker1...), so that only the heartbeat tells a dead one,
// and kills any still running when the test ends.
func startWorkers(t *testing.T, p *proc, dsn string, n int, args ...string) []*workerProc {
	t.Helper()
	var ws []*workerProc
	for i := range n {
		cmd := p.command(append([]string{"resume", "--all", "--worker"}, args...)...)
		// The campaigns name their numbers; no default number.
		cmd.Env = append(cmd.Env, "WHATSEND_DB="+dsn, "WHATSEND_PHONE_NUMBER_ID=", fmt.Sprintf("WHATSEND_HOST=worker%d", i+1))
		w := &workerProc{cmd: cmd, out: &syncBuffer{}, exited: make(chan struct{})}
		cmd.Stdout, cmd.Stderr = w.out, w.out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { w.err = cmd.Wait(); close(w.exited) }()
		t.Cleanup(func() {
			w.kill()
			if t.Failed() {
				t.Logf("worker pid %d output:\n%s", w.cmd.Process.Pid, w.out.String())
			}
		})
		ws = append(ws, w)
	}
	return ws
}

func (w *workerProc) kill() {
	select {
	case <-w.exited:
	default:
		_ = w.cmd.Process.Signal(syscall.SIGKILL)
		<-w.exited
	}
}

// stop sends SIGTERM and returns the exit code, or -1 (after a kill) when
// the worker is still running after limit.
func (w *workerProc) stop(limit time.Duration) int {
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-w.exited:
		return exitCodeOf(w.err)
	case <-time.After(limit):
		w.kill()
		return -1
	}
}

// pgQuery runs one-number queries in the schema of a pgtest DSN.
func pgQuery(t testing.TB, dsn string) func(q string, args ...any) int64 {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(pgtest.Server(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = u.Query().Get("schema")
	conn, err := pgx.ConnectConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return func(q string, args ...any) int64 {
		var n int64
		if err := conn.QueryRow(t.Context(), q, args...).Scan(&n); err != nil {
			t.Logf("%s: %v", q, err)
			return -1
		}
		return n
	}
}

// checkPerNumber checks every campaign of the store against the
// simulators (by phone number id), the recipients' numbers all distinct:
// no recipient accepted twice, by one number or by two; every sent one
// accepted once, by the number that sends to it (numberOf; nil: its
// campaign's); every failed or skipped one never; and nothing left but
// sent, failed, skipped or uncertain. It returns the recipients left
// uncertain and the messages accepted. A campaign over a pool of numbers
// passes numberOf reading the recipient's assigned number.
func checkPerNumber(t *testing.T, dsn string, sims map[string]*simProc, numberOf func(store.Campaign, store.Recipient) string) (uncertain, accepted int) {
	t.Helper()
	if numberOf == nil {
		numberOf = func(c store.Campaign, _ store.Recipient) string { return c.PhoneNumberID }
	}
	seen := map[string]map[string]int{} // phone number id → recipient → acceptances
	by := map[string]string{}           // recipient → the number that sent it first
	for id, sim := range sims {
		var msgs simMessages
		sim.getJSON(t, "/_sim/messages", &msgs)
		seen[id] = map[string]int{}
		for _, m := range msgs.Messages {
			if seen[id][m.To]++; seen[id][m.To] == 2 {
				t.Errorf("number %s: %s was accepted twice", id, m.To)
			}
			if other, ok := by[m.To]; ok && other != id {
				t.Errorf("%s was accepted from %s and from %s", m.To, other, id)
			}
			by[m.To] = id
		}
		accepted += len(msgs.Messages)
	}
	st, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs, err := st.Campaigns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		err = st.Recipients(t.Context(), c.ID, func(r store.Recipient) error {
			got := seen[numberOf(c, r)]
			if got == nil {
				t.Fatalf("campaign %s line %d: sent from %q, which no simulator serves", c.Name, r.Line, numberOf(c, r))
			}
			switch r.State {
			case store.StateSent:
				if got[r.Phone] != 1 {
					t.Errorf("campaign %s line %d recorded sent but accepted %d times", c.Name, r.Line, got[r.Phone])
				}
			case store.StateFailed, store.StateSkipped:
				if by[r.Phone] != "" {
					t.Errorf("campaign %s line %d recorded %s but accepted", c.Name, r.Line, r.State)
				}
			case store.StateUncertain:
				uncertain++
			default:
				t.Errorf("campaign %s line %d ended %s, want sent, failed, skipped or uncertain", c.Name, r.Line, r.State)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return uncertain, accepted
}

// Three workers share three campaigns, one per simulated number, on one
// PostgreSQL database; one worker is kill -9ed mid-run. Another takes its
// campaign over once its heartbeat is --lease-expiry old, and every
// recipient is accepted once or left uncertain, never twice. The survivors
// stop on SIGTERM with exit 0.
func TestWorkersShareCampaignsAndSurviveKill(t *testing.T) {
	dsn := pgtest.DSN(t)
	const perCampaign, rate = 3000, 200 // msg/s per number (throughput HIGH)
	p := newProc(t, nil)
	p.extra = []string{"WHATSEND_DB=" + dsn}
	sims := map[string]*simProc{}
	var ids []string
	for i := range 3 {
		id := fmt.Sprintf("1000000000000%d1", i+1)
		sim := startSim(t, "--phone-number-id", id, "--mps", "1000", "--throughput", "HIGH", "--tier", "unlimited",
			"--latency", "20ms", "--jitter", "10ms", "--seed", strconv.Itoa(i+1))
		sims[id] = sim
		ids = append(ids, id)
		csv := writeCSV(t, p.dir, perCampaign, i*perCampaign)
		// --dry-run imports the campaign without sending: the workers send.
		p.sim = sim
		if code := p.exec(p.runArgs(csv, "--name", "c"+id, "--phone-number-id", id, "--rate", strconv.Itoa(rate), "--dry-run")...); code != 0 {
			t.Fatalf("import of campaign %d exited %d\n%s%s", i+1, code, p.stdout.String(), p.stderr.String())
		}
	}
	q := pgQuery(t, dsn)
	// Two campaigns at most per worker: however the three are shared at
	// the start, a survivor has a free slot for the killed worker's.
	ws := startWorkers(t, p, dsn, 3, "--pairs", "2", "--poll", "200ms", "--lease-expiry", "3s", "--shutdown-wait", "2s")

	waitFor(t, "three campaigns driven", time.Minute, func() bool {
		return q(`SELECT count(*) FROM leases WHERE key LIKE 'campaign:%'`) == 3
	})
	t.Logf("the three campaigns are driven by %d workers", q(`SELECT count(DISTINCT owner) FROM leases WHERE key LIKE 'campaign:%'`))
	victim := ids[1]
	waitFor(t, "500 accepted by the second number", time.Minute, func() bool {
		var s simStats
		sims[victim].getJSON(t, "/_sim/stats", &s)
		return s.Accepted >= 500
	})
	campaignOf := func(id string) int64 { return q(`SELECT id FROM campaigns WHERE phone_number_id = $1`, id) }
	key := fmt.Sprintf("campaign:%d:%s", campaignOf(victim), victim) // the pair lease of its one number
	pid := q(`SELECT pid FROM leases WHERE key = $1`, key)
	killed := workerWithPid(t, ws, pid, "the lease of the second number's campaign")
	_ = killed.cmd.Process.Signal(syscall.SIGKILL)
	<-killed.exited
	killedAt := time.Now()
	// The most the kill can leave uncertain: what it left in flight (the
	// takers mark them uncertain; none can take over before the expiry).
	inFlightAtKill := q(`SELECT count(*) FROM recipients WHERE state IN ('in_flight', 'uncertain')`)
	lastBeat := q(`SELECT heartbeat FROM leases WHERE key = $1`, key)

	// Taken over by another worker (on another host: the dead pid says
	// nothing), not before the dead one's heartbeat is 3 s old: the
	// taker's first heartbeat is when it took it.
	waitFor(t, "the killed worker's campaign taken over", time.Minute, func() bool {
		p := q(`SELECT coalesce(max(pid), 0) FROM leases WHERE key = $1`, key)
		return p != 0 && p != pid
	})
	took := q(`SELECT heartbeat FROM leases WHERE key = $1`, key)
	if gap := time.Duration(took - lastBeat); gap <= 3*time.Second {
		t.Errorf("campaign taken over %s after the dead worker's last heartbeat, before its 3 s expiry", gap)
	}
	t.Logf("taken over %s after the kill", time.Since(killedAt).Round(100*time.Millisecond))

	waitFor(t, "every campaign finished", 3*time.Minute, func() bool {
		return q(`SELECT count(*) FROM campaigns WHERE state <> 'finished'`) == 0
	})
	t.Logf("all finished %s after the kill", time.Since(killedAt).Round(100*time.Millisecond))

	for _, w := range ws {
		if w == killed {
			continue
		}
		if code := w.stop(30 * time.Second); code != 0 {
			t.Errorf("worker pid %d: SIGTERM gave exit %d, want 0\n%s", w.cmd.Process.Pid, code, w.out.String())
		}
	}
	if n := q(`SELECT count(*) FROM leases`); n != 0 {
		t.Errorf("%d leases left after every campaign finished and the workers stopped", n)
	}
	uncertain, accepted := checkPerNumber(t, dsn, sims, nil)
	if int64(uncertain) > inFlightAtKill {
		t.Errorf("%d recipients uncertain, more than the %d in flight at the kill", uncertain, inFlightAtKill)
	}
	if accepted+uncertain < 3*perCampaign {
		t.Errorf("%d accepted and %d uncertain of %d recipients", accepted, uncertain, 3*perCampaign)
	}
	for _, w := range ws {
		if w != killed && !strings.Contains(w.out.String(), "worker stopped") {
			t.Errorf("worker pid %d did not say it stopped:\n%s", w.cmd.Process.Pid, w.out.String())
		}
	}
	t.Logf("%d accepted, %d uncertain (%d in flight at the kill)", accepted, uncertain, inFlightAtKill)
}

// A worker started before there is any work picks up a campaign imported
// later, within its --poll; SIGTERM mid-run hands the campaign over
// cleanly (nothing left in flight, no lease kept) and exits 0.
func TestWorkerPicksUpNewWorkAndStopsCleanly(t *testing.T) {
	sim := startSim(t, "--mps", "1000", "--tier", "unlimited", "--latency", "20ms")
	p := newProc(t, sim)
	cmd := p.command("resume", "--all", "--worker", "--poll", "100ms")
	w := &workerProc{cmd: cmd, out: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = w.out, w.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.err = cmd.Wait(); close(w.exited) }()
	t.Cleanup(w.kill)
	waitFor(t, "the worker to start", time.Minute, func() bool { return strings.Contains(w.out.String(), "worker on ") })

	csv := writeCSV(t, p.dir, 1000, 0)
	if code := p.exec(p.runArgs(csv, "--rate", "50", "--dry-run")...); code != 0 {
		t.Fatalf("import exited %d\n%s", code, p.stderr.String())
	}
	waitFor(t, "30 accepted messages", time.Minute, func() bool {
		var s simStats
		sim.getJSON(t, "/_sim/stats", &s)
		return s.Accepted >= 30
	})
	if code := w.stop(30 * time.Second); code != 0 {
		t.Errorf("SIGTERM: exit %d, want 0\n%s", code, w.out.String())
	}
	out := w.out.String()
	if !strings.Contains(out, "worker stopped (interrupted (SIGTERM))") || !strings.Contains(out, "stopped: interrupted") {
		t.Errorf("output does not show the run's summary and the worker's stop:\n%s", out)
	}
	count := storeCount(t, p)
	if n := count(`SELECT count(*) FROM recipients WHERE state = 'in_flight'`); n != 0 {
		t.Errorf("%d recipients left in flight", n)
	}
	if n := count(`SELECT count(*) FROM leases`); n != 0 {
		t.Errorf("%d leases kept after the worker stopped", n)
	}
	if n := count(`SELECT count(*) FROM recipients WHERE state = 'sent'`); n < 30 {
		t.Errorf("%d recipients recorded sent, want the 30 accepted at least", n)
	}
}

func TestWorkerUsage(t *testing.T) {
	p := newProc(t, nil)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"resume", "--worker"}, "--worker goes with --all"},
		{[]string{"resume", "--all", "--worker", "--wait"}, "--wait would hold one campaign"},
		{[]string{"resume", "--all", "--worker", "--poll", "0s"}, "--poll 0s"},
		{[]string{"resume", "--all", "--worker", "--campaigns", "0"}, "--campaigns 0"},
		{[]string{"resume", "--all", "--worker", "--pairs", "0"}, "--pairs 0"},
		{[]string{"resume", "--all", "--lease-expiry", "500ms"}, "--lease-expiry 500ms: want at least 1s"},
	} {
		if code := p.exec(c.args...); code != 2 || !strings.Contains(p.stderr.String(), c.want) {
			t.Errorf("%v: exit %d, %q; want 2 saying %q", c.args, code, p.stderr.String(), c.want)
		}
	}
}

// A worker stopped (SIGSTOP: a paused VM, a stalled process) past its
// lease's expiry is taken over; when it wakes up (SIGCONT) its checkpoints
// are fenced by the lease it lost, so it sends nothing the taker may send:
// every recipient is accepted once or left uncertain, never twice.
func TestStalledWorkerSendsNothingTwice(t *testing.T) {
	dsn := pgtest.DSN(t)
	const n = 6000
	const id = "100000000000001"
	// At 1,000 msg/s a checkpoint group is being gathered at any moment:
	// the stop catches recipients picked and not yet checkpointed.
	sim := startSim(t, "--phone-number-id", id, "--mps", "1000", "--tier", "unlimited", "--latency", "20ms",
		"--throughput", "HIGH", "--pair-burst", "1000")
	p := newProc(t, sim)
	p.extra = []string{"WHATSEND_DB=" + dsn}
	csv := writeCSV(t, p.dir, n, 0)
	if code := p.exec(p.runArgs(csv, "--rate", "1000", "--dry-run")...); code != 0 {
		t.Fatalf("import exited %d\n%s", code, p.stderr.String())
	}
	q := pgQuery(t, dsn)
	ws := startWorkers(t, p, dsn, 2, "--poll", "200ms", "--lease-expiry", "3s", "--shutdown-wait", "2s")
	accepted := func() int {
		var s simStats
		sim.getJSON(t, "/_sim/stats", &s)
		return s.Accepted
	}
	waitFor(t, "1000 accepted", time.Minute, func() bool { return accepted() >= 1000 })
	pid := q(`SELECT pid FROM leases WHERE key LIKE 'campaign:1:%'`)
	stalled := workerWithPid(t, ws, pid, "the campaign's lease")
	_ = stalled.cmd.Process.Signal(syscall.SIGSTOP)
	waitFor(t, "the stalled worker's campaign taken over", time.Minute, func() bool {
		p := q(`SELECT coalesce(max(pid), 0) FROM leases WHERE key LIKE 'campaign:1:%'`)
		return p != 0 && p != pid
	})
	at := accepted()
	waitFor(t, "the taker sending", time.Minute, func() bool { return accepted() >= at+500 })
	_ = stalled.cmd.Process.Signal(syscall.SIGCONT)
	waitFor(t, "the campaign finished", 3*time.Minute, func() bool {
		return q(`SELECT count(*) FROM campaigns WHERE state <> 'finished'`) == 0
	})
	for _, w := range ws {
		if code := w.stop(30 * time.Second); code != 0 {
			t.Errorf("worker pid %d: SIGTERM gave exit %d, want 0\n%s", w.cmd.Process.Pid, code, w.out.String())
		}
	}
	uncertain, total := checkPerNumber(t, dsn, map[string]*simProc{id: sim}, nil)
	if total+uncertain < n {
		t.Errorf("%d accepted and %d uncertain of %d recipients", total, uncertain, n)
	}
	t.Logf("%d accepted, %d uncertain; the stalled worker said:\n%s", total, uncertain, tailLines(stalled.out.String(), 12))
}

// tailLines returns the last n lines of s.
func tailLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// workerWithPid is the worker of ws whose process is pid; the test fails
// when none is (what names the pid: why).
func workerWithPid(t *testing.T, ws []*workerProc, pid int64, what string) *workerProc {
	t.Helper()
	for _, w := range ws {
		if int64(w.cmd.Process.Pid) == pid {
			return w
		}
	}
	t.Fatalf("%s names pid %d, no worker's", what, pid)
	return nil
}
