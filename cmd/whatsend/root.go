package main

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=..."; when it
// is not, versionString reads the module version and the commit that the
// go command records in the binary.
var version = ""

// versionString is what --version and `whatsend version` print: the
// module version, then the commit (with "+dirty" when the tree had
// changes) and its time when the build recorded them.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	v := version
	if v == "" && ok {
		v = info.Main.Version
	}
	if v == "" {
		v = "(devel)"
	}
	if !ok {
		return v
	}
	var rev, at, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		if strings.HasSuffix(v, "+dirty") {
			dirty = "" // the pseudo-version says it already
		}
		v += fmt.Sprintf(" (commit %.12s%s, %s)", rev, dirty, at)
	}
	return v
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit whatsend was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(a.out, "whatsend %s\n", versionString())
			return err
		},
	}
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "whatsend",
		Short: "Send WhatsApp Business template campaigns safely",
		Long: `whatsend sends a WhatsApp Business (Cloud API) template campaign to the
recipients of a CSV file without getting the business number throttled,
downgraded or blocked: it paces itself under Meta's limits, checkpoints every
recipient in SQLite so a crash loses nothing and sends nothing twice, and
pauses itself before the number's quality is hurt.

Exit status:
  0    campaign finished (nothing pending, in flight, retrying or deferred)
  1    unexpected error
  2    usage error or input refused
  3    paused by the guard: needs attention
  4    campaign busy: another process holds its lease
  10   stopped with work left (allowance used up, --max-duration reached)
  130  interrupted by SIGINT, progress saved
  143  interrupted by SIGTERM, progress saved`,
		Version:       versionString(),
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := finiteFloats(cmd); err != nil {
				return err
			}
			return a.setup()
		},
	}
	root.SetIn(a.in)
	root.SetOut(a.out)
	root.SetErr(a.errOut)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{err}
	})
	root.PersistentFlags().StringVar(&a.dbPath, "db", "", "the store: a SQLite file path (or sqlite://PATH) or a postgres:// DSN (env WHATSEND_DB, default ./whatsend.db)")
	root.PersistentFlags().StringVar(&a.logFormat, "log-format", "text", "log format on stderr: text or json")

	root.AddCommand(
		newRunCmd(a),
		newResumeCmd(a),
		newRetryCmd(a),
		newStatusCmd(a),
		newReportCmd(a),
		newValidateCmd(a),
		newSimCmd(a),
		newWebhookCmd(a),
		newOptoutCmd(a),
		newCampaignCmd(a),
		newVersionCmd(a),
	)
	markRuns(a, root)
	addCompletions(a, root)
	return root
}

// markRuns wraps every command's RunE so the app knows a command ran: an
// error cobra returns before that (a wrong argument count, a required flag
// missing, an unknown command) is a usage error, exit 2.
func markRuns(a *app, c *cobra.Command) {
	if run := c.RunE; run != nil {
		c.RunE = func(cmd *cobra.Command, args []string) error {
			a.ran = true
			return run(cmd, args)
		}
	}
	for _, sub := range c.Commands() {
		markRuns(a, sub)
	}
}

// finiteFloats refuses NaN and infinities in every float flag of a command:
// strconv reads "NaN" and "Inf" as numbers, and no whatsend flag means them
// (a NaN rate would also fail to store as JSON).
func finiteFloats(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Value.Type() != "float64" {
			return
		}
		if v, perr := strconv.ParseFloat(f.Value.String(), 64); perr == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			err = usagef("--%s %s: want a finite number", f.Name, f.Value)
		}
	})
	return err
}
