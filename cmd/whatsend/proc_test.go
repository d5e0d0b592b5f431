package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// These tests drive the real binary as a subprocess against `whatsend sim`
// on loopback: the only way to test kill -9, signals and leases honestly.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// whatsendBin builds the binary once per test run.
func whatsendBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "whatsend-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "whatsend")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// simProc is a `whatsend sim` subprocess.
type simProc struct {
	url  string
	cmd  *exec.Cmd
	once sync.Once
}

// stop ends the simulator with SIGTERM (SIGKILL after 10 s) and waits for
// it; the test's cleanup calls it too.
func (s *simProc) stop() {
	s.once.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	})
}

// startSim starts the simulator on 127.0.0.1 with a free port and stops it
// when the test ends.
func startSim(t testing.TB, args ...string) *simProc {
	t.Helper()
	cmd := exec.Command(whatsendBin(t), append([]string{"sim", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "WHATSEND_DB="+filepath.Join(t.TempDir(), "unused.db"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sim := &simProc{cmd: cmd}
	t.Cleanup(sim.stop)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("sim: reading its first line: %v", err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("sim's first line = %q, want listening on http://127.0.0.1:PORT", line)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	sim.url = url
	return sim
}

func (s *simProc) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func (s *simProc) control(t *testing.T, body string) {
	t.Helper()
	resp, err := http.Post(s.url+"/_sim/control", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("control %s: %s", body, resp.Status)
	}
}

type simMessages struct {
	Messages []struct {
		To       string   `json:"to"`
		Callback string   `json:"callback"`
		Params   []string `json:"params"`
	} `json:"messages"`
}

type simStats struct {
	Accepted int            `json:"accepted"`
	ByCode   map[string]int `json:"by_code"`
	Uploads  int            `json:"uploads"`
}

// proc is one whatsend invocation against the simulator.
type proc struct {
	t      *testing.T
	bin    string
	dir    string
	sim    *simProc
	extra  []string // environment
	stdout bytes.Buffer
	stderr bytes.Buffer
}

func newProc(t *testing.T, sim *simProc) *proc {
	return &proc{t: t, bin: whatsendBin(t), dir: t.TempDir(), sim: sim}
}

func (p *proc) command(args ...string) *exec.Cmd {
	cmd := exec.Command(p.bin, args...)
	cmd.Dir = p.dir
	cmd.Env = append(os.Environ(),
		"WHATSEND_DB="+filepath.Join(p.dir, "whatsend.db"),
		"WHATSEND_TOKEN=sim-token",
		"WHATSEND_PHONE_NUMBER_ID=100000000000001",
		// A PostgreSQL store's send journals go to the user's cache
		// folder: the test's own.
		"XDG_CACHE_HOME="+filepath.Join(p.dir, "cache"),
	)
	cmd.Env = append(cmd.Env, p.extra...)
	return cmd
}

// runArgs are the flags of a run against the simulator process.
func (p *proc) runArgs(csv string, more ...string) []string {
	return append([]string{"run", csv, "--template", "order_update", "--lang", "en_US", "--params", "name,order_id",
		"--api-url", p.sim.url, "--tier", "unlimited"}, more...)
}

// exec runs a command to completion (bounded) and returns its exit code.
func (p *proc) exec(args ...string) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := p.command(args...)
	cmd = exec.CommandContext(ctx, cmd.Path, cmd.Args[1:]...)
	cmd.Dir, cmd.Env = p.dir, p.command().Env
	p.stdout.Reset()
	p.stderr.Reset()
	cmd.Stdout, cmd.Stderr = &p.stdout, &p.stderr
	err := cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode()
	}
	if err != nil {
		p.t.Fatalf("%v: %v", args, err)
	}
	return 0
}

// writeCSV writes n recipients with distinct valid numbers.
func writeCSV(t testing.TB, dir string, n, offset int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("name,phone,order_id\n")
	for i := range n {
		fmt.Fprintf(&b, "Customer %d,+55119%08d,A-%05d\n", i, 10000000+offset+i, i)
	}
	path := filepath.Join(dir, fmt.Sprintf("list%d.csv", offset))
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitAccepted waits (up to a minute) until the simulator has accepted n
// messages.
func (s *simProc) waitAccepted(t *testing.T, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d accepted messages", n), time.Minute, func() bool {
		var st simStats
		s.getJSON(t, "/_sim/stats", &st)
		return st.Accepted >= n
	})
}

// waitFor polls cond every 20 ms until it holds or the deadline passes.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a subprocess's writer goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// resumeUntilFinished runs resume until it exits 0, at most limit times;
// any exit other than 0 or 10 (more work) fails the test.
func (p *proc) resumeUntilFinished(limit int) {
	p.t.Helper()
	code := -1
	for range limit {
		if code = p.exec("resume"); code == 0 {
			return
		}
		if code != exitMoreWork {
			p.t.Fatalf("resume exited %d, want 0 or 10\nstdout: %s\nstderr: %s", code, p.stdout.String(), p.stderr.String())
		}
	}
	p.t.Fatalf("campaign not finished after %d resumes (last exit %d)", limit, code)
}
