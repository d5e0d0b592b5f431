package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender/webhook"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/storetest"
)

// A 131049 status webhook for a campaign that already finished reopens it;
// cron's resume --all leaves it (exit 10) until the deferral is due, and
// sends it a day later (the CLI's and the simulator's clocks moved).
func TestDeferralWebhookReopensForCron(t *testing.T) {
	sim := startSim(t, "--latency", "1ms")
	p := newProc(t, sim)
	const n = 5
	csv := writeCSV(t, p.dir, n, 0)
	t0 := time.Now().UTC().Truncate(time.Second)
	p.extra = []string{"WHATSEND_NOW=" + t0.Format(time.RFC3339)}
	if code := p.exec(p.runArgs(csv)...); code != exitOK {
		t.Fatalf("run exited %d, want 0\n%s%s", code, &p.stdout, &p.stderr)
	}

	st, cs := p.openStore(1)
	var r store.Recipient
	_ = st.Recipients(t.Context(), cs[0].ID, func(x store.Recipient) error {
		if x.Line == 3 {
			r = x
		}
		return nil
	})
	at := t0.Add(time.Minute)
	body := fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
		"statuses":[{"id":%q,"status":"failed","timestamp":"%d","recipient_id":%q,"errors":[{"code":131049,"title":"not delivered"}]}]}}]}]}`,
		r.WAMID, at.Unix(), r.Phone[1:])
	note, err := webhook.Parse([]byte(body), at, nil)
	if err != nil {
		t.Fatal(err)
	}
	note.Hash, note.Body, note.At = "deferral", []byte(body), at
	if _, err := st.SaveNotifications(t.Context(), []store.Notification{note}); err != nil {
		t.Fatal(err)
	}
	if c, _ := st.Campaign(t.Context(), cs[0].ID); c.State != store.CampaignReady {
		t.Fatalf("campaign %s after the 131049 webhook, want ready", c.State)
	}

	p.extra = []string{"WHATSEND_NOW=" + t0.Add(time.Hour).Format(time.RFC3339)}
	if code := p.exec("resume", "--all"); code != exitMoreWork {
		t.Fatalf("resume --all an hour later exited %d, want 10 (deferred)\n%s%s", code, &p.stdout, &p.stderr)
	}
	sim.control(t, `{"advance": "25h"}`)
	p.extra = []string{"WHATSEND_NOW=" + t0.Add(25*time.Hour).Format(time.RFC3339)}
	if code := p.exec("resume", "--all"); code != exitOK {
		t.Fatalf("resume --all a day later exited %d, want 0\n%s%s", code, &p.stdout, &p.stderr)
	}
	var stats simStats
	sim.getJSON(t, "/_sim/stats", &stats)
	if stats.Accepted != n+1 {
		t.Errorf("simulator accepted %d, want %d (the deferred recipient sent again)", stats.Accepted, n+1)
	}
	if got := storetest.Recipient(t, st, r.CampaignID, r.ID); got.State != store.StateSent || got.Deferrals != 1 {
		t.Errorf("recipient %s with %d deferrals, want sent after 1 deferral", got.State, got.Deferrals)
	}
}
