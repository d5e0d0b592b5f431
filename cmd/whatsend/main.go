// Command whatsend sends a WhatsApp Business template campaign from a CSV
// file through Meta's Cloud API, paced under Meta's limits, checkpointed in
// SQLite, and stopped by a guard before the number is hurt.
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(run()) }

// run executes the command line and returns the process exit code. It is
// separate from main so testscript can run it in-process.
func run() int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			cancel(&interruptedError{sig: s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()

	stopProfile := startProfile(os.Getenv)
	defer stopProfile()
	app := newApp(os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	err := newRootCmd(app).ExecuteContext(ctx)
	if err != nil && !app.ran {
		if _, ok := errors.AsType[*usageError](err); !ok {
			err = &usageError{err}
		}
	}
	if err == nil && context.Cause(ctx) != nil && !app.endsOnSignal {
		err = context.Cause(ctx)
	}
	return app.finish(err)
}
