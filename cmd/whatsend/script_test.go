package main

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run the whatsend command in-process.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"whatsend": func() { os.Exit(run()) },
	})
}

// TestScripts runs the end-to-end CLI scripts in testdata/script.
//
// Besides the standard commands, scripts have:
//
//	exits CODE PROG [ARGS...]   run PROG and fail unless it exits with CODE
//
// updateScripts rewrites the scripts' expected files (cmp targets) from
// what the commands print: go test ./cmd/whatsend -run TestScripts -update
var update = flag.Bool("update", false, "rewrite testdata/script files from actual output")

func TestScripts(t *testing.T) {
	testdata, err := filepath.Abs("../../testdata")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join(testdata, "script"),
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("TESTDATA", testdata)
			env.Setenv("WHATSEND_DB", filepath.Join(env.WorkDir, "whatsend.db"))
			env.Setenv("WHATSEND_NOW", "2026-03-02T09:00:00Z")
			env.Setenv("TZ", "UTC") // times shown to a person are local: make them the same everywhere
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits": cmdExits,
		},
	})
}

func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}
