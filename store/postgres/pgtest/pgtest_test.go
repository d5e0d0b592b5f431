package pgtest

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// recorder is a testing.TB whose Skipf and Fatalf are recorded and end
// its goroutine, as the real ones do.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func server(t *testing.T) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Server(r)
	}()
	<-done
	return r
}

// TestNoServer: without a server the suite is skipped and says so, except
// under CI=true or with WHATSEND_TEST_POSTGRES set, where it fails.
func TestNoServer(t *testing.T) {
	defer func(old string) { defaultDSN = old }(defaultDSN)
	defaultDSN = "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5"

	t.Setenv("WHATSEND_TEST_POSTGRES", "")
	t.Setenv("CI", "")
	if r := server(t); !strings.Contains(r.skipped, "PostgreSQL suite skipped") || r.failed != "" {
		t.Errorf("laptop without a server: skipped %q, failed %q; want skipped", r.skipped, r.failed)
	}
	t.Setenv("CI", "true")
	if r := server(t); r.failed == "" || r.skipped != "" {
		t.Errorf("CI without a server: skipped %q, failed %q; want failed", r.skipped, r.failed)
	}
	t.Setenv("CI", "")
	t.Setenv("WHATSEND_TEST_POSTGRES", defaultDSN)
	if r := server(t); r.failed == "" || r.skipped != "" {
		t.Errorf("WHATSEND_TEST_POSTGRES without a server: skipped %q, failed %q; want failed", r.skipped, r.failed)
	}
}
