package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/whatsend/whatsend/store"
)

func TestScheme(t *testing.T) {
	for dsn, want := range map[string]string{
		"whatsend.db":                      "",
		"/var/lib/whatsend/w.db":           "",
		"./dir:with:colons/w.db":           "",
		"sqlite://w.db":                    "sqlite",
		"sqlite:///var/lib/w.db":           "sqlite",
		"postgres://u@h/db":                "postgres",
		"PostgreSQL://u@h/db":              "postgresql",
		"postgres+ssl://u:p@h:5432/db?x=y": "postgres+ssl",
	} {
		if got := store.Scheme(dsn); got != want {
			t.Errorf("Scheme(%q) = %q, want %q", dsn, got, want)
		}
	}
}

func TestRedact(t *testing.T) {
	for dsn, want := range map[string]string{
		"whatsend.db":            "whatsend.db",
		"postgres://u@h:5432/db": "postgres://u@h:5432/db",
		"postgres://u:secret@h:5432/db?sslmode=disable":  "postgres://u:xxxxx@h:5432/db?sslmode=disable",
		"postgres://u@h/db?password=secret&sslmode=off":  "postgres://u@h/db?password=xxxxx&sslmode=off",
		"postgres://u:sec@ret@h:notaport/db":             "postgres://u:xxxxx@h:notaport/db",
		"postgres://u:secret@h:notaport/db?password=pw2": "postgres://u:xxxxx@h:notaport/db?password=xxxxx",
	} {
		got := store.Redact(dsn)
		if got != want {
			t.Errorf("Redact(%q) = %q, want %q", dsn, got, want)
		}
		if strings.Contains(got, "secret") || strings.Contains(got, "pw2") {
			t.Errorf("Redact(%q) = %q shows the password", dsn, got)
		}
	}
}

func TestOpenUnknownScheme(t *testing.T) {
	_, err := store.Open(t.Context(), "mysql://u:secret@h/db")
	if !errors.Is(err, store.ErrBadDSN) {
		t.Fatalf("Open(mysql://...) = %v, want ErrBadDSN", err)
	}
	if strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), `"mysql"`) {
		t.Errorf("error %q: want the scheme named and no password", err)
	}
	if _, err := store.OpenReadOnly(t.Context(), "mysql://h/db"); !errors.Is(err, store.ErrBadDSN) {
		t.Errorf("OpenReadOnly(mysql://...) = %v, want ErrBadDSN", err)
	}
}
