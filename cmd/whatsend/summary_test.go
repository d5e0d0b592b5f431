package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
)

// When the store cannot be read at the end of a run (a full disk), the
// summary says the figures are unavailable and why, instead of printing
// zeros that read as "nothing sent, nothing left"; the error names the store.
func TestSummaryWhenTheStoreFails(t *testing.T) {
	var out bytes.Buffer
	a := newApp(strings.NewReader(""), &out, &out, func(string) string { return "" })
	a.dbPath = "/data/whatsend.db"
	full := errors.New("database or disk is full (13)")
	err := a.storeContext(fmt.Errorf("checkpoint: %w", full))
	a.printSummary(campaign.Result{Campaign: store.Campaign{ID: 7, Name: "december"}, SummaryErr: full, Sent: 3}, err)
	got := out.String()
	for _, want := range []string{"/data/whatsend.db", "figures unavailable (database or disk is full (13))", "this run: 3 accepted by the API"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "0 remaining") || strings.Contains(got, "campaign: 0 sent") {
		t.Errorf("summary prints zero figures it could not read:\n%s", got)
	}
	if !errors.Is(err, full) {
		t.Errorf("the wrapped error lost its cause: %v", err)
	}
	for _, e := range []error{campaign.ErrPaused, campaign.ErrMoreWork, campaign.ErrBusy, &usageError{errors.New("x")}} {
		if got := a.storeContext(e); got != e {
			t.Errorf("storeContext(%v) = %v, want it unchanged", e, got)
		}
	}
}
