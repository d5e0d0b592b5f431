package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// BenchmarkImportBatch1M inserts the rows of the import benchmark
// (campaign.BenchmarkImport1M) straight into the store: 1,000,000
// pre-normalised recipients in ImportBatch calls of 10,000 (one transaction
// each), no CSV parsing, no phone normalisation, no opt-out check. It is the
// floor under the import's cost, and reports rows/s.
func BenchmarkImportBatch1M(b *testing.B) {
	const rows, batch = 1_000_000, 10_000
	ctx := context.Background()
	dir := b.TempDir()
	rs := benchRecipients(rows) // outside the timing: what the CSV reader hands over
	n := 0
	for b.Loop() {
		b.StopTimer()
		path := filepath.Join(dir, fmt.Sprintf("w%d.db", n))
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		id, err := st.CreateCampaign(ctx, store.Campaign{Name: "bench", CSVHash: "x", Template: "order_update", Language: "en_US"})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for i := 0; i < rows; i += batch {
			dups, err := st.ImportBatch(ctx, id, rs[i:i+batch], nil)
			if err != nil {
				b.Fatal(err)
			}
			if len(dups) != 0 {
				b.Fatalf("%d duplicates in batch %d", len(dups), i/batch)
			}
		}
		b.StopTimer()
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		os.Remove(path)
		n++
		b.StartTimer()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// benchRecipients returns n recipients as the CSV reader would hand them
// over: the rows of the import benchmark's CSV.
func benchRecipients(n int) []store.Recipient {
	rs := make([]store.Recipient, n)
	for i := range rs {
		rs[i] = store.Recipient{
			Line:   i + 2,
			Phone:  fmt.Sprintf("+55119%08d", i),
			Params: []string{fmt.Sprintf("Customer %d", i), fmt.Sprintf("A-%07d", i)},
		}
	}
	return rs
}

// BenchmarkDue1M measures the engine's page read, Due(limit 100), on a
// campaign of 1,000,000 pending recipients: the dispatcher calls it once per
// batch of 100 sends (10 ms of sending at 1,000 msg/s), so it must cost far
// less than that. It reports ms per call.
func BenchmarkDue1M(b *testing.B) {
	const rows, batch, calls = 1_000_000, 10_000, 10
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "w.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "bench", CSVHash: "x", Template: "order_update", Language: "en_US"})
	if err != nil {
		b.Fatal(err)
	}
	rs := benchRecipients(rows)
	for i := 0; i < rows; i += batch {
		if _, err := st.ImportBatch(ctx, id, rs[i:i+batch], nil); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.FinishImport(ctx, id, rows); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for b.Loop() {
		for range calls {
			page, err := st.Due(ctx, id, now, 100)
			if err != nil {
				b.Fatal(err)
			}
			if len(page) != 100 {
				b.Fatalf("Due returned %d recipients, want 100", len(page))
			}
		}
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N*calls), "ms/call")
}
