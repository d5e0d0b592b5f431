package main

import "github.com/spf13/cobra"

func newOptoutCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "optout",
		Short: "optout (not built yet)",
		RunE:  notBuilt("optout"),
	}
}
