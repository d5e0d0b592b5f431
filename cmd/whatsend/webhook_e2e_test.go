package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// These tests run `whatsend webhook` and `whatsend sim --webhook-url` as
// subprocesses on loopback: the simulator signs Meta-shaped notifications,
// the receiver stores them in the store the campaigns use.

const e2eSecret = "e2e-app-secret"

// webhookProc is a `whatsend webhook` subprocess.
type webhookProc struct {
	url  string // http://127.0.0.1:PORT
	cmd  *exec.Cmd
	done chan struct{}
}

// startWebhook starts the receiver on addr (127.0.0.1:0 for a free port)
// over the store at db, and stops it when the test ends.
func startWebhook(t *testing.T, db, addr string) *webhookProc {
	t.Helper()
	cmd := exec.Command(whatsendBin(t), "webhook", "--addr", addr)
	cmd.Env = append(os.Environ(), "WHATSEND_DB="+db, "WHATSEND_VERIFY_TOKEN=e2e-verify", "WHATSEND_APP_SECRET="+e2eSecret)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &webhookProc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(w.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-w.done
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("webhook: reading its first line: %v\nstderr: %s", err, stderr.String())
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("webhook's first line = %q, want listening on http://127.0.0.1:PORT", line)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	w.url = url
	return w
}

// kill9 kills the receiver with SIGKILL and waits for it.
func (w *webhookProc) kill9(t *testing.T) {
	t.Helper()
	_ = w.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-w.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver did not die after SIGKILL")
	}
}

// webhookWorld is a store directory with a receiver on it and a simulator
// that posts to the receiver.
type webhookWorld struct {
	p   *proc
	db  string
	wh  *webhookProc
	sim *simProc
}

func newWebhookWorld(t *testing.T, simArgs ...string) *webhookWorld {
	t.Helper()
	p := newProc(t, nil)
	db := filepath.Join(p.dir, "whatsend.db")
	wh := startWebhook(t, db, "127.0.0.1:0")
	secretFile := filepath.Join(p.dir, "app-secret")
	if err := os.WriteFile(secretFile, []byte(e2eSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--webhook-url", wh.url + "/webhook", "--app-secret-file", secretFile,
		"--latency", "1ms", "--tier", "unlimited", "--mps", "1000"}, simArgs...)
	p.sim = startSim(t, args...)
	return &webhookWorld{p: p, db: db, wh: wh, sim: p.sim}
}

// simWebhookStats is /_sim/stats with the webhook counts.
type simWebhookStats struct {
	Accepted int                     `json:"accepted"`
	Webhooks *simulator.WebhookStats `json:"webhooks"`
}

func (w *webhookWorld) stats(t *testing.T) simulator.WebhookStats {
	t.Helper()
	var s simWebhookStats
	w.sim.getJSON(t, "/_sim/stats", &s)
	if s.Webhooks == nil {
		t.Fatal(`/_sim/stats has no "webhooks" although --webhook-url is set`)
	}
	return *s.Webhooks
}

type simMessage struct {
	To            string `json:"to"`
	WAMID         string `json:"wamid"`
	Callback      string `json:"callback"`
	Undeliverable bool   `json:"undeliverable"`
	Read          bool   `json:"read"`
	Reply         string `json:"reply"`
}

func (w *webhookWorld) messages(t *testing.T) []simMessage {
	t.Helper()
	var out struct {
		Messages []simMessage `json:"messages"`
	}
	w.sim.getJSON(t, "/_sim/messages", &out)
	return out.Messages
}

// settled waits until the simulator has nothing pending.
func (w *webhookWorld) settled(t *testing.T, limit time.Duration) simulator.WebhookStats {
	t.Helper()
	var st simulator.WebhookStats
	waitFor(t, "the simulator's webhooks to be delivered", limit, func() bool {
		st = w.stats(t)
		return st.Pending == 0
	})
	return st
}

func (w *webhookWorld) openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), w.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func campaignNamed(t *testing.T, st store.Store, name string) store.Campaign {
	t.Helper()
	cs, err := st.Campaigns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if name == "" || c.Name == name {
			return c
		}
	}
	t.Fatalf("no campaign %q among %d", name, len(cs))
	return store.Campaign{}
}

// TestWebhookE2EFiguresMatchSimulator: a campaign against the simulator,
// whose notifications go to `whatsend webhook` on the same store, ends with
// the store's delivered, read, failed and replied figures equal to what the
// simulator had answered 200 for.
//
// Failures are compared by delivery status, not by recipient state: a
// failed status that lands before the run records its outcome is
// overwritten to sent by store.FinishAttempts (a store bug, reported).
func TestWebhookE2EFiguresMatchSimulator(t *testing.T) {
	w := newWebhookWorld(t, "--read-rate", "0.5", "--reply-rate", "0.2", "--stop-share", "0",
		"--undeliverable-rate", "0.1", "--webhook-delay", "200ms", "--seed", "5")
	csv := writeCSV(t, w.p.dir, 80, 0)
	if code := w.p.exec(w.p.runArgs(csv, "--rate", "500")...); code != 0 {
		t.Fatalf("run exited %d\nstdout: %s\nstderr: %s", code, w.p.stdout.String(), w.p.stderr.String())
	}
	st := w.openStore(t)
	c := campaignNamed(t, st, "")
	var sum store.Summary
	var wh simulator.WebhookStats
	defer func() {
		if t.Failed() {
			t.Logf("store: by state %v, by delivery %v, failed by code %v, replied %d; simulator %+v",
				sum.ByState, sum.ByDelivery, sum.FailedByCode, sum.Replied, wh)
		}
	}()
	waitFor(t, "the store's figures to match the simulator's", time.Minute, func() bool {
		wh = w.stats(t)
		var err error
		if sum, err = st.Summary(t.Context(), c.ID); err != nil {
			t.Fatal(err)
		}
		return wh.Pending == 0 &&
			sum.ByDelivery[store.DeliveryDelivered]+sum.ByDelivery[store.DeliveryRead] == wh.Delivered &&
			sum.ByDelivery[store.DeliveryRead] == wh.Read &&
			sum.ByDelivery[store.DeliveryFailed] == wh.Failed &&
			sum.Replied == wh.Replies
	})
	msgs := w.messages(t)
	undeliverable, read, replied := 0, 0, 0
	for _, m := range msgs {
		if m.Undeliverable {
			undeliverable++
		}
		if m.Read {
			read++
		}
		if m.Reply != "" {
			replied++
		}
	}
	if wh.Delivered+wh.Failed != len(msgs) || wh.Failed != undeliverable || wh.Read != read || wh.Replies != replied {
		t.Errorf("simulator: %+v for %d messages (%d undeliverable, %d read, %d replied): every message needs one final status",
			wh, len(msgs), undeliverable, read, replied)
	}
	if wh.Delivered == 0 || wh.Read == 0 || wh.Failed == 0 || wh.Replies == 0 || wh.GaveUp != 0 || wh.Dropped != 0 {
		t.Errorf("simulator: %+v, want some of each kind and none lost", wh)
	}
	if got := sum.ByState[store.StateSent] + sum.ByState[store.StateFailed]; got != len(msgs) {
		t.Errorf("store states %v: want all %d recipients sent or failed", sum.ByState, len(msgs))
	}
	// `whatsend status` shows the same figures.
	if code := w.p.exec("status"); code != 0 {
		t.Fatalf("status exited %d: %s", code, w.p.stderr.String())
	}
	want := fmt.Sprintf("(%d delivered, %d read, %d replied)", wh.Delivered, wh.Read, wh.Replies)
	if !strings.Contains(w.p.stdout.String(), want) {
		t.Errorf("status:\n%s\nwant %q", w.p.stdout.String(), want)
	}
	t.Logf("simulator webhooks %+v", wh)
}

// TestWebhookE2EStopSkipsNextCampaign: a STOP reply puts the number on the
// opt-out list, and the next campaign on the same numbers skips exactly
// those (reason opted_out) and sends the rest.
func TestWebhookE2EStopSkipsNextCampaign(t *testing.T) {
	w := newWebhookWorld(t, "--reply-rate", "1", "--stop-share", "0.5", "--webhook-delay", "10ms", "--seed", "3")
	csv := writeCSV(t, w.p.dir, 8, 0)
	if code := w.p.exec(w.p.runArgs(csv)...); code != 0 {
		t.Fatalf("run exited %d\nstderr: %s", code, w.p.stderr.String())
	}
	var stops []string
	for _, m := range w.messages(t) {
		if m.Reply == "STOP" {
			stops = append(stops, m.To)
		}
	}
	if len(stops) != 4 {
		t.Fatalf("%d STOP replies of 8 at stop share 0.5, want 4", len(stops))
	}
	st := w.openStore(t)
	waitFor(t, "the STOP replies to reach the opt-out list", 30*time.Second, func() bool {
		opted, err := st.OptedOut(t.Context(), stops)
		if err != nil {
			t.Fatal(err)
		}
		return len(opted) == len(stops) && w.stats(t).Pending == 0
	})

	if code := w.p.exec(w.p.runArgs(csv, "--name", "second")...); code != 0 {
		t.Fatalf("second run exited %d\nstderr: %s", code, w.p.stderr.String())
	}
	c := campaignNamed(t, st, "second")
	skipped, err := st.Skipped(t.Context(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var optedOut []string
	for _, s := range skipped {
		if s.Reason != "opted_out" {
			t.Errorf("line %d skipped for %s, want only opted_out", s.Line, s.Reason)
			continue
		}
		optedOut = append(optedOut, s.Raw)
	}
	slices.Sort(stops)
	slices.Sort(optedOut)
	if !slices.Equal(optedOut, stops) {
		t.Errorf("second campaign skipped %v as opted_out, want the STOP numbers %v", optedOut, stops)
	}
	sent := map[string]int{}
	for _, m := range w.messages(t) {
		sent[m.To]++
	}
	for to, n := range sent {
		want := 2
		if slices.Contains(stops, to) {
			want = 1
		}
		if n != want {
			t.Errorf("%s was sent %d messages, want %d", to, n, want)
		}
	}
}

// TestWebhookE2EUncertainSettled: every send is recorded by the simulator
// but its connection dropped, so the run leaves the recipients uncertain;
// their sent status, matched by wamid or by the callback, settles them.
func TestWebhookE2EUncertainSettled(t *testing.T) {
	w := newWebhookWorld(t, "--drop-rate", "1", "--read-rate", "0", "--reply-rate", "0", "--webhook-delay", "300ms")
	csv := writeCSV(t, w.p.dir, 3, 0)
	code := w.p.exec(w.p.runArgs(csv, "--max-attempts", "1")...)
	if code != 0 && code != 10 {
		t.Fatalf("run exited %d\nstdout: %s\nstderr: %s", code, w.p.stdout.String(), w.p.stderr.String())
	}
	if !strings.Contains(w.p.stdout.String(), "3 uncertain") {
		t.Fatalf("run summary does not report 3 uncertain:\n%s", w.p.stdout.String())
	}
	msgs := w.messages(t)
	if len(msgs) != 3 {
		t.Fatalf("simulator recorded %d messages, want 3", len(msgs))
	}
	wamids := map[string]string{}
	for _, m := range msgs {
		wamids[m.To] = m.WAMID
	}
	st := w.openStore(t)
	c := campaignNamed(t, st, "")
	waitFor(t, "the uncertain recipients to be settled as sent", 30*time.Second, func() bool {
		n := 0
		err := st.Recipients(t.Context(), c.ID, func(r store.Recipient) error {
			if r.State == store.StateSent && r.WAMID == wamids[r.Phone] && r.Delivery == store.DeliveryDelivered {
				n++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return n == 3
	})
}

// TestWebhookE2EKillNineLosesNothing: the simulator holds a campaign's
// notifications, then releases them all at once; the receiver is killed
// with SIGKILL while every delivery worker has a POST in flight, and started
// again on the same port. Every notification the simulator saw answered
// 200 is in the store's webhooks table, and the table holds nothing the
// simulator did not post.
func TestWebhookE2EKillNineLosesNothing(t *testing.T) {
	w := newWebhookWorld(t, "--read-rate", "1", "--reply-rate", "0.3", "--stop-share", "0",
		"--webhook-delay", "1ms", "--webhook-retries", "8")
	w.sim.control(t, `{"webhooks":"hold"}`)
	csv := writeCSV(t, w.p.dir, 400, 0)
	if code := w.p.exec(w.p.runArgs(csv, "--rate", "1000")...); code != 0 {
		t.Fatalf("run exited %d\nstderr: %s", code, w.p.stderr.String())
	}
	const total = 400*3 + 120 // sent, delivered, read; 30 % replies
	if st := w.stats(t); st.Pending != total || st.OK != 0 {
		t.Fatalf("held: %+v, want %d pending", st, total)
	}
	w.sim.control(t, `{"webhooks":"release"}`)
	waitFor(t, "300 notifications answered", time.Minute, func() bool { return w.stats(t).OK >= 300 })
	w.wh.kill9(t)
	atKill := w.stats(t)
	if atKill.Pending == 0 {
		t.Errorf("nothing pending at the kill (%+v): the test did not kill under load", atKill)
	}
	addr := strings.TrimPrefix(w.wh.url, "http://")
	w.wh = startWebhook(t, w.db, addr)
	final := w.settled(t, 2*time.Minute)

	rows := countWebhookRows(t, w.db)
	if rows < final.OK {
		t.Errorf("%d notifications answered 200 but only %d stored: a notification was lost", final.OK, rows)
	}
	if rows > final.OK+final.GaveUp {
		t.Errorf("%d stored, more than the %d answered 200 and %d given up", rows, final.OK, final.GaveUp)
	}
	if final.OK+final.GaveUp != total {
		t.Errorf("final %+v: want all %d notifications answered or given up", final, total)
	}
	if final.GaveUp == 0 {
		st := w.openStore(t)
		sum, err := st.Summary(t.Context(), campaignNamed(t, st, "").ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := sum.ByDelivery[store.DeliveryRead]; got != 400 || final.Read != 400 || sum.Replied != final.Replies {
			t.Errorf("store: %d read, %d replied; simulator %d read, %d replies; want 400 read each and the same replies",
				got, sum.Replied, final.Read, final.Replies)
		}
	}
	t.Logf("at the kill %+v; final %+v; %d rows", atKill, final, rows)
}

// countWebhookRows counts the stored notification bodies with a read-only
// query: the store has no method for it, and the test must not change it.
func countWebhookRows(t *testing.T, db string) int {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM webhooks`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The receiver's verification handshake works on the same process the
// simulator posts to.
func TestWebhookE2EHandshake(t *testing.T) {
	w := newWebhookWorld(t)
	resp, err := http.Get(w.wh.url + "/webhook?hub.mode=subscribe&hub.verify_token=e2e-verify&hub.challenge=42")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "42" {
		t.Errorf("handshake: %d %q, want 200 and the challenge", resp.StatusCode, body)
	}
}
