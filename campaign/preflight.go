package campaign

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/whatsend/whatsend/sender"
)

// ReasonMarketingUS is the skip reason of a recipient in region US sent a
// MARKETING template: Meta does not deliver those (cloud-api.md §4.5).
const ReasonMarketingUS = "marketing_us"

// ReasonUnanswered is the skip reason of a recipient sent --max-unanswered
// template messages (by any campaign) without ever replying.
const ReasonUnanswered = "unanswered"

// templateInterval is the least time between two template reads: template
// management calls have a tight budget (cloud-api.md §4.8).
const templateInterval = time.Minute

// TemplateReader is implemented by senders that can read a template by
// name and language (the guard's pre-flight and polling). Without it, or
// without a WhatsApp Business Account id, the template checks are skipped
// with a warning.
type TemplateReader interface {
	Template(ctx context.Context, name, lang string) (sender.Template, error)
}

// templateCheck is the state of the template polling.
type templateCheck struct {
	reader TemplateReader // nil: checks skipped
	last   time.Time
}

// preflightTemplate checks, before any send of this run, that the template
// exists in the language, is APPROVED, has the parameters --params gives and
// is not of RED quality. A failure pauses the campaign (exit 3) and nothing
// is sent.
func (r *runner) preflightTemplate(ctx context.Context) error {
	tr, ok := r.d.Sender.(TemplateReader)
	if !ok {
		return nil
	}
	t, err := tr.Template(ctx, r.s.Template, r.s.Language)
	r.tpl.last = r.d.Now()
	switch {
	case errors.Is(err, sender.ErrNoWABA):
		r.d.Logger.Warn("no WhatsApp Business Account id (--waba-id or WHATSEND_WABA_ID): the template's status, quality and parameters are not checked", "campaign", r.c.Name)
		return nil
	case errors.Is(err, sender.ErrTemplateNotFound):
		return r.pauseNow(ctx, &pauseCause{Kind: "template",
			Reason: fmt.Sprintf("pre-flight: template %q does not exist in language %s in this WhatsApp Business Account", r.s.Template, r.s.Language),
			Detail: map[string]any{"template": r.s.Template, "language": r.s.Language}})
	case err != nil:
		return r.readFailed(ctx, err, "could not read the template; it is checked again later")
	}
	r.tpl.reader = tr
	r.marketing = t.Category == "MARKETING"
	if t.Format == sender.Named {
		r.s.ParamFormat, r.s.ParamNames = string(sender.Named), r.s.placeholders()
	}
	if p := templateProblem(t, r.s); p != nil {
		if r.o.Force && p.Kind == "template" {
			r.d.Logger.Warn("--force: sending although "+p.Reason, "campaign", r.c.Name)
			return nil
		}
		return r.pauseNow(ctx, p)
	}
	return nil
}

// pollTemplate re-reads the template at most once a minute, between
// batches; a template Meta paused or disabled, or whose quality turned RED,
// pauses the campaign.
func (r *runner) pollTemplate(ctx context.Context) error {
	if r.tpl.reader == nil || r.d.Now().Sub(r.tpl.last) < templateInterval {
		return nil
	}
	t, err := r.tpl.reader.Template(ctx, r.s.Template, r.s.Language)
	r.tpl.last = r.d.Now()
	if err != nil {
		return r.readFailed(ctx, err, "could not read the template")
	}
	if p := templateStatusProblem(t); p != nil && !r.o.Force {
		return r.pauseNow(ctx, p)
	}
	return nil
}

// templateProblem is what stops a campaign from using the template: its
// status, its quality, or parameters that do not match --params.
func templateProblem(t sender.Template, s Settings) *pauseCause {
	if p := templateStatusProblem(t); p != nil {
		return p
	}
	detail := map[string]any{"template": t.Name, "language": t.Language, "parameters": t.ParamCount, "params": s.Params}
	if t.Format == sender.Named {
		// A NAMED template's --params columns are its placeholder names.
		want, got := slices.Clone(t.ParamNames), s.placeholders()
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			return &pauseCause{Kind: "preflight", Detail: detail,
				Reason: fmt.Sprintf("pre-flight: template %q has the named parameters %v; --params gives %v", t.Name, t.ParamNames, s.Params)}
		}
		return nil
	}
	if t.ParamCount != len(s.Params) {
		return &pauseCause{Kind: "preflight", Detail: detail,
			Reason: fmt.Sprintf("pre-flight: template %q has %d body parameters; --params gives %d (%v)", t.Name, t.ParamCount, len(s.Params), s.Params)}
	}
	return nil
}

// templateStatusProblem pauses on a template that is not APPROVED or whose
// quality is RED.
func templateStatusProblem(t sender.Template) *pauseCause {
	detail := map[string]any{"template": t.Name, "language": t.Language, "status": t.Status, "quality": t.Quality}
	switch {
	case t.Status != "APPROVED":
		return &pauseCause{Kind: "template", Detail: detail,
			Reason: fmt.Sprintf("template %q (%s) is %s at Meta, not APPROVED: messages would fail", t.Name, t.Language, t.Status)}
	case t.Quality == "RED":
		return &pauseCause{Kind: "template", Detail: detail,
			Reason: fmt.Sprintf("template %q (%s) has quality RED: Meta may pause it; edit or replace it", t.Name, t.Language)}
	}
	return nil
}
