package sender

import (
	"strings"
)

// templateComponent is one entry of a template's components as the
// message_templates edge lists them (Meta, "Template components"; see
// docs/cloud-api-notes.md): HEADER with its format, BODY and FOOTER with
// their text, BUTTONS with its buttons.
type templateComponent struct {
	Type    string `json:"type"`
	Format  string `json:"format"`
	Text    string `json:"text"`
	Buttons []struct {
		Type        string `json:"type"`
		Text        string `json:"text"`
		URL         string `json:"url"`
		PhoneNumber string `json:"phone_number"`
		OTPType     string `json:"otp_type"`
	} `json:"buttons"`
}

// readComponents fills the template's body placeholders, header, footer and
// buttons from its components. rd redacts the texts a proxy could have
// filled with the token.
func readComponents(t *Template, comps []templateComponent, rd func(string) string) {
	for _, c := range comps {
		switch strings.ToUpper(c.Type) {
		case "BODY":
			t.ParamCount, t.ParamNames = countPlaceholders(c.Text, t.Format)
		case "HEADER":
			// A header without a format is a TEXT one (Meta's listings
			// always give it; older payloads quoted in the wild do not).
			h := &TemplateHeader{Format: strings.ToUpper(c.Format), Text: rd(c.Text)}
			if h.Format == "" {
				h.Format = HeaderText
			}
			if h.Format == HeaderText {
				h.ParamCount, h.ParamNames = countPlaceholders(c.Text, t.Format)
			} else {
				h.ParamCount = 1
			}
			t.Header = h
		case "FOOTER":
			t.Footer = rd(c.Text)
		case "BUTTONS":
			for i, b := range c.Buttons {
				tb := TemplateButton{Index: i, Type: strings.ToUpper(b.Type), Text: rd(b.Text), URL: rd(b.URL), OTPType: strings.ToUpper(b.OTPType)}
				tb.Dynamic = tb.Type == ButtonTypeURL && placeholderRE.MatchString(b.URL)
				t.Buttons = append(t.Buttons, tb)
			}
		}
	}
}
