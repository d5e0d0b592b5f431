package main

import "github.com/spf13/cobra"

func newWebhookCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "webhook",
		Short: "webhook (not built yet)",
		RunE:  notBuilt("webhook"),
	}
}
