package sqlite

import (
	"context"

	"github.com/whatsend/whatsend/store"
)

// A plain path and sqlite://PATH name a SQLite store (store.Open):
// sqlite://whatsend.db is ./whatsend.db, sqlite:///var/lib/w.db is
// /var/lib/w.db.
func init() {
	b := store.Backend{
		Open: func(ctx context.Context, dsn string) (store.Store, error) {
			st, err := Open(ctx, Path(dsn))
			if err != nil {
				return nil, err
			}
			return st, nil
		},
		OpenReadOnly: func(ctx context.Context, dsn string) (store.Store, error) {
			st, err := OpenReadOnly(ctx, Path(dsn))
			if err != nil {
				return nil, err
			}
			return st, nil
		},
	}
	store.Register("", b)
	store.Register("sqlite", b)
}

// Path returns the file path a SQLite DSN names: the DSN itself, or what
// follows sqlite://.
func Path(dsn string) string {
	if store.Scheme(dsn) == "sqlite" {
		return dsn[len("sqlite://"):]
	}
	return dsn
}
