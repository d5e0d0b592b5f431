package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gocarina/gocsv"
	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/store"
)

func newOptoutCmd(a *app) *cobra.Command {
	var region string
	cmd := &cobra.Command{
		Use:   "optout add|remove|list|import",
		Short: "Manage the opt-out list: numbers that are never messaged",
		Long: `Optout manages the opt-out list by hand. Numbers on it are skipped at import
and again right before sending, in every campaign. The webhook receiver adds
numbers that reply with an opt-out keyword (STOP, UNSUBSCRIBE, PARAR, SAIR,
BAJA, CANCELAR) or that Meta reports as having stopped marketing messages.

  whatsend optout add NUMBER...       add numbers (E.164, or local with --default-region)
  whatsend optout remove NUMBER...    remove numbers
  whatsend optout list                print the list as CSV (phone,source,at)
  whatsend optout import FILE         add every number of a CSV with a "phone" column`,
	}
	cmd.PersistentFlags().StringVar(&region, "default-region", "", "region for numbers without a country code, e.g. BR")
	normalize := func(raw string) (string, error) {
		p, reason, detail := csvimport.Normalize(raw, region)
		if reason != "" {
			return "", usagef("%s: %s", raw, detail)
		}
		return p, nil
	}
	// each opens the store and applies do to every number given.
	each := func(do func(cmd *cobra.Command, st store.Store, phone string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			st, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			for _, raw := range args {
				p, err := normalize(raw)
				if err != nil {
					return err
				}
				if err := do(cmd, st, p); err != nil {
					return err
				}
			}
			return nil
		}
	}
	add := &cobra.Command{
		Use: "add NUMBER...", Short: "Add numbers to the opt-out list", Args: cobra.MinimumNArgs(1),
		RunE: each(func(cmd *cobra.Command, st store.Store, p string) error {
			if err := st.AddOptOut(cmd.Context(), p, "manual", a.now()); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "opted out %s\n", p)
			return nil
		}),
	}
	remove := &cobra.Command{
		Use: "remove NUMBER...", Short: "Remove numbers from the opt-out list", Args: cobra.MinimumNArgs(1),
		RunE: each(func(cmd *cobra.Command, st store.Store, p string) error {
			if err := st.RemoveOptOut(cmd.Context(), p); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "removed %s\n", p)
			return nil
		}),
	}
	list := &cobra.Command{
		Use: "list", Short: "Print the opt-out list as CSV", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			os, err := st.OptOuts(cmd.Context())
			if err != nil {
				return err
			}
			rows := make([]optoutRow, len(os))
			for i, o := range os {
				rows[i] = optoutRow{Phone: o.Phone, Source: o.Source, At: o.At.UTC().Format(time.RFC3339)}
			}
			return gocsv.Marshal(rows, a.out)
		},
	}
	imp := &cobra.Command{
		Use: "import FILE", Short: "Add every number of a CSV file (a phone column, e.g. from 'optout list')", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return importOptouts(cmd, a, args[0], normalize)
		},
	}
	cmd.AddCommand(add, remove, list, imp)
	return cmd
}

// optoutRow is one line of the opt-out CSV (list and import).
type optoutRow struct {
	Phone  string `csv:"phone"`
	Source string `csv:"source,omitempty"`
	At     string `csv:"at,omitempty"`
}

func importOptouts(cmd *cobra.Command, a *app, file string, normalize func(string) (string, error)) error {
	f, err := os.Open(file)
	if err != nil {
		return usagef("%v", err)
	}
	defer f.Close()
	var rows []optoutRow
	if err := gocsv.Unmarshal(f, &rows); err != nil {
		return usagef("%s: %v", file, err)
	}
	st, err := a.openStore(cmd.Context())
	if err != nil {
		return err
	}
	defer st.Close()
	added, bad := 0, 0
	for i, r := range rows {
		p, err := normalize(strings.TrimSpace(r.Phone))
		if err != nil {
			bad++
			fmt.Fprintf(a.errOut, "%s line %d: skipped: %v\n", file, i+2, err)
			continue
		}
		if err := st.AddOptOut(cmd.Context(), p, "import", a.now()); err != nil {
			return err
		}
		added++
	}
	fmt.Fprintf(a.out, "imported %d numbers from %s (%d skipped)\n", added, file, bad)
	if added == 0 && bad > 0 {
		return usagef("%s: no valid number", file)
	}
	return nil
}
