// Package pgtest gives tests a PostgreSQL store DSN of their own: a fresh
// schema on the test server, dropped when the test ends, so parallel
// packages and repeated runs never see each other's rows.
//
// The server is WHATSEND_TEST_POSTGRES (a DSN) when set, else
// DefaultDSN. When none answers, the test is skipped and says so; under
// CI=true, or when WHATSEND_TEST_POSTGRES is set, it fails instead.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/whatsend/whatsend/store"
)

// DefaultDSN is the test server of this machine and CI: trust
// authentication, user postgres, database test.
const DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// defaultDSN is DefaultDSN; this package's tests point it elsewhere.
var defaultDSN = DefaultDSN

// Server returns the DSN of the test server, without a schema. It skips
// the test when no server answers, unless CI=true or
// WHATSEND_TEST_POSTGRES is set: then the test fails.
func Server(t testing.TB) string {
	t.Helper()
	dsn, must := os.Getenv("WHATSEND_TEST_POSTGRES"), true
	if dsn == "" {
		dsn, must = defaultDSN, os.Getenv("CI") == "true"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if must {
			t.Fatalf("PostgreSQL test server %s: %v", store.Redact(dsn), err)
		}
		t.Skipf("PostgreSQL suite skipped: no server answers at %s (set WHATSEND_TEST_POSTGRES to a DSN to run it): %v", store.Redact(dsn), err)
	}
	conn.Close(ctx)
	return dsn
}

// DSN returns a DSN naming a fresh schema on the test server (see Server);
// the schema is dropped when the test ends.
func DSN(t testing.TB) string {
	t.Helper()
	server := Server(t)
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "whatsend_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return WithSchema(t, server, schema)
}

// WithSchema returns dsn with its schema parameter set.
func WithSchema(t testing.TB, dsn, schema string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("PostgreSQL test DSN: %v", err)
	}
	q := u.Query()
	q.Set("schema", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
