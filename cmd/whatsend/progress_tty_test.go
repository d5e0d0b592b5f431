package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The progress line in a real terminal (tmux) of 80 and 120 columns: one
// line, never longer than the terminal, no wrapped copies piling up, and the
// name of a derived campaign (the longest kind) still told apart.
func TestProgressLineInTerminal(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no tmux in PATH: CI must install it (apt-get install -y tmux)")
		}
		t.Skip("no tmux in PATH: apt-get install -y tmux to run the terminal test")
	}
	bin := whatsendBin(t)
	// At 80 columns the warm-up's first day allows 25 of the 60: the run
	// stops with work left (exit 10) and the line must say 41 %, not 100 %.
	for _, tc := range []struct {
		cols       int
		tier, exit string
		end        string
	}{
		{80, "", "EXIT=10", `\b41% 25/60\b`},
		{120, "unlimited", "EXIT=0", `\b100% 60/60\b`},
	} {
		cols := tc.cols
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			dir := t.TempDir()
			csv := writeCSV(t, dir, 60, 0)
			if err := os.Rename(csv, filepath.Join(dir, "clientes_b.csv")); err != nil {
				t.Fatal(err)
			}
			sock := filepath.Join(dir, "tmux.sock")
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			tm := func(args ...string) string {
				t.Helper()
				cmd := exec.CommandContext(ctx, tmux, append([]string{"-S", sock, "-f", "/dev/null"}, args...)...)
				cmd.Env = append(os.Environ(), "TERM=xterm-256color", "WHATSEND_DB="+filepath.Join(dir, "whatsend.db"))
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("tmux %v: %v\n%s", args, err, out)
				}
				return string(out)
			}
			// stdout (the summary) goes to a file: the pane shows stderr.
			script := fmt.Sprintf("cd %q && %q run clientes_b.csv --template order_update --lang en_US --params name,order_id --simulate --rate 30 %s >out.txt; echo EXIT=$?; %q -S %q wait-for -S done; sleep 60",
				dir, bin, tierFlag(tc.tier), tmux, sock)
			tm("new-session", "-d", "-s", "w", "-x", fmt.Sprint(cols), "-y", "40", "sh", "-c", script)
			t.Cleanup(func() {
				_ = exec.Command(tmux, "-S", sock, "kill-server").Run()
			})
			tm("wait-for", "done")
			rows := strings.Split(strings.TrimRight(tm("capture-pane", "-p", "-S", "-", "-t", "w"), "\n"), "\n")
			joined := strings.Split(strings.TrimRight(tm("capture-pane", "-p", "-J", "-S", "-", "-t", "w"), "\n"), "\n")
			if !strings.Contains(strings.Join(rows, "\n"), tc.exit) {
				t.Fatalf("want %s; the pane:\n%s", tc.exit, strings.Join(rows, "\n"))
			}
			for _, r := range rows {
				if utf8.RuneCountInString(r) > cols {
					t.Errorf("a row of %d columns in a %d-column pane: %q", utf8.RuneCountInString(r), cols, r)
				}
			}
			// Logical lines (tmux joins what wrapped): the messages and the
			// progress line, which must be one line narrower than the pane.
			var prog []string
			for _, l := range joined {
				if l == "" || strings.HasPrefix(l, "whatsend: ") || strings.HasPrefix(l, "EXIT=") || strings.HasPrefix(l, "time=") {
					continue
				}
				prog = append(prog, l)
			}
			if len(prog) != 1 {
				t.Fatalf("%d progress lines, want one redrawn in place; the pane:\n%s", len(prog), strings.Join(rows, "\n"))
			}
			line := prog[0]
			if w := utf8.RuneCountInString(line); w >= cols {
				t.Errorf("progress line of %d columns in a %d-column terminal (it wraps): %q", w, cols, line)
			}
			if !regexp.MustCompile(tc.end).MatchString(line) {
				t.Errorf("progress line %q: want %s at the end", line, tc.end)
			}
			name := "clientes_b-order_update-en_US-"
			if cols == 120 && !strings.Contains(line, name) {
				t.Errorf("progress line %q at 120 columns: want the whole campaign name", line)
			}
			if !strings.HasPrefix(line, "clientes_b") {
				t.Errorf("progress line %q: want it to start with the campaign's name", line)
			}
			t.Logf("%d columns: %s", cols, line)
		})
	}
}

func tierFlag(tier string) string {
	if tier == "" {
		return ""
	}
	return "--tier " + tier
}
