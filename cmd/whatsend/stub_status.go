//go:build !wip

package main

import "github.com/spf13/cobra"

func newStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "status (not built yet)",
		RunE:  notBuilt("status"),
	}
}
