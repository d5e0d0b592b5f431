package store

import (
	"cmp"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migration is one numbered schema step of a backend: a file named
// NNN_what.sql, applied once, in version order, with its version recorded in
// the backend's schema_version table.
type Migration struct {
	Version int
	Name    string // the file name, for errors
	SQL     string
}

// ReadMigrations reads a backend's embedded migrations (dir/*.sql) in
// version order. A file whose name does not start with a number is an
// error, as is a version given twice.
func ReadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, err
	}
	ms := make([]Migration, 0, len(names))
	for _, name := range names {
		base := path.Base(name)
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: bad version", base)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: base, SQL: string(body)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return cmp.Compare(a.Version, b.Version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s: the same version", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// LatestVersion is the newest schema a set of migrations makes: what a
// store of a newer version is refused against.
func LatestVersion(ms []Migration) int {
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}
