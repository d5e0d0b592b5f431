package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/store"
)

type resumeOptions struct {
	all       bool
	worker    bool
	poll      time.Duration
	pairs     int
	campaigns int // deprecated alias of pairs; -1 when not given
	api       apiOptions
	exec      execOptions
}

func newResumeCmd(a *app) *cobra.Command {
	o := &resumeOptions{campaigns: -1}
	cmd := &cobra.Command{
		Use:   "resume [CAMPAIGN]",
		Short: "Continue a campaign after a pause, a crash or the next day",
		Long: `Resume continues a campaign with the settings stored when it was started:
CAMPAIGN is its id or name; without it, the most recent campaign.

Recipients left in flight by a crash or kill -9 are marked uncertain: Meta may
or may not have their message, so they are not re-sent unless
--resend-uncertain is given (a duplicate message harms the user and the
number). A paused campaign is resumed after its cause is checked again;
--force resumes it anyway.

--all is the cron entry: it drives every campaign that is not finished, one
after another in creation order, sending what today's allowance permits, and
exits with the most urgent of their codes (1 > 3 > 4 > 10 > 0). It lifts
only a pause caused by the network (the API could not be reached): that
campaign's pre-flight runs again and it continues when the API answers.
Other paused campaigns are listed and skipped (exit 3) until a person
resumes them by name. Cancelled campaigns are skipped (exit 0); resuming
one by name is refused (exit 2).

--all --worker runs until SIGINT or SIGTERM, as one of several workers on
one machine or several sharing a PostgreSQL database (--db postgres://...).
It drives up to --pairs campaign/number pairs at once (default 1): the
share of a campaign assigned to one phone number of its pool, any pair
whose lease and whose number's lease it can take, each until that share is
done, paused or waiting (allowance, send window, retries due after --poll),
then takes the next; with nothing to do it looks again every --poll. Each
pair is driven by one worker at a time, so three workers send a campaign of
three numbers together, one number each; a plain resume of the campaign
(all its numbers in one process) waits until no worker drives it, and the
reverse. A number paused by its guard is paused for every worker until a
person resumes the campaign by name. (--campaigns is the former name of
--pairs.) A worker that dies (kill -9, a machine lost) keeps its leases until
its heartbeat is --lease-expiry old; then another worker takes its pairs
over, and the recipients it had in flight from their numbers become
uncertain, as after any crash. On the same host a dead worker's leases are taken over at once (its
pid is gone); leases name the host by WHATSEND_HOST, else the host name:
give machines whose containers share a host name distinct WHATSEND_HOST
values. On a signal it lets the requests in flight finish (--shutdown-wait),
releases its leases and exits 0. Paused campaigns are skipped as with --all.

Exit status: 0 finished (--worker: stopped by a signal); 3 paused; 4 busy
(another process holds the campaign or the number); 10 stopped with work
left; 130/143 interrupted, progress saved; 2 usage error; 1 unexpected
error.`,
		Args:    cobra.MaximumNArgs(1),
		PreRunE: func(*cobra.Command, []string) error { return o.validate() },
		RunE: func(cmd *cobra.Command, args []string) error {
			arg := ""
			if len(args) == 1 {
				arg = args[0]
			}
			return runResume(cmd, a, o, arg)
		},
	}
	cmd.Flags().BoolVar(&o.all, "all", false, "resume every campaign that is not finished (for cron)")
	cmd.Flags().BoolVar(&o.worker, "worker", false, "with --all: run until a signal, driving any campaign no other worker drives")
	cmd.Flags().DurationVar(&o.poll, "poll", DefaultPoll, "with --worker: how often to look for work when there is none")
	cmd.Flags().IntVar(&o.pairs, "pairs", 1, "with --worker: campaign/number pairs driven at once at most")
	cmd.Flags().IntVar(&o.campaigns, "campaigns", -1, "with --worker: the former name of --pairs")
	_ = cmd.Flags().MarkDeprecated("campaigns", "use --pairs (a worker drives campaign/number pairs)")
	cmd.Flags().StringVar(&o.api.tokenFile, "token-file", "", "read the access token from this file")
	addExecFlags(cmd, &o.exec)
	return cmd
}

// validate checks the flags that need no store: --worker goes with --all,
// polls at a positive interval and does not --wait (it moves on instead).
func (o *resumeOptions) validate() error {
	if o.worker && !o.all {
		return usagef("resume: --worker goes with --all (whatsend resume --all --worker)")
	}
	if o.worker && o.exec.wait {
		return usagef("resume --worker: --wait would hold one campaign while others have work; a worker moves on and comes back")
	}
	if o.poll <= 0 {
		return usagef("--poll %s: want a positive duration", o.poll)
	}
	if o.campaigns != -1 {
		if o.campaigns < 1 {
			return usagef("--campaigns %d: want at least 1", o.campaigns)
		}
		o.pairs = o.campaigns
	}
	if o.pairs < 1 {
		return usagef("--pairs %d: want at least 1", o.pairs)
	}
	return o.exec.validate()
}

func runResume(cmd *cobra.Command, a *app, o *resumeOptions, arg string) error {
	ctx := cmd.Context()
	if o.all && arg != "" {
		return usagef("resume: give a CAMPAIGN or --all, not both")
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if !o.all {
		c, err := findCampaign(ctx, st, arg)
		if err != nil {
			return err
		}
		return a.resumeOne(cmd, st, c, o)
	}
	if o.worker {
		return a.runWorker(cmd, st, o)
	}
	cs, err := st.Campaigns(ctx)
	if err != nil {
		return err
	}
	var worst error
	n := 0
	for _, c := range cs {
		if c.State.Closed() || c.State == store.CampaignImporting { // finished or cancelled
			continue
		}
		n++
		if c.State == store.CampaignPaused && campaign.PastNotAfter(c, a.now()) {
			// Its --not-after passed: the run expires it, sending nothing.
			fmt.Fprintf(a.out, "campaign %s (id %d): paused, and its --not-after passed: expiring it\n", c.Name, c.ID)
		} else if c.State == store.CampaignPaused && campaign.RetriesItself(c) {
			// The API was unreachable: the run re-checks it and continues
			// when it answers, or pauses again.
			fmt.Fprintf(a.out, "campaign %s (id %d): paused because the API was unreachable; trying again\n", c.Name, c.ID)
		} else if c.State == store.CampaignPaused {
			// Cron never lifts another pause: a person resumes it by name
			// after fixing the cause. It still yields 3 so cron mail shows it.
			fmt.Fprintf(a.out, "campaign %s (id %d): paused, skipped: %s\n  after fixing the cause: whatsend resume %s\n", c.Name, c.ID, c.PauseReason, campaign.QuoteArg(c.Name))
			worst = mostUrgent(worst, fmt.Errorf("campaign %s: %w", c.Name, campaign.ErrPaused))
			continue
		}
		if skip := a.otherNumber(c); skip != "" {
			// Cron with WHATSEND_PHONE_NUMBER_ID set drives that number's
			// campaigns; another number's are not an error every hour.
			fmt.Fprintf(a.out, "campaign %s (id %d): %s, skipped\n", c.Name, c.ID, skip)
			continue
		}
		err := a.resumeOne(cmd, st, c, o)
		if ctx.Err() != nil {
			return err // a signal overrides all
		}
		if err != nil && !errors.Is(err, campaign.ErrPaused) && !errors.Is(err, campaign.ErrMoreWork) && !errors.Is(err, campaign.ErrBusy) {
			fmt.Fprintf(a.errOut, "whatsend: campaign %s: %v\n", c.Name, err)
		}
		worst = mostUrgent(worst, err)
	}
	if n == 0 {
		fmt.Fprintln(a.out, "no campaign to resume")
	}
	return worst
}

// mostUrgent keeps the error whose exit code matters most for cron:
// 1 > 3 > 4 > 10 > 0.
func mostUrgent(a, b error) error {
	rank := func(err error) int {
		switch exitCode(err) {
		case exitOK:
			return 0
		case exitMoreWork:
			return 1
		case exitBusy:
			return 2
		case exitPaused:
			return 3
		}
		return 4
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// otherNumber says why resume --all leaves a campaign alone when
// WHATSEND_PHONE_NUMBER_ID names another number than the campaign's; ""
// when it does not.
func (a *app) otherNumber(c store.Campaign) string {
	env := a.getenv("WHATSEND_PHONE_NUMBER_ID")
	s, err := campaign.DecodeSettings(c.Settings)
	if env == "" || err != nil || campaign.CheckPhoneNumberID(c.Name, s, "WHATSEND_PHONE_NUMBER_ID", env) == nil {
		return ""
	}
	return fmt.Sprintf("sends from %s, not WHATSEND_PHONE_NUMBER_ID=%s (resume it by name without that variable)", s.Target(), env)
}

func (a *app) resumeOne(cmd *cobra.Command, st store.Store, c store.Campaign, o *resumeOptions) error {
	s, err := campaign.DecodeSettings(c.Settings)
	if err != nil {
		return err
	}
	// The client comes from the stored target alone: a rehearsal goes back
	// to the built-in simulator, a real campaign to its API and number.
	if err := campaign.CheckPhoneNumberID(c.Name, s, "WHATSEND_PHONE_NUMBER_ID", a.getenv("WHATSEND_PHONE_NUMBER_ID")); err != nil {
		return err
	}
	client, err := a.newClient(s, o.api)
	if err != nil {
		return err
	}
	return a.drive(cmd, st, client, c, o.exec)
}
