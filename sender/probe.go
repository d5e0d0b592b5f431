package sender

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// LinkInfo is what a header link's server says about it.
type LinkInfo struct {
	Method      string // HEAD, or GET when the server refused HEAD
	Status      int
	ContentType string
	Size        int64 // Content-Length; -1 when not given
}

// Prober reads a media link's type and size the way Meta's media fetcher
// would reach it: one HEAD, or a GET when HEAD is refused (405, 501). It
// carries no credential: the link is the business's own public URL.
type Prober struct {
	HTTP    *http.Client  // default: a client of its own
	Timeout time.Duration // per link, default 10 s
}

// Probe asks the link's server for its headers. A GET's body is not read.
func (p Prober) Probe(ctx context.Context, link string) (LinkInfo, error) {
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return LinkInfo{}, errors.New("not an http(s) link")
	}
	hc := p.HTTP
	if hc == nil {
		hc = &http.Client{}
	}
	timeout := p.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	info, err := probeOnce(ctx, hc, http.MethodHead, link)
	if err == nil && (info.Status == http.StatusMethodNotAllowed || info.Status == http.StatusNotImplemented) {
		info, err = probeOnce(ctx, hc, http.MethodGet, link)
	}
	return info, err
}

func probeOnce(ctx context.Context, hc *http.Client, method, link string) (LinkInfo, error) {
	req, err := http.NewRequestWithContext(ctx, method, link, nil)
	if err != nil {
		return LinkInfo{}, errors.New("not an http(s) link")
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return LinkInfo{}, fmt.Errorf("%s: no answer in time", method)
		}
		// net/http quotes the URL, which the caller names already.
		return LinkInfo{}, fmt.Errorf("%s: %w", method, withoutURL(err))
	}
	resp.Body.Close()
	return LinkInfo{Method: method, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), Size: resp.ContentLength}, nil
}
