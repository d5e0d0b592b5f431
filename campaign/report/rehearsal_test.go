package report

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
)

// A --simulate campaign is marked as a rehearsal in every format: nothing
// it reports sent left the machine.
func TestRehearsalMarked(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	real := newCampaign(t, st, "real", []string{"name"})
	s := campaign.Settings{Template: "order_update", Language: "en_US", PhoneNumberID: fixturePhoneID, Simulate: true}
	sim, err := st.CreateCampaign(ctx, store.Campaign{Name: "rehearsal", CSVHash: "hash-rehearsal", Template: s.Template,
		Language: s.Language, PhoneNumberID: fixturePhoneID, Scope: fixtureScope, Settings: s.Encode()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   int64
		want bool
	}{{real, false}, {sim, true}} {
		r, err := Build(ctx, st, tc.id, reportAt, Options{})
		if err != nil {
			t.Fatal(err)
		}
		var text, js, page bytes.Buffer
		if err := r.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteHTML(&page); err != nil {
			t.Fatal(err)
		}
		var m struct {
			Rehearsal *bool `json:"rehearsal"`
		}
		if err := json.Unmarshal(js.Bytes(), &m); err != nil || m.Rehearsal == nil || *m.Rehearsal != tc.want {
			t.Errorf("campaign %s: JSON rehearsal = %v (%v), want %v", r.Campaign, m.Rehearsal, err, tc.want)
		}
		firstLine, _, _ := strings.Cut(text.String(), "\n")
		if got := strings.Contains(firstLine, "(rehearsal)"); got != tc.want {
			t.Errorf("campaign %s: text first line %q marked %v, want %v", r.Campaign, firstLine, got, tc.want)
		}
		if got := strings.Contains(page.String(), "<h1>rehearsal (rehearsal)</h1>"); got != tc.want {
			t.Errorf("campaign %s: HTML heading marked %v, want %v", r.Campaign, got, tc.want)
		}
	}
}
