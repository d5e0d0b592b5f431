// Command bench measures the rows of issue 20's performance table on this
// machine and prints each with its figure; `make bench` runs it.
//
//	go run ./internal/cmd/bench                # every row, medians of 3 (about 40 minutes)
//	go run ./internal/cmd/bench -quick         # small sizes, one run each: a smoke test
//	go run ./internal/cmd/bench -10m           # adds the 10,000,000-row import
//	go run ./internal/cmd/bench -only import,report
//
// Under each rate row, two floor rows show what this machine charges for
// the pacing and the HTTP alone (floor.go): a rate row's figure is read
// against them.
//
// Every figure comes from whole processes of the built binary, measured the
// same way: wall time, and CPU (user + system) and peak RSS from the
// kernel's rusage of each child. When a row uses `whatsend sim`, the
// simulator is a separate process and its CPU is printed apart, so the
// engine's figure is whatsend alone and "with the simulator" is both.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/whatsend/whatsend/internal/listgen"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == floorArg {
		floorChild(os.Args[2:])
		return
	}
	quick := flag.Bool("quick", os.Getenv("BENCH_QUICK") != "", "small sizes and one run per row (env BENCH_QUICK)")
	ten := flag.Bool("10m", os.Getenv("BENCH_10M") != "", "also import 10,000,000 rows (env BENCH_10M; several minutes)")
	runs := flag.Int("runs", 3, "runs per row; the median is printed")
	only := flag.String("only", os.Getenv("BENCH_ONLY"), "comma-separated rows: import, import10m, rate80, rate1000, big, kill, report (default all)")
	keep := flag.Bool("keep", false, "keep the work directory")
	prof := flag.String("cpuprofile", "", "write a CPU profile of each measured `whatsend run` to this directory (the simulator's is not taken)")
	bin := flag.String("bin", "", "measure this whatsend binary instead of building ./cmd/whatsend (e.g. another commit's, to compare)")
	flag.Parse()
	b := &bench{runs: *runs, quick: *quick, profDir: *prof}
	if *quick {
		b.runs = 1
	}
	want := func(row string) bool {
		if row == "import10m" && !*ten && !strings.Contains(*only, "import10m") {
			return false
		}
		return *only == "" || slices.Contains(strings.Split(*only, ","), row)
	}
	var err error
	if b.dir, err = os.MkdirTemp("", "whatsend-bench"); err != nil {
		fatal(err)
	}
	if !*keep {
		defer os.RemoveAll(b.dir)
	} else {
		fmt.Println("work directory:", b.dir)
	}
	b.bin = filepath.Join(b.dir, "whatsend")
	if *bin != "" {
		if b.bin, err = filepath.Abs(*bin); err != nil {
			fatal(err)
		}
	} else if out, err := exec.Command("go", "build", "-o", b.bin, "./cmd/whatsend").CombinedOutput(); err != nil {
		fatal(fmt.Errorf("go build ./cmd/whatsend: %v\n%s", err, out))
	}
	fmt.Printf("whatsend benchmarks (issue 20), %d run(s) per row, median shown; CPU = user+sys from rusage\n", b.runs)
	rows := []struct {
		name string
		fn   func() error
	}{
		{"import", b.importRows},
		{"import10m", b.import10M},
		{"rate80", b.rate80},
		{"rate1000", b.rate1000},
		{"big", b.bigCampaign},
		{"kill", b.kill},
		{"report", b.report},
	}
	failed := false
	for _, r := range rows {
		if !want(r.name) {
			continue
		}
		if err := r.fn(); err != nil {
			fmt.Printf("%-58s ERROR %v\n", r.name, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

type bench struct {
	bin   string
	dir   string
	runs  int
	quick bool
	seq   int
	bigDB string // the store of the big row's last run
	// profDir: each `whatsend run` writes its CPU profile there
	// (WHATSEND_CPUPROFILE), named after its work directory.
	profDir string
}

// size is n, or n/q in quick mode.
func (b *bench) size(n, q int) int {
	if b.quick {
		return n / q
	}
	return n
}

// usage is what one process cost.
type usage struct {
	wall   time.Duration
	cpu    time.Duration // user + system
	maxRSS int64         // bytes
	out    string
	code   int
}

func rusageOf(ps *os.ProcessState) (time.Duration, int64) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss << 10
}

// newDir is a fresh directory for one run's store.
func (b *bench) newDir() string {
	b.seq++
	d := filepath.Join(b.dir, fmt.Sprintf("run%d", b.seq))
	if err := os.MkdirAll(d, 0o755); err != nil {
		fatal(err)
	}
	return d
}

func env(dir string) []string {
	return append(os.Environ(), "WHATSEND_DB="+filepath.Join(dir, "whatsend.db"),
		"WHATSEND_TOKEN=sim-token", "WHATSEND_PHONE_NUMBER_ID=100000000000001")
}

// whatsend runs the binary to its end in dir; exit 0 and 10 (stopped with
// work left) are success.
func (b *bench) whatsend(dir string, args ...string) (usage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.bin, args...)
	cmd.Dir, cmd.Env = dir, env(dir)
	if b.profDir != "" && len(args) > 0 && args[0] == "run" {
		cmd.Env = append(cmd.Env, "WHATSEND_CPUPROFILE="+filepath.Join(b.profDir, filepath.Base(dir)+".pprof"))
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	u := usage{wall: time.Since(start), out: stdout.String()}
	u.cpu, u.maxRSS = rusageOf(cmd.ProcessState)
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		u.code = ee.ExitCode()
		if u.code == 10 {
			err = nil
		}
	}
	if err != nil {
		return u, fmt.Errorf("whatsend %s: %v\n%s", strings.Join(args, " "), err, tail(stderr.String()+stdout.String(), 2000))
	}
	return u, nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// sim is a `whatsend sim` process.
type sim struct {
	url string
	cmd *exec.Cmd
}

func (b *bench) startSim(args ...string) (*sim, error) {
	cmd := exec.Command(b.bin, append([]string{"sim", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = env(b.newDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("sim: first line %q: %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return &sim{url: url, cmd: cmd}, nil
}

// stop ends the simulator and returns its CPU time.
func (s *sim) stop() time.Duration {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	cpu, _ := rusageOf(s.cmd.ProcessState)
	return cpu
}

// pace is the rate at which requests reached the simulator: the messages
// it accepted over the span from the first arrival to the last.
func (s *sim) pace() (float64, error) {
	var msgs struct {
		Messages []struct {
			Received time.Time `json:"received"`
		} `json:"messages"`
	}
	if err := s.getJSON("/_sim/messages", &msgs); err != nil {
		return 0, err
	}
	if len(msgs.Messages) < 2 {
		return 0, nil
	}
	first, last := msgs.Messages[0].Received, msgs.Messages[0].Received
	for _, m := range msgs.Messages {
		if m.Received.Before(first) {
			first = m.Received
		}
		if m.Received.After(last) {
			last = m.Received
		}
	}
	return float64(len(msgs.Messages)-1) / last.Sub(first).Seconds(), nil
}

func (s *sim) getJSON(path string, v any) error {
	resp, err := http.Get(s.url + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

type simStats struct {
	Accepted int `json:"accepted"`
}

// list writes a listgen CSV of n rows once and returns its path.
func (b *bench) list(n int, scattered bool) (string, error) {
	kind := "seq"
	if scattered {
		kind = "scattered"
	}
	path := filepath.Join(b.dir, fmt.Sprintf("%s-%d.csv", kind, n))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if scattered {
		err = listgen.Scattered(f, n, 1)
	} else {
		err = listgen.Sequential(f, n)
	}
	return path, errors.Join(err, f.Close())
}

var campaignArgs = []string{"--template", "order_update", "--lang", "en_US", "--params", "name,order_id"}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

func fmtAll(xs []float64, prec int) string {
	var p []string
	for _, x := range xs {
		p = append(p, strconv.FormatFloat(x, 'f', prec, 64))
	}
	return strings.Join(p, " ")
}

// row prints one table row: the figure's median, the goal and every run.
func row(name, figure, goal, runs string) {
	fmt.Printf("%-58s %-34s goal %-22s [%s]\n", name, figure, goal, runs)
}

// importOnce imports path with `whatsend run --simulate --dry-run`, the
// issue's end-to-end command (the dry run's forecast included).
func (b *bench) importOnce(path string) (usage, error) {
	return b.whatsend(b.newDir(), append(append([]string{"run", path}, campaignArgs...), "--simulate", "--dry-run")...)
}

func (b *bench) importRows() error {
	n := b.size(1_000_000, 10)
	for _, scattered := range []bool{true, false} {
		path, err := b.list(n, scattered)
		if err != nil {
			return err
		}
		var wall, cpu, rss []float64
		for range b.runs {
			u, err := b.importOnce(path)
			if err != nil {
				return err
			}
			wall, cpu, rss = append(wall, u.wall.Seconds()), append(cpu, u.cpu.Seconds()), append(rss, float64(u.maxRSS)/1e6)
		}
		name := fmt.Sprintf("import %d scattered rows, end to end", n)
		goal := "<= 10 s, <= 200 MB"
		if !scattered {
			name, goal = fmt.Sprintf("  the same, %d sequential rows", n), "-"
		}
		row(name, fmt.Sprintf("%.1f s, %.0f MB, %.1f CPU-s", median(wall), median(rss), median(cpu)), goal,
			"s: "+fmtAll(wall, 1)+"; MB: "+fmtAll(rss, 0))
	}
	return nil
}

func (b *bench) import10M() error {
	n := b.size(10_000_000, 10)
	path, err := b.list(n, true)
	if err != nil {
		return err
	}
	u, err := b.importOnce(path)
	if err != nil {
		return err
	}
	row(fmt.Sprintf("import %d scattered rows (one run)", n), fmt.Sprintf("%.1f s, %.0f MB, %.1f CPU-s", u.wall.Seconds(), float64(u.maxRSS)/1e6, u.cpu.Seconds()),
		"<= 120 s, <= 250 MB", "")
	return os.Remove(path)
}

// sendRun is one measured campaign against a separate simulator.
type sendRun struct {
	sent      int
	achieved  float64 // the summary's: sends over the whole invocation
	pace      float64 // at the simulator: sends over the span from the first request's arrival to the last's
	cpu, sim  time.Duration
	inProcess bool
}

var (
	summarySent     = regexp.MustCompile(`this run: (\d+) accepted by the API,`)
	summaryAchieved = regexp.MustCompile(`achieved ([0-9.]+) msg/s`)
)

func parseSummary(out string) (int, float64, error) {
	sm, am := summarySent.FindStringSubmatch(out), summaryAchieved.FindStringSubmatch(out)
	if sm == nil || am == nil {
		return 0, 0, fmt.Errorf("no summary in the output:\n%s", tail(out, 2000))
	}
	n, _ := strconv.Atoi(sm[1])
	r, _ := strconv.ParseFloat(am[1], 64)
	return n, r, nil
}

// engineSim are the simulator's flags for the engine rows: 1,000 msg/s
// allowed, no tier, no pair limit in the way.
func engineSim(latency string) []string {
	return []string{"--mps", "1000", "--latency", latency, "--tier", "unlimited", "--pair-burst", "1000000", "--throughput", "HIGH"}
}

// send runs a campaign of n scattered recipients at rate against a fresh
// simulator (latency) and measures whatsend and the simulator apart.
func (b *bench) send(n int, rate, latency string) (sendRun, error) {
	path, err := b.list(n, true)
	if err != nil {
		return sendRun{}, err
	}
	s, err := b.startSim(engineSim(latency)...)
	if err != nil {
		return sendRun{}, err
	}
	u, err := b.whatsend(b.newDir(), append(append([]string{"run", path}, campaignArgs...),
		"--api-url", s.url, "--tier", "unlimited", "--rate", rate)...)
	var pace float64
	if err == nil {
		pace, err = s.pace()
	}
	simCPU := s.stop()
	if err != nil {
		return sendRun{}, err
	}
	sent, achieved, err := parseSummary(u.out)
	if err != nil {
		return sendRun{}, err
	}
	if sent != n {
		return sendRun{}, fmt.Errorf("sent %d of %d", sent, n)
	}
	return sendRun{sent: sent, achieved: achieved, pace: pace, cpu: u.cpu, sim: simCPU}, nil
}

// sendInProcess runs the same campaign with --simulate: the built-in
// simulator runs inside whatsend, so the process's CPU includes it.
func (b *bench) sendInProcess(n int, rate string) (sendRun, error) {
	path, err := b.list(n, true)
	if err != nil {
		return sendRun{}, err
	}
	u, err := b.whatsend(b.newDir(), append(append([]string{"run", path}, campaignArgs...),
		"--simulate", "--tier", "unlimited", "--rate", rate)...)
	if err != nil {
		return sendRun{}, err
	}
	sent, achieved, err := parseSummary(u.out)
	if err != nil {
		return sendRun{}, err
	}
	return sendRun{sent: sent, achieved: achieved, cpu: u.cpu, inProcess: true}, nil
}

func per1000(d time.Duration, n int) float64 { return d.Seconds() / float64(n) * 1000 }

// engineRow runs a rate row and prints whatsend alone, the simulator and
// both, and with inProcess the --simulate variant (the built-in simulator
// allows 80 msg/s, so only the 80 msg/s row has one).
func (b *bench) engineRow(name, goal string, n int, rate, latency string, rateGoal float64, inProcess bool) error {
	var alone, both, simOnly, achieved, pace []float64
	for range b.runs {
		r, err := b.send(n, rate, latency)
		if err != nil {
			return err
		}
		alone = append(alone, per1000(r.cpu, r.sent))
		simOnly = append(simOnly, per1000(r.sim, r.sent))
		both = append(both, per1000(r.cpu+r.sim, r.sent))
		achieved = append(achieved, r.achieved)
		pace = append(pace, r.pace)
	}
	rateNote := ""
	if rateGoal > 0 {
		rateNote = fmt.Sprintf(", %.1f msg/s", median(achieved))
	}
	row(name, fmt.Sprintf("%.3f CPU-s/1000%s", median(alone), rateNote), goal, "whatsend alone: "+fmtAll(alone, 3)+"; msg/s: "+fmtAll(achieved, 1))
	if rateGoal > 0 {
		row("  the pace at the simulator (first to last arrival)", fmt.Sprintf("%.1f msg/s", median(pace)), "-", fmtAll(pace, 1))
	}
	row("  the separate simulator's CPU, and both processes", fmt.Sprintf("%.3f sim, %.3f both", median(simOnly), median(both)), "-", fmtAll(both, 3))
	if err := b.floorRows(n, rate, latency); err != nil {
		return err
	}
	if !inProcess {
		return nil
	}
	var inproc, inAchieved []float64
	for range b.runs {
		r, err := b.sendInProcess(n, rate)
		if err != nil {
			return err
		}
		inproc = append(inproc, per1000(r.cpu, r.sent))
		inAchieved = append(inAchieved, r.achieved)
	}
	row("  --simulate (built-in simulator in the process)", fmt.Sprintf("%.3f CPU-s/1000, %.1f msg/s", median(inproc), median(inAchieved)), "-", fmtAll(inproc, 3))
	return nil
}

func (b *bench) rate80() error {
	n := b.size(5_000, 10)
	return b.engineRow(fmt.Sprintf("CPU per 1,000 sends at 80 msg/s (%d recipients)", n), "<= 0.6", n, "80", "150ms", 0, true)
}

func (b *bench) rate1000() error {
	n := b.size(30_000, 10)
	return b.engineRow(fmt.Sprintf("CPU/1,000 at 1,000 msg/s, 150 ms, %d recipients", n), "<= 0.27, >= 990 msg/s", n, "1000", "150ms", 990, false)
}

// bigCampaign imports a scattered 1M list against the simulator, then
// sends at --rate 1000 for a bounded time (--max-duration): the rate on a
// campaign whose store holds a million recipients. It keeps the store for
// the report row.
func (b *bench) bigCampaign() error {
	n := b.size(1_000_000, 10)
	dur := "30s"
	if b.quick {
		dur = "5s"
	}
	path, err := b.list(n, true)
	if err != nil {
		return err
	}
	var achieved []float64
	for range b.runs {
		dir := b.newDir()
		s, err := b.startSim(engineSim("150ms")...)
		if err != nil {
			return err
		}
		args := append(append([]string{"run", path}, campaignArgs...), "--api-url", s.url, "--tier", "unlimited", "--rate", "1000")
		if _, err := b.whatsend(dir, append(args, "--dry-run")...); err != nil {
			s.stop()
			return err
		}
		u, err := b.whatsend(dir, append(args, "--max-duration", dur)...)
		s.stop()
		if err != nil {
			return err
		}
		_, r, err := parseSummary(u.out)
		if err != nil {
			return err
		}
		achieved = append(achieved, r)
		b.bigDB = dir
	}
	row(fmt.Sprintf("1,000 msg/s on a %d-recipient scattered campaign (%s)", n, dur), fmt.Sprintf("%.1f msg/s", median(achieved)), ">= 990 msg/s", fmtAll(achieved, 1))
	return nil
}

// kill sends 30,000 recipients at 1,000 msg/s to a simulator answering in
// 20 ms, kills whatsend with SIGKILL after 5,000 accepted, and counts what
// the kill left in flight in the store (the next run marks those
// uncertain): how many of them the simulator had accepted (answered, but
// the answer not committed) and how many it never accepted (requests in
// flight or not yet sent).
func (b *bench) kill() error {
	n, at := b.size(30_000, 10), b.size(5_000, 10)
	path, err := b.list(n, true)
	if err != nil {
		return err
	}
	var unc, acc, inflight, stored, over []float64
	within := 0
	for range b.runs {
		k, err := b.killOnce(path, at)
		if err != nil {
			return err
		}
		unc, acc, inflight = append(unc, float64(k.uncertain)), append(acc, float64(k.accepted)), append(inflight, float64(k.inFlight))
		stored = append(stored, float64(k.stored))
		// The bound is per kill: the medians of the two columns may come
		// from different runs.
		over = append(over, float64(k.uncertain-k.inFlight))
		if k.uncertain <= k.inFlight {
			within++
		}
	}
	row("uncertain after kill -9 at 1,000 msg/s, 20 ms latency", fmt.Sprintf("%.0f (%.0f in flight at the kill); within in %d of %d runs", median(unc), median(inflight), within, b.runs),
		"<= in flight", "uncertain: "+fmtAll(unc, 0)+"; in flight at the sim: "+fmtAll(inflight, 0)+"; uncertain less in flight: "+fmtAll(over, 0)+
			"; uncertain the sim accepted: "+fmtAll(acc, 0)+"; in flight in the store after the kill: "+fmtAll(stored, 0))
	return nil
}

// onTheWire: an answer the simulator wrote this long before a kill counts
// as in flight at the kill (cmd/whatsend's crash test uses the same).
const onTheWire = 5 * time.Millisecond

// killed is what one kill left.
type killed struct {
	uncertain int // recipients the next run left uncertain, once it read the killed run's send journal
	accepted  int // of them, accepted by the simulator (before or after the kill)
	inFlight  int // requests the simulator held at the kill: cut off, or answered after it
	stored    int // recipients in flight in the store after the kill, before the next run
}

func (b *bench) killOnce(path string, at int) (killed, error) {
	var k killed
	s, err := b.startSim(engineSim("20ms")...)
	if err != nil {
		return k, err
	}
	defer s.stop()
	dir := b.newDir()
	cmd := exec.Command(b.bin, append(append([]string{"run", path}, campaignArgs...), "--api-url", s.url, "--tier", "unlimited", "--rate", "1000")...)
	cmd.Dir, cmd.Env = dir, env(dir)
	if err := cmd.Start(); err != nil {
		return k, err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var st simStats
		if err := s.getJSON("/_sim/stats", &st); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return k, err
		}
		if st.Accepted >= at || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	kill := time.Now()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	// The simulator drops the requests the kill cut off (their context
	// ends): let their latency pass before reading what it accepted.
	time.Sleep(200 * time.Millisecond)
	var msgs struct {
		Messages []struct {
			To   string    `json:"to"`
			Time time.Time `json:"time"`
		} `json:"messages"`
		CutOff []struct{} `json:"cut_off"`
	}
	if err := s.getJSON("/_sim/messages", &msgs); err != nil {
		return k, err
	}
	// In flight at the kill, as the simulator saw it: the sends it cut
	// off, and those it answered after the kill. Only the killed process
	// sent to this simulator, so a request it read after the kill was
	// written before it (it waited in the socket) and counts too. So does
	// an answer written less than onTheWire before the kill, as in
	// TestKillNineUncertainBoundedByInFlight: on its way to, or unread
	// by, the client (a step's fifty answers come back together).
	k.inFlight = len(msgs.CutOff)
	seen := map[string]bool{}
	answeredBy := kill.Add(-onTheWire)
	for _, m := range msgs.Messages {
		seen[m.To] = true
		if !m.Time.Before(answeredBy) {
			k.inFlight++
		}
	}
	// The recipients the kill left in flight in the store; the next run
	// reads the killed run's send journal and leaves uncertain those
	// whose requests were out at the kill.
	left := map[string]bool{}
	err = recipients(dir, func(r store.Recipient) {
		if r.State == store.StateInFlight {
			left[r.Phone] = true
		}
	})
	if err != nil {
		return k, err
	}
	k.stored = len(left)
	next := exec.Command(b.bin, "resume", "--max-duration", "1ms")
	next.Dir, next.Env = dir, env(dir)
	if out, err := next.CombinedOutput(); err != nil && exitCode(err) != 10 {
		return k, fmt.Errorf("resume after the kill: %v\n%s", err, out)
	}
	err = recipients(dir, func(r store.Recipient) {
		if r.State == store.StateUncertain && left[r.Phone] {
			k.uncertain++
			if seen[r.Phone] {
				k.accepted++
			}
		}
	})
	return k, err
}

// recipients calls fn with each recipient of the one campaign of the
// SQLite store in dir.
func recipients(dir string, fn func(store.Recipient)) error {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "whatsend.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	cs, err := st.Campaigns(ctx)
	if err != nil || len(cs) != 1 {
		return fmt.Errorf("campaigns: %d, %v", len(cs), err)
	}
	return st.Recipients(ctx, cs[0].ID, func(r store.Recipient) error { fn(r); return nil })
}

// exitCode is a finished command's exit status, -1 when it did not run.
func exitCode(err error) int {
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode()
	}
	return -1
}

// report times `whatsend report --format json` and `--format html` on the
// million-recipient campaign of the big row (run it first), and the
// in-package benchmark whose fixture has 900,000 attempts.
func (b *bench) report() error {
	if b.bigDB == "" {
		if err := b.bigCampaign(); err != nil {
			return err
		}
	}
	var wall []float64
	for range b.runs {
		var t time.Duration
		for _, f := range []string{"json", "html"} {
			u, err := b.whatsend(b.bigDB, "report", "--format", f, "-o", filepath.Join(b.bigDB, "report."+f))
			if err != nil {
				return err
			}
			t += u.wall
		}
		wall = append(wall, t.Seconds())
	}
	row("report JSON + HTML of that campaign (CLI, two processes)", fmt.Sprintf("%.2f s", median(wall)), "<= 2 s", fmtAll(wall, 2))
	if b.quick {
		return nil // the benchmark's fixture alone takes minutes
	}
	args := []string{"test", "-run", "^$", "-timeout", "60m", "-bench", "BenchmarkReport1M/build", "-benchtime", fmt.Sprintf("%dx", b.runs), "./campaign/report/"}
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, tail(string(out), 2000))
	}
	m := regexp.MustCompile(`([0-9.]+) median-s`).FindStringSubmatch(string(out))
	if m == nil {
		return fmt.Errorf("no median-s in:\n%s", out)
	}
	row("report JSON + HTML, 1M rows and 900,000 attempts (benchmark)", m[1]+" s", "<= 2 s", "go "+strings.Join(args, " "))
	return nil
}
