package main

import (
	"cmp"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/campaign"
)

func newCampaignSetCmd(a *app) *cobra.Command {
	o := &settingsFlags{}
	cmd := &cobra.Command{
		Use:   "set CAMPAIGN --rate N [--tier N] [...]",
		Short: "Change a campaign's pacing, limit, guard, retry, warm-up or send-window settings",
		Long: `Set changes settings stored with a campaign (its id or name), without its CSV:
the same as 'whatsend run FILE ... --update'. Only the flags given are
changed; the others keep their stored value.

Settings that are safe mid-campaign can change: --rate, --tier,
--daily-limit, --batch-size, --batch-interval, --pair-interval,
--max-attempts, --defer-days, --guard-window, --guard-min-sample,
--slow-share, --pause-share, --warmup-start, --warmup-days,
--max-unanswered, --window, --days, --tz, --not-after, --settle-after,
--waba-id and --api-version. The others (--template,
--lang, --params, --phone-column, --default-region and where the campaign
sends: --simulate, --api-url, --phone-number-id, --business-id) are refused:
they need a new campaign ('whatsend run FILE ... --name NEW').

A run in progress read its settings when it started: it picks the change
up at its next start (the next 'whatsend resume', or cron's resume --all).

Exit status: 0 changed (or nothing to change); 2 unknown campaign, a value
out of range, or a setting that cannot change mid-campaign; 1 unexpected
error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runCampaignSet(cmd, a, o, args[0]) },
	}
	o.addFlags(cmd)
	return cmd
}

func runCampaignSet(cmd *cobra.Command, a *app, o *settingsFlags, arg string) error {
	ctx := cmd.Context()
	gave, given := o.settings(cmd)
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := findCampaign(ctx, st, arg)
	if err != nil {
		return err
	}
	stored, err := campaign.DecodeSettings(c.Settings)
	if err != nil {
		return err
	}
	// The flags' ranges; template and language, when not given, are the
	// campaign's.
	check := gave
	check.Template, check.Language = cmp.Or(gave.Template, stored.Template), cmp.Or(gave.Language, stored.Language)
	if err := check.ValidateGiven(given, a.now()); err != nil {
		return &usageError{err}
	}
	if len(campaign.Changes(stored, gave, given)) == 0 {
		fmt.Fprintf(a.out, "campaign %s (id %d)%s: nothing to change\n", c.Name, c.ID, rehearsalMark(stored))
		return nil
	}
	if _, err := a.updateSettings(ctx, a.out, st, c, stored, gave, given); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "campaign %s (id %d)%s: settings changed; a run in progress picks them up at its next start\n", c.Name, c.ID, rehearsalMark(stored))
	return nil
}
