package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store/postgres/pgtest"
)

// BenchmarkBackendRate1000 (issue 19) sends 30,000 recipients from one
// number at --rate 1000 with the store in SQLite, then in PostgreSQL, side
// by side: the send rate achieved, whatsend's CPU per 1,000 sends and, for
// PostgreSQL, the server's CPU per 1,000 sends too (every postgres process
// of this machine, so other load on the server counts: a ceiling, not a
// measure). The PostgreSQL half is skipped when no server answers (see
// pgtest). Run alone:
//
//	go test -run '^$' -bench BackendRate1000 -benchtime 1x ./cmd/whatsend/
func BenchmarkBackendRate1000(b *testing.B) {
	const n, rate = 30_000, 1000
	b.Run("sqlite", func(b *testing.B) {
		benchBackend(b, n, rate, func(dir string) string { return filepath.Join(dir, "whatsend.db") })
	})
	b.Run("postgres", func(b *testing.B) {
		benchBackend(b, n, rate, func(string) string { return pgtest.DSN(b) })
	})
}

func benchBackend(b *testing.B, n int, rate float64, db func(dir string) string) {
	bin := whatsendBin(b)
	var last engineRun
	var serverPer1000 float64
	for b.Loop() {
		b.StopTimer()
		sim := startSim(b, "--mps", "1000", "--latency", "150ms", "--tier", "unlimited",
			"--pair-burst", "1000", "--throughput", "HIGH")
		dir := b.TempDir()
		csv := writeCSV(b, dir, n, 10000000)
		dsn := db(dir)
		server := postgresCPU()
		b.StartTimer()
		m := engineBenchRun(b, bin, dir, "--db", dsn, "run", csv, "--template", "order_update", "--lang", "en_US",
			"--params", "name,order_id", "--api-url", sim.url, "--tier", "unlimited",
			"--rate", strconv.FormatFloat(rate, 'f', -1, 64))
		b.StopTimer()
		if strings.HasPrefix(dsn, "postgres") && m.sent > 0 {
			serverPer1000 = (postgresCPU() - server).Seconds() / float64(m.sent) * 1000
			b.Logf("PostgreSQL server CPU %.3f CPU-s per 1,000 sends (every postgres process on this machine)", serverPer1000)
		}
		var stats simStats
		sim.getJSON(b, "/_sim/stats", &stats)
		if m.sent != n || stats.Accepted != n {
			b.Errorf("sent %d, simulator accepted %d; want %d", m.sent, stats.Accepted, n)
		}
		sim.stop()
		last = m
		b.StartTimer()
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(last.achieved, "msg/s")
	b.ReportMetric(last.cpuPer1000, "CPU-s/1000")
	if serverPer1000 > 0 {
		b.ReportMetric(serverPer1000, "server-CPU-s/1000")
	}
	b.ReportMetric(float64(last.maxRSS)/(1<<20), "peak-RSS-MB")
}

// postgresCPU sums the CPU time (user + system) of every process named
// postgres on this machine and of their children already reaped (the
// postmaster's cutime and cstime: a connection's backend exits with it),
// from /proc; 0 without /proc.
func postgresCPU() time.Duration {
	const tick = 10 * time.Millisecond // USER_HZ: 100 on Linux
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var total time.Duration
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != "postgres" {
			continue
		}
		f := strings.Fields(s[end+1:]) // f[0] is field 3 (state)
		if len(f) < 15 {
			continue
		}
		for _, i := range []int{11, 12, 13, 14} { // fields 14-17: utime, stime, cutime, cstime
			n, _ := strconv.ParseInt(f[i], 10, 64)
			total += time.Duration(n) * tick
		}
	}
	return total
}

// BenchmarkWorkersThreeNumbers (issue 19) sends one pooled campaign of
// 30,000 recipients over three simulated numbers allowing 1,000 msg/s each
// (one simulator process per number behind one API address) from three
// `resume --all --worker` processes on one PostgreSQL database, each
// driving one campaign/number pair: the total send rate from the workers'
// start to the campaign finished, and the workers' CPU per 1,000 sends (the
// server's, as in BenchmarkBackendRate1000, counts every postgres
// process). Skipped without a server. Run alone:
//
//	go test -run '^$' -bench WorkersThreeNumbers -benchtime 1x ./cmd/whatsend/
func BenchmarkWorkersThreeNumbers(b *testing.B) {
	const recipients = 30_000
	bin := whatsendBin(b)
	var rate, cpuPer1000, serverPer1000 float64
	for b.Loop() {
		b.StopTimer()
		dsn := pgtest.DSN(b)
		dir := b.TempDir()
		env := append(os.Environ(), "WHATSEND_DB="+dsn, "WHATSEND_TOKEN=sim-token", "WHATSEND_PHONE_NUMBER_ID=")
		ids := []string{"100000000000011", "100000000000021", "100000000000031"}
		sims := map[string]*simProc{}
		for _, id := range ids {
			sims[id] = startSim(b, "--phone-number-id", id, "--mps", "1000", "--latency", "150ms", "--tier", "unlimited",
				"--pair-burst", "1000", "--throughput", "HIGH")
		}
		csv := writeCSV(b, dir, recipients, 10000000)
		imp := exec.Command(bin, "run", csv, "--name", "pooled", "--phone-number-id", strings.Join(ids, ","), "--business-id", "200000000000001", "--template", "order_update",
			"--lang", "en_US", "--params", "name,order_id", "--api-url", poolFront(b, ids, sims), "--tier", "unlimited", "--rate", "1000", "--dry-run")
		imp.Dir, imp.Env = dir, env
		if out, err := imp.CombinedOutput(); err != nil {
			b.Fatalf("import: %v\n%s", err, out)
		}
		q := pgQuery(b, dsn)
		server := postgresCPU()
		start := time.Now()
		var ws []*exec.Cmd
		for i := range 3 {
			w := exec.Command(bin, "resume", "--all", "--worker", "--poll", "200ms")
			w.Dir, w.Env = dir, append(env, fmt.Sprintf("WHATSEND_HOST=bench%d", i+1))
			if err := w.Start(); err != nil {
				b.Fatal(err)
			}
			ws = append(ws, w)
		}
		finished := false
		for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if q(`SELECT count(*) FROM campaigns WHERE state <> 'finished'`) == 0 {
				finished = true
				break
			}
		}
		wall := time.Since(start)
		var cpu time.Duration
		for _, w := range ws {
			_ = w.Process.Signal(syscall.SIGTERM)
			_ = w.Wait()
			if ru, ok := w.ProcessState.SysUsage().(*syscall.Rusage); ok {
				cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			}
		}
		if !finished {
			b.Fatalf("the campaign did not finish within 10 minutes")
		}
		sent := q(`SELECT count(*) FROM recipients WHERE state = 'sent'`)
		rate = float64(sent) / wall.Seconds()
		cpuPer1000 = cpu.Seconds() / float64(sent) * 1000
		serverPer1000 = (postgresCPU() - server).Seconds() / float64(sent) * 1000
		b.Logf("%d sent from 3 numbers by 3 workers (one pair each) in %s: %.1f msg/s in all; workers' CPU %.1fs (%.3f CPU-s/1000); postgres processes %.3f CPU-s/1000",
			sent, wall.Round(time.Millisecond), rate, cpu.Seconds(), cpuPer1000, serverPer1000)
		b.StartTimer()
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(rate, "msg/s")
	b.ReportMetric(cpuPer1000, "CPU-s/1000")
	b.ReportMetric(serverPer1000, "server-CPU-s/1000")
}
