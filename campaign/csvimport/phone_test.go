package csvimport

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	const hint = " has no country code: pass --default-region (e.g. BR)"
	for _, tc := range []struct {
		raw, region    string
		want, reason   string
		detailContains string // for skips
	}{
		// E.164 and its usual spellings.
		{"+5511987654321", "", "+5511987654321", "", ""},
		{"+55 11 98765-4321", "", "+5511987654321", "", ""},
		{"+55 (11) 98765 4321", "", "+5511987654321", "", ""},
		{"+55.11.98765.4321", "", "+5511987654321", "", ""},
		{"+1 (415) 555-2671", "", "+14155552671", "", ""},
		{"+1-415-555-2671", "", "+14155552671", "", ""},
		{"+49 151 23456789", "", "+4915123456789", "", ""},
		{"+49 (0) 151 23456789", "", "+4915123456789", "", ""},
		{"+44 20 7946 0958", "", "+442079460958", "", ""},
		{"+4930901820", "", "+4930901820", "", ""},
		// The region does not override an explicit country code.
		{"+14155552671", "BR", "+14155552671", "", ""},
		{"+4915123456789", "US", "+4915123456789", "", ""},
		// 00 as the international prefix.
		{"0055 11 98765-4321", "", "+5511987654321", "", ""},
		{"0049 30 901820", "", "+4930901820", "", ""},
		{"001 415 555 2671", "BR", "+14155552671", "", ""},

		// Spreadsheet damage.
		{"'+5511987654321", "", "+5511987654321", "", ""},
		{" ' +5511987654321 ", "", "+5511987654321", "", ""},
		{"\t+5511987654321\r\n", "", "+5511987654321", "", ""},
		{"+55\u00a011\u00a098765\u00a04321", "", "+5511987654321", "", ""},
		{"\u00a0+14155552671\u00a0", "", "+14155552671", "", ""},
		{"5.51199E+12", "", "", ReasonMangledNumber, "turned the number into 5.51199E+12"},
		{"5,51199E+12", "BR", "", ReasonMangledNumber, "5,51199E+12"},
		{"'5.51199E+12", "", "", ReasonMangledNumber, "5.51199E+12"},
		{"1.41556e+10", "US", "", ReasonMangledNumber, "1.41556e+10"},
		{"5.51199e+012", "", "", ReasonMangledNumber, "5.51199e+012"},
		{"5E12", "", "", ReasonMangledNumber, "5E12"},
		{"+5.51199E+12", "", "", ReasonMangledNumber, "+5.51199E+12"},
		{"=\"+5511987654321\"", "", "", ReasonInvalidNumber, `not a phone number: ="+5511987654321"`},

		// Empty cells.
		{"", "", "", ReasonMissingNumber, "the phone number is empty"},
		{"   ", "BR", "", ReasonMissingNumber, "the phone number is empty"},
		{"'", "", "", ReasonMissingNumber, "the phone number is empty"},
		{"\u00a0", "", "", ReasonMissingNumber, "the phone number is empty"},

		// With a default region: national numbers, with or without the
		// leading 0 (trunk prefix).
		{"11987654321", "BR", "+5511987654321", "", ""},
		{"(11) 98765-4321", "BR", "+5511987654321", "", ""},
		{"011987654321", "BR", "+5511987654321", "", ""},
		{"(011) 98765-4321", "br", "+5511987654321", "", ""},
		{"0151 23456789", "DE", "+4915123456789", "", ""},
		{"030 901820", "de", "+4930901820", "", ""},
		{"(415) 555-2671", "US", "+14155552671", "", ""},
		{"415.555.2671", "US", "+14155552671", "", ""},
		{"1 415 555 2671", "US", "+14155552671", "", ""},
		{"98765-4321", "BR", "", ReasonInvalidNumber, "98765-4321 is not a valid number for its country"},
		{"555-2671", "US", "", ReasonInvalidNumber, "555-2671 is not a valid number for its country"},

		// Without a default region: 11–15 digits are tried as international.
		{"5511987654321", "", "+5511987654321", "", ""},
		{"14155552671", "", "+14155552671", "", ""},
		{"4915123456789", "", "+4915123456789", "", ""},
		{"442079460958", "", "+442079460958", "", ""},
		// 11 digits that are a Brazilian number without its country code.
		{"11987654321", "", "", ReasonInvalidNumber, "11987654321 is not a valid international number: if it has no country code, pass --default-region"},
		// 12 digits with an unknown country code (+99).
		{"991234567890", "", "", ReasonInvalidNumber, "991234567890 is not a valid international number"},
		// Too short, leading 0, or formatted: a local number.
		{"987654321", "", "", ReasonInvalidNumber, "987654321" + hint},
		{"4930901820", "", "", ReasonInvalidNumber, "4930901820" + hint},
		{"011987654321", "", "", ReasonInvalidNumber, "011987654321" + hint},
		{"0151 23456789", "", "", ReasonInvalidNumber, "0151 23456789" + hint},
		{"(11) 98765-4321", "", "", ReasonInvalidNumber, "(11) 98765-4321" + hint},
		{"55 11 98765-4321", "", "", ReasonInvalidNumber, "55 11 98765-4321" + hint},
		{"1234567890123456", "", "", ReasonInvalidNumber, "1234567890123456" + hint},

		// Not numbers, or not valid ones.
		{"call me", "", "", ReasonInvalidNumber, "not a phone number: call me"},
		{"+55 11 98765-4321 ext 2", "", "", ReasonInvalidNumber, "not a phone number"},
		{"tel:+5511987654321", "", "", ReasonInvalidNumber, "not a phone number"},
		{"+5511987654321\x00", "", "", ReasonInvalidNumber, "not a phone number"},
		{"+55 11 98765-432", "", "", ReasonInvalidNumber, "+55 11 98765-432 is not a valid number for its country"},
		{"+55 11 1234", "", "", ReasonInvalidNumber, "is not a valid number for its country"},
		{"+1 555 555 5555", "", "", ReasonInvalidNumber, "is not a valid number for its country"},
		{"+", "", "", ReasonInvalidNumber, "not a phone number: +"},
		{"123", "BR", "", ReasonInvalidNumber, "123 is not a valid number for its country"},
		{"+999 1234 5678", "", "", ReasonInvalidNumber, "not a phone number: +999 1234 5678"},
		{"+5511987654321", "XX", "+5511987654321", "", ""},
		{"11987654321", "XX", "", ReasonInvalidNumber, "not a phone number: 11987654321"},
	} {
		e164, reason, detail := Normalize(tc.raw, tc.region)
		if e164 != tc.want || reason != tc.reason {
			t.Errorf("Normalize(%q, %q) = %q, %q (%s); want %q, %q", tc.raw, tc.region, e164, reason, detail, tc.want, tc.reason)
			continue
		}
		if reason == "" && detail != "" {
			t.Errorf("Normalize(%q, %q): detail %q with no reason", tc.raw, tc.region, detail)
		}
		if !strings.Contains(detail, tc.detailContains) || (reason != "" && tc.detailContains == "") {
			t.Errorf("Normalize(%q, %q): detail %q, want it to contain %q", tc.raw, tc.region, detail, tc.detailContains)
		}
	}
}

func TestRegion(t *testing.T) {
	for _, tc := range []struct{ e164, want string }{
		{"+5511987654321", "BR"},
		{"+14155552671", "US"},
		{"+16135550123", "CA"},
		{"+4915123456789", "DE"},
		{"+442079460958", "GB"},
		{"+80012345678", "001"}, // non-geographic (freephone)
		{"", ""},
		{"not a number", ""},
		{"5511987654321", ""}, // not E.164: no + and no region to parse it in
	} {
		if got := Region(tc.e164); got != tc.want {
			t.Errorf("Region(%q) = %q, want %q", tc.e164, got, tc.want)
		}
	}
	// Region and Normalize agree: the region of a normalised national
	// number is the default region it was read with.
	for raw, region := range map[string]string{"(11) 98765-4321": "BR", "0151 23456789": "DE", "(415) 555-2671": "US", "020 7946 0958": "GB"} {
		e164, reason, detail := Normalize(raw, region)
		if reason != "" {
			t.Errorf("Normalize(%q, %q): %s: %s", raw, region, reason, detail)
			continue
		}
		if got := Region(e164); got != region {
			t.Errorf("Region(Normalize(%q, %q) = %q) = %q, want %q", raw, region, e164, got, region)
		}
	}
}
