package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/campaign/report"
	"github.com/whatsend/whatsend/store"
)

type retryOptions struct {
	failed bool
	codes  []int
	api    apiOptions
	exec   execOptions
}

func newRetryCmd(a *app) *cobra.Command {
	o := &retryOptions{}
	cmd := &cobra.Command{
		Use:   "retry [CAMPAIGN] --failed [--codes 131026,131000]",
		Short: "Send again to the failed recipients whose error may pass",
		Long: `Retry re-queues a campaign's failed recipients whose error code is
retryable, as one recorded retry run, then sends them like resume does, with
the campaign's stored settings. CAMPAIGN is its id or name; without it, the
most recent campaign. Re-queued recipients get a fresh attempt budget
(--max-attempts, --defer-days) and exactly the parameters the CSV gave.

Retryable codes, by default all of them: the transient ones whose attempts
ran out (131056 pair rate, 130429 throughput, 131000, 131016, 131057,
133004, 1, 2, 4, 80007, 80008), 131049 once its deferrals ran out, and 131026
undeliverable (the user may install or update WhatsApp later). Never
retryable: template, parameter, policy, permission and account errors, 131050
(the user stopped marketing messages) and the other final recipient errors;
--codes naming one of them is refused (exit 2). --codes limits the retry to
those codes.

Skipped recipients are never retried; a failed recipient whose number is on
the opt-out list now stays failed. Each retry run has its own line in the
report: when, how many re-queued by code, and what became of them.

Exit status: as resume: 0 finished (or nothing to retry); 3 paused; 4 busy;
10 stopped with work left; 130/143 interrupted; 2 usage error, a code that is
not retryable, or a cancelled campaign; 1 unexpected error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRetry(cmd, a, o, optionalArg(args))
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.failed, "failed", false, "re-queue the failed recipients whose code is retryable (required)")
	f.IntSliceVar(&o.codes, "codes", nil, "only failed recipients with these codes, e.g. 131026,131000")
	f.StringVar(&o.api.tokenFile, "token-file", "", "read the access token from this file")
	addExecFlags(cmd, &o.exec)
	return cmd
}

func runRetry(cmd *cobra.Command, a *app, o *retryOptions, arg string) error {
	ctx := cmd.Context()
	if !o.failed {
		return usagef("retry: say what to retry: --failed")
	}
	for _, c := range o.codes {
		if !campaign.Retryable(c) {
			return usagef("--codes %d: not retryable (%s); retryable codes are %s", c, codeMeaning(c), joinInts(campaign.RetryableCodes()))
		}
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := findCampaign(ctx, st, arg)
	if err != nil {
		return err
	}
	s, err := campaign.DecodeSettings(c.Settings)
	if err != nil {
		return err
	}
	// The client first: a missing token is refused before anything changes.
	client, err := a.newClient(s, o.api)
	if err != nil {
		return err
	}
	run, err := campaign.Requeue(ctx, a.lifecycleDeps(st), c.ID, campaign.RetryOptions{Codes: o.codes})
	if err != nil {
		return err
	}
	if run.Requeued == 0 {
		fmt.Fprintf(a.out, "campaign %s (id %d): nothing to retry: no failed recipient with a retryable code%s\n", c.Name, c.ID, optedOutNote(run))
		return nil
	}
	fmt.Fprintf(a.out, "campaign %s (id %d): retry %d: %d re-queued (%s)%s\n",
		c.Name, c.ID, run.Number, run.Requeued, report.CodeCounts(run.ByCode), optedOutNote(run))
	if c, err = st.Campaign(ctx, c.ID); err != nil {
		return err
	}
	return a.drive(cmd, st, client, c, o.exec)
}

func optedOutNote(run store.RetryRun) string {
	if run.OptedOut == 0 {
		return ""
	}
	return fmt.Sprintf("; %d opted out, not re-queued", run.OptedOut)
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ",")
}
