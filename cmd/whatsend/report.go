package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/campaign/report"
	"github.com/whatsend/whatsend/store"
)

// reportOptions are the flags of whatsend report.
type reportOptions struct {
	format string
	output string
	only   []string
	mask   bool
}

func newReportCmd(a *app) *cobra.Command {
	o := &reportOptions{}
	cmd := &cobra.Command{
		Use:   "report [CAMPAIGN] [--format text|json|csv|html] [-o FILE]",
		Short: "Report what a campaign did, as text, JSON, CSV or an HTML page",
		Long: `Report shows what happened to a campaign (given by id or name; the most
recent one by default): its settings, state and pauses with their reasons
and figures, the totals, failures by error code with Meta's meaning and
what to do, skips by reason, the share of 131056 (pair rate limit) answers,
the throughput achieved, the per-batch table and the messaging-limit
allowance used in the last 24 h.

The report only reads the store: it can be run while the campaign is being
sent, paused, stopped or finished, and never holds up a run in progress.

The totals partition the CSV's data rows:
  recipients = sent + failed + skipped + uncertain + cancelled + expired
               + in flight + remaining
where delivered and read are part of sent, skipped counts rows skipped at
import and before sending, cancelled those not sent because the campaign
was cancelled, expired those not sent before --not-after, in flight those
a stopped run left with their request out (the next run settles them),
and remaining is pending + retry + deferred.
Each retry run (whatsend retry) has its own line: when, how many were
re-queued by code, and what became of them. Uncertain recipients may have received the message; they are
not sent again unless 'whatsend resume --resend-uncertain'.

Formats:
  text   a summary and tables, for a person (default)
  json   one object, for scripts. Keys include: campaign, campaign_id, state,
         pause_reason, template, language, settings, generated_at,
         recipients, sent, delivered, read, replied, failed, skipped,
         uncertain, cancelled, expired, in_flight, remaining,
         remaining_by_state, attempts, rate_limited
         (attempts answered 131056), rate_limited_share (0 to 1),
         failed_by_code (code: count), failures (code, count, meaning,
         advice), skipped_by_reason (reason: count), skipped_rows,
         to_check (uncertain and failed recipients), pauses (at, reason,
         detail, resumed_at), retries (number, at, requeued, by_code,
         opted_out, outcome), batches (batch, start, size, sent, failed,
         rate_limited), throughput (overall_per_second, peak_per_minute,
         active_seconds, first_send, last_send), allowance (limit, allowed,
         used_last_24h, left, frees_next, warmup_day) and timeline (per
         minute). The lists skipped_rows and to_check hold the first 100
         (the text format lists 20); the CSV export has every row.
  csv    one row per CSV data row, skipped rows included, in line order:
         line, phone, the --params columns under their own names, state,
         reason (why skipped), attempts, error_code, error_meaning, detail,
         wamid, sent_at, delivery. With its phone and parameter columns,
         an export (say --only failed) can be sent again with whatsend run.
         Cells a spreadsheet would run as a formula are prefixed with '
         (phone numbers such as +5511987654321 are left as they are).
         Streamed: any campaign size.
  html   one self-contained page (inline CSS and SVG, no script, nothing
         fetched) with the figures, sends over time, cumulative progress,
         the 131056 share against the 2 % and 5 % lines with pauses marked,
         and failures by code; readable on a phone and printed.

--only failed,uncertain,skipped keeps only recipients in those states in the
CSV export (also: sent, remaining, pending, retry, deferred, in_flight).
--mask masks phone numbers in every format, keeping the country code and
the last two digits (+55*********21).
-o FILE writes the report to FILE (through a temporary file and a rename,
mode 0600) instead of standard output.

Exit status: 0 report written; 2 unknown campaign, no store, a store this
whatsend cannot use (newer schema, not a whatsend store), or a bad flag;
1 on an unexpected error.`,
		Example: `  whatsend report
  whatsend report spring-sale --format html -o spring-sale.html
  whatsend report 3 --format csv --only failed -o retry.csv
  whatsend report --format json --mask | jq .rate_limited_share`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			return runReport(cmd.Context(), a, o, arg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "text", "text, json, csv or html")
	f.StringVarP(&o.output, "output", "o", "", "write to FILE instead of standard output")
	f.StringSliceVar(&o.only, "only", nil, "CSV: only recipients in these states, e.g. failed,uncertain,skipped")
	f.BoolVar(&o.mask, "mask", false, "mask phone numbers (country code and last 2 digits kept)")
	return cmd
}

func runReport(ctx context.Context, a *app, o *reportOptions, arg string) error {
	switch o.format {
	case "text", "json", "csv", "html":
	default:
		return usagef("--format: want text, json, csv or html, got %q", o.format)
	}
	only, err := report.ParseStates(o.only)
	if err != nil {
		return usagef("--only: %v", err)
	}
	if len(only) > 0 && o.format != "csv" {
		return usagef("--only filters the CSV export: add --format csv")
	}
	if o.output != "" {
		if fi, err := os.Stat(filepath.Dir(o.output)); err != nil || !fi.IsDir() {
			return usagef("-o %s: the folder %s does not exist", o.output, filepath.Dir(o.output))
		}
	}
	// Read only: a report never takes the write lock a run needs.
	st, err := store.OpenReadOnly(ctx, a.dbPath)
	if errors.Is(err, fs.ErrNotExist) {
		return usagef("no store at %s: start a campaign with whatsend run (or set --db)", store.Redact(a.dbPath))
	}
	if err != nil {
		return storeOpenError(a.dbPath, err)
	}
	defer st.Close()
	c, err := findCampaign(ctx, st, arg)
	if err != nil {
		return err
	}
	write, err := reportWriter(ctx, st, c, o, only, a.now())
	if err != nil {
		return err
	}
	if o.output == "" {
		return write(a.out)
	}
	if err := report.WriteFile(o.output, write); err != nil {
		return err
	}
	fmt.Fprintf(a.errOut, "report written to %s\n", o.output)
	return nil
}

// reportWriter builds what the format needs and returns the function that
// writes it. The CSV export is streamed from the store as it is written.
func reportWriter(ctx context.Context, st report.Store, c store.Campaign, o *reportOptions, only []store.State, now time.Time) (func(io.Writer) error, error) {
	if o.format == "csv" {
		return func(w io.Writer) error {
			return report.WriteCSV(ctx, st, c.ID, w, report.CSVOptions{Only: only, Mask: o.mask})
		}, nil
	}
	r, err := report.Build(ctx, st, c.ID, now, report.Options{Mask: o.mask})
	if err != nil {
		return nil, err
	}
	switch o.format {
	case "json":
		return r.WriteJSON, nil
	case "html":
		return r.WriteHTML, nil
	}
	return r.WriteText, nil
}
