//go:build !wip

package main

import "github.com/spf13/cobra"

func newResumeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "resume",
		Short: "resume (not built yet)",
		RunE:  notBuilt("resume"),
	}
}
