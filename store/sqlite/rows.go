package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// A commit's statements write several rows each (up to maxRows, in
// pieces whose sizes are powers of two, so each size is prepared once per
// process): one statement per row paid SQLite's per-statement work (its
// program, a cursor on the table and on each of its indexes, a fresh
// seek even for an entry that lands beside the last) and database/sql's
// for every row, about a fifth of a send's store CPU (README,
// "Performance").
const maxRows = 64

// A rowsSQL is a statement over a list of rows of ? placeholders: head,
// the rows separated by commas, then tail. Its head says OR IGNORE: a
// statement of several rows that may stop at a constraint needs a
// statement journal, so that it can be undone alone, and that journal
// was as many bytes again as the commit. None of these statements can
// break a constraint but attempts' unique id, and every row must be
// written for those that insert (all names the rows): a row ignored fails
// the commit with the error ignored.
type rowsSQL struct {
	head, row, tail string
	all, ignored    string
	// single: one row per statement. A statement of several rows into a
	// table with a foreign key (attempts) needs a statement journal
	// whatever its OR, since the check of the key may stop it, and that
	// journal went to temporary files: 10,000 sends made 48,042 page
	// writes instead of 31,427 (strace, 1,000 msg/s).
	single bool
}

// query is the statement for n rows.
func (q rowsSQL) query(n int) string {
	var b strings.Builder
	b.WriteString(q.head)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(q.row)
	}
	b.WriteString(q.tail)
	return b.String()
}

// pieces splits n rows into the sizes written by one statement each:
// maxRows while there are that many, then the powers of two of the rest,
// largest first; n ones for a single-row statement.
func (q rowsSQL) pieces(n int) []int {
	if q.single {
		return slices.Repeat([]int{1}, n)
	}
	return pieces(n)
}

func pieces(n int) []int {
	var out []int
	for ; n >= maxRows; n -= maxRows {
		out = append(out, maxRows)
	}
	for n > 0 {
		size := 1 << (bits.Len(uint(n)) - 1)
		out = append(out, size)
		n -= size
	}
	return out
}

// A rowsWriter runs a rowsSQL over rows in tx with its statements
// prepared (prepareRows, before the transaction).
type rowsWriter struct {
	q     rowsSQL
	stmts map[int]*sql.Stmt
}

// prepareRows prepares q for every piece size, outside a transaction,
// once per Store (how many rows a commit writes is known only inside it).
func (s *Store) prepareRows(ctx context.Context, q rowsSQL) (rowsWriter, error) {
	s.rowsMu.Lock()
	defer s.rowsMu.Unlock()
	if w, ok := s.rowsW[q.head]; ok {
		return w, nil
	}
	w := rowsWriter{q: q, stmts: map[int]*sql.Stmt{}}
	for size := 1; size <= maxRows && (size == 1 || !q.single); size *= 2 {
		st, err := s.prepared(ctx, q.query(size))
		if err != nil {
			return w, err
		}
		w.stmts[size] = st
	}
	if s.rowsW == nil {
		s.rowsW = map[string]rowsWriter{}
	}
	s.rowsW[q.head] = w
	return w, nil
}

// exec writes rows in tx: args(i) are row i's values, in the order of the
// row's placeholders. Each size's statement is bound to tx once.
func (w rowsWriter) exec(ctx context.Context, tx *sql.Tx, n int, args func(i int) []any) error {
	inTx := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range inTx {
			st.Close()
		}
	}()
	i := 0
	for _, size := range w.q.pieces(n) {
		st := inTx[size]
		if st == nil {
			st = tx.StmtContext(ctx, w.stmts[size])
			inTx[size] = st
		}
		var vals []any
		for j := i; j < i+size; j++ {
			vals = append(vals, args(j)...)
		}
		res, err := st.ExecContext(ctx, vals...)
		if err != nil {
			return err
		}
		if w.q.all != "" {
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if n != int64(size) {
				return fmt.Errorf("%d of %d %s written: %s", n, size, w.q.all, w.q.ignored)
			}
		}
		i += size
	}
	return nil
}
