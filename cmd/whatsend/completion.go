package main

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/store"
)

// flagValues are the values offered for flags that take one of a few
// words, per command path ("" for every command).
var flagValues = map[string]map[string][]string{
	"":                      {"log-format": {"text", "json"}},
	"whatsend report":       {"format": {"text", "json", "csv", "html"}, "only": {"failed", "uncertain", "skipped", "cancelled", "sent", "remaining", "pending", "retry", "deferred", "in_flight"}},
	"whatsend run":          {"format": {"text", "json"}, "tier": {"250", "1000", "2000", "10000", "100000", "unlimited"}},
	"whatsend validate":     {"format": {"text", "json"}},
	"whatsend sim":          {"throughput": {"STANDARD", "HIGH"}},
	"whatsend campaign set": {"tier": {"250", "1000", "2000", "10000", "100000", "unlimited"}},
}

// addCompletions makes shell completion offer campaign names wherever a
// command takes a CAMPAIGN, and the values of word-valued flags.
func addCompletions(a *app, c *cobra.Command) {
	if use := strings.Fields(c.Use); len(use) > 1 && strings.Contains(use[1], "CAMPAIGN") && c.ValidArgsFunction == nil {
		c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return a.campaignNames(cmd.Context(), toComplete), cobra.ShellCompDirectiveNoFileComp
		}
	}
	for path, flags := range flagValues {
		if path != "" && path != c.CommandPath() || path == "" && c.HasParent() {
			continue
		}
		for name, values := range flags {
			_ = c.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return values, cobra.ShellCompDirectiveNoFileComp
			})
		}
	}
	for _, sub := range c.Commands() {
		addCompletions(a, sub)
	}
}

// campaignNames lists the store's campaigns starting with prefix, reading
// the store without creating it; none when it cannot be read.
func (a *app) campaignNames(ctx context.Context, prefix string) []string {
	db := firstNonEmpty(a.dbPath, firstNonEmpty(a.getenv("WHATSEND_DB"), "whatsend.db"))
	if store.Scheme(db) == "" {
		if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := store.OpenReadOnly(ctx, db)
	if err != nil {
		return nil
	}
	defer st.Close()
	cs, err := st.Campaigns(ctx)
	if err != nil {
		return nil
	}
	var names []string
	for _, c := range cs {
		if strings.HasPrefix(c.Name, prefix) {
			names = append(names, c.Name)
		}
	}
	return names
}
