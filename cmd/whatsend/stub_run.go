//go:build !wip

package main

import "github.com/spf13/cobra"

func newRunCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "run (not built yet)",
		RunE:  notBuilt("run"),
	}
}
