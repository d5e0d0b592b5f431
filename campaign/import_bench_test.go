package campaign_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// importBenchRows is the size of the import benchmark's CSV (issue 3).
const importBenchRows = 1_000_000

// writeImportCSV writes a CSV of n rows (name, phone, order_id) with valid,
// distinct Brazilian mobile numbers.
func writeImportCSV(b *testing.B, path string, n int) {
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

// BenchmarkImport1M imports a 1,000,000-row CSV into a fresh SQLite store
// with campaign.Import, as `whatsend run` does: CSV parsing, phone
// normalisation, the opt-out check and the batched inserts. It reports
// rows/s and the heap allocated per row; the target is the whole import in
// under 20 s (50,000 rows/s) and under 150 MB peak RSS (see
// docs/BENCHMARKS.md for the end-to-end RSS measure).
func BenchmarkImport1M(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "big.csv")
	writeImportCSV(b, path, importBenchRows)
	ctx := context.Background()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	n := 0
	for b.Loop() {
		b.StopTimer()
		st, err := sqlite.Open(ctx, filepath.Join(dir, fmt.Sprintf("w%d.db", n)))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := campaign.Import(ctx, st, campaign.ImportConfig{
			File: path,
			CSV:  csvimport.Config{Params: []string{"name", "order_id"}},
			Campaign: store.Campaign{
				Template: "order_update", Language: "en_US", Params: []string{"name", "order_id"},
				PhoneNumberID: "100000000000001", Scope: "100000000000001",
			},
		})
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if res.Result.Valid != importBenchRows || res.Duplicates != 0 || res.Result.Skipped != 0 {
			b.Fatalf("imported %d valid rows (%d duplicates, %d skipped), want %d", res.Result.Valid, res.Duplicates, res.Result.Skipped, importBenchRows)
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		os.Remove(filepath.Join(dir, fmt.Sprintf("w%d.db", n)))
		n++
		b.StartTimer()
	}
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(importBenchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(importBenchRows*b.N), "heapB/row")
}
