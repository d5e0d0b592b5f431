package report

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// MaskPhone masks a phone number, keeping its country code and its last two
// digits: "+5511987654321" becomes "+55*********21". Separators are kept,
// so "+55 11 98765-4321" becomes "+55 ** *****-**21". A number without a
// leading + (no country code to tell) keeps only its last two digits.
func MaskPhone(s string) string {
	digits := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			digits++
		}
	}
	keepHead := 0
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "+") {
		keepHead = countryCodeLen(t[1:])
	}
	if digits-keepHead < 3 {
		// Too short to keep both ends and hide anything: hide all but two.
		keepHead = 0
	}
	b := []byte(s)
	seen := 0
	for i, c := range b {
		if !isDigit(c) {
			continue
		}
		if seen >= keepHead && seen < digits-2 {
			b[i] = '*'
		}
		seen++
	}
	return string(b)
}

// countryCodeLen returns the length of the country calling code at the
// start of the digits of an international number, or 0. Country codes are
// prefix-free (ITU-T E.164), so the first known prefix is the code.
func countryCodeLen(s string) int {
	var d []byte
	for i := 0; i < len(s) && len(d) < 3; i++ {
		switch c := s[i]; {
		case isDigit(c):
			d = append(d, c)
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
		default:
			return 0
		}
		if n, err := strconv.Atoi(string(d)); err == nil && len(d) > 0 && d[0] != '0' {
			if phonenumbers.GetRegionCodeForCountryCode(n) != phonenumbers.UNKNOWN_REGION {
				return len(d)
			}
		}
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// phoneLike finds what may be a phone number inside free text (a skip's
// detail, the raw value of a bad row): an optional +, then at least seven
// digits with the separators people type.
var phoneLike = regexp.MustCompile(`\+?[0-9][0-9 ().\-]*[0-9]`)

// MaskText masks every phone-like run of seven digits or more in s (see
// MaskPhone). Shorter numbers (line numbers, counts, error codes) and
// ISO dates are left alone.
func MaskText(s string) string {
	return phoneLike.ReplaceAllStringFunc(s, func(m string) string {
		n := 0
		for i := 0; i < len(m); i++ {
			if isDigit(m[i]) {
				n++
			}
		}
		if n < 7 || isoDate.MatchString(m) {
			return m
		}
		return MaskPhone(m)
	})
}

var isoDate = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}`)

// Neutralise makes a CSV cell safe to open in a spreadsheet: a cell that
// starts with =, +, -, @, a tab or a carriage return would be run as a
// formula (CSV injection), so it gets a leading single quote, which
// spreadsheets show as text. A plain number such as an E.164 phone number
// (+5511987654321) or -12.5 is left as it is: a spreadsheet reads it as a
// number, never as a formula.
func Neutralise(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		if isPlainNumber(s) || isMaskedPhone(s) {
			return s
		}
		return "'" + s
	}
	return s
}

// isMaskedPhone reports whether s is a number masked by MaskPhone, such as
// +55*********21: a spreadsheet cannot run it (it calls nothing).
func isMaskedPhone(s string) bool {
	s = strings.TrimPrefix(s, "+")
	head := strings.TrimLeft(s, "0123456789")
	body := strings.TrimLeft(head, "*")
	return len(head) < len(s) && len(body) < len(head) && allDigits(body)
}

// maskSkip masks a row skipped at import: its raw value (the phone cell,
// or the whole row for a bad row) and the detail, which may quote it.
func maskSkip(reason, raw, detail string) (string, string) {
	masked := MaskText(raw)
	if reason != reasonBadRow {
		masked = MaskPhone(raw)
	}
	if raw != "" {
		detail = strings.ReplaceAll(detail, raw, masked)
	}
	return masked, MaskText(detail)
}

// isPlainNumber reports whether s is a sign, digits and at most one
// decimal point with digits on both sides.
func isPlainNumber(s string) bool {
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	return allDigits(intPart) && (!hasDot || allDigits(frac))
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}
