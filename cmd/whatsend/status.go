package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/campaign/report"
	"github.com/whatsend/whatsend/store"
)

func newStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status [CAMPAIGN]",
		Short: "Show campaigns, their progress, pauses and allowance",
		Long: `Status shows every campaign (or the one named by id or name): its state,
progress by recipient state, delivery figures, why it is paused, and per
messaging-limit scope the warm-up day and the unique recipients used in the
last 24 h.

Exit status: 0; 2 when the campaign is unknown; 1 on an unexpected error.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			var cs []store.Campaign
			if len(args) == 1 {
				c, err := findCampaign(ctx, st, args[0])
				if err != nil {
					return err
				}
				cs = []store.Campaign{c}
			} else if cs, err = st.Campaigns(ctx); err != nil {
				return err
			}
			if len(cs) == 0 {
				fmt.Fprintln(a.out, "no campaigns yet")
				return nil
			}
			return writeStatus(ctx, a.out, st, cs, a.now())
		},
	}
}

func writeStatus(ctx context.Context, w io.Writer, st store.Store, cs []store.Campaign, now time.Time) error {
	scopes := map[string]bool{}
	for _, c := range cs {
		sum, err := st.Summary(ctx, c.ID)
		if err != nil {
			return err
		}
		by := sum.ByState
		fmt.Fprintf(w, "%d  %s  [%s]  template %s/%s  number %s\n", c.ID, c.Name, c.State, c.Template, c.Language, c.PhoneNumberID)
		fmt.Fprintf(w, "    %d rows: %d sent (%d delivered, %d read, %d replied), %d failed, %d skipped, %d deferred, %d uncertain, %d remaining\n",
			c.Rows, by[store.StateSent], sum.ByDelivery[store.DeliveryDelivered]+sum.ByDelivery[store.DeliveryRead],
			sum.ByDelivery[store.DeliveryRead], sum.Replied, by[store.StateFailed],
			by[store.StateSkipped]+sum.ImportSkipped, by[store.StateDeferred], by[store.StateUncertain],
			by[store.StatePending]+by[store.StateRetry]+by[store.StateInFlight]+by[store.StateDeferred])
		if c.State == store.CampaignPaused {
			fmt.Fprintf(w, "    paused: %s\n", c.PauseReason)
		}
		if next, ok, err := st.NextDue(ctx, c.ID); err == nil && ok && c.State != store.CampaignFinished {
			fmt.Fprintf(w, "    next retry or deferral due %s\n", next.UTC().Format(time.RFC3339))
		}
		scopes[c.Scope] = true
	}
	for _, scope := range sortedKeys(scopes) {
		used, err := st.WindowCount(ctx, scope, now.Add(-campaign.Window))
		if err != nil {
			return err
		}
		line := fmt.Sprintf("scope %s: %d unique recipients in the last 24 h", scope, used)
		if start, ok, err := st.WarmupStart(ctx, scope); err == nil && ok {
			line += fmt.Sprintf("; warm-up day %d since %s", campaign.WarmupDay(start, now), start.UTC().Format(time.DateOnly))
		}
		fmt.Fprintln(w, line)
	}
	return nil
}

// writeReports writes the JSON and HTML reports beside the store and prints
// their paths. A failure is reported but does not change the exit code.
func (a *app) writeReports(cmd *cobra.Command, st store.Store, c store.Campaign) {
	if c.ID == 0 {
		return
	}
	ctx := context.WithoutCancel(cmd.Context())
	jsonPath, htmlPath, err := report.WriteFiles(ctx, st, c.ID, a.reportDir(), a.now())
	if err != nil {
		fmt.Fprintf(a.errOut, "whatsend: writing reports: %v\n", err)
		return
	}
	fmt.Fprintf(a.out, "reports: %s %s\n", jsonPath, htmlPath)
}
