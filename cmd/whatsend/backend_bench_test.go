package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
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
// postgres on this machine, from /proc; 0 without /proc.
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
		if len(f) < 13 {
			continue
		}
		utime, _ := strconv.ParseInt(f[11], 10, 64) // field 14
		stime, _ := strconv.ParseInt(f[12], 10, 64) // field 15
		total += time.Duration(utime+stime) * tick
	}
	return total
}
