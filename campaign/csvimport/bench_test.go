package csvimport

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeRows writes a CSV of n rows (name, phone, order_id) with valid,
// distinct Brazilian mobile numbers to path.
func writeRows(b *testing.B, path string, n int) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "name,phone,order_id")
	for i := range n {
		fmt.Fprintf(w, "Customer %d,+55119%08d,A-%07d\n", i, i, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkRead1M reads a 1,000,000-row CSV from a file, the way an import
// does, and reports rows/s.
func BenchmarkRead1M(b *testing.B) {
	const rows = 1_000_000
	path := filepath.Join(b.TempDir(), "1m.csv")
	writeRows(b, path, rows)
	cfg := Config{Params: []string{"name", "order_id"}}
	onRow := func(Row) error { return nil }
	onSkip := func(s Skip) error { return fmt.Errorf("line %d skipped: %s: %s", s.Line, s.Reason, s.Detail) }
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := Read(f, path, cfg, onRow, onSkip)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if res.Valid != rows {
			b.Fatalf("%d valid rows, want %d", res.Valid, rows)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
