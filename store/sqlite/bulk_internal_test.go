package sqlite

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
)

// An import loads with a large page cache, unsynced commits, the statement
// journal in memory, rare checkpoints and no foreign key checks; once it
// is finished (or refused or failed, and deleted) the writer is back to
// synchronous FULL, which every checkpoint relies on, to the small cache,
// the default checkpoints and foreign keys checked.
func TestImportModeIsRestored(t *testing.T) {
	ctx := t.Context()
	st := openInternal(t)
	pragmas := func() (sync, cache int) {
		t.Helper()
		if err := st.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := st.w.QueryRowContext(ctx, "PRAGMA cache_size").Scan(&cache); err != nil {
			t.Fatal(err)
		}
		return sync, cache
	}
	// The statement journal's place and the checkpoint interval.
	others := func(when string, temp, pages int) {
		t.Helper()
		var gt, gp, fk int
		if err := st.w.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{true: 1, false: 0}[temp == 0]; fk != want {
			t.Errorf("%s: foreign_keys %d, want %d", when, fk, want)
		}
		if err := st.w.QueryRowContext(ctx, "PRAGMA temp_store").Scan(&gt); err != nil {
			t.Fatal(err)
		}
		if err := st.w.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&gp); err != nil {
			t.Fatal(err)
		}
		if gt != temp || gp != pages {
			t.Errorf("%s: temp_store %d, wal_autocheckpoint %d; want %d, %d", when, gt, gp, temp, pages)
		}
	}
	if s, c := pragmas(); s != 2 || c != -defaultCacheKiB {
		t.Fatalf("after Open: synchronous %d, cache_size %d; want 2 (FULL), -%d", s, c, defaultCacheKiB)
	}
	others("after Open", 0, defaultCheckpointPages)
	for _, end := range []string{"finish", "delete"} {
		id, err := st.CreateCampaign(ctx, store.Campaign{Name: end, CSVHash: end, Template: "t", Language: "en"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.ImportBatch(ctx, id, []store.Recipient{{Line: 2, Phone: "+5511987650001"}, {Line: 3, Phone: "+5511987650000"}}, nil); err != nil {
			t.Fatal(err)
		}
		if s, c := pragmas(); s != 0 || c != -importCacheKiB {
			t.Errorf("%s: while importing: synchronous %d, cache_size %d; want 0 (OFF), -%d", end, s, c, importCacheKiB)
		}
		others(end+": while importing", 2, importCheckpointPages)
		if end == "finish" {
			err = st.FinishImport(ctx, id, 2)
		} else {
			err = st.DeleteCampaign(ctx, id)
		}
		if err != nil {
			t.Fatal(err)
		}
		if s, c := pragmas(); s != 2 || c != -defaultCacheKiB {
			t.Errorf("after %s: synchronous %d, cache_size %d; want 2 (FULL), -%d", end, s, c, defaultCacheKiB)
		}
		others("after "+end, 0, defaultCheckpointPages)
	}
}

// A batch's duplicates come back in the batch's order, each naming the
// line that holds its number: a number an earlier batch stored, and a
// repeat of it later in the same batch, both name the earlier batch's
// line; the batch's own first occurrence of a new number wins.
func TestImportBatchDuplicatesAcrossBatches(t *testing.T) {
	ctx := t.Context()
	st := openInternal(t)
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "d", CSVHash: "d", Template: "t", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportBatch(ctx, id, []store.Recipient{{Line: 2, Phone: "+9"}, {Line: 3, Phone: "+8"}}, nil); err != nil {
		t.Fatal(err)
	}
	// More than one INSERT's worth, so the repeats fall in two statements.
	rs := []store.Recipient{{Line: 4, Phone: "+7"}, {Line: 5, Phone: "+8"}}
	for i := range importRowsPerInsert {
		rs = append(rs, store.Recipient{Line: 6 + i, Phone: fmt.Sprintf("+1%04d", i)})
	}
	n := 6 + importRowsPerInsert
	rs = append(rs, store.Recipient{Line: n, Phone: "+7"}, store.Recipient{Line: n + 1, Phone: "+8"}, store.Recipient{Line: n + 2, Phone: "+9"})
	dups, err := st.ImportBatch(ctx, id, rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.Duplicate{{Line: 5, Phone: "+8", FirstLine: 3}, {Line: n, Phone: "+7", FirstLine: 4},
		{Line: n + 1, Phone: "+8", FirstLine: 3}, {Line: n + 2, Phone: "+9", FirstLine: 2}}
	if !slices.Equal(dups, want) {
		t.Errorf("duplicates %+v, want %+v", dups, want)
	}
	var count int
	if err := st.w.QueryRowContext(ctx, "SELECT COUNT(*) FROM recipients WHERE campaign_id = ?", id).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if want := 3 + importRowsPerInsert; count != want {
		t.Errorf("%d recipients stored, want %d", count, want)
	}
}

// openInternal opens a fresh store, closed when the test ends.
func openInternal(t *testing.T) *Store {
	t.Helper()
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// An import's batch (more numbers than one query takes) is checked
// against the opt-out list whether the list is empty or not.
func TestOptedOutBigBatch(t *testing.T) {
	ctx := t.Context()
	st := openInternal(t)
	phones := make([]string, 1200)
	for i := range phones {
		phones[i] = fmt.Sprintf("+55119%08d", i)
	}
	for _, want := range [][]string{nil, {phones[3], phones[1100]}} {
		for _, p := range want {
			if err := st.AddOptOut(ctx, p, "manual", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		got, err := st.OptedOut(ctx, phones)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("opted out %v, want %v", got, want)
		}
		for _, p := range want {
			if !got[p] {
				t.Errorf("%s is opted out, not reported", p)
			}
		}
	}
}
