package simulator_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/whatsend/whatsend/sender/simulator"
)

// TestAdvanceMovesPendingWebhooks: {"advance": ...} moves the clock and the
// notifications waiting for their time alike: those due within the advance
// go out at once, the others come that much sooner, in order.
func TestAdvanceMovesPendingWebhooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, k := webhookSim(t, simulator.Config{ReadRate: -1, WebhookDelay: time.Hour})
		wamid := mustAccept(t, s, order("+5511987654321"))
		synctest.Wait()
		if n := len(k.all()); n != 0 {
			t.Fatalf("%d notifications before their time", n)
		}
		start := time.Now()
		if err := s.Control(simulator.Control{Advance: "90m"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		got := k.all()
		if len(got) != 1 || time.Since(start) != 0 {
			t.Fatalf("%d notifications %v after advancing 90m, want the sent status at once", len(got), time.Since(start))
		}
		if _, ev := parse(t, got[0]); ev.kind != "sent" || ev.wamid != wamid {
			t.Errorf("first notification %+v, want sent for %s", ev, wamid)
		}
		// The delivered status was due 2 h after the send: 30 min from now.
		time.Sleep(29 * time.Minute)
		synctest.Wait()
		if n := len(k.all()); n != 1 {
			t.Fatalf("%d notifications 29 min later, want still 1", n)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		got = k.all()
		if len(got) != 2 {
			t.Fatalf("%d notifications 30 min later, want the delivered status too", len(got))
		}
		if _, ev := parse(t, got[1]); ev.kind != "delivered" {
			t.Errorf("second notification %+v, want delivered", ev)
		}
	})
}
