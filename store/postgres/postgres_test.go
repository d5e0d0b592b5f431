package postgres_test

import (
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
