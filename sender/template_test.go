package sender_test

import (
	"net/http"
	"os"
	"reflect"
	"testing"

	"github.com/whatsend/whatsend/sender"
)

// TestTemplateComponents reads a listing in the shape of Meta's
// message_templates answer (components as "Template components" documents
// them, docs/cloud-api-notes.md): header format and placeholders, body,
// footer, buttons with their index, type and dynamic URL.
func TestTemplateComponents(t *testing.T) {
	listing, err := os.ReadFile("testdata/template_listing.json")
	if err != nil {
		t.Fatal(err)
	}
	ts := server(t, func(w http.ResponseWriter, r *http.Request) { w.Write(listing) })
	c := newClient(t, ts.URL)
	for _, tt := range []struct {
		name, lang string
		want       sender.Template
	}{
		{"spring_promo", "en_US", sender.Template{ID: "1001", Name: "spring_promo", Language: "en_US", Status: "APPROVED", Category: "MARKETING",
			Format: sender.Positional, Quality: "GREEN", ParamCount: 2,
			Header: &sender.TemplateHeader{Format: sender.HeaderImage, ParamCount: 1},
			Footer: "Reply STOP to opt out",
			Buttons: []sender.TemplateButton{
				{Index: 0, Type: sender.ButtonTypeURL, Text: "Shop now", URL: "https://shop.example.com/c/{{1}}", Dynamic: true},
				{Index: 1, Type: sender.ButtonTypeQuickReply, Text: "Stop promotions"},
			}}},
		{"order_shipped", "en_US", sender.Template{ID: "1002", Name: "order_shipped", Language: "en_US", Status: "APPROVED", Category: "UTILITY",
			Format: sender.Named, ParamCount: 2, ParamNames: []string{"first_name", "eta"},
			Header: &sender.TemplateHeader{Format: sender.HeaderText, Text: "Order {{order_id}} shipped", ParamCount: 1, ParamNames: []string{"order_id"}},
			Buttons: []sender.TemplateButton{
				{Index: 0, Type: sender.ButtonTypeURL, Text: "Track", URL: "https://track.example.com/{{1}}", Dynamic: true},
				{Index: 1, Type: sender.ButtonTypeURL, Text: "Help", URL: "https://help.example.com"},
				{Index: 2, Type: sender.ButtonTypePhone, Text: "Call us"},
			}}},
		{"coupon", "pt_BR", sender.Template{ID: "1003", Name: "coupon", Language: "pt_BR", Status: "APPROVED", Category: "MARKETING",
			Format: sender.Positional, ParamCount: 1,
			Header:  &sender.TemplateHeader{Format: sender.HeaderText, Text: "Our summer sale"},
			Buttons: []sender.TemplateButton{{Index: 0, Type: sender.ButtonTypeCopyCode}}}},
		{"store_near_you", "en_US", sender.Template{ID: "1004", Name: "store_near_you", Language: "en_US", Status: "APPROVED", Category: "MARKETING",
			Format: sender.Positional, Header: &sender.TemplateHeader{Format: sender.HeaderLocation, ParamCount: 1}}},
		{"invoice", "en_US", sender.Template{ID: "1005", Name: "invoice", Language: "en_US", Status: "APPROVED", Category: "UTILITY",
			Format: sender.Positional, ParamCount: 1, Header: &sender.TemplateHeader{Format: sender.HeaderDocument, ParamCount: 1}}},
		{"login_code", "en_US", sender.Template{ID: "1006", Name: "login_code", Language: "en_US", Status: "APPROVED", Category: "AUTHENTICATION",
			Format: sender.Positional, ParamCount: 1,
			Buttons: []sender.TemplateButton{{Index: 0, Type: sender.ButtonTypeOTP, Text: "Copy code", OTPType: "COPY_CODE"}}}},
	} {
		got, err := c.Template(t.Context(), tt.name, tt.lang)
		if err != nil {
			t.Errorf("Template(%s, %s): %v", tt.name, tt.lang, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Template(%s, %s)\n got %+v header %+v\nwant %+v header %+v", tt.name, tt.lang, got, got.Header, tt.want, tt.want.Header)
		}
	}
}

// TestTemplateButtonParams: which buttons need a parameter on every send,
// which may take one, and their send sub_type.
func TestTemplateButtonParams(t *testing.T) {
	for _, tt := range []struct {
		b            sender.TemplateButton
		needs, takes bool
		subType      string
	}{
		{sender.TemplateButton{Type: sender.ButtonTypeURL, Dynamic: true}, true, true, "url"},
		{sender.TemplateButton{Type: sender.ButtonTypeURL}, false, false, "url"},
		{sender.TemplateButton{Type: sender.ButtonTypeQuickReply}, false, true, "quick_reply"},
		{sender.TemplateButton{Type: sender.ButtonTypeCopyCode}, true, true, "copy_code"},
		{sender.TemplateButton{Type: sender.ButtonTypeOTP, OTPType: "COPY_CODE"}, true, true, "url"},
		{sender.TemplateButton{Type: sender.ButtonTypePhone}, false, false, "phone_number"},
	} {
		if got := tt.b.NeedsParam(); got != tt.needs {
			t.Errorf("%+v NeedsParam() = %v, want %v", tt.b, got, tt.needs)
		}
		if got := tt.b.TakesParam(); got != tt.takes {
			t.Errorf("%+v TakesParam() = %v, want %v", tt.b, got, tt.takes)
		}
		if got := tt.b.SubType(); got != tt.subType {
			t.Errorf("%+v SubType() = %q, want %q", tt.b, got, tt.subType)
		}
	}
}
