package campaign

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/whatsend/whatsend/sender"
	"github.com/whatsend/whatsend/store"
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
	def    sender.Template // as read by the pre-flight; zero when not read
}

// preflightTemplate checks the template (checkTemplate), then makes the
// --header-media file's media id ready: nothing is sent before both.
func (r *runner) preflightTemplate(ctx context.Context) error {
	if err := r.checkTemplate(ctx); err != nil {
		return err
	}
	return r.prepareHeaderMedia(ctx)
}

// checkTemplate checks, before any send of this run, that the template
// exists in the language, is APPROVED, is not of RED quality, and that the
// mapping fits its components (and its header links answer). A failure
// pauses the campaign (exit 3) and nothing is sent.
func (r *runner) checkTemplate(ctx context.Context) error {
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
	r.tpl.reader, r.tpl.def = tr, t
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
	problems, err := r.translationProblems(ctx)
	if err != nil {
		return r.readFailed(ctx, err, "could not read the template's translations; the other languages are not checked")
	}
	if len(problems) > 0 {
		return r.pauseNow(ctx, &pauseCause{Kind: "preflight", Reason: "pre-flight: " + strings.Join(problems, "; "),
			Detail: map[string]any{"template": t.Name, "problems": problems}})
	}
	return r.preflightLinks(ctx, t)
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
// status, its quality, or a mapping that does not fit its components
// (body parameters that do not match --params, a header or button without
// its column, a --header-media of the wrong kind). Every mapping problem
// is listed at once, each naming the component and the flag to fix.
func templateProblem(t sender.Template, s Settings) *pauseCause {
	if p := templateStatusProblem(t); p != nil {
		return p
	}
	var problems []string
	if p := bodyProblem(t, s); p != "" {
		problems = append(problems, p)
	}
	problems = append(problems, MappingProblems(t, s.componentMapping())...)
	if len(problems) == 0 {
		return nil
	}
	return &pauseCause{Kind: "preflight", Reason: "pre-flight: " + strings.Join(problems, "; "),
		Detail: map[string]any{"template": t.Name, "language": t.Language, "parameters": t.ParamCount, "params": s.Params, "problems": problems}}
}

// bodyProblem says how --params does not fit the template's body, or "".
func bodyProblem(t sender.Template, s Settings) string {
	params := s.Params
	if t.Format == sender.Named {
		// A NAMED template's --params columns are its placeholder names.
		want, got := slices.Clone(t.ParamNames), s.placeholders()
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			return fmt.Sprintf("template %q has the named parameters %v; --params gives %v", t.Name, t.ParamNames, params)
		}
		return ""
	}
	if t.ParamCount != len(params) {
		return fmt.Sprintf("template %q has %d body parameters; --params gives %d (%v)", t.Name, t.ParamCount, len(params), params)
	}
	return ""
}

// maxProbedLinks bounds the distinct header links a pre-flight asks: a
// column of per-row links can hold one per row.
const maxProbedLinks = 1000

// headerLinks lists the distinct header links the campaign still has to
// send: --header-media when it is a link, else the links frozen from the
// --header column for the recipients not yet settled (at most
// maxProbedLinks, in row order).
func (r *runner) headerLinks(ctx context.Context) (flag string, links []string, err error) {
	if IsLink(r.s.HeaderMedia) {
		return "--header-media", []string{r.s.HeaderMedia}, nil
	}
	col := ParseHeader(r.s.Header).Column
	if col == "" {
		return "", nil, nil
	}
	seen := map[string]bool{}
	more := false
	err = r.eachUnsettled(ctx, func(f frozen) error {
		if f.Header == nil || f.Header.Link == "" || seen[f.Header.Link] {
			return nil
		}
		if len(links) == maxProbedLinks {
			more = true
			return errStop
		}
		seen[f.Header.Link] = true
		links = append(links, f.Header.Link)
		return nil
	})
	if err != nil {
		return "", nil, err
	}
	if more {
		r.d.Logger.Warn(fmt.Sprintf("the pre-flight checks the first %d distinct header links only", maxProbedLinks), "campaign", r.c.Name, "column", col)
	}
	return "--header " + col, links, nil
}

// eachUnsettled calls fn with the frozen components of each recipient not
// yet settled (pending, retry, deferred, uncertain), in row order, until fn
// returns errStop.
func (r *runner) eachUnsettled(ctx context.Context, fn func(frozen) error) error {
	err := r.d.Store.Recipients(ctx, r.c.ID, func(rc store.Recipient) error {
		switch rc.State {
		case store.StatePending, store.StateRetry, store.StateDeferred, store.StateUncertain:
		default:
			return nil
		}
		var f frozen
		if len(rc.Components) == 0 || json.Unmarshal(rc.Components, &f) != nil {
			return nil
		}
		return fn(f)
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// translationProblems checks the mapping against each other language the
// rows still to send use (--lang-column): a translation may differ from
// the --lang one in its header, body or buttons.
func (r *runner) translationProblems(ctx context.Context) ([]string, error) {
	tr, ok := r.d.Sender.(TranslationReader)
	if r.s.LangColumn == "" || !ok {
		return nil, nil
	}
	langs := map[string]bool{}
	if err := r.eachUnsettled(ctx, func(f frozen) error {
		if f.Lang != "" && f.Lang != r.s.Language {
			langs[f.Lang] = true
		}
		return nil
	}); err != nil || len(langs) == 0 {
		return nil, err
	}
	ts, err := tr.Translations(ctx, r.s.Template)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range ts {
		if !langs[t.Language] || t.Status != "APPROVED" {
			continue
		}
		var ps []string
		if p := bodyProblem(t, r.s); p != "" {
			ps = append(ps, p)
		}
		for _, p := range append(ps, MappingProblems(t, r.s.componentMapping())...) {
			out = append(out, fmt.Sprintf("(%s, --lang-column %s) %s", t.Language, r.s.LangColumn, p))
		}
	}
	return out, nil
}

// preflightLinks asks every distinct header link once before the first
// send (a link Meta cannot fetch fails each message with 131053, often
// only in the status webhook). A rehearsal does not: the simulator
// fetches nothing and its demo links need not exist; nor does a run with
// --skip-link-check (a media host this machine cannot reach, Meta can).
func (r *runner) preflightLinks(ctx context.Context, t sender.Template) error {
	if t.Header == nil || !t.Header.Media() || r.s.Simulate || r.o.SkipLinkCheck {
		return nil
	}
	flag, links, err := r.headerLinks(ctx)
	if err != nil || len(links) == 0 {
		return err
	}
	p := r.d.Prober
	if p == nil {
		p = sender.Prober{}
	}
	problems := LinkProblems(ctx, p, t.Name, t.Header.Format, flag, links)
	if len(problems) == 0 {
		return nil
	}
	return r.pauseNow(ctx, &pauseCause{Kind: "preflight", Reason: "pre-flight: " + strings.Join(problems, "; "),
		Detail: map[string]any{"template": t.Name, "language": t.Language, "problems": problems}})
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
