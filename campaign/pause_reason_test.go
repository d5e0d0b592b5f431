package campaign_test

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
)

// A campaign-fatal answer pauses with a reason that says what Meta said
// (error_data.details, else the user message, else the message), bounded,
// and the token subcode's meaning; a redirect names its target.
func TestPauseReasonCarriesMetaDetails(t *testing.T) {
	long := "unknown phone number id 999 " + strings.Repeat("and more ", 100)
	for _, tt := range []struct {
		name    string
		err     error
		want    []string
		notWant []string
	}{
		{"details", &sender.APIError{HTTPStatus: 400, Code: 100, Message: "(#100) Invalid parameter", Details: "unknown phone number id 999"},
			[]string{"answered 100", `Meta said: "unknown phone number id 999"`, "read the details"}, nil},
		{"message when no details", &sender.APIError{HTTPStatus: 400, Code: 100, Subcode: 33,
			Message: "Unsupported post request. Object with ID '999' does not exist"},
			[]string{"answered 100", "Object with ID '999' does not exist"}, nil},
		{"user message before message", &sender.APIError{HTTPStatus: 400, Code: 131009, Message: "(#131009) Parameter value is not valid",
			UserMsg: "the value of parameter 2 is too long"}, []string{"the value of parameter 2 is too long"}, []string{"(#131009)"}},
		{"token subcode", &sender.APIError{HTTPStatus: 401, Code: 190, Subcode: 463,
			Message: "Error validating access token: Session has expired on Monday"},
			[]string{"answered 190 (subcode 463: the access token expired)", "Session has expired on Monday"}, []string{"invalid, expired or revoked"}},
		{"token without subcode", &sender.APIError{HTTPStatus: 401, Code: 190, Message: "Invalid OAuth access token - Cannot parse access token"},
			[]string{"answered 190 (the access token is invalid, expired or revoked)", "Cannot parse access token"}, []string{"190 (the access token expired)"}},
		{"long details are cut", &sender.APIError{HTTPStatus: 400, Code: 100, Details: long},
			[]string{"unknown phone number id 999 and more", "…"}, []string{strings.Repeat("and more ", 30)}},
		{"redirect", &sender.RedirectError{Op: "send", HTTPStatus: 307, Location: "http://127.0.0.1:9/x"},
			[]string{"redirect to http://127.0.0.1:9/x", "--api-url"}, []string{"answered 0", "Meta answered"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t, simulator.Config{MPS: 1000, Tier: -1})
				sc := &scripted{inner: e.client, fail: func(string, int) error { return tt.err }}
				c := e.campaign("p", phones(5, 0), campaign.Settings{Rate: 10})
				if _, err := e.run(c, sc, campaign.RunOptions{}); !errors.Is(err, campaign.ErrPaused) {
					t.Fatalf("run: %v, want paused", err)
				}
				got, err := e.st.Campaign(t.Context(), c.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.State != store.CampaignPaused {
					t.Fatalf("state %s, want paused", got.State)
				}
				for _, w := range tt.want {
					if !strings.Contains(got.PauseReason, w) {
						t.Errorf("reason %q does not contain %q", got.PauseReason, w)
					}
				}
				for _, w := range tt.notWant {
					if strings.Contains(got.PauseReason, w) {
						t.Errorf("reason %q contains %q", got.PauseReason, w)
					}
				}
				if n := len(got.PauseReason); n > 700 {
					t.Errorf("reason is %d bytes: Meta's text is not bounded", n)
				}
			})
		})
	}
}
