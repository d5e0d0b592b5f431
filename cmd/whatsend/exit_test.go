package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
)

// Every way a command ends maps to the exit code DESIGN.md and the README
// promise, also when wrapped as the engine and the commands wrap them.
func TestExitCode(t *testing.T) {
	held := &store.LeaseHeldError{Holder: store.Lease{Key: "campaign:1", PID: 42, Host: "h"}}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"finished", nil, 0},
		{"unexpected", errors.New("disk on fire"), 1},
		{"usage", usagef("--rate: want 1 to 1000"), 2},
		{"refused CSV", fmt.Errorf("import: %w", &campaign.ImportError{File: "a.csv", Err: errors.New("no phone column")}), 2},
		{"newer store", fmt.Errorf("open: %w", store.ErrIncompatible), 2},
		{"unwritable store", fmt.Errorf("open: %w", store.ErrInaccessible), 2},
		{"paused", fmt.Errorf("campaign x: %w: 131056 share", campaign.ErrPaused), 3},
		{"busy, sentinel", fmt.Errorf("%w: someone", campaign.ErrBusy), 4},
		{"busy, lease error through the engine", fmt.Errorf("campaign x: %w", fmt.Errorf("%w: %w", campaign.ErrBusy, held)), 4},
		{"busy, lease error alone", held, 4},
		{"work left", fmt.Errorf("%w: allowance used", campaign.ErrMoreWork), 10},
		{"SIGINT", &interruptedError{sig: syscall.SIGINT}, 130},
		{"SIGTERM", fmt.Errorf("run: %w", &interruptedError{sig: syscall.SIGTERM}), 143},
		{"cancelled", context.Canceled, 130},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("%s: exitCode(%v) = %d, want %d", tc.name, tc.err, got, tc.want)
		}
	}
}

// The version names the build, never a placeholder, and -ldflags wins.
func TestVersionString(t *testing.T) {
	if v := versionString(); v == "" || v == "dev" {
		t.Errorf("versionString() = %q", v)
	}
	defer func(old string) { version = old }(version)
	version = "v1.2.3"
	if v := versionString(); !strings.HasPrefix(v, "v1.2.3") {
		t.Errorf("with -X main.version=v1.2.3: %q", v)
	}
	if got := (&interruptedError{sig: syscall.SIGTERM}).Error(); got != "interrupted (SIGTERM)" {
		t.Errorf("interrupted error reads %q", got)
	}
}
