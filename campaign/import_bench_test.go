package campaign_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/internal/listgen"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// importBenchRows is the size of the import benchmark's CSV (issue 3).
const importBenchRows = 1_000_000

// writeImportCSV writes a CSV of n rows (name, phone, order_id) with valid,
// distinct Brazilian mobile numbers: scattered over 67 area codes in random
// order as users' lists are, or ascending in one.
func writeImportCSV(b *testing.B, path string, n int, scattered bool) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if scattered {
		err = listgen.Scattered(f, n, 1)
	} else {
		err = listgen.Sequential(f, n)
	}
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkImport1M imports a 1,000,000-row CSV (scattered, then sequential) into a fresh SQLite store
// with campaign.Import, as `whatsend run` does: CSV parsing, phone
// normalisation, the opt-out check and the batched inserts. It reports
// rows/s and the heap allocated per row; the target is the whole import in
// under 20 s (50,000 rows/s) and under 150 MB peak RSS (see
// docs/BENCHMARKS.md for the end-to-end RSS measure).
func BenchmarkImport1M(b *testing.B) {
	b.Run("scattered", func(b *testing.B) { benchImport(b, true) })
	b.Run("sequential", func(b *testing.B) { benchImport(b, false) })
}

func benchImport(b *testing.B, scattered bool) {
	dir := b.TempDir()
	path := filepath.Join(dir, "big.csv")
	writeImportCSV(b, path, importBenchRows, scattered)
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
