package postgres_test

import (
	"fmt"
	"testing"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/postgres"
	"github.com/whatsend/whatsend/store/postgres/pgtest"
	"github.com/whatsend/whatsend/store/storetest"
)

func openTemp(t *testing.T) store.Store {
	t.Helper()
	st, err := postgres.Open(t.Context(), pgtest.DSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) { storetest.Run(t, openTemp) }

// TestImportBatchDuplicatesAtScale: large batches, copied in bulk, report
// every duplicate (within a batch and across batches) with the line that
// holds its number, which is the number's earliest line.
func TestImportBatchDuplicatesAtScale(t *testing.T) {
	st := openTemp(t)
	ctx := t.Context()
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "big", CSVHash: "h", Template: "t", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	first := map[string]int{}
	line := 2
	for batch := range 2 {
		var rs []store.Recipient
		want := map[int]int{} // duplicate line → first line
		for i := range 20000 {
			// Numbers repeat every 15,000 rows, so each batch repeats
			// numbers of its own and of the batch before.
			phone := fmt.Sprintf("+1555%07d", (batch*20000+i)%15000*7919%15000)
			rs = append(rs, store.Recipient{Line: line, Phone: phone, Params: []string{phone}})
			if f, ok := first[phone]; ok {
				want[line] = f
			} else {
				first[phone] = line
			}
			line++
		}
		dups, err := st.ImportBatch(ctx, id, rs, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(dups) != len(want) {
			t.Errorf("batch %d: %d duplicates, want %d", batch, len(dups), len(want))
		}
		for i, d := range dups {
			if want[d.Line] != d.FirstLine || first[d.Phone] != d.FirstLine || (i > 0 && dups[i-1].Line >= d.Line) {
				t.Fatalf("batch %d: duplicate %+v, want first line %d, in line order", batch, d, want[d.Line])
			}
		}
	}
	counts, err := st.Counts(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.StatePending] != len(first) {
		t.Errorf("%d recipients, want %d", counts[store.StatePending], len(first))
	}
}
