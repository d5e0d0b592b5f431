package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

// app carries what every command shares: the I/O streams, the environment,
// and the global options. Nothing below cmd/ names os.Stdout.
type app struct {
	in     io.Reader
	out    io.Writer
	errOut io.Writer
	getenv func(string) string

	dbPath    string
	logFormat string
	logger    *slog.Logger
	now       func() time.Time // the CLI's clock (WHATSEND_NOW aware)
	ran       bool             // a command.s RunE started (see markRuns)
	rehearsal *rehearsal       // --simulate's in-process simulators and their webhooks (rehearsal.go)
	// endsOnSignal: the command runs until a signal by design (resume
	// --worker), so a signal after a clean handover is exit 0, not 130/143.
	endsOnSignal bool
}

func newApp(in io.Reader, out, errOut io.Writer, getenv func(string) string) *app {
	return &app{in: in, out: out, errOut: errOut, getenv: getenv}
}

// setup builds the logger once the global flags are parsed.
func (a *app) setup() error {
	if a.dbPath == "" {
		a.dbPath = a.getenv("WHATSEND_DB")
	}
	if a.dbPath == "" {
		a.dbPath = "whatsend.db"
	}
	now, err := newClock(a.getenv)
	if err != nil {
		return err
	}
	a.now = now
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch a.logFormat {
	case "", "text":
		a.logger = slog.New(slog.NewTextHandler(a.errOut, opts))
	case "json":
		a.logger = slog.New(slog.NewJSONHandler(a.errOut, opts))
	default:
		return usagef("--log-format: want text or json, got %q", a.logFormat)
	}
	return nil
}

// reportDir is where run and resume write their reports: beside a SQLite
// store, in the working folder for a database server's.
func (a *app) reportDir() string {
	switch store.Scheme(a.dbPath) {
	case "", "sqlite":
		return filepath.Join(filepath.Dir(sqlite.Path(a.dbPath)), "reports")
	}
	return "reports"
}

// journalDir is where runs keep their send journals (WHATSEND_JOURNAL_DIR
// sets it): beside a SQLite store, as <file>.sends; for a database server,
// in the user's cache folder, one folder per database. A run taken over
// on another machine cannot read them: it leaves uncertain what the
// killed run had in flight, as without a journal. An in-memory database
// goes without one.
func (a *app) journalDir() string {
	if dir := a.getenv("WHATSEND_JOURNAL_DIR"); dir != "" {
		return dir
	}
	switch store.Scheme(a.dbPath) {
	case "", "sqlite":
		p, _, _ := strings.Cut(sqlite.Path(a.dbPath), "?")
		if p == "" || strings.Contains(p, ":memory:") || strings.HasPrefix(p, "file:") {
			return ""
		}
		return p + ".sends"
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(store.Redact(a.dbPath)))
	return filepath.Join(cache, "whatsend", "sends", hex.EncodeToString(sum[:8]))
}

// errIsTerminal reports whether stderr is a terminal (progress bar or log lines).
func (a *app) errIsTerminal() bool {
	f, ok := a.errOut.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// finish prints a final error, if any, and returns the exit code.
func (a *app) finish(err error) int {
	code := exitCode(err)
	if err != nil {
		switch code {
		case exitOK:
		case exitMoreWork:
			// The summary already said what is left.
		case exitInterrupted + 2, exitInterrupted + 15:
			fmt.Fprintf(a.errOut, "whatsend: %v; progress saved\n", err)
		default:
			fmt.Fprintf(a.errOut, "whatsend: %v\n", err)
		}
	}
	return code
}

// storeContext names the store in an error that came from it, e.g. "database
// or disk is full", which alone does not say which disk. The ways a command
// ends that are not failures (paused, work left, busy, refused,
// interrupted, a usage error) are returned as they are.
func (a *app) storeContext(err error) error {
	if err == nil || errors.Is(err, campaign.ErrRefused) || errors.Is(err, campaign.ErrBusy) ||
		errors.Is(err, campaign.ErrPaused) || errors.Is(err, campaign.ErrMoreWork) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if _, ok := errors.AsType[*interruptedError](err); ok {
		return err
	}
	if _, ok := errors.AsType[*usageError](err); ok {
		return err
	}
	return fmt.Errorf("store %s: %w", store.Redact(a.dbPath), err)
}
