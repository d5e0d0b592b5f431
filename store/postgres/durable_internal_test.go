package postgres

import (
	"testing"

	"github.com/whatsend/whatsend/store/postgres/pgtest"
)

// Every connection commits synchronously (a commit is on disk before the
// call returns) even when the DSN asks otherwise, and a read-only store's
// transactions are read-only.
func TestSessionSettings(t *testing.T) {
	dsn := pgtest.DSN(t) + "&synchronous_commit=off"
	st, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ro, err := OpenReadOnly(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	for _, c := range []struct {
		s       *Store
		setting string
		want    string
	}{
		{st, "synchronous_commit", "on"},
		{st, "default_transaction_read_only", "off"},
		{ro, "synchronous_commit", "on"},
		{ro, "default_transaction_read_only", "on"},
	} {
		var got string
		if err := c.s.pool.QueryRow(t.Context(), "SHOW "+c.setting).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("read-only %v: %s = %s, want %s", c.s.readOnly, c.setting, got, c.want)
		}
	}
}
