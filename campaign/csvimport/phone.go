package csvimport

import (
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// Skip reasons, stable codes that reports and scripts rely on.
const (
	ReasonInvalidNumber = "invalid_number" // not a valid phone number
	ReasonMangledNumber = "mangled_number" // a spreadsheet turned it into a float like 5.51199E+12
	ReasonMissingNumber = "missing_number" // the phone cell is empty
	ReasonDuplicate     = "duplicate"      // same number as an earlier row, after normalisation
	ReasonMissingParam  = "missing_param"  // a --params column is empty
	ReasonBadRow        = "bad_row"        // too few fields, a field too long, unreadable text
	ReasonOptedOut      = "opted_out"      // on the opt-out list
)

var mangledRE = regexp.MustCompile(`^[+]?[0-9]+([.,][0-9]+)?[eE][+]?[0-9]+$`)

// Normalize turns a phone cell into E.164. It returns the number, or an
// empty number with a skip reason and a human detail.
func Normalize(raw, region string) (e164, reason, detail string) {
	return normalize(raw, region, true)
}

// normalize is Normalize; fast takes the cleanBrazil shortcut (the tests
// compare it with the path without).
func normalize(raw, region string, fast bool) (e164, reason, detail string) {
	s := strings.TrimSpace(raw)
	s = strings.TrimPrefix(s, "'") // a spreadsheet's "text" marker
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ReasonMissingNumber, "the phone number is empty"
	}
	if num, ok := cleanBrazil(s); fast && ok && phonenumbers.IsValidNumber(num) {
		return s, "", ""
	}
	if mangledRE.MatchString(s) {
		return "", ReasonMangledNumber, "a spreadsheet turned the number into " + s + ": format the column as text and export again"
	}
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune("+-() ./\u00a0", r):
		default:
			return "", ReasonInvalidNumber, "not a phone number: " + s
		}
	}
	if strings.HasPrefix(s, "00") {
		s = "+" + strings.TrimLeft(s[2:], " ")
	}
	parseRegion := strings.ToUpper(region)
	guessed := "" // the cell, when a + was added to it
	if !strings.HasPrefix(s, "+") && parseRegion == "" {
		// A spreadsheet drops the +: 11–15 digits without a leading 0
		// are taken as international.
		if digits == len(s) && digits >= 11 && digits <= 15 && !strings.HasPrefix(s, "0") {
			guessed, s = s, "+"+s
		} else {
			return "", ReasonInvalidNumber, s + " has no country code: pass --default-region (e.g. BR)"
		}
	}
	num, err := phonenumbers.Parse(s, parseRegion)
	switch {
	case err == nil && phonenumbers.IsValidNumber(num):
		return phonenumbers.Format(num, phonenumbers.E164), "", ""
	case guessed != "":
		// Often a local number with its area code (Brazil's 11987654321):
		// say so, rather than quote a + that the cell lacks.
		return "", ReasonInvalidNumber, guessed + " is not a valid international number: if it has no country code, pass --default-region (e.g. BR)"
	case err != nil:
		return "", ReasonInvalidNumber, "not a phone number: " + s
	}
	return "", ReasonInvalidNumber, s + " is not a valid number for its country"
}

// Region returns the libphonenumber region of an E.164 number ("US", "CA"...).
func Region(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(num)
}

// cleanBrazil is Normalize's shortcut for a cell already in clean E.164 of
// Brazil: +55, an area code without a 0, and 8 or 9 more digits (what
// most lists hold). libphonenumber's Parse of such a cell finds country
// code 55 and keeps the national number as is (Brazil's national prefix,
// 0 or 90, cannot start it), so the number is built here without Parse's
// regular expressions, which are two thirds of the cost of a row; its
// validity is still libphonenumber's, and its E.164 form is the cell.
// TestCleanBrazilIsParse checks both against the slow path.
func cleanBrazil(s string) (*phonenumbers.PhoneNumber, bool) {
	if len(s) != 13 && len(s) != 14 || s[:3] != "+55" || s[3] == '0' || s[4] == '0' {
		return nil, false
	}
	var n uint64
	for i := 3; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return nil, false
		}
		n = n*10 + uint64(c-'0')
	}
	cc := int32(55)
	return &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &n}, true
}
