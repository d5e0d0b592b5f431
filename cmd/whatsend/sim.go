package main

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender/simulator"
)

type simOptions struct {
	addr       string
	cfg        simulator.Config
	tier       string
	templates  string
	tplFile    string
	secretFile string
}

func newSimCmd(a *app) *cobra.Command {
	o := &simOptions{}
	cmd := &cobra.Command{
		Use:   "sim [--addr 127.0.0.1:8090]",
		Short: "Serve the built-in Cloud API simulator on loopback",
		Long: `Sim serves a faithful stand-in for Meta's WhatsApp Cloud API, for rehearsals
and for tests of the real HTTP client. Its first line on stdout is
"listening on http://HOST:PORT" (with --addr 127.0.0.1:0 a free port is
picked). It serves until SIGINT or SIGTERM.

Defaults, as for a new Meta number: token sim-token, phone number id
100000000000001, business portfolio 200000000000001, WhatsApp Business
Account 300000000000001, any vNN.N version, 80 msg/s, tier 250, pair
interval 6s with a burst of 45, quality GREEN, status CONNECTED, latency
20ms ± 10ms, no faults, and two templates: order_update (en_US, UTILITY,
APPROVED, 2 positional body parameters) and spring_promo (en_US and pt_BR,
MARKETING, APPROVED: an IMAGE header, the body "Hi {{1}}, {{2}} off
everything this week.", a footer, a URL button https://shop.example.com/c/{{1}}
at index 0 and a quick reply "Stop promotions" at index 1).

--templates-file FILE loads the templates instead, in the JSON shape of
Meta's GET /{waba-id}/message_templates answer: {"data":[{"name",
"language", "status", "category", "parameter_format", "components":[...]}]}
with HEADER (format TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION), BODY, FOOTER
and BUTTONS (URL, static or ending in {{1}}, QUICK_REPLY, COPY_CODE,
PHONE_NUMBER). The listing answers each template's components, and every
send is checked against them as Meta checks it: parameters missing or extra
per component (132000), a media header's type (132012), a URL or copy-code
button without its parameter (131008), an empty text, a parameter_name on a
positional template or none on a named one (100), a button the template does
not have, a currency or date_time without its fields, a media link that is
not https, a media id this simulator did not issue or that expired.

POST /{phone-number-id}/media takes an upload (multipart/form-data with
messaging_product=whatsapp and file, its part's Content-Type one of Meta's
media types, within Meta's size limit for it) and answers {"id":"..."}; the
id lasts --media-ttl (Meta: 30 days) on the simulator's clock.

Point whatsend at it with --api-url http://HOST:PORT, WHATSEND_TOKEN=sim-token
and --phone-number-id 100000000000001 (or the number given to sim's own
--phone-number-id: one simulator per number, for several numbers).

Inspection and control endpoints (no token):
  GET  /_sim/messages   every accepted message, in order, with the request's
                        "template" object as sent
  GET  /_sim/stats      {"accepted":N,"by_code":{"131056":N,...}}, and "uploads":N
                        once media was uploaded
  GET  /_sim/health     the phone-number fields
  POST /_sim/control    {"quality":"RED"}, {"status":"FLAGGED"}, {"tier":2000},
                        {"template":{"name":"order_update","status":"PAUSED"}},
                        {"advance":"24h"}, {"fault_131056":0},
                        {"webhooks":"hold"} (queue notifications), {"webhooks":"release"}

Webhooks: with --webhook-url (e.g. http://127.0.0.1:8080/webhook, where
'whatsend webhook' listens) every accepted message gets the notifications
Meta would send, each POSTed alone and signed with X-Hub-Signature-256 under
the app secret (WHATSEND_APP_SECRET or --app-secret-file, required then):
sent, delivered, and read for --read-rate of them; or one failed status,
131026 for an --undeliverable-rate recipient, 131049 for a
--marketing-limit-rate one; and an inbound text reply for --reply-rate of the
delivered messages, "STOP" for --stop-share of those replies. Replies and
STOPs carry context.id, the message's wamid; --button-share of them are
quick-reply button taps (type "button", the STOP one "Stop promotions" with
payload STOP), and --user-prefs-share of the STOPs come as Meta's
user_preferences marketing stop instead (no context, as Meta sends it);
--unsupported-share of the other replies are "unsupported" messages (error
131051, no context), which are no reply.
--bsuid-share of the recipients are shown by a business-scoped user id:
statuses carry recipient_user_id, replies user_id / from_user_id without
wa_id / from. Shares are exact over the sequence of messages and their
choice follows --seed; notifications come --webhook-delay apart,
timestamped by the simulator's clock, sent and signed as Meta sends them:
non-ASCII characters \u-escaped and "/" as "\/". --webhook-batch N puts up
to N notifications ready at once in one POST (one entry, a change each);
--webhook-duplicate-rate of them are sent twice, and
--webhook-reorder-rate of the read messages get their read before their
delivered. A POST not answered 200 is retried --webhook-retries times with
a growing pause (100ms doubled, at most 5s), then given up. /_sim/stats then
has "webhooks": {"sent","delivered","read","failed","replies","stops",
"buttons","unsupported","user_preferences" (notifications answered 200, by kind, once
each whatever the copies), "replied","opted_out","bsuid" (distinct
recipients), "reordered","duplicates","posts","ok","retries","gave_up",
"dropped","pending"}, and /_sim/messages says which messages were read,
the reply and its type, and the user id.

--fault-131056 is an exact share, evenly spread: 0.03 answers 131056 to
exactly 3 sends in 100, never more by chance; the other faults are drawn
from --seed.

WHATSEND_NOW starts the simulator's clock at that instant: RFC 3339
(2026-12-05T09:00:00-03:00) or a local time and an IANA zone
(2026-12-05T09:00 America/Sao_Paulo). {"advance": ...} moves the clock and
the notifications still waiting for their time alike.

Exit status: 130 or 143 after a stop by SIGINT or SIGTERM; 2 on bad flags; 1 when the
address cannot be served.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runSim(cmd, a, o) },
	}
	f := cmd.Flags()
	c := &o.cfg
	f.StringVar(&o.addr, "addr", "127.0.0.1:8090", "address to listen on")
	f.StringVar(&c.PhoneNumberID, "phone-number-id", simulator.DefaultPhoneNumberID, "the phone number id served")
	f.Float64Var(&c.MPS, "mps", 80, "throughput: messages per second per number (130429 above)")
	f.StringVar(&o.tier, "tier", "250", "unique recipients per rolling 24 h, or unlimited")
	f.DurationVar(&c.PairInterval, "pair-interval", 6*time.Second, "pair rate: one message per user per interval (131056)")
	f.IntVar(&c.PairBurst, "pair-burst", 45, "pair rate burst allowance, in messages")
	f.StringVar(&c.Quality, "quality", "GREEN", "quality rating: GREEN, YELLOW or RED")
	f.StringVar(&c.Status, "status", "CONNECTED", "phone number status")
	f.StringVar(&c.ThroughputLevel, "throughput", "STANDARD", "throughput level: STANDARD or HIGH")
	f.BoolVar(&c.OnBizApp, "on-biz-app", false, "the number is shared with the WhatsApp Business app")
	f.DurationVar(&c.Latency, "latency", 20*time.Millisecond, "answer latency (0 for none)")
	f.DurationVar(&c.Jitter, "jitter", 10*time.Millisecond, "latency jitter, ±")
	f.Float64Var(&c.FailRate, "fail-rate", 0, "share of sends answered 500 / 131000")
	f.Float64Var(&c.DropRate, "drop-rate", 0, "share of sends recorded, then the connection closed without an answer")
	f.Float64Var(&c.HangRate, "hang-rate", 0, "share of sends that never answer")
	f.Float64Var(&c.Fault131056, "fault-131056", 0, "exact share of sends answered 131056 whatever the pacing, evenly spread")
	f.Float64Var(&c.UndeliverableRate, "undeliverable-rate", 0, "share of recipients not on WhatsApp (deterministic per number)")
	f.Float64Var(&c.MarketingLimitRate, "marketing-limit-rate", 0, "share of recipients at Meta's marketing limit (MARKETING templates)")
	f.IntVar(&c.OverTierCode, "over-tier-code", 131048, "code answered over the tier (Meta documents none)")
	f.BoolVar(&c.QualityModel, "quality-model", false, "quality turns YELLOW then RED as 131056 answers pile up")
	f.Int64Var(&c.Seed, "seed", 1, "seed of the faults and jitter")
	f.StringVar(&o.templates, "templates", "", "templates as name:lang:category:count[:status],... (default order_update:en_US:UTILITY:2 and spring_promo)")
	f.StringVar(&o.tplFile, "templates-file", "", "load templates from this file, in the JSON shape of Meta's message_templates answer")
	f.DurationVar(&c.MediaTTL, "media-ttl", simulator.DefaultMediaTTL, "how long an uploaded media id lasts")
	f.StringVar(&c.WebhookURL, "webhook-url", "", "POST signed status and reply webhooks to this URL (e.g. http://127.0.0.1:8080/webhook)")
	f.StringVar(&o.secretFile, "app-secret-file", "", "read the app secret that signs webhooks from this file (default: WHATSEND_APP_SECRET)")
	f.Float64Var(&c.ReadRate, "read-rate", simulator.DefaultReadRate, "share of delivered messages that are read")
	f.Float64Var(&c.ReplyRate, "reply-rate", 0.1, "share of delivered messages answered with an inbound text (read too)")
	f.Float64Var(&c.StopShare, "stop-share", 0.1, `share of those replies that say "STOP"`)
	f.DurationVar(&c.WebhookDelay, "webhook-delay", simulator.DefaultWebhookDelay, "acceptance to the sent status, and between a message's notifications")
	f.IntVar(&c.WebhookRetries, "webhook-retries", simulator.DefaultWebhookRetries, "retries of a notification not answered 200")
	f.IntVar(&c.WebhookBatch, "webhook-batch", 1, "notifications per POST at most, of those ready at once (Meta batches up to 1000)")
	f.Float64Var(&c.WebhookDuplicateRate, "webhook-duplicate-rate", 0, "share of notifications sent twice")
	f.Float64Var(&c.WebhookReorderRate, "webhook-reorder-rate", 0, "share of read messages whose read status comes before their delivered")
	f.Float64Var(&c.ButtonShare, "button-share", 0, "share of replies that are quick-reply button taps (a STOP taps \"Stop promotions\")")
	f.Float64Var(&c.UserPrefsShare, "user-prefs-share", 0, "share of STOPs sent as a user_preferences marketing stop instead of a message")
	f.Float64Var(&c.UnsupportedShare, "unsupported-share", 0, "share of replies that are unsupported messages (type unsupported, error 131051, no context)")
	f.Float64Var(&c.BSUIDShare, "bsuid-share", 0, "share of recipients shown by a business-scoped user id (user_id, from_user_id) without wa_id / from")
	return cmd
}

// parseTemplates reads --templates.
func parseTemplates(v string) ([]simulator.Template, error) {
	if v == "" {
		return nil, nil
	}
	var out []simulator.Template
	for _, part := range strings.Split(v, ",") {
		f := strings.Split(part, ":")
		if len(f) < 4 || len(f) > 5 {
			return nil, fmt.Errorf("--templates %q: want name:lang:category:count[:status]", part)
		}
		n, err := strconv.Atoi(f[3])
		if err != nil || n < 0 {
			return nil, fmt.Errorf("--templates %q: count must be a number", part)
		}
		t := simulator.Template{Name: f[0], Language: f[1], Category: strings.ToUpper(f[2]), Params: n}
		if len(f) == 5 {
			t.Status = strings.ToUpper(f[4])
		}
		out = append(out, t)
	}
	return out, nil
}

// readTemplatesFile reads --templates-file.
func readTemplatesFile(path string) ([]simulator.Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--templates-file: %w", err)
	}
	ts, err := simulator.ParseTemplates(b)
	if err != nil {
		return nil, fmt.Errorf("--templates-file %s: %w", path, err)
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("--templates-file %s: no templates in data", path)
	}
	return ts, nil
}

func runSim(cmd *cobra.Command, a *app, o *simOptions) error {
	cfg := o.cfg
	tier, err := campaign.ParseTier(o.tier)
	if err != nil {
		return &usageError{err}
	}
	cfg.Tier = tier
	if cfg.Latency == 0 {
		cfg.Latency = -1
	}
	if cfg.Templates, err = parseTemplates(o.templates); err != nil {
		return &usageError{err}
	}
	if o.tplFile != "" {
		ts, err := readTemplatesFile(o.tplFile)
		if err != nil {
			return &usageError{err}
		}
		cfg.Templates = append(cfg.Templates, ts...)
	}
	if cfg.MediaTTL <= 0 {
		return usagef("--media-ttl %s: want a positive duration such as 720h", cfg.MediaTTL)
	}
	if err := simWebhooks(a, o, &cfg); err != nil {
		return err
	}
	cfg.Now, cfg.Logger = a.now, a.logger
	sim := simulator.New(cfg)
	defer sim.Close() // after the server: stops the webhook deliveries
	return serve(cmd.Context(), a, "sim", o.addr, sim)
}

// simWebhooks checks the webhook flags and reads the app secret. A zero
// flag means none, where the simulator's zero means its default.
func simWebhooks(a *app, o *simOptions, cfg *simulator.Config) error {
	for _, r := range []struct {
		name string
		v    float64
	}{{"--read-rate", cfg.ReadRate}, {"--reply-rate", cfg.ReplyRate}, {"--stop-share", cfg.StopShare},
		{"--webhook-duplicate-rate", cfg.WebhookDuplicateRate}, {"--webhook-reorder-rate", cfg.WebhookReorderRate},
		{"--button-share", cfg.ButtonShare}, {"--user-prefs-share", cfg.UserPrefsShare}, {"--bsuid-share", cfg.BSUIDShare},
		{"--unsupported-share", cfg.UnsupportedShare}} {
		if r.v < 0 || r.v > 1 {
			return usagef("%s %g: want a share from 0 to 1", r.name, r.v)
		}
	}
	if cfg.WebhookBatch < 1 || cfg.WebhookBatch > 1000 {
		return usagef("--webhook-batch %d: want 1 to 1000 notifications a POST", cfg.WebhookBatch)
	}
	if cfg.ReadRate == 0 {
		cfg.ReadRate = -1
	}
	if cfg.WebhookDelay <= 0 {
		cfg.WebhookDelay = -1
	}
	if cfg.WebhookRetries <= 0 {
		cfg.WebhookRetries = -1
	}
	if cfg.WebhookURL == "" {
		return nil
	}
	u, err := url.Parse(cfg.WebhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--webhook-url %q: want an http or https URL", cfg.WebhookURL)
	}
	secret, err := a.appSecret(o.secretFile)
	if err != nil {
		return err
	}
	if secret == "" {
		return usagef("--webhook-url needs the app secret that signs webhooks: set WHATSEND_APP_SECRET (or --app-secret-file)")
	}
	cfg.AppSecret = secret
	return nil
}
