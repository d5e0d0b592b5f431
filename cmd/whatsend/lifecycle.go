package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
)

func newCampaignListCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List every campaign with its state and progress",
		Long: `List shows every campaign: its state (importing, ready, paused, finished or
cancelled), progress by recipient state, why it is paused, and per
messaging-limit scope the warm-up day and the unique recipients used in the
last 24 h. It is what 'whatsend status' shows without a campaign.

Exit status: 0; 1 on an unexpected error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd, a, "")
		},
	}
}

func newCampaignCancelCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel CAMPAIGN",
		Short: "Cancel a campaign: nothing more is sent",
		Long: `Cancel stops a campaign for good (CAMPAIGN is its id or name). Its recipients
not yet sent (pending, waiting for a retry, or deferred) become cancelled, a
state of their own in status and every report; recipients left in flight by
a process that is gone become uncertain, and a status webhook still settles
them. Sent, failed, skipped and uncertain recipients keep their outcome.

A cancelled campaign is never sent again: 'resume --all' skips it (exit 0),
'resume CAMPAIGN', 'retry CAMPAIGN' and 'run' on its CSV refuse it (exit 2).
Its report stays until 'whatsend campaign delete CAMPAIGN'.

Exit status: 0 cancelled (or already cancelled); 2 unknown campaign or an
import that did not finish (delete it instead); 4 another process drives the
campaign (stop it first); 1 unexpected error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			c, err := findCampaign(ctx, st, args[0])
			if err != nil {
				return err
			}
			n, err := campaign.Cancel(ctx, a.lifecycleDeps(st), c.ID)
			if err != nil {
				return err
			}
			sum, err := st.Summary(ctx, c.ID)
			if err != nil {
				return err
			}
			by := sum.ByState
			fmt.Fprintf(a.out, "campaign %s (id %d): cancelled; %d recipients cancelled now, %d in all; %d sent, %d failed, %d uncertain\n",
				c.Name, c.ID, n, by[store.StateCancelled], by[store.StateSent], by[store.StateFailed], by[store.StateUncertain])
			return nil
		},
	}
}

type deleteOptions struct {
	yes bool
}

func newCampaignDeleteCmd(a *app) *cobra.Command {
	o := &deleteOptions{}
	cmd := &cobra.Command{
		Use:   "delete CAMPAIGN",
		Short: "Delete a campaign and everything recorded about it",
		Long: `Delete removes a campaign (CAMPAIGN is its id or name) and everything that
belongs to it: recipients, skipped rows, attempts, pauses, retry runs. The
opt-out list and the messaging-limit window stay: they are about the
numbers, not the campaign, and the 24 h allowance must keep counting what
was sent. Report files already written are left in place.

On a terminal it asks for confirmation unless --yes is given; when stdin is
not a terminal (cron, scripts) it proceeds without asking.

It refuses while a live process holds the campaign's lease (exit 4, naming
the holder) and while recipients are in flight from an interrupted run
(exit 2: 'whatsend resume' or 'whatsend campaign cancel' settles them).

Exit status: 0 deleted; 2 unknown campaign, recipients in flight, or not
confirmed; 4 busy; 1 unexpected error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDelete(cmd, a, o, args[0])
		},
	}
	cmd.Flags().BoolVarP(&o.yes, "yes", "y", false, "do not ask for confirmation on a terminal")
	return cmd
}

func runDelete(cmd *cobra.Command, a *app, o *deleteOptions, arg string) error {
	ctx := cmd.Context()
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := findCampaign(ctx, st, arg)
	if err != nil {
		return err
	}
	if !o.yes && inIsTerminal(a.in) {
		prompt := fmt.Sprintf("delete campaign %s (id %d, %s, %d rows) and everything recorded about it? [y/N] ", c.Name, c.ID, c.State, c.Rows)
		ok, err := confirm(a.in, a.errOut, prompt)
		if err != nil {
			return err
		}
		if !ok {
			return usagef("campaign %s not deleted (not confirmed; --yes skips the question)", c.Name)
		}
	}
	if err := campaign.Delete(ctx, a.lifecycleDeps(st), c.ID); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "campaign %s (id %d) deleted\n", c.Name, c.ID)
	return nil
}

// lifecycleDeps are the parts cancel, delete and retry's re-queue need: the
// store, the clock and this process's lease identity.
func (a *app) lifecycleDeps(st store.Store) campaign.Deps {
	return campaign.Deps{Store: st, Logger: a.logger, Now: a.now, Owner: owner()}
}

// optionalArg is a command's optional CAMPAIGN argument, empty when absent.
func optionalArg(args []string) string {
	if len(args) == 1 {
		return args[0]
	}
	return ""
}

// inIsTerminal reports whether stdin is a terminal (a person may answer).
func inIsTerminal(in io.Reader) bool {
	f, ok := in.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks a yes/no question on w and reads the answer's first line
// from r: only y or yes (any case) is a yes.
func confirm(r io.Reader, w io.Writer, prompt string) (bool, error) {
	fmt.Fprint(w, prompt)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		if err == io.EOF {
			return false, nil
		}
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
