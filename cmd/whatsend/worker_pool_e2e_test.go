package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/postgres/pgtest"
)

// TestWorkersOnePooledCampaign: one PostgreSQL database, three worker
// processes (resume --all --worker, each as on a host of its own), one
// campaign of 30,000 recipients over three simulated numbers (one
// simulator process each, behind one API address) with a shared messaging
// limit of 20,000 unique users per 24 h. The workers share the campaign:
// each drives one campaign/number pair (its pair lease), three distinct
// pids. One is kill -9ed mid-run; the two others send their numbers'
// shares up to the shared limit, and one of them takes the killed
// worker's number over once its lease expired (its in-flight recipients
// become uncertain). A day later (WHATSEND_NOW) the workers send the rest.
// Then: no recipient accepted twice, by one number or by two; every
// recipient sent by the number stored for it and every attempt from that
// number; no number ever over its throughput (130429) or the pair rate
// (131056); at most 20,000 unique users in the first 24 h over all three
// numbers and all three processes; and every recipient sent or uncertain,
// the uncertain no more than the killed number had in flight at the kill.
//
// make test runs it with 3,000 recipients (a limit of 2,000);
// WHATSEND_POOL_RECIPIENTS=30000 (make workers-30k) runs the full size.
func TestWorkersOnePooledCampaign(t *testing.T) {
	dsn := pgtest.DSN(t)
	n := 3000
	if v := os.Getenv("WHATSEND_POOL_RECIPIENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 300 {
			t.Fatalf("WHATSEND_POOL_RECIPIENTS=%q: want a number of at least 300", v)
		}
	}
	limit := n * 2 / 3
	// The waits grow with the campaign: a loaded 2-core machine sends a
	// few hundred a second here.
	wait := 2*time.Minute + time.Duration(n/100)*time.Second
	ids := []string{"100000000000001", "100000000000002", "100000000000003"}
	sims := map[string]*simProc{}
	for i, id := range ids {
		// The number whose worker is killed answers slowly: with a
		// 150 ms answer some of its requests are always out, so the
		// test sees them in flight however loaded the machine.
		latency := "10ms"
		if i == 0 {
			latency = "150ms"
		}
		sims[id] = startSim(t, "--phone-number-id", id, "--mps", "1000", "--throughput", "HIGH", "--tier", "unlimited",
			"--latency", latency, "--jitter", "5ms", "--seed", fmt.Sprint(i+1))
	}
	p := newProc(t, &simProc{url: poolFront(t, ids, sims)})
	p.extra = []string{"WHATSEND_DB=" + dsn}
	csv := writeCSV(t, p.dir, n, 0)
	if code := p.exec(p.runArgs(csv, "--name", "pooled", "--phone-number-id", strings.Join(ids, ","), "--business-id", "200000000000001",
		"--rate", "300", "--tier", fmt.Sprint(limit), "--warmup-days", "0", "--dry-run")...); code != 0 {
		t.Fatalf("import exited %d\n%s%s", code, p.stdout.String(), p.stderr.String())
	}
	accepted := func() int { return acceptedBy(t, sims) }
	q := pgQuery(t, dsn)
	// At 300 msg/s a number, the first day's sends take seconds, not
	// one: room for the checks below between a sixth sent and the limit.
	workerArgs := []string{"--poll", "200ms", "--lease-expiry", "3s", "--shutdown-wait", "2s"}
	ws := startWorkers(t, p, dsn, 3, workerArgs...)
	waitFor(t, "a sixth accepted", wait, func() bool { return accepted() >= n/6 })
	// Each worker drives one number of the campaign: three pair leases,
	// three pids.
	if pairs, pids := q(`SELECT count(*) FROM leases WHERE key LIKE 'campaign:%:%'`),
		q(`SELECT count(DISTINCT pid) FROM leases WHERE key LIKE 'campaign:%:%'`); pairs != 3 || pids != 3 {
		t.Fatalf("%d pair leases held by %d pids, want the three numbers driven by three workers", pairs, pids)
	}
	if whole := q(`SELECT count(*) FROM leases WHERE key NOT LIKE 'campaign:%:%' AND key LIKE 'campaign:%'`); whole != 0 {
		t.Fatalf("%d campaign leases held, want none: the workers drive pairs", whole)
	}
	victim := ids[0]
	pairKey := "campaign:%:" + victim
	pid := q(`SELECT pid FROM leases WHERE key LIKE $1`, pairKey)
	killed := workerWithPid(t, ws, pid, "the pair lease of "+victim)
	// Killed while its number has requests out, so that the takeover has
	// something to settle.
	waitFor(t, "requests in flight from "+victim, time.Minute, func() bool {
		return q(`SELECT count(*) FROM recipients WHERE state = 'in_flight' AND phone_number_id = $1`, victim) > 0
	})
	_ = killed.cmd.Process.Signal(syscall.SIGKILL)
	<-killed.exited
	// The most the kill can leave uncertain: what the killed worker had in
	// flight from its number (no one else sends from it before the expiry;
	// a group of outcomes it sent just before dying may still commit).
	inFlightAtKill := q(`SELECT count(*) FROM recipients WHERE state IN ('in_flight', 'uncertain') AND phone_number_id = $1`, victim)
	// The survivors send up to the shared limit; the killed worker's
	// number is taken over (its in-flight recipients become uncertain),
	// then the workers wait for capacity.
	// Taken over: the dead worker's pair lease is replaced (and released
	// once the taker's run ends).
	waitFor(t, "the shared limit reached and the killed worker's number taken over", wait, func() bool {
		return q(`SELECT (count(*) FILTER (WHERE state = 'pending') = $1 AND count(*) FILTER (WHERE state = 'in_flight') = 0)::int FROM recipients`, n-limit) == 1 &&
			q(`SELECT count(*) FROM leases WHERE key LIKE $1 AND pid = $2`, pairKey, pid) == 0
	})
	// Only a run of the killed worker's number marks its in-flight
	// recipients uncertain, and only those.
	if took := q(`SELECT count(*) FROM attempts WHERE phone_number_id = $1 AND state = 'uncertain'`, victim); took > inFlightAtKill {
		t.Errorf("%d attempts of %s uncertain after the takeover, more than the %d it had in flight at the kill", took, victim, inFlightAtKill)
	}
	if other := q(`SELECT count(*) FROM attempts WHERE phone_number_id <> $1 AND state = 'uncertain'`, victim); other != 0 {
		t.Errorf("%d attempts of the live workers' numbers uncertain, want none", other)
	}
	for _, w := range ws {
		if w != killed {
			if code := w.stop(30 * time.Second); code != 0 {
				t.Errorf("worker pid %d: SIGTERM gave exit %d, want 0", w.cmd.Process.Pid, code)
			}
		}
	}
	// Counted once the workers have stopped: all that went out on the
	// first day.
	first := accepted()
	if first > limit {
		t.Errorf("%d unique users accepted within 24 h over the three numbers, over the shared limit of %d", first, limit)
	}

	// A day later the rest goes out.
	p.extra = append(p.extra, "WHATSEND_NOW="+time.Now().Add(25*time.Hour).UTC().Format(time.RFC3339))
	ws = startWorkers(t, p, dsn, 3, workerArgs...)
	waitFor(t, "the campaign finished", wait, func() bool {
		return q(`SELECT count(*) FROM campaigns WHERE state <> 'finished'`) == 0
	})
	for _, w := range ws {
		if code := w.stop(30 * time.Second); code != 0 {
			t.Errorf("worker pid %d: SIGTERM gave exit %d, want 0", w.cmd.Process.Pid, code)
		}
	}

	for id, s := range sims {
		var st simStats
		s.getJSON(t, "/_sim/stats", &st)
		if st.ByCode["130429"] != 0 || st.ByCode["131056"] != 0 {
			t.Errorf("number %s answered 130429 %d times and 131056 %d times, want none", id, st.ByCode["130429"], st.ByCode["131056"])
		}
		if st.Accepted < n/5 {
			t.Errorf("number %s accepted %d of %d, want about a third", id, st.Accepted, n)
		}
	}
	number := map[int64]string{}
	uncertain, total := checkPerNumber(t, dsn, sims, func(_ store.Campaign, r store.Recipient) string {
		number[r.ID] = r.PhoneNumberID
		return r.PhoneNumberID
	})
	st, err := store.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cs, err := st.Campaigns(t.Context())
	if err != nil || len(cs) != 1 {
		t.Fatalf("campaigns: %d, %v", len(cs), err)
	}
	err = st.Attempts(t.Context(), cs[0].ID, func(a store.AttemptRecord) error {
		if a.PhoneNumberID != number[a.RecipientID] {
			t.Errorf("recipient %d attempted from %s, but its number is %s", a.RecipientID, a.PhoneNumberID, number[a.RecipientID])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if int64(uncertain) > inFlightAtKill {
		t.Errorf("%d recipients uncertain, more than the %d in flight at the kill", uncertain, inFlightAtKill)
	}
	if total+uncertain < n {
		t.Errorf("%d accepted and %d uncertain of %d recipients", total, uncertain, n)
	}
	t.Logf("%d accepted (%d on the first day), %d uncertain (%d in flight at the kill)", total, first, uncertain, inFlightAtKill)
}
