package campaign

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/whatsend/whatsend/sender"
)

// LinkProber reads what a header link's server says about it
// (sender.Prober).
type LinkProber interface {
	Probe(ctx context.Context, link string) (sender.LinkInfo, error)
}

// linkProbes bounds the header links asked at once: the business's own
// server, not Meta, answers them.
const linkProbes = 8

// maxLinkProblems bounds the failing links a pre-flight lists.
const maxLinkProblems = 5

// LinkProblems asks each distinct link once, at most linkProbes at a time,
// and lists those Meta could not use in a header of the format: no answer,
// a status other than 2xx, a content type that does not fill the format,
// a size over Meta's limit (docs/cloud-api-notes.md "Media"). flag names
// where the links came from (--header COLUMN, --header-media).
func LinkProblems(ctx context.Context, p LinkProber, template, format, flag string, links []string) []string {
	var distinct []string
	seen := map[string]bool{}
	for _, l := range links {
		if !seen[l] {
			seen[l] = true
			distinct = append(distinct, l)
		}
	}
	found := make([]string, len(distinct))
	sem := make(chan struct{}, linkProbes)
	var wg sync.WaitGroup
	for i, l := range distinct {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if why := linkProblem(ctx, p, format, l); why != "" {
				found[i] = fmt.Sprintf("%s: header link %s %s", flag, l, why)
			}
		})
	}
	wg.Wait()
	var out []string
	n := 0
	for _, f := range found {
		if f == "" {
			continue
		}
		if n++; n <= maxLinkProblems {
			out = append(out, f)
		}
	}
	if n > maxLinkProblems {
		out = append(out, fmt.Sprintf("%s: %d more header links fail the same way", flag, n-maxLinkProblems))
	}
	if n > 0 {
		out = append(out, fmt.Sprintf("template %s has %s %s header: every link must answer 2xx with a file of type %s within Meta's size limit",
			template, article(format), format, sender.MediaKinds(format)))
	}
	return out
}

// linkProblem says why one link cannot fill a header of the format, or "".
func linkProblem(ctx context.Context, p LinkProber, format, link string) string {
	info, err := p.Probe(ctx, link)
	switch {
	case err != nil:
		return "is unreachable: " + err.Error()
	case info.Status < 200 || info.Status > 299:
		return fmt.Sprintf("answers %s with HTTP %d", info.Method, info.Status)
	}
	mt, ok := sender.MediaTypeOf(info.ContentType)
	switch {
	case info.ContentType == "":
		return "gives no Content-Type"
	case !ok:
		return fmt.Sprintf("is %s, not a media type WhatsApp takes in a header", info.ContentType)
	case !mt.Fills(format):
		return fmt.Sprintf("is %s (%s), not %s", strings.ToLower(mt.Format), mt.MIME, strings.ToLower(format))
	case info.Size > mt.MaxBytes:
		return fmt.Sprintf("is %s bytes; WhatsApp takes %s up to %s", groupDigits(info.Size), mt.MIME, bytesText(mt.MaxBytes))
	}
	return ""
}
