package simulator

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
)

// Transport returns an http.RoundTripper that calls the simulator directly,
// with no socket: it works inside a testing/synctest bubble, where a
// goroutine blocked on a socket would stall fake time. It calls the
// request's httptrace hooks as a real connection would, so a client that
// tells "may have reached Meta" from "surely not sent" by WroteRequest
// behaves the same; a drop fault ends the round trip with
// io.ErrUnexpectedEOF after the request was "written".
func (s *Sim) Transport() http.RoundTripper { return transport{s} }

type transport struct{ s *Sim }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	trace := httptrace.ContextClientTrace(ctx)
	if trace != nil && trace.GotConn != nil {
		trace.GotConn(httptrace.GotConnInfo{})
	}
	if req.Body != nil {
		defer req.Body.Close()
	}
	in := req.Clone(context.WithValue(ctx, inProcessKey{}, true))
	if trace != nil && trace.WroteHeaders != nil {
		trace.WroteHeaders()
	}
	if trace != nil && trace.WroteRequest != nil {
		trace.WroteRequest(httptrace.WroteRequestInfo{})
	}
	rec := httptest.NewRecorder()
	t.s.ServeHTTP(rec, in)
	if err := ctx.Err(); err != nil {
		return nil, err // the handler gave up with the client (a hang)
	}
	res := rec.Result()
	if res.Header.Get(dropHeader) != "" {
		return nil, errors.New("simulated connection drop: " + io.ErrUnexpectedEOF.Error())
	}
	res.Request = req
	return res, nil
}
