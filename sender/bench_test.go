package sender_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
)

// benchSenders is how many goroutines send at once, as a campaign's worker
// pool does.
const benchSenders = 64

// BenchmarkClientSimulator measures the client and the simulator together:
// no latency, no throughput or tier limit, a distinct recipient per send so
// the pair limiter never refuses. It reports sends/s and the CPU time
// (user+system, client and simulator together) per 1000 sends.
func BenchmarkClientSimulator(b *testing.B) {
	b.Run("inprocess", func(b *testing.B) {
		sim := benchSim()
		benchSend(b, sim, sender.Config{BaseURL: "http://simulator.invalid", Transport: sim.Transport()})
	})
	b.Run("loopback", func(b *testing.B) {
		sim := benchSim()
		ts := httptest.NewServer(sim)
		defer ts.Close()
		benchSend(b, sim, sender.Config{BaseURL: ts.URL, MaxConns: benchSenders})
	})
}

func benchSim() *simulator.Sim {
	return simulator.New(simulator.Config{MPS: 1e9, Tier: -1, Latency: -1})
}

func benchSend(b *testing.B, sim *simulator.Sim, cfg sender.Config) {
	cfg.Token = simulator.DefaultToken
	cfg.PhoneNumberID = simulator.DefaultPhoneNumberID
	c, err := sender.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var seq atomic.Int64
	// RunParallel starts parallelism × GOMAXPROCS goroutines.
	b.SetParallelism(max(1, benchSenders/runtime.GOMAXPROCS(0)))
	b.ReportAllocs()
	before := cpuTime(b)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			n := seq.Add(1)
			m := sender.Message{To: fmt.Sprintf("+1555%07d", n), Template: "order_update", Language: "en_US",
				Params: []string{"Ana", "A-77120"}, Callback: "c=1;r=" + fmt.Sprint(n)}
			if _, err := c.SendTemplate(ctx, m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	elapsed := time.Since(start)
	cpu := cpuTime(b) - before
	if got := sim.Stats().Accepted; got != b.N {
		b.Fatalf("simulator accepted %d of %d sends", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "sends/s")
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N)*1000, "cpu-ms/1k-sends")
}

// cpuTime is the process's user plus system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
