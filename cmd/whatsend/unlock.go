package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/campaign"
)

func newUnlockCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "unlock CAMPAIGN",
		Short: "Remove a campaign's lease left by a process that stopped",
		Long: `Unlock removes the lease of a campaign (given by id or name) whose holder
stopped renewing it, with the phone-number lease the same process held.

A run or resume holds these leases and renews their heartbeat every third
of its --lease-expiry (default 30 s, recorded in the lease). A lease is
stale once its heartbeat is that old, and run, resume and workers take a
stale lease over by themselves, so unlock is rarely needed: it clears the
leases at once and shows what held them. A lease with a fresh heartbeat is
not removed (exit 4): its holder may be sending; stop that process, or wait.

Exit status: 0 removed, or nothing to unlock; 4 the lease's heartbeat is
fresh (the holder's pid, host and heartbeat age are named); 2 unknown
campaign or a store this whatsend cannot use; 1 on an unexpected error.`,
		Example: `  whatsend campaign unlock spring-sale`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUnlock(cmd.Context(), a, args[0])
		},
	}
}

func runUnlock(ctx context.Context, a *app, arg string) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := findCampaign(ctx, st, arg)
	if err != nil {
		return err
	}
	now := a.now()
	removed, err := campaign.Unlock(ctx, st, c, now)
	for _, l := range removed {
		fmt.Fprintf(a.out, "removed the lease %s of pid %d on %s (heartbeat %s ago)\n",
			l.Key, l.PID, l.Host, now.Sub(l.Heartbeat).Round(time.Second))
	}
	if err != nil {
		return fmt.Errorf("campaign %s: %w", c.Name, err)
	}
	if len(removed) == 0 {
		fmt.Fprintf(a.out, "campaign %s: nothing to unlock (no lease)\n", c.Name)
	}
	return nil
}
