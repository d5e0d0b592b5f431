package sender

import "strings"

// minSecretRun is the shortest run of a secret's characters that is
// redacted from server-written text. A proxy or gateway may echo the
// Authorization header whole, cut ("EAAG...x7Q...") or in pieces; 8
// characters of a token are already too many to show, and shorter runs
// cannot be told from ordinary text.
const minSecretRun = 8

// redactor removes from a text every run of minSecretRun or more
// consecutive characters that also occurs in the secret. It keeps the set
// of the secret's minSecretRun-grams: a run of n ≥ minSecretRun characters
// of the secret is a chain of overlapping grams, each in the set, so a
// scan that joins overlapping hits finds every run in one pass (a token of
// ~200 characters makes ~200 grams; the scan is one map look-up per byte,
// on a gram packed into a uint64).
type redactor struct {
	n     int // gram length: minSecretRun, or the whole secret when shorter
	grams map[uint64]struct{}
}

func newRedactor(secret string) *redactor {
	r := &redactor{n: min(minSecretRun, len(secret)), grams: map[uint64]struct{}{}}
	for i := 0; r.n > 0 && i+r.n <= len(secret); i++ {
		r.grams[pack(secret[i:i+r.n])] = struct{}{}
	}
	return r
}

// pack is a gram of at most 8 bytes as a number.
func pack(g string) uint64 {
	var k uint64
	for i := 0; i < len(g); i++ {
		k = k<<8 | uint64(g[i])
	}
	return k
}

func (r *redactor) has(g string) bool {
	_, ok := r.grams[pack(g)]
	return ok
}

// redact returns s with each run of the secret replaced by "[redacted]".
// Overlapping or touching hits are joined into one replacement, so a run
// longer than a gram is never shown in part.
func (r *redactor) redact(s string) string {
	if r.n == 0 || len(s) < r.n {
		return s
	}
	var b strings.Builder
	last := 0 // s[:last] is written
	for i := 0; i+r.n <= len(s); {
		if !r.has(s[i : i+r.n]) {
			i++
			continue
		}
		end := i + r.n
		for j := i + 1; j <= end && j+r.n <= len(s); j++ {
			if r.has(s[j : j+r.n]) {
				end = j + r.n
			}
		}
		b.WriteString(s[last:i])
		b.WriteString(Secret("").String())
		last, i = end, end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
