package main

import "github.com/spf13/cobra"

// newCampaignCmd is the parent of the commands that manage one campaign's
// lifecycle (list, set, cancel, delete, unlock).
func newCampaignCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "campaign",
		Short: "List campaigns and change, cancel, delete or unlock one",
	}
	cmd.AddCommand(newCampaignListCmd(a), newCampaignSetCmd(a), newCampaignCancelCmd(a), newCampaignDeleteCmd(a), newUnlockCmd(a))
	return cmd
}
