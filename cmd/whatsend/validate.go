package main

import "github.com/spf13/cobra"

func newValidateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "validate (not built yet)",
		RunE:  notBuilt("validate"),
	}
}
