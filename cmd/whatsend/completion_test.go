package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Completion offers the store's campaign names (without creating a store
// where there is none) and the values of word-valued flags.
func TestCompletion(t *testing.T) {
	p := newProc(t, nil)
	complete := func(args ...string) []string {
		t.Helper()
		if code := p.exec(append([]string{"__complete"}, args...)...); code != 0 {
			t.Fatalf("__complete %v exited %d\n%s", args, code, &p.stderr)
		}
		return strings.Split(strings.TrimSpace(p.stdout.String()), "\n")
	}
	if got := complete("status", ""); len(got) != 1 || got[0] != ":4" {
		t.Errorf("names without a store: %q, want none", got)
	}
	if _, err := os.Stat(filepath.Join(p.dir, "whatsend.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("completion created a store (%v)", err)
	}
	csv := writeCSV(t, p.dir, 3, 0)
	if code := p.exec("run", csv, "--template", "order_update", "--lang", "en_US", "--params", "name,order_id", "--simulate", "--name", "Pedidos prontos - dezembro"); code != 0 && code != exitMoreWork {
		t.Fatalf("run exited %d\n%s", code, &p.stderr)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"resume", "Ped"}, "Pedidos prontos - dezembro\n:4"},
		{[]string{"campaign", "cancel", ""}, "Pedidos prontos - dezembro\n:4"},
		{[]string{"report", "--format", ""}, "text\njson\ncsv\nhtml\n:4"},
		{[]string{"status", "--log-format", ""}, "text\njson\n:4"},
		{[]string{"sim", "--throughput", ""}, "STANDARD\nHIGH\n:4"},
	} {
		if got := strings.Join(complete(tc.args...), "\n"); got != tc.want {
			t.Errorf("complete %q = %q, want %q", tc.args, got, tc.want)
		}
	}
}
