package store

import (
	"testing"
	"testing/fstest"
)

func TestReadMigrations(t *testing.T) {
	ms, err := ReadMigrations(fstest.MapFS{
		"m/010_ten.sql":  {Data: []byte("ten")},
		"m/002_two.sql":  {Data: []byte("two")},
		"m/001_init.sql": {Data: []byte("one")},
		"m/notes.txt":    {Data: []byte("ignored")},
	}, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Version != 1 || ms[1].SQL != "two" || ms[2].Name != "010_ten.sql" || LatestVersion(ms) != 10 {
		t.Errorf("ReadMigrations = %+v", ms)
	}
	for _, bad := range []fstest.MapFS{
		{"m/x_init.sql": {Data: []byte("x")}},
		{"m/002_a.sql": {Data: []byte("a")}, "m/002_b.sql": {Data: []byte("b")}},
	} {
		if _, err := ReadMigrations(bad, "m"); err == nil {
			t.Errorf("ReadMigrations(%v) accepted it", bad)
		}
	}
}
