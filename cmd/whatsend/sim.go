package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/campaign"
	"github.com/whatsend/whatsend/sender/simulator"
)

type simOptions struct {
	addr      string
	cfg       simulator.Config
	tier      string
	templates string
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
20ms ± 10ms, no faults, and the template order_update (en_US, UTILITY,
APPROVED, 2 positional body parameters).

Point whatsend at it with --api-url http://HOST:PORT, WHATSEND_TOKEN=sim-token
and --phone-number-id 100000000000001.

Inspection and control endpoints (no token):
  GET  /_sim/messages   every accepted message, in order
  GET  /_sim/stats      {"accepted":N,"by_code":{"131056":N,...}}
  GET  /_sim/health     the phone-number fields
  POST /_sim/control    {"quality":"RED"}, {"status":"FLAGGED"}, {"tier":2000},
                        {"template":{"name":"order_update","status":"PAUSED"}},
                        {"advance":"24h"}, {"fault_131056":0}

WHATSEND_NOW (RFC 3339) starts the simulator's clock at that instant.

Exit status: 130 or 143 after a stop by SIGINT or SIGTERM; 2 on bad flags; 1 when the
address cannot be served.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runSim(cmd, a, o) },
	}
	f := cmd.Flags()
	c := &o.cfg
	f.StringVar(&o.addr, "addr", "127.0.0.1:8090", "address to listen on")
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
	f.Float64Var(&c.Fault131056, "fault-131056", 0, "share of sends answered 131056 whatever the pacing")
	f.Float64Var(&c.UndeliverableRate, "undeliverable-rate", 0, "share of recipients not on WhatsApp (deterministic per number)")
	f.Float64Var(&c.MarketingLimitRate, "marketing-limit-rate", 0, "share of recipients at Meta's marketing limit (MARKETING templates)")
	f.IntVar(&c.OverTierCode, "over-tier-code", 131048, "code answered over the tier (Meta documents none)")
	f.BoolVar(&c.QualityModel, "quality-model", false, "quality turns YELLOW then RED as 131056 answers pile up")
	f.Int64Var(&c.Seed, "seed", 1, "seed of the faults and jitter")
	f.StringVar(&o.templates, "templates", "", "templates as name:lang:category:count[:status],... (default order_update:en_US:UTILITY:2)")
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
	cfg.Now, cfg.Logger = a.now, a.logger
	sim := simulator.New(cfg)

	return serve(cmd.Context(), a, "sim", o.addr, sim)
}
