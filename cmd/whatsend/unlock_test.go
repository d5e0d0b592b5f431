package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/whatsend/whatsend/sender/simulator"
	"github.com/whatsend/whatsend/store"
	"github.com/whatsend/whatsend/store/sqlite"
)

func TestStatStarted(t *testing.T) {
	// Field 2 may hold spaces and parentheses; field 22 is 283289.
	line := "29248 (a) b (c) R 29006 29006 13200 0 -1 4194304 99 0 0 0 0 0 0 0 20 0 1 0 283289 3133440 389 18446744073709551615\n"
	if got := statStarted(line); got != 283289 {
		t.Errorf("statStarted = %d, want 283289", got)
	}
	for _, bad := range []string{"", "29248 (cat", "29248 (cat) R 1 2 3", "1 (x) R 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 0"} {
		if got := statStarted(bad); got != 0 {
			t.Errorf("statStarted(%q) = %d, want 0 (unknown)", bad, got)
		}
	}
	if runtime.GOOS != "linux" {
		return
	}
	if procStarted(os.Getpid()) == 0 {
		t.Error("procStarted(own pid) = 0 on Linux")
	}
	if procStarted(1<<22+1) != 0 {
		t.Error("procStarted(no such pid) != 0")
	}
}

// startSleep starts a live, unrelated process and stops it when the test
// ends.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// writeLeases writes leases of a process that is not whatsend (owner
// "ghost") as if it held them, with the given heartbeat.
func writeLeases(t *testing.T, db string, pid int, started int64, heartbeat time.Time, keys ...string) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	host, _ := os.Hostname()
	takeAny := store.LeasePolicy{Host: host, Alive: func(int) bool { return false }}
	for _, k := range keys {
		l := store.Lease{Key: k, Owner: "ghost", PID: pid, Started: started, Host: host, Heartbeat: heartbeat}
		if err := st.AcquireLease(t.Context(), l, takeAny); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLeaseOfAReusedPid: a lease whose pid now belongs to a live,
// unrelated process is honoured only while its heartbeat is fresh and the
// process's start time matches; campaign unlock removes it once stale.
func TestLeaseOfAReusedPid(t *testing.T) {
	p := newProc(t, nil)
	db := p.dir + "/whatsend.db"
	for i, name := range []string{"one", "two"} {
		args := []string{"run", writeCSV(t, p.dir, 3, 100*i), "--template", "order_update", "--lang", "en_US",
			"--params", "name,order_id", "--simulate", "--dry-run", "--name", name}
		if code := p.exec(args...); code != 0 {
			t.Fatalf("import %s exited %d\n%s", name, code, p.stderr.String())
		}
	}
	phone := "phone:" + simulator.DefaultPhoneNumberID
	sleep := startSleep(t)
	pid := sleep.Process.Pid
	started := procStarted(pid)
	host, _ := os.Hostname()
	holder := fmt.Sprintf("pid %d on %s", pid, host)

	// Fresh heartbeat, the same process: held.
	writeLeases(t, db, pid, started, time.Now().Add(-time.Second), "campaign:1", phone)
	for _, args := range [][]string{{"resume", "one"}, {"resume", "--all"}, {"resume", "--all", "--force"}} {
		if code := p.exec(args...); code != 4 {
			t.Errorf("%v with a fresh lease exited %d, want 4\n%s", args, code, p.stderr.String())
		} else if !strings.Contains(p.stderr.String(), fmt.Sprintf("pid %d", pid)) {
			t.Errorf("%v: busy message %q does not name pid %d", args, p.stderr.String(), pid)
		}
	}
	if code := p.exec("campaign", "unlock", "one"); code != 4 {
		t.Errorf("unlock of a fresh lease exited %d, want 4\n%s", code, p.stderr.String())
	} else if msg := p.stderr.String(); !strings.Contains(msg, holder) || !strings.Contains(msg, "s ago") {
		t.Errorf("unlock refusal %q does not name %s and the heartbeat's age", msg, holder)
	}

	// Fresh heartbeat, but the pid now runs a process started at another
	// time: the holder is gone.
	if runtime.GOOS == "linux" {
		writeLeases(t, db, pid, started+1, time.Now(), "campaign:2", phone)
		if code := p.exec("resume", "two"); code != 0 {
			t.Errorf("resume of a lease whose pid was reused exited %d, want 0\n%s", code, p.stderr.String())
		}
	} else {
		t.Log("no /proc: the start-time case is covered by storetest only")
	}

	// Heartbeat 2 h old, pid alive: gone.
	stale := time.Now().Add(-2 * time.Hour)
	writeLeases(t, db, pid, started, stale, "campaign:1", phone)
	if code := p.exec("campaign", "unlock", "one"); code != 0 {
		t.Errorf("unlock of a stale lease exited %d, want 0\n%s", code, p.stderr.String())
	}
	for _, key := range []string{"campaign:1", phone} {
		if !strings.Contains(p.stdout.String(), "removed the lease "+key+" of "+holder) {
			t.Errorf("unlock said %q, want it to name %s removed", p.stdout.String(), key)
		}
	}
	if code := p.exec("campaign", "unlock", "one"); code != 0 || !strings.Contains(p.stdout.String(), "nothing to unlock") {
		t.Errorf("second unlock exited %d saying %q, want 0 and nothing to unlock", code, p.stdout.String())
	}
	writeLeases(t, db, pid, started, stale, "campaign:1", phone)
	if code := p.exec("resume", "--all"); code != 0 {
		t.Errorf("resume --all with a stale lease exited %d, want 0\n%s", code, p.stderr.String())
	}
}
