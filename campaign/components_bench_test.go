package campaign

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/whatsend/whatsend/campaign/csvimport"
)

// BenchmarkReadComponents1M reads a 1,000,000-row CSV with an image header
// link and a URL button column through the mapping (each row's values
// checked and frozen as JSON), as an import does; compare with
// csvimport's BenchmarkRead1M, the same rows without components.
func BenchmarkReadComponents1M(b *testing.B) {
	const rows = 1_000_000
	path := filepath.Join(b.TempDir(), "1m.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "name,phone,order_id,image_url,coupon_path")
	for i := range rows {
		fmt.Fprintf(w, "Customer %d,+55119%08d,A-%07d,https://cdn.example.com/promo/%d.jpg,c/%07d\n", i, i, i, i%100, i)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	s := Settings{Template: "spring_promo", Language: "en_US", Params: []string{"name", "order_id"}, Header: "image_url", Buttons: []string{"0=coupon_path"}}
	cfg := NewMapping(s, nil).CSV(csvimport.Config{})
	onRow := func(r csvimport.Row) error {
		if r.Components == nil {
			return fmt.Errorf("line %d: no components", r.Line)
		}
		return nil
	}
	onSkip := func(k csvimport.Skip) error { return fmt.Errorf("line %d skipped: %s: %s", k.Line, k.Reason, k.Detail) }
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := csvimport.Read(f, path, cfg, onRow, onSkip)
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
