package webhook_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender/webhook"
)

// BenchmarkReceiver posts signed status notifications from 64 concurrent
// clients over loopback; each 200 comes only after its row is committed.
func BenchmarkReceiver(b *testing.B) {
	w := newWorld(b, 1000)
	bodies := make([]string, 4096)
	for i := range bodies {
		// Distinct bodies (timestamps differ) so none is a duplicate.
		bodies[i] = statusBody(wamid(w.rs[i%len(w.rs)]), "delivered", t0.Add(time.Duration(i)*time.Second), 0)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var next atomic.Int64
	var failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				body := bodies[i%int64(len(bodies))]
				// Make every body unique so each is a fresh commit.
				body = strings.Replace(body, `"recipient_id"`, `"n":`+itoa(i)+`,"recipient_id"`, 1)
				req, _ := http.NewRequest(http.MethodPost, w.srv.URL+"/webhook", strings.NewReader(body))
				req.Header.Set("X-Hub-Signature-256", webhook.SignatureHeader(appSecret, []byte(body)))
				resp, err := client.Do(req)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d posts failed", f)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "notifications/s")
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
