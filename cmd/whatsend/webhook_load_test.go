package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/webhook"
)

// The receiver under load while a campaign sends from the same store: both
// keep working; every notification is answered 200 (a "database is locked"
// in the receiver would answer 503) and the run finishes cleanly.
func TestWebhookUnderLoadWhileSending(t *testing.T) {
	sim := startSim(t, "--latency", "5ms", "--tier", "unlimited", "--mps", "1000", "--throughput", "HIGH")
	p := newProc(t, sim)
	wh := startWebhook(t, filepath.Join(p.dir, "whatsend.db"), "127.0.0.1:0")
	csv := writeCSV(t, p.dir, 3000, 0)

	run := p.command(p.runArgs(csv, "--rate", "500")...)
	var out syncBuffer
	run.Stdout, run.Stderr = &out, &out
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	runDone := make(chan error, 1)
	go func() { runDone <- run.Wait() }()

	var posted, failed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"300000000000001","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"100000000000001"},"messages":[{"from":"4915%09d","id":"wamid.load.%d.%d","timestamp":"%d","type":"text","text":{"body":"hi"}}]}}]}]}`,
					g*1000000+i, g, i, time.Now().Unix())
				req, _ := http.NewRequest(http.MethodPost, wh.url+"/webhook", strings.NewReader(body))
				req.Header.Set("X-Hub-Signature-256", webhook.SignatureHeader(sender.Secret(e2eSecret), []byte(body)))
				resp, err := client.Do(req)
				posted.Add(1)
				if err != nil || resp.StatusCode != 200 {
					failed.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		})
	}
	var runErr error
	select {
	case runErr = <-runDone:
	case <-time.After(3 * time.Minute):
		_ = run.Process.Kill()
		runErr = <-runDone
	}
	close(stop)
	wg.Wait()
	if runErr != nil {
		t.Fatalf("the run under webhook load: %v\n%s", runErr, out.String())
	}
	if strings.Contains(out.String(), "locked") || strings.Contains(out.String(), "SQLITE_BUSY") {
		t.Errorf("the run met a locked database:\n%s", out.String())
	}
	if f := failed.Load(); f > 0 {
		t.Errorf("%d of %d notifications were not answered 200 while the campaign sent", f, posted.Load())
	}
	if posted.Load() < 100 {
		t.Errorf("only %d notifications posted during the run: no load", posted.Load())
	}
	if got := countAccepted(t, sim); got != 3000 {
		t.Errorf("the simulator accepted %d, want 3000", got)
	}
	t.Logf("%d notifications answered 200 while 3,000 messages were sent", posted.Load())
}
