package main

import (
	"net/http"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/sender/webhook"
)

type webhookOptions struct {
	addr       string
	secretFile string
	keywords   []string
}

func newWebhookCmd(a *app) *cobra.Command {
	o := &webhookOptions{}
	cmd := &cobra.Command{
		Use:   "webhook [--addr 127.0.0.1:8080]",
		Short: "Receive Meta's webhooks: delivery statuses, replies and opt-outs",
		Long: `Webhook serves Meta's WhatsApp callbacks at /webhook and records them in the
store, so reports show what was delivered and read, uncertain recipients are
settled, replies are tracked and opt-outs are honoured.

It answers Meta's GET verification handshake with the verify token from
WHATSEND_VERIFY_TOKEN, and accepts a POST only when its X-Hub-Signature-256
matches the app secret (WHATSEND_APP_SECRET or --app-secret-file); a POST is
answered 200 only after it is committed to the store, and a notification Meta
delivers twice is applied once.

It listens on loopback by default: put an HTTPS reverse proxy or a tunnel in
front of it and give Meta that public URL ending in /webhook. --addr
127.0.0.1:0 picks a free port; the first line on stdout is always
"listening on http://HOST:PORT". SIGINT or SIGTERM stops it gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runWebhook(cmd, a, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&o.secretFile, "app-secret-file", "", "read the app secret from this file (default: WHATSEND_APP_SECRET)")
	f.StringSliceVar(&o.keywords, "optout-keywords", webhook.DefaultOptOutKeywords, "inbound texts that opt the sender out")
	return cmd
}

func runWebhook(cmd *cobra.Command, a *app, o *webhookOptions) error {
	verify := strings.TrimSpace(a.getenv("WHATSEND_VERIFY_TOKEN"))
	if verify == "" {
		return usagef("no verify token: set WHATSEND_VERIFY_TOKEN to the string given to Meta")
	}
	secret, err := a.appSecret(o.secretFile)
	if err != nil {
		return err
	}
	if secret == "" {
		return usagef("no app secret: set WHATSEND_APP_SECRET (or --app-secret-file)")
	}
	st, err := a.openStore(cmd.Context())
	if err != nil {
		return err
	}
	defer st.Close()
	rcv := webhook.New(webhook.Config{
		Store: st, VerifyToken: sender.Secret(verify), AppSecret: secret,
		Keywords: o.keywords, Logger: a.logger, Now: a.now,
	})
	defer rcv.Close()
	mux := http.NewServeMux()
	mux.Handle("/webhook", rcv)
	return serve(cmd.Context(), a, "webhook", o.addr, mux)
}

// appSecret reads the app secret that signs webhooks from --app-secret-file
// or WHATSEND_APP_SECRET; empty when neither is set.
func (a *app) appSecret(file string) (sender.Secret, error) {
	if file == "" {
		return sender.Secret(strings.TrimSpace(a.getenv("WHATSEND_APP_SECRET"))), nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", usagef("--app-secret-file: %v", err)
	}
	return sender.Secret(strings.TrimSpace(string(b))), nil
}
