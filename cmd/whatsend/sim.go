package main

import "github.com/spf13/cobra"

func newSimCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "sim",
		Short: "sim (not built yet)",
		RunE:  notBuilt("sim"),
	}
}
