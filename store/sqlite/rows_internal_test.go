package sqlite

import (
	"math/bits"
	"strings"
	"testing"
)

// Every count of rows splits into pieces that add up to it, none larger
// than maxRows and each a power of two: few statements per commit, and
// few sizes to prepare.
func TestPiecesCoverTheRows(t *testing.T) {
	for n := range 3*maxRows + 2 {
		sum := 0
		for _, p := range pieces(n) {
			if p > maxRows || bits.OnesCount(uint(p)) != 1 {
				t.Fatalf("pieces(%d) = %v: %d is not a power of two up to %d", n, pieces(n), p, maxRows)
			}
			sum += p
		}
		if sum != n {
			t.Fatalf("pieces(%d) = %v, adding up to %d", n, pieces(n), sum)
		}
		if max := n/maxRows + bits.Len(uint(maxRows)); len(pieces(n)) > max {
			t.Fatalf("pieces(%d) = %v: more than %d statements", n, pieces(n), max)
		}
	}
}

// The commit's statements find each recipient and attempt by its key:
// a statement of several rows must not scan a table for them.
func TestCommitStatementsFindRowsByKey(t *testing.T) {
	st := openInternal(t)
	for _, c := range []struct {
		name string
		q    rowsSQL
		want string
	}{
		{"checkpoint recipients", beginRecipientSQL, "SEARCH recipients USING INTEGER PRIMARY KEY (rowid=?)"},
		{"window rows", beginWindowSQL, "SEARCH contacts USING "},
		{"answered attempts", finishAttemptSQL, "sqlite_autoindex_attempts_1 (id=?)"},
		{"answered recipients", finishRecipientSQL, "SEARCH recipients USING INTEGER PRIMARY KEY (rowid=?)"},
	} {
		q := c.q.query(4)
		p := queryPlan(t, st, q, make([]any, strings.Count(q, "?"))...)
		if !strings.Contains(p, c.want) || strings.Contains(p, "SCAN recipients") || strings.Contains(p, "SCAN attempts") || strings.Contains(p, "SCAN contacts") {
			t.Errorf("%s: plan %q, want %q and no scan of a table", c.name, p, c.want)
		}
	}
}
