package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/whatsend/whatsend/store"
)

// An import loads with a large page cache and unsynced commits; once it
// is finished (or refused and deleted) the writer is back to synchronous
// FULL, which every checkpoint relies on, and to the small cache.
func TestImportModeIsRestored(t *testing.T) {
	ctx := t.Context()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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
	if s, c := pragmas(); s != 2 || c != -defaultCacheKiB {
		t.Fatalf("after Open: synchronous %d, cache_size %d; want 2 (FULL), -%d", s, c, defaultCacheKiB)
	}
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
	}
}
