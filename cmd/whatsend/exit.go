package main

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
)

// Exit codes (DESIGN.md "Exit codes").
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitPaused      = 3
	exitBusy        = 4
	exitMoreWork    = 10
	exitInterrupted = 128 // + signal number: 130 SIGINT, 143 SIGTERM
)

// interruptedError is the cause of the root context's cancellation when a
// signal arrives, so the exit code can tell SIGINT from SIGTERM.
type interruptedError struct{ sig syscall.Signal }

func (e *interruptedError) Error() string { return "interrupted (" + signalName(e.sig) + ")" }

// signalName is a signal as a person types it: SIGINT, SIGTERM.
func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return fmt.Sprintf("signal %d", int(s))
}

// usageError is a bad flag, argument or environment: exit 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// exitCode maps an error to the process exit code, in one place.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	if ie, ok := errors.AsType[*interruptedError](err); ok {
		return exitInterrupted + int(ie.sig)
	}
	if _, ok := errors.AsType[*usageError](err); ok {
		return exitUsage
	}
	if _, ok := errors.AsType[*store.LeaseHeldError](err); ok {
		return exitBusy
	}
	switch {
	case errors.Is(err, campaign.ErrRefused), errors.Is(err, store.ErrIncompatible), errors.Is(err, store.ErrInaccessible):
		return exitUsage
	case errors.Is(err, campaign.ErrPaused):
		return exitPaused
	case errors.Is(err, campaign.ErrBusy):
		return exitBusy
	case errors.Is(err, campaign.ErrMoreWork):
		return exitMoreWork
	case errors.Is(err, context.Canceled):
		return exitInterrupted + int(syscall.SIGINT)
	}
	return exitError
}
