package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/postgres/pgtest"
)

// poolFront serves one API address in front of one simulator process per
// phone number: a request naming a number's id goes to its simulator,
// any other (templates) to the first.
func poolFront(t testing.TB, ids []string, sims map[string]*simProc) string {
	t.Helper()
	proxies := map[string]*httputil.ReverseProxy{}
	for id, s := range sims {
		u, err := url.Parse(s.url)
		if err != nil {
			t.Fatal(err)
		}
		rp := httputil.NewSingleHostReverseProxy(u)
		// A connection the simulator closed without an answer (--drop-rate)
		// is closed to the client too, not turned into a 502.
		rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
		}
		proxies[id] = rp
	}
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		p := proxies[ids[0]]
		if len(parts) >= 2 && proxies[parts[1]] != nil {
			p = proxies[parts[1]]
		}
		p.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	return front.URL
}

// TestPoolKillNineResumeSameNumber: one campaign of 3,000 recipients over
// three numbers (one simulator process each, at 150 msg/s), the sender
// killed with SIGKILL twice mid-run and resumed: every recipient is
// accepted at most once over all three numbers, each sent one by the
// number stored for it, every attempt of a recipient from that same
// number, and no number ever answered 130429 (over its throughput).
func TestPoolKillNineResumeSameNumber(t *testing.T) { poolKillNine(t, "") }

// TestPoolKillNineResumeSameNumberPostgres is the same on PostgreSQL.
func TestPoolKillNineResumeSameNumberPostgres(t *testing.T) { poolKillNine(t, pgtest.DSN(t)) }

// poolKillNine runs the test on the store dsn names (empty: SQLite).
func poolKillNine(t *testing.T, dsn string) {
	ids := []string{"100000000000001", "100000000000002", "100000000000003"}
	sims := map[string]*simProc{}
	for _, id := range ids {
		sims[id] = startSim(t, "--phone-number-id", id, "--mps", "150", "--tier", "unlimited",
			"--latency", "20ms", "--jitter", "10ms", "--drop-rate", "0.01", "--seed", "7")
	}
	p := newProc(t, &simProc{url: poolFront(t, ids, sims)})
	if dsn == "" {
		dsn = filepath.Join(p.dir, "whatsend.db")
	}
	p.extra = []string{"WHATSEND_DB=" + dsn}
	csv := writeCSV(t, p.dir, 3000, 0)
	accepted := func() int { return acceptedBy(t, sims) }
	for i, at := range []int{500, 1600} {
		args := p.runArgs(csv, "--rate", "150", "--phone-number-id", strings.Join(ids, ","), "--business-id", "200000000000001")
		if i > 0 {
			args = []string{"resume"}
		}
		cmd := p.command(args...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, fmt.Sprintf("%d accepted messages", at), 2*time.Minute, func() bool { return accepted() >= at })
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	}
	p.resumeUntilFinished(5)

	by := map[string][]string{} // recipient phone → numbers that accepted it
	for _, id := range ids {
		var msgs simMessages
		sims[id].getJSON(t, "/_sim/messages", &msgs)
		for _, m := range msgs.Messages {
			by[m.To] = append(by[m.To], id)
		}
		var st simStats
		sims[id].getJSON(t, "/_sim/stats", &st)
		if st.ByCode["130429"] != 0 {
			t.Errorf("number %s answered 130429 %d times: over its throughput", id, st.ByCode["130429"])
		}
		if st.Accepted < 800 {
			t.Errorf("number %s accepted %d, want about a third of 3,000", id, st.Accepted)
		}
	}
	st, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs, err := st.Campaigns(t.Context())
	if err != nil || len(cs) != 1 {
		t.Fatalf("campaigns: %v %v", cs, err)
	}
	numberOf := map[int64]string{}
	counts := map[store.State]int{}
	err = st.Recipients(t.Context(), cs[0].ID, func(r store.Recipient) error {
		counts[r.State]++
		numberOf[r.ID] = r.PhoneNumberID
		got := by[strings.TrimPrefix(r.Phone, "+")]
		if len(got) == 0 {
			got = by[r.Phone]
		}
		switch {
		case len(got) > 1:
			t.Errorf("line %d accepted %d times (by %v)", r.Line, len(got), got)
		case r.State == store.StateSent && (len(got) != 1 || got[0] != r.PhoneNumberID):
			t.Errorf("line %d sent from %q but accepted by %v", r.Line, r.PhoneNumberID, got)
		case r.State == store.StateUncertain && len(got) == 1 && got[0] != r.PhoneNumberID:
			t.Errorf("line %d uncertain on %q but accepted by %v", r.Line, r.PhoneNumberID, got)
		case r.State != store.StateSent && r.State != store.StateUncertain && r.State != store.StateFailed:
			t.Errorf("line %d ended %s, want sent, failed or uncertain", r.Line, r.State)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Attempts(t.Context(), cs[0].ID, func(a store.AttemptRecord) error {
		if a.PhoneNumberID != numberOf[a.RecipientID] {
			t.Errorf("recipient %d attempted from %s, but its number is %s", a.RecipientID, a.PhoneNumberID, numberOf[a.RecipientID])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("states %v; accepted %d", counts, accepted())
}

// acceptedBy is the messages the simulators accepted, in all.
func acceptedBy(t *testing.T, sims map[string]*simProc) int {
	t.Helper()
	n := 0
	for _, s := range sims {
		var st simStats
		s.getJSON(t, "/_sim/stats", &st)
		n += st.Accepted
	}
	return n
}
