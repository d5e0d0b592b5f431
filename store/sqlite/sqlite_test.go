package sqlite_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
	"github.com/whatsend/whatsend/store/storetest"
)

func openTemp(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) { storetest.Run(t, openTemp) }

func TestFileModeAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("database file mode %o, want 600", mode)
	}
	// Re-opening applies no migration twice.
	st, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st.Close()
	ro, err := sqlite.OpenReadOnly(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := ro.CreateCampaign(t.Context(), store.Campaign{Name: "x"}); err == nil {
		t.Error("read-only store accepted a write")
	}
	if _, err := ro.Campaigns(t.Context()); err != nil {
		t.Errorf("read-only store cannot read: %v", err)
	}
}

func TestTwoProcessesShareOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	a, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	done := make(chan error, 2)
	for i, st := range []*sqlite.Store{a, b} {
		go func() {
			for j := range 50 {
				if err := st.AddOptOut(t.Context(), "+"+string(rune('a'+i))+string(rune('0'+j%10))+string(rune('0'+j/10)), "manual", t0()); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
	}
	list, _ := a.OptOuts(t.Context())
	if len(list) != 100 {
		t.Errorf("%d opt-outs, want 100", len(list))
	}
}

func t0() time.Time { return time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC) }
