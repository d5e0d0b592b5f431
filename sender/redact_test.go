package sender

import (
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	const tok = "EAAGtestTOKENx7Qz9secretPart4242"
	for _, tt := range []struct {
		secret, in, want string
	}{
		{tok, "", ""},
		{tok, "nothing here", "nothing here"},
		{tok, "Bearer " + tok, "Bearer [redacted]"},
		{tok, "cut: EAAGtest...", "cut: [redacted]..."},       // the first 8 characters
		{tok, "cut: EAAGtes...", "cut: EAAGtes..."},           // 7 are not redacted
		{tok, "mid x7Qz9secretP end", "mid [redacted] end"},   // from the middle
		{tok, "end Part4242", "end [redacted]"},               // at the end of the text
		{tok, tok + tok, "[redacted]"},                        // touching runs join
		{tok, "EAAGtestXsecretPart", "[redacted]X[redacted]"}, // two runs apart
		{tok, "EAAGTESTTOKEN", "EAAGTESTTOKEN"},               // case matters (tokens are case-sensitive)
		{"short", "a short one", "a [redacted] one"},          // a secret under 8: the whole secret
		{"", "anything", "anything"},                          // no secret
		{tok, "ÄÖ EAAGtestTOKEN ü", "ÄÖ [redacted] ü"},        // UTF-8 around a run stays whole
		{tok, strings.Repeat("x", 10) + tok[3:20], "xxxxxxxxxx[redacted]"},
	} {
		if got := newRedactor(tt.secret).redact(tt.in); got != tt.want {
			t.Errorf("secret %q: redact(%q) = %q, want %q", tt.secret, tt.in, got, tt.want)
		}
	}
}

// Every substring of 8 or more characters of the token, anywhere in a text,
// is redacted.
func TestRedactorEverySubstring(t *testing.T) {
	const tok = "EAAGtestTOKENx7Qz9secretPart4242"
	r := newRedactor(tok)
	for i := 0; i < len(tok); i++ {
		for j := i + minSecretRun; j <= len(tok); j++ {
			in := "<" + tok[i:j] + ">"
			if got := r.redact(in); got != "<[redacted]>" {
				t.Fatalf("redact(%q) = %q, want <[redacted]>", in, got)
			}
		}
	}
}

func BenchmarkRedact(b *testing.B) {
	tok := strings.Repeat("EAAGtestTOKENx7Qz9secretPart4242", 7)[:200]
	r := newRedactor(tok)
	text := strings.Repeat("(#131009) Parameter value is not valid: details about one value ", 16) // 1 KiB
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		r.redact(text)
	}
}
