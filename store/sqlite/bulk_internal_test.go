package sqlite

import (
	"errors"
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

// The repeated numbers are found once every batch is in: each row after
// the first of its number is removed and handed over in line order, a
// chunk at a time, naming the first line and with its stored params;
// campaign_numbers then holds each number once with its first line, and
// no temporary table stays behind.
func TestImportDuplicatesInChunks(t *testing.T) {
	ctx := t.Context()
	st := openInternal(t)
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "d", CSVHash: "d", Template: "t", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	n := importDupChunk + 5
	var first, again []store.Recipient
	for i := range n {
		first = append(first, store.Recipient{Line: 2 + i, Phone: fmt.Sprintf("+55119%08d", i*7919%n)})
	}
	// The same numbers again, in another order and with a repeat inside
	// the batch.
	for i := range n {
		again = append(again, store.Recipient{Line: 2 + n + i, Phone: first[n-1-i].Phone, Params: []string{fmt.Sprint("p", i)}})
	}
	again = append(again, store.Recipient{Line: 2 + 2*n, Phone: first[0].Phone})
	for _, b := range [][]store.Recipient{first, again} {
		if d, err := st.ImportBatch(ctx, id, b, nil); err != nil || len(d) != 0 {
			t.Fatalf("ImportBatch = %v, %v; want no duplicates yet", d, err)
		}
	}
	if err := st.FinishImport(ctx, id, 2*n+1); err == nil {
		t.Fatal("FinishImport with repeated numbers not removed: no error")
	}
	var got []store.Duplicate
	var chunks []int
	if err := st.ImportDuplicates(ctx, id, func(ds []store.Duplicate) error {
		chunks = append(chunks, len(ds))
		got = append(got, ds...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(chunks, []int{importDupChunk, 6}) {
		t.Errorf("chunks of %v duplicates, want %d and 6", chunks, importDupChunk)
	}
	lineOf := map[string]int{}
	for _, r := range first {
		lineOf[r.Phone] = r.Line
	}
	for i, d := range got {
		r := append(again, store.Recipient{})[i]
		if d.Line != r.Line || d.Phone != r.Phone || d.FirstLine != lineOf[r.Phone] || !slices.Equal(d.Params, r.Params) {
			t.Fatalf("duplicate %d = %+v, want line %d, %s, first line %d, params %v", i, d, r.Line, r.Phone, lineOf[r.Phone], r.Params)
		}
	}
	var rows, numbers, temps int
	if err := st.w.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM recipients WHERE campaign_id = ?1), (SELECT COUNT(*) FROM campaign_numbers n
		JOIN recipients r ON r.campaign_id = n.campaign_id AND r.line = n.line AND r.phone = n.phone WHERE n.campaign_id = ?1),
		(SELECT COUNT(*) FROM temp.sqlite_master)`, id).Scan(&rows, &numbers, &temps); err != nil {
		t.Fatal(err)
	}
	if rows != n || numbers != n || temps != 0 {
		t.Errorf("%d recipients, %d numbers matching them, %d temporary tables; want %d, %d, 0", rows, numbers, temps, n, n)
	}
	if err := st.FinishImport(ctx, id, 2*n+1); err != nil {
		t.Fatal(err)
	}
}

// A failing fn stops ImportDuplicates with its error and leaves no
// temporary table; a campaign without repeats has its numbers settled by
// FinishImport alone.
func TestImportDuplicatesStops(t *testing.T) {
	ctx := t.Context()
	st := openInternal(t)
	id, err := st.CreateCampaign(ctx, store.Campaign{Name: "d", CSVHash: "d", Template: "t", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportBatch(ctx, id, []store.Recipient{{Line: 2, Phone: "+9"}, {Line: 3, Phone: "+9"}}, nil); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := st.ImportDuplicates(ctx, id, func([]store.Duplicate) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("ImportDuplicates = %v, want fn's error", err)
	}
	var temps int
	if err := st.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM temp.sqlite_master`).Scan(&temps); err != nil || temps != 0 {
		t.Errorf("%d temporary tables (%v), want 0", temps, err)
	}
	other, err := st.CreateCampaign(ctx, store.Campaign{Name: "e", CSVHash: "e", Template: "t", Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportBatch(ctx, other, []store.Recipient{{Line: 2, Phone: "+9"}, {Line: 3, Phone: "+8"}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishImport(ctx, other, 2); err != nil {
		t.Fatal(err)
	}
	var numbers int
	if err := st.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM campaign_numbers WHERE campaign_id = ?`, other).Scan(&numbers); err != nil || numbers != 2 {
		t.Errorf("%d numbers settled (%v), want 2", numbers, err)
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
