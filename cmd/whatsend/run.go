package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/campaign/csvimport"
	"github.com/whatsend/whatsend/campaign/report"
	"github.com/whatsend/whatsend/store"
)

// runOptions are the flags of whatsend run.
type runOptions struct {
	settingsFlags
	name   string
	api    apiOptions
	exec   execOptions
	dryRun bool
	update bool
	format string
	testTo []string
}

// settingsFlags are the flags stored with a campaign: run takes them all,
// campaign set changes them.
type settingsFlags struct {
	s        campaign.Settings
	interval time.Duration
	pair     time.Duration
	settle   time.Duration
}

// execOptions are the per-invocation flags shared by run and resume.
type execOptions struct {
	maxDuration     time.Duration
	shutdownWait    time.Duration
	wait            bool
	force           bool
	resendUncertain bool
	skipLinkCheck   bool
	leaseExpiry     time.Duration
	retryWait       time.Duration // 0: campaign's default (resume --worker sets its --poll)
	number          string        // a pair run's phone number (resume --worker); "": every number
}

func newRunCmd(a *app) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run FILE --template NAME --lang CODE [--params a,b] [--header COL] [--button I=COL] [--lang-column COL]",
		Short: "Import a CSV and send a template campaign to it",
		Long: `Run imports the recipients of a CSV file and sends them a template message
through the WhatsApp Cloud API, paced under Meta's limits.

The first run on a CSV imports it (bad rows are skipped with a reason and
their line) and creates a campaign identified by the file's content, the
template and the language (and --name, when given). Running the same command
again continues that campaign instead of importing it twice. Every setting is
stored with the campaign, so 'whatsend resume' needs no flags.

On an existing campaign, the flags given are compared with the stored
settings: different ones are refused (exit 2) with the list of differences,
unless --update is given, which applies those safe mid-campaign (rate, tier,
daily limit, batches, pair interval, guard, retries, warm-up) and refuses the
others (template, language, params, header, buttons, language column, phone
column, region). A campaign keeps its target (the built-in simulator, or an
API URL and phone number id): a run naming another target is refused. Either way, --name NEW starts a new
campaign. 'whatsend campaign set' changes settings without the CSV.

The access token comes from WHATSEND_TOKEN (or WHATSAPP_TOKEN, or
--token-file), never from a flag: other users can read command lines in ps.
The phone number id comes from --phone-number-id or WHATSEND_PHONE_NUMBER_ID;
the WhatsApp Business Account id (template checks) from --waba-id or
WHATSEND_WABA_ID; the business portfolio id (the messaging limit's scope) from
--business-id or WHATSEND_BUSINESS_ID.

--simulate sends to the built-in Cloud API simulator instead: no account,
token or network needed, and resume of such a campaign never reaches Meta.

Before the first send, the pre-flight reads the template (with --waba-id)
and checks that every component needing a parameter gets one and that the
formats match: a media header has --header or --header-media of its type, a
dynamic URL or copy-code button has its --button column, no flag names a
component the template lacks, and with --lang-column every row language's
translation fits too. Each distinct header link is asked once (HEAD, or GET)
for its status, type and size within Meta's limits; a rehearsal skips that.
A failure exits 3 before any send, naming the component and the flag.
--header-media FILE is uploaded once and its media id kept with the
campaign for every send and resume (uploaded again only when Meta says the
id expired); --header-media URL is sent as a link.

--test-to NUMBER[,NUMBER] sends the first valid row's message to those
numbers only (your own phones), prints the message ids and exits 0; the
campaign's recipients, allowance and reports are untouched.

Exit status: 0 finished; 2 usage error or CSV refused; 3 paused by the guard
or the pre-flight; 4 another process holds the campaign or the number; 10
stopped with work left (allowance used up, deferrals, --max-duration);
130/143 interrupted, progress saved; 1 unexpected error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRun(cmd, a, o, args[0])
		},
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.name, "name", "", "campaign name (default: derived from the file, template and content)")
	f.StringVar(&o.api.tokenFile, "token-file", "", "read the access token from this file")
	f.BoolVar(&o.update, "update", false, "apply changed settings to the existing campaign (rate, tier, limits, batches, guard, retries, warm-up)")
	f.BoolVar(&o.dryRun, "dry-run", false, "import (or reuse) the campaign, send nothing, and print the forecast per day")
	f.StringVar(&o.format, "format", "text", "--dry-run output: text or json")
	f.StringSliceVar(&o.testTo, "test-to", nil, "send the first valid row's message to these numbers only (your own phones), print the message ids and stop; the campaign's recipients, allowance and reports are untouched")
	addExecFlags(cmd, &o.exec)
	_ = cmd.MarkFlagRequired("template")
	_ = cmd.MarkFlagRequired("lang")
	return cmd
}

// addFlags binds the settings flags.
func (o *settingsFlags) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.s.Template, "template", "", "template name (required)")
	f.StringVar(&o.s.Language, "lang", "", "template language code, exactly as approved, e.g. en_US (required)")
	f.StringSliceVar(&o.s.Params, "params", nil, "CSV columns mapped to the template's body parameters, in order: [PLACEHOLDER=]COLUMN[:currency|:date_time] (a NAMED template read with --waba-id needs none: its placeholders' columns)")
	f.StringVar(&o.s.Header, "header", "", "CSV column of the header parameter: text, an https link or media id (image/video/document), or lat,lng[,name[,address]]; [FORMAT:][PLACEHOLDER=]COLUMN sets the header format and a NAMED header's placeholder")
	f.StringArrayVar(&o.s.Buttons, "button", nil, "INDEX=COLUMN: a dynamic button's value per row (URL suffix; INDEX:quick_reply=COLUMN payload, INDEX:copy_code=COLUMN coupon code); repeatable")
	f.StringVar(&o.s.LangColumn, "lang-column", "", "CSV column of each row's template language (--lang when empty); rows in a language the template lacks are skipped")
	f.StringVar(&o.s.HeaderMedia, "header-media", "", "one header for every row: a media file, uploaded once, or an https link (the template's IMAGE, VIDEO or DOCUMENT header)")
	f.StringVar(&o.s.PhoneColumn, "phone-column", "", "the CSV column holding the phone number (default: detected by name)")
	f.StringVar(&o.s.DefaultRegion, "default-region", "", "region for numbers without a country code, e.g. BR")
	f.StringVar(&o.s.PhoneNumberID, "phone-number-id", "", "the sending phone number's id, or several (A,B,C) of one business portfolio with --business-id (env WHATSEND_PHONE_NUMBER_ID)")
	f.StringVar(&o.s.WABAID, "waba-id", "", "the WhatsApp Business Account id, for template checks (env WHATSEND_WABA_ID)")
	f.StringVar(&o.s.BusinessID, "business-id", "", "the business portfolio id: the messaging limit's scope (env WHATSEND_BUSINESS_ID)")
	f.StringVar(&o.s.APIURL, "api-url", "", "Graph API base URL (default https://graph.facebook.com)")
	f.StringVar(&o.s.APIVersion, "api-version", "", "Graph API version (default v24.0)")
	f.BoolVar(&o.s.Simulate, "simulate", false, "send to the built-in Cloud API simulator (no account needed)")
	f.Float64Var(&o.s.Rate, "rate", 0, "messages per second, at most 1000 (default 80, or the number's throughput when lower)")
	f.IntVar(&o.s.BatchSize, "batch-size", 0, "recipients per batch (default 100)")
	f.DurationVar(&o.interval, "batch-interval", 0, "pause between batches (default 0)")
	f.DurationVar(&o.pair, "pair-interval", 0, "least time between two messages to one recipient (default 6s)")
	f.IntVar(&o.s.MaxAttempts, "max-attempts", 0, "attempts per recipient on 131056 and transient errors (default 5)")
	f.IntVar(&o.s.DeferDays, "defer-days", 0, "days a recipient at Meta's marketing limit (131049) is retried (default 3)")
	f.StringVar(&o.s.Tier, "tier", "", "messaging limit: unique users per 24 h, or unlimited (default: read from the API)")
	f.IntVar(&o.s.DailyLimit, "daily-limit", 0, "cap on unique recipients per rolling 24 h")
	f.StringVar(&o.s.WarmupStart, "warmup-start", "", "warm-up start date YYYY-MM-DD (default: the scope's first send)")
	f.IntVar(&o.s.WarmupDays, "warmup-days", 0, "warm-up length in days (default 14)")
	f.IntVar(&o.s.GuardWindow, "guard-window", 0, "send attempts in the guard's 131056 window (default 200)")
	f.IntVar(&o.s.GuardMinSample, "guard-min-sample", 0, "attempts before the 131056 share is judged (default 50)")
	f.Float64Var(&o.s.SlowShare, "slow-share", 0, "131056 share above which the rate is halved (default 0.02)")
	f.Float64Var(&o.s.PauseShare, "pause-share", 0, "131056 share above which the campaign pauses (default 0.05)")
	f.IntVar(&o.s.MaxUnanswered, "max-unanswered", campaign.DefaultMaxUnanswered, "skip recipients sent this many template messages that never replied (0: never skip)")
	f.StringVar(&o.s.Window, "window", "", "send only between these hours of the recipient's local time, e.g. 09:00-20:00 (default: any time)")
	f.StringVar(&o.s.Days, "days", "", "send only on these days of the recipient's week, e.g. mon-fri (default: every day)")
	f.StringVar(&o.s.TZ, "tz", "", "one time zone for every recipient's window, e.g. America/Sao_Paulo (default: from each number)")
	f.StringVar(&o.s.NotAfter, "not-after", "", "send nothing after this local date/time (2026-12-24T18:00) or this long after the campaign's creation (72h); the unsent expire")
	f.DurationVar(&o.settle, "settle-after", 0, "resend once an uncertain recipient no status came for in this long while the webhook receiver was up (default 30m)")
}

// settings returns the settings the flags give, in their stored form, and
// which flags the user set.
func (o *settingsFlags) settings(cmd *cobra.Command) (campaign.Settings, func(flag string) bool) {
	s := o.s
	if s.HeaderMedia != "" && !campaign.IsLink(s.HeaderMedia) {
		// Stored absolute: resume may run from another directory.
		if abs, err := filepath.Abs(s.HeaderMedia); err == nil {
			s.HeaderMedia = abs
		}
	}
	s.BatchInterval = campaign.Duration(o.interval)
	s.PairInterval = campaign.Duration(o.pair)
	s.SettleAfter = campaign.Duration(o.settle)
	// 0 on the command line means "none"; stored as -1 since 0 is the default.
	if s.MaxUnanswered == 0 {
		s.MaxUnanswered = -1
	}
	if cmd.Flags().Changed("warmup-days") && s.WarmupDays == 0 {
		s.WarmupDays = -1
	}
	return s, func(flag string) bool { return cmd.Flags().Changed(strings.TrimPrefix(flag, "--")) }
}

func addExecFlags(cmd *cobra.Command, e *execOptions) {
	f := cmd.Flags()
	f.DurationVar(&e.maxDuration, "max-duration", 0, "stop with work left after this long (exit 10)")
	f.DurationVar(&e.shutdownWait, "shutdown-wait", campaign.DefaultShutdownWait, "on SIGINT/SIGTERM, wait this long for requests in flight; those still unanswered are left uncertain")
	f.BoolVar(&e.wait, "wait", false, "when the allowance is used up, wait for capacity instead of stopping")
	f.BoolVar(&e.force, "force", false, "resume a paused campaign even while its cause persists")
	f.BoolVar(&e.resendUncertain, "resend-uncertain", false, "re-send recipients whose outcome is unknown (may duplicate messages)")
	f.BoolVar(&e.skipLinkCheck, "skip-link-check", false, "do not ask the header links before sending (a media host this machine cannot reach but Meta can)")
	f.DurationVar(&e.leaseExpiry, "lease-expiry", campaign.LeaseStale, "a process that stops renewing its leases (heartbeat every third of this) loses them after this long, and another takes over")
}

func runRun(cmd *cobra.Command, a *app, o *runOptions, file string) error {
	ctx := cmd.Context()
	s, given := o.settings(cmd)
	s.PhoneNumberID = firstNonEmpty(s.PhoneNumberID, a.getenv("WHATSEND_PHONE_NUMBER_ID"))
	s.WABAID = firstNonEmpty(s.WABAID, a.getenv("WHATSEND_WABA_ID"))
	s.BusinessID = firstNonEmpty(s.BusinessID, a.getenv("WHATSEND_BUSINESS_ID"))
	if err := s.SplitNumbers(); err != nil {
		return &usageError{err}
	}
	if s.Simulate {
		simulatorDefaults(&s)
		s.SimTier = s.Tier
	}
	if err := s.ValidateGiven(given, a.now()); err != nil {
		return &usageError{err}
	}
	if err := o.exec.validate(); err != nil {
		return err
	}
	if o.format != "text" && o.format != "json" {
		return usagef("--format %q: want text or json", o.format)
	}
	// Build the client first: a missing token is a usage error before any
	// import.
	client, err := a.newClient(s, o.api)
	if err != nil {
		return err
	}

	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	tpl, err := campaign.ResolveTemplate(ctx, client, &s)
	if err != nil {
		return err
	}
	mapping := campaign.NewMapping(s, tpl.Languages).WithDefinition(tpl.Definition)
	imp, err := campaign.Import(ctx, st, campaign.ImportConfig{
		File: file,
		CSV:  mapping.CSV(csvimport.Config{PhoneColumn: s.PhoneColumn, DefaultRegion: s.DefaultRegion}),
		Campaign: store.Campaign{
			Name: o.name, Template: s.Template, Language: s.Language, Params: mapping.Columns(),
			PhoneNumberID: s.PhoneNumberID, Scope: s.Scope(), Settings: s.Encode(), CreatedAt: a.now(),
		},
		ExplicitName: o.name != "",
		Owner:        o.exec.owner(),
	})
	if err != nil {
		return a.storeContext(err)
	}
	c := imp.Campaign
	if imp.Existing {
		stored, err := campaign.DecodeSettings(c.Settings)
		if err != nil {
			return err
		}
		if err := campaign.CheckTarget(c.Name, stored, s, "to send this list there, start a new campaign: the same command with --name NEW"); err != nil {
			return err
		}
		if changes := campaign.Changes(stored, s, given); len(changes) > 0 && !o.update {
			return &campaign.ChangesError{Campaign: c.Name, Changes: changes}
		}
		if c, err = a.updateSettings(ctx, a.errOut, st, c, stored, s, given); err != nil {
			return err
		}
		// Continue with the stored settings, as resume does: the same
		// target, and for a rehearsal the simulator it started with.
		cs, err := campaign.DecodeSettings(c.Settings)
		if err != nil {
			return err
		}
		if client, err = a.newClient(cs, o.api); err != nil {
			return err
		}
		fmt.Fprintf(a.errOut, "whatsend: %s was imported before as campaign %s (id %d)%s; continuing it\n", file, c.Name, c.ID, rehearsalMark(cs))
	} else {
		r := imp.Result
		fmt.Fprintf(a.errOut, "whatsend: imported %s as campaign %s (id %d): %d rows, %d valid, %d skipped\n",
			file, c.Name, c.ID, r.Rows, r.Valid-imp.Duplicates-imp.OptedOut, r.Skipped+imp.Duplicates+imp.OptedOut)
	}
	// Once per run, after every check of the flags, the store and the CSV.
	if s.BusinessID == "" {
		fmt.Fprintf(a.errOut, "whatsend: no --business-id: the messaging limit is kept per phone number %s; pass the business portfolio id when several numbers share it\n", s.PhoneNumberID)
	}
	if len(o.testTo) > 0 {
		return a.testSend(ctx, st, client, c, o.testTo, o.exec)
	}
	if o.dryRun {
		f, err := campaign.Plan(ctx, st, client, c.ID, a.now())
		if err != nil {
			return err
		}
		return a.printForecast(f, o.format)
	}
	return a.drive(cmd, st, client, c, o.exec)
}

// testSend sends the campaign's first valid row's message to the --test-to
// numbers and prints each message id on stdout.
func (a *app) testSend(ctx context.Context, st store.Store, client campaign.Sender, c store.Campaign, to []string, e execOptions) error {
	sent, err := campaign.TestSend(ctx, campaign.Deps{Store: st, Sender: client, Logger: a.logger, Now: a.now, Owner: e.owner()}, c.ID, to,
		campaign.RunOptions{Force: e.force, SkipLinkCheck: e.skipLinkCheck})
	failed := 0
	for _, t := range sent {
		fmt.Fprintln(a.out, t)
		if t.Err != nil {
			failed++
		}
	}
	if err != nil {
		return a.storeContext(err)
	}
	if failed > 0 {
		return fmt.Errorf("--test-to: %d of %d test messages were not sent", failed, len(sent))
	}
	return nil
}

// validate refuses a negative --max-duration (0 means none), a
// --shutdown-wait that is not positive and a --lease-expiry under
// campaign.MinLeaseExpiry.
func (e execOptions) validate() error {
	if e.maxDuration < 0 {
		return usagef("--max-duration %s: want a positive duration, or 0 for no limit", e.maxDuration)
	}
	if e.shutdownWait <= 0 {
		return usagef("--shutdown-wait %s: want a positive duration", e.shutdownWait)
	}
	if e.leaseExpiry < campaign.MinLeaseExpiry {
		return usagef("--lease-expiry %s: want at least %s", e.leaseExpiry, campaign.MinLeaseExpiry)
	}
	return nil
}

// owner is this process's lease identity with its --lease-expiry.
func (e execOptions) owner() campaign.Owner {
	o := owner()
	o.Expiry = e.leaseExpiry
	return o
}

// updateSettings applies the settings the user gave that differ from the
// campaign's stored ones and are safe mid-campaign, refusing unsafe ones,
// and says what changed.
func (a *app) updateSettings(ctx context.Context, w io.Writer, st store.Store, c store.Campaign, stored, gave campaign.Settings, given func(string) bool) (store.Campaign, error) {
	s, changes, err := campaign.Update(c.Name, stored, gave, given)
	if err != nil || len(changes) == 0 {
		return c, err
	}
	b := s.Encode()
	if err := st.UpdateSettings(ctx, c.ID, b); err != nil {
		return c, fmt.Errorf("campaign %s: store the new settings: %w", c.Name, err)
	}
	c.Settings = b
	if campaign.WindowChanged(changes) {
		// Recipients held outside the old window are due again: the next
		// run holds them by the new one.
		if err := st.ReleaseHolds(ctx, c.ID); err != nil {
			return c, fmt.Errorf("campaign %s: release the send-window holds: %w", c.Name, err)
		}
	}
	for _, ch := range changes {
		fmt.Fprintf(w, "campaign %s: %s was %s, now %s\n", c.Name, ch.Flag, ch.Stored, ch.Given)
	}
	return c, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// drive runs one campaign, prints its summary and writes its reports.
func (a *app) drive(cmd *cobra.Command, st store.Store, client campaign.Sender, c store.Campaign, e execOptions) error {
	_, err := a.driveResult(cmd, st, client, c, e)
	return err
}

// driveResult is drive returning the run's result too (resume --worker
// reads when there is more to do).
func (a *app) driveResult(cmd *cobra.Command, st store.Store, client campaign.Sender, c store.Campaign, e execOptions) (campaign.Result, error) {
	ctx := cmd.Context()
	prog := a.newProgress(c.Name)
	own := e.owner()
	res, err := campaign.Run(ctx, campaign.Deps{
		Store: campaign.Fenced(st, own, c.ID, e.number), Sender: client, SenderFor: a.poolSenders(client, c), Logger: a.logger, Now: a.now, Progress: prog, Owner: own,
		Journal: a.journalDir(), Sending: a.sending,
	}, c.ID, campaign.RunOptions{
		MaxDuration: e.maxDuration, ShutdownWait: e.shutdownWait, ResendUncertain: e.resendUncertain, Force: e.force, Wait: e.wait,
		SkipLinkCheck: e.skipLinkCheck,
		RetryWait:     e.retryWait,
		Number:        e.number,
	})
	prog.Finish()
	if _, busy := errors.AsType[*store.LeaseHeldError](err); busy || errors.Is(err, campaign.ErrBusy) || errors.Is(err, campaign.ErrRefused) {
		return res, err
	}
	a.settleRehearsal(ctx, st, &res)
	err = a.storeContext(err)
	var reports []string
	if res.SummaryErr == nil {
		reports = a.writeReports(cmd, st, res.Campaign)
	}
	if a.logFormat == "json" {
		a.printSummaryJSON(res, err, reports)
	} else {
		a.printSummary(res, err)
		if len(reports) > 0 {
			fmt.Fprintf(a.out, "reports: %s\n", strings.Join(reports, " "))
		}
	}
	return res, err
}

// settleRehearsal ends a --simulate run: the statuses and replies its
// simulators queued for the messages they accepted are delivered to the
// store, and the campaign's figures read again, so that the summary and the
// reports count them. Without a rehearsal it does nothing.
func (a *app) settleRehearsal(ctx context.Context, st store.Store, res *campaign.Result) {
	if a.rehearsal == nil || res.Campaign.ID == 0 || res.SummaryErr != nil {
		return
	}
	if a.rehearsal.flush(ctx) {
		res.Summary, res.SummaryErr = st.Summary(context.WithoutCancel(ctx), res.Campaign.ID)
	}
}

// runState is how a run ended, in the summary's words.
func runState(err error) string {
	switch {
	case err == nil:
		return "finished"
	case errors.Is(err, campaign.ErrPaused):
		return "paused"
	case errors.Is(err, campaign.ErrMoreWork):
		return "stopped with work left"
	default:
		return "stopped: " + err.Error()
	}
}

// nextStep is the command to run next, if any, copy-pastable.
func nextStep(r campaign.Result, err error) string {
	name := campaign.QuoteArg(r.Campaign.Name)
	switch {
	case !r.NextAt.IsZero():
		return fmt.Sprintf("more can be sent from %s: run 'whatsend resume %s' then (or from cron: whatsend resume --all)", campaign.LocalTime(r.NextAt), name)
	case errors.Is(err, campaign.ErrMoreWork):
		return "continue with: whatsend resume " + name
	case errors.Is(err, campaign.ErrPaused):
		return fmt.Sprintf("after fixing the cause: whatsend resume %s (or --force)", name)
	}
	return ""
}

// printSummary writes the end-of-run summary on stdout (text mode).
func (a *app) printSummary(r campaign.Result, err error) {
	w := a.out
	sum := r.Summary
	s, _ := campaign.DecodeSettings(r.Campaign.Settings) // unreadable: shown unmarked
	fmt.Fprintf(w, "campaign %s (id %d)%s: %s\n", r.Campaign.Name, r.Campaign.ID, rehearsalMark(s), runState(err))
	if r.Stop != "" && r.Stop != "finished" {
		fmt.Fprintf(w, "  why: %s\n", r.Stop)
	}
	if r.Window != "" {
		fmt.Fprintf(w, "  send window: %s\n", r.Window)
	}
	// This run's counts are of answers to its send attempts: a message
	// accepted now can fail later on delivery (webhook), and the campaign's
	// figures below count it failed.
	fmt.Fprintf(w, "  this run: %d accepted by the API, %d failed, %d deferred, %d uncertain, in %s\n",
		r.Sent, r.Failed, r.Deferred, r.Uncertain, r.Elapsed.Round(time.Millisecond))
	if r.SummaryErr != nil || r.Campaign.ID == 0 {
		// Zeros here would read as "nothing sent, nothing left".
		cause := "the run ended before reading them"
		if r.SummaryErr != nil {
			cause = r.SummaryErr.Error()
		}
		fmt.Fprintf(w, "  campaign: figures unavailable (%s); 'whatsend status' shows them once the store can be read\n", cause)
		return
	}
	fmt.Fprintf(w, "  campaign: %s\n", figures(r.Campaign, sum))
	if sum.ResentAfterSilence > 0 {
		fmt.Fprintf(w, "  resent after silence: %d (uncertain, no status while the webhook receiver was up)\n", sum.ResentAfterSilence)
	}
	if len(sum.FailedByCode) > 0 {
		fmt.Fprintf(w, "  failed by code: %s\n", failedByCode(sum.FailedByCode))
	}
	if len(sum.SkippedByReason) > 0 {
		fmt.Fprintf(w, "  skipped by reason: %s\n", countsByKey(sum.SkippedByReason))
	}
	fmt.Fprintf(w, "  %s\n", shareLine(sum))
	if r.Rate > 0 {
		fmt.Fprintf(w, "  rate: %g msg/s (%s); achieved %.1f msg/s\n", r.Rate, r.RateReason, r.Achieved())
	}
	if next := nextStep(r, err); next != "" {
		fmt.Fprintf(w, "  %s\n", next)
	}
}

// jsonSummary is the end-of-run summary in --log-format json: one object,
// with the keys of 'report --format json' where they overlap.
type jsonSummary struct {
	Campaign     string  `json:"campaign"`
	CampaignID   int64   `json:"campaign_id"`
	State        string  `json:"state"` // the campaign's stored state
	Rehearsal    bool    `json:"rehearsal"`
	Run          string  `json:"run"` // how this run ended: finished, paused, stopped ...
	Why          string  `json:"why,omitempty"`
	ThisRun      jsonRun `json:"this_run"`
	FiguresError string  `json:"figures_error,omitempty"`
	report.Totals
	FailedByCode    map[string]int `json:"failed_by_code"`
	SkippedByReason map[string]int `json:"skipped_by_reason"`
	Rate            float64        `json:"rate,omitempty"`
	RateReason      string         `json:"rate_reason,omitempty"`
	NextAt          *time.Time     `json:"next_at,omitempty"`
	Next            string         `json:"next,omitempty"`
	Reports         []string       `json:"reports,omitempty"`
}

type jsonRun struct {
	Sent           int     `json:"sent"` // accepted by the API
	Failed         int     `json:"failed"`
	Deferred       int     `json:"deferred"`
	Uncertain      int     `json:"uncertain"`
	Attempts       int     `json:"attempts"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	Achieved       float64 `json:"achieved_rate"`
}

// printSummaryJSON writes the end-of-run summary as one JSON line on stdout.
func (a *app) printSummaryJSON(r campaign.Result, err error, reports []string) {
	s, _ := campaign.DecodeSettings(r.Campaign.Settings)
	sum := r.Summary
	j := jsonSummary{
		Campaign: r.Campaign.Name, CampaignID: r.Campaign.ID, State: string(r.Campaign.State), Rehearsal: s.Simulate,
		Run: runState(err), Why: r.Stop,
		ThisRun: jsonRun{Sent: r.Sent, Failed: r.Failed, Deferred: r.Deferred, Uncertain: r.Uncertain, Attempts: r.Attempts,
			ElapsedSeconds: r.Elapsed.Seconds(), Achieved: r.Achieved()},
		Totals:       report.TotalsOf(r.Campaign, sum),
		FailedByCode: map[string]int{}, SkippedByReason: map[string]int{},
		Rate: r.Rate, RateReason: r.RateReason, Next: nextStep(r, err), Reports: reports,
	}
	if r.SummaryErr != nil {
		j.FiguresError = r.SummaryErr.Error()
	}
	for code, n := range sum.FailedByCode {
		j.FailedByCode[strconv.Itoa(code)] = n
	}
	maps.Copy(j.SkippedByReason, sum.SkippedByReason)
	if !r.NextAt.IsZero() {
		t := r.NextAt.UTC()
		j.NextAt = &t
	}
	_ = json.NewEncoder(a.out).Encode(j)
}

func failedByCode(m map[int]int) string {
	parts := make([]string, 0, len(m))
	for _, code := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%d ×%d (%s)", code, m[code], codeMeaning(code)))
	}
	return strings.Join(parts, ", ")
}

func countsByKey(m map[string]int) string {
	parts := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// printForecast writes the --dry-run forecast.
func (a *app) printForecast(f campaign.Forecast, format string) error {
	if format == "json" {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(f)
	}
	limit := "unlimited"
	if f.Limit >= 0 {
		limit = fmt.Sprintf("%d unique recipients per 24 h", f.Limit)
	}
	fmt.Fprintf(a.out, "dry run: nothing sent\nscope %s: limit %s (from %s)\n", f.Scope, limit, f.Source)
	fmt.Fprintf(a.out, "%-10s  %4s  %9s  %10s\n", "date", "day", "allowance", "recipients")
	for i, d := range f.Days {
		if len(f.Days) > 40 && i >= 30 && i < len(f.Days)-5 {
			if i == 30 {
				fmt.Fprintf(a.out, "%-10s  (%d more days)\n", "...", len(f.Days)-35)
			}
			continue
		}
		allow := "unlimited"
		if d.Allowance >= 0 {
			allow = strconv.Itoa(d.Allowance)
		}
		fmt.Fprintf(a.out, "%-10s  %4d  %9s  %10d\n", d.Date, d.Day, allow, d.Recipients)
	}
	if f.Window != "" {
		fmt.Fprintf(a.out, "send window: %s\n", f.Window)
		if f.NextOpen != nil {
			fmt.Fprintf(a.out, "next opening: %s\n", campaign.LocalTime(*f.NextOpen))
		}
	}
	switch {
	case f.Finish != "":
		fmt.Fprintf(a.out, "expected to finish on %s (%d day(s))\n", f.Finish, len(f.Days))
	case len(f.Days) == 0:
		fmt.Fprintln(a.out, "nothing left to send")
	case f.Days[len(f.Days)-1].Allowance == 0:
		fmt.Fprintln(a.out, "cannot finish: the allowance is zero")
	default:
		fmt.Fprintf(a.out, "does not finish within %d days at this allowance: raise the limit or split the list\n", len(f.Days))
	}
	return nil
}
