package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
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
			return runStatus(cmd, a, optionalArg(args))
		},
	}
}

// runStatus prints one campaign (arg, an id or name) or, with arg empty,
// every campaign: status and campaign list share it.
func runStatus(cmd *cobra.Command, a *app, arg string) error {
	ctx := cmd.Context()
	// A SQLite store that does not exist is not created by looking at it.
	// Where the store cannot be made (a missing or read-only folder),
	// opening it below says why.
	if store.Scheme(a.dbPath) == "" && syscall.Access(filepath.Dir(a.dbPath), 2 /* W_OK */) == nil {
		if _, err := os.Stat(a.dbPath); errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(a.out, "no store at %s: no campaign has been run with it (whatsend run creates it; --db or WHATSEND_DB names another)\n", a.dbPath)
			if arg != "" {
				return usagef("campaign %s: no store at %s", arg, a.dbPath)
			}
			return nil
		}
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var cs []store.Campaign
	if arg != "" {
		c, err := findCampaign(ctx, st, arg)
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
}

func writeStatus(ctx context.Context, w io.Writer, st report.Store, cs []store.Campaign, now time.Time) error {
	scopes := map[string]store.Campaign{} // scope → its latest campaign
	for _, c := range cs {
		sum, err := st.Summary(ctx, c.ID)
		if err != nil {
			return err
		}
		s, _ := campaign.DecodeSettings(c.Settings) // unreadable: shown unmarked
		fmt.Fprintf(w, "%d  %s%s  [%s]  template %s/%s  number %s\n", c.ID, c.Name, rehearsalMark(s), c.State, c.Template, c.Language, c.PhoneNumberID)
		fmt.Fprintf(w, "    %s\n", figures(c, sum))
		for _, n := range report.NumbersOf(ctx, st, sum) {
			fmt.Fprintf(w, "    number %s\n", n)
		}
		if len(sum.SkippedByReason) > 0 {
			fmt.Fprintf(w, "    skipped: %s\n", countsByKey(sum.SkippedByReason))
		}
		if len(sum.FailedByCode) > 0 {
			fmt.Fprintf(w, "    failed: %s\n", failedByCode(sum.FailedByCode))
		}
		switch c.State {
		case store.CampaignPaused:
			fmt.Fprintf(w, "    paused: %s\n    continue after fixing the cause: whatsend resume %s\n", c.PauseReason, campaign.QuoteArg(c.Name))
		case store.CampaignImporting:
			fmt.Fprintln(w, "    import did not finish: run the same CSV again to import it")
		case store.CampaignCancelled:
			fmt.Fprintf(w, "    cancelled: nothing more is sent; whatsend campaign delete %s removes it\n", campaign.QuoteArg(c.Name))
		}
		writeDrivers(ctx, w, st, c, now)
		if win := campaign.DescribeWindow(s); win != "" {
			fmt.Fprintf(w, "    send window: %s\n", win)
		}
		if end, ok, err := campaign.NotAfter(s.NotAfter, c.CreatedAt); err == nil && ok {
			fmt.Fprintf(w, "    not after: %s\n", campaign.LocalTime(end))
		}
		if sum.ResentAfterSilence > 0 {
			fmt.Fprintf(w, "    resent after silence: %d\n", sum.ResentAfterSilence)
		}
		if next, ok, err := st.NextDue(ctx, c.ID); err == nil && ok && !c.State.Closed() {
			what := "next retry or deferral due"
			if sum.ByState[store.StatePending] > 0 && campaign.DescribeWindow(s) != "" {
				what = "next send window opening or retry due"
			}
			fmt.Fprintf(w, "    %s %s\n", what, campaign.LocalTime(next))
		}
		if prev, ok := scopes[c.Scope]; !ok || c.ID > prev.ID {
			scopes[c.Scope] = c
		}
	}
	for _, scope := range sortedKeys(scopes) {
		if err := writeScope(ctx, w, st, scopes[scope], now); err != nil {
			return err
		}
	}
	return nil
}

// figures is a campaign's partition of its CSV rows, the same in status and
// in a run's summary (and, key for key, in the JSON report): every row is
// counted once; delivered, read and replied are part of sent. In flight
// (a killed run's requests) shows on its own, never inside remaining.
func figures(c store.Campaign, sum store.Summary) string {
	t := report.TotalsOf(c, sum)
	var b strings.Builder
	fmt.Fprintf(&b, "%d rows: %d sent", t.Recipients, t.Sent)
	if t.Delivered+t.Read+t.Replied > 0 {
		fmt.Fprintf(&b, " (%d delivered, %d read, %d replied)", t.Delivered, t.Read, t.Replied)
	}
	fmt.Fprintf(&b, ", %d failed, %d skipped, %d uncertain", t.Failed, t.Skipped, t.Uncertain)
	if t.InFlight > 0 {
		fmt.Fprintf(&b, ", %d in flight (a run stopped with their requests out: the next run settles them)", t.InFlight)
	}
	if t.Cancelled > 0 {
		fmt.Fprintf(&b, ", %d cancelled", t.Cancelled)
	}
	if t.Expired > 0 {
		fmt.Fprintf(&b, ", %d expired (--not-after passed)", t.Expired)
	}
	fmt.Fprintf(&b, ", %d remaining", t.Remaining)
	if n := t.RemainingByState[string(store.StateDeferred)]; n > 0 {
		fmt.Fprintf(&b, " (%d deferred)", n)
	}
	return b.String()
}

// shareLine is the campaign's 131056 share over all its attempts, named as
// such: the guard's pause reason gives the share over its window.
func shareLine(sum store.Summary) string {
	return fmt.Sprintf("131056 answers: %d of %d attempts over the campaign (%.1f%%)", sum.RateLimited, sum.Attempts, campaign.CampaignShare(sum)*100)
}

// writeScope prints a messaging-limit scope's allowance: limit and source,
// warm-up day, used in the last 24 h, left now and the next capacity time.
func writeScope(ctx context.Context, w io.Writer, st report.Store, c store.Campaign, now time.Time) error {
	s, err := campaign.DecodeSettings(c.Settings)
	if err != nil {
		return err
	}
	var phone *store.PhoneRecord
	if p, err := st.Phone(ctx, c.PhoneNumberID); err == nil {
		phone = &p
	}
	ss, err := campaign.ReadScope(ctx, st, s, c.Scope, phone, now)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "scope %s\n", c.Scope)
	if ss.Limit.Users < 0 {
		fmt.Fprintf(w, "    limit: unlimited (from %s)\n", ss.Limit.Source)
	} else {
		fmt.Fprintf(w, "    limit: %d unique recipients per 24 h (from %s)\n", ss.Limit.Users, ss.Limit.Source)
	}
	if ss.WarmupStart.IsZero() {
		fmt.Fprintln(w, "    warm-up: not started (the scope's first send starts it)")
	} else {
		fmt.Fprintf(w, "    warm-up: day %d since %s\n", ss.Day, ss.WarmupStart.UTC().Format(time.DateOnly))
	}
	if ss.Allowed < 0 {
		fmt.Fprintf(w, "    last 24 h: %d unique recipients; no cap\n", ss.Used)
		return nil
	}
	fmt.Fprintf(w, "    last 24 h: %d of %d unique recipients; %d left now\n", ss.Used, ss.Allowed, ss.Left)
	if ss.Left == 0 && !ss.NextFree.IsZero() {
		fmt.Fprintf(w, "    next capacity: %s\n", campaign.LocalTime(ss.NextFree))
	}
	return nil
}

// writeReports writes the JSON and HTML reports beside the store and
// returns their paths. A failure is reported but does not change the exit
// code.
func (a *app) writeReports(cmd *cobra.Command, st report.Store, c store.Campaign) []string {
	if c.ID == 0 {
		return nil
	}
	ctx := context.WithoutCancel(cmd.Context())
	jsonPath, htmlPath, err := report.WriteFiles(ctx, st, c.ID, a.reportDir(), a.now())
	if err != nil {
		fmt.Fprintf(a.errOut, "whatsend: writing reports: %v\n", err)
		return nil
	}
	return []string{jsonPath, htmlPath}
}

// rehearsalMark marks a --simulate campaign wherever it is listed.
func rehearsalMark(s campaign.Settings) string {
	if s.Simulate {
		return " (rehearsal)"
	}
	return ""
}
