package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/campaign/csvimport"
)

type validateOptions struct {
	csv    csvimport.Config
	s      campaign.Settings // the column mapping: Params, Header, Buttons, LangColumn
	format string
}

// validateReport is the JSON shape of validate --format json, relied on by
// scripts (README).
type validateReport struct {
	File     string         `json:"file"`
	Rows     int            `json:"rows"`
	Valid    int            `json:"valid"`
	Skipped  []validateSkip `json:"skipped"`
	Refused  *string        `json:"refused"`
	Encoding string         `json:"encoding,omitempty"`
}

type validateSkip struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
	Detail string `json:"detail"`
}

func newValidateCmd(a *app) *cobra.Command {
	o := &validateOptions{}
	cmd := &cobra.Command{
		Use:   "validate FILE [--params a,b] [--default-region CC]",
		Short: "Check a CSV without importing it",
		Long: `Validate reads a CSV exactly as run would import it and prints how many rows
are valid and, for every skipped row, its line and reason. Nothing is
imported and no store is opened.

Skip reasons: invalid_number, mangled_number (a spreadsheet turned the number
into 5.51199E+12), missing_number, duplicate (the same number after
normalisation; the first row wins), missing_param (a --params column is
empty), bad_row (too few fields, a field too long, unreadable text), and
with --header, --button or typed --params the template values' reasons
(bad_param, bad_header, bad_location, bad_currency, bad_date_time,
bad_button; the languages of --lang-column are not checked: that needs the
template).

--format json prints one object:
  {"file": ..., "rows": N, "valid": N,
   "skipped": [{"line": L, "reason": "...", "detail": "..."}],
   "refused": null | "message"}

Exit status: 0 when at least one row is valid; 2 when the file is refused
(not CSV text, no phone column, a --params column missing, or no valid row).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runValidate(a, o, args[0]) },
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.s.Params, "params", nil, "CSV columns mapped to the template's body parameters, in order: [PLACEHOLDER=]COLUMN[:currency|:date_time]")
	f.StringVar(&o.s.Header, "header", "", "CSV column of the header parameter, [FORMAT:]COLUMN (as run)")
	f.StringArrayVar(&o.s.Buttons, "button", nil, "INDEX[:TYPE]=COLUMN: a dynamic button's column (as run); repeatable")
	f.StringVar(&o.s.LangColumn, "lang-column", "", "CSV column of each row's template language (as run)")
	f.StringVar(&o.csv.DefaultRegion, "default-region", "", "region for numbers without a country code, e.g. BR")
	f.StringVar(&o.csv.PhoneColumn, "phone-column", "", "the CSV column holding the phone number (default: detected)")
	f.StringVar(&o.format, "format", "text", "output: text or json")
	return cmd
}

func runValidate(a *app, o *validateOptions, file string) error {
	if o.format != "text" && o.format != "json" {
		return usagef("--format: want text or json, got %q", o.format)
	}
	if err := o.s.MappingErrors(); err != nil {
		return &usageError{err}
	}
	rep := validateReport{File: file, Skipped: []validateSkip{}}
	o.csv.Dedupe = true
	o.csv = campaign.NewMapping(o.s, nil).CSV(o.csv)
	f, err := csvimport.Open(file)
	var res csvimport.Result
	if err == nil {
		defer f.Close()
		res, err = csvimport.Read(f, file, o.csv, func(csvimport.Row) error { return nil }, func(s csvimport.Skip) error {
			rep.Skipped = append(rep.Skipped, validateSkip{Line: s.Line, Reason: s.Reason, Detail: s.Detail})
			return nil
		})
	}
	rep.Rows, rep.Valid, rep.Encoding = res.Rows, res.Valid, res.Encoding
	if err != nil {
		msg := err.Error()
		rep.Refused = &msg
	}
	if o.format == "json" {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		if e := enc.Encode(rep); e != nil {
			return e
		}
	} else if err == nil {
		fmt.Fprintf(a.out, "%s: %d rows, %d valid, %d skipped\n", file, rep.Rows, rep.Valid, len(rep.Skipped))
		for _, s := range rep.Skipped {
			fmt.Fprintf(a.out, "line %d: %s: %s\n", s.Line, s.Reason, s.Detail)
		}
	}
	if err != nil {
		return &usageError{err}
	}
	return nil
}
