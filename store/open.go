package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// ErrBadDSN is matched by the error of opening a store whose DSN cannot be
// used as written: an unknown scheme, or a DSN its backend cannot parse.
// Nothing was opened.
var ErrBadDSN = errors.New("malformed store DSN")

// Backend opens the stores of one DSN scheme. Backends register
// themselves (Register) from their package's init, as database/sql
// drivers do, so package store imports none of them.
type Backend struct {
	// Open opens, creating and migrating it when needed, the store the
	// DSN names.
	Open func(ctx context.Context, dsn string) (Store, error)
	// OpenReadOnly opens an existing store for reading only (reports): it
	// never takes a write lock. A DSN that names no store yet gives an
	// error matching fs.ErrNotExist.
	OpenReadOnly func(ctx context.Context, dsn string) (Store, error)
}

var (
	backendsMu sync.RWMutex
	backends   = map[string]Backend{}
)

// Register makes a backend available for a DSN scheme ("postgres" for
// postgres://...); the scheme "" is a plain path. It panics when the
// scheme is registered twice.
func Register(scheme string, b Backend) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	if _, dup := backends[scheme]; dup {
		panic("store: Register called twice for scheme " + scheme)
	}
	backends[scheme] = b
}

// schemeRE matches the scheme of a URL-shaped DSN.
var schemeRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9+.-]*)://`)

// Scheme returns the scheme of a DSN in lower case: "postgres" for
// postgres://..., "" for a plain path.
func Scheme(dsn string) string {
	m := schemeRE.FindStringSubmatch(dsn)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

func backend(dsn string) (Backend, error) {
	scheme := Scheme(dsn)
	backendsMu.RLock()
	b, ok := backends[scheme]
	var known []string
	for s := range backends {
		if s != "" {
			known = append(known, s+"://")
		}
	}
	backendsMu.RUnlock()
	if !ok {
		slices.Sort(known)
		return Backend{}, fmt.Errorf("store %s: unknown scheme %q (want a file path or one of %s): %w",
			Redact(dsn), scheme, strings.Join(known, ", "), ErrBadDSN)
	}
	return b, nil
}

// Open opens the store a DSN names: a plain path or sqlite://PATH is a
// SQLite file, postgres://... a PostgreSQL database, each through the
// backend registered for its scheme.
func Open(ctx context.Context, dsn string) (Store, error) {
	b, err := backend(dsn)
	if err != nil {
		return nil, err
	}
	return b.Open(ctx, dsn)
}

// OpenReadOnly opens an existing store for reading only; see
// Backend.OpenReadOnly.
func OpenReadOnly(ctx context.Context, dsn string) (Store, error) {
	b, err := backend(dsn)
	if err != nil {
		return nil, err
	}
	return b.OpenReadOnly(ctx, dsn)
}

// passwordRE finds a password in a DSN that does not parse as a URL, and
// in a key=value DSN.
var (
	userinfoRE = regexp.MustCompile(`(://[^:/@]*:).*@`)
	passwordRE = regexp.MustCompile(`(?i)(password=)('[^']*'|[^&\s]*)`)
)

// Redact returns the DSN with its password, if any, replaced by xxxxx: the
// form every message, log line and report shows.
func Redact(dsn string) string {
	if Scheme(dsn) == "" {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil {
		s := u.Redacted()
		return passwordRE.ReplaceAllString(s, "${1}xxxxx")
	}
	s := userinfoRE.ReplaceAllString(dsn, "${1}xxxxx@")
	return passwordRE.ReplaceAllString(s, "${1}xxxxx")
}
