package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/whatsend/whatsend/store/sqlite"
)

// nobody is the user the read-only cases run as when the tests run as
// root, whom permission bits do not stop.
const nobody = 65534

// unprivileged runs the whatsend binary as a user that permission bits
// stop: the test's own user, or nobody when the tests run as root (then
// the binary is copied where nobody can run it).
type unprivileged struct {
	t    *testing.T
	bin  string
	base string // a folder every user can enter
	cred *syscall.Credential
}

func newUnprivileged(t *testing.T) *unprivileged {
	t.Helper()
	base, err := os.MkdirTemp("", "whatsend-access")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = filepath.WalkDir(base, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o755)
			}
			return nil
		})
		_ = os.RemoveAll(base)
	})
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	u := &unprivileged{t: t, bin: whatsendBin(t), base: base}
	if os.Geteuid() == 0 {
		u.cred = &syscall.Credential{Uid: nobody, Gid: nobody}
		b, err := os.ReadFile(u.bin)
		if err != nil {
			t.Fatal(err)
		}
		u.bin = filepath.Join(base, "whatsend")
		if err := os.WriteFile(u.bin, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// dir makes a folder under base owned by the user the binary runs as.
func (u *unprivileged) dir(name string) string {
	u.t.Helper()
	d := filepath.Join(u.base, name)
	if err := os.Mkdir(d, 0o755); err != nil {
		u.t.Fatal(err)
	}
	u.own(d)
	return d
}

// own gives path to the user the binary runs as.
func (u *unprivileged) own(path string) {
	u.t.Helper()
	if u.cred != nil {
		if err := os.Chown(path, nobody, nobody); err != nil {
			u.t.Fatal(err)
		}
	}
}

// exec runs the binary (bounded) and returns its exit code and stderr.
func (u *unprivileged) exec(args ...string) (int, string) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, u.bin, args...)
	cmd.Dir = u.base
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + u.base}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.cred}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	err := cmd.Run()
	if ee, ok := errors.AsType[*exec.ExitError](err); ok {
		return ee.ExitCode(), stderr.String()
	}
	if err != nil {
		u.t.Fatalf("%v: %v", args, err)
	}
	return 0, stderr.String()
}

// TestDBWhereItCannotBeWritten: --db in a folder that does not exist or
// that the user cannot write is a usage error naming the folder and the
// cause; a missing folder is not created.
func TestDBWhereItCannotBeWritten(t *testing.T) {
	u := newUnprivileged(t)
	// A store made before its folder turned read-only.
	old := u.dir("old")
	st, err := sqlite.Open(t.Context(), filepath.Join(old, "whatsend.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	u.own(filepath.Join(old, "whatsend.db"))
	readOnly := u.dir("readonly")
	file := filepath.Join(u.base, "file.txt")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{old, readOnly} {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(u.base, "missing")
	cases := []struct {
		name   string
		db     string
		folder string
		cause  string
	}{
		{"missing folder", filepath.Join(missing, "whatsend.db"), missing, "does not exist"},
		{"a file as folder", filepath.Join(file, "whatsend.db"), file, "not a folder"},
		{"read-only folder", filepath.Join(readOnly, "whatsend.db"), readOnly, "permission denied"},
		{"store in a read-only folder", filepath.Join(old, "whatsend.db"), old, "permission denied"},
	}
	for _, c := range cases {
		for _, args := range [][]string{{"status"}, {"optout", "list"}} {
			code, stderr := u.exec(append([]string{"--db", c.db}, args...)...)
			if code != 2 {
				t.Errorf("%s: %s exited %d, want 2\nstderr: %s", c.name, args[0], code, stderr)
				continue
			}
			if !strings.Contains(stderr, c.folder) || !strings.Contains(stderr, c.cause) {
				t.Errorf("%s: %s said %q, want it to name %s and say %q", c.name, args[0], stderr, c.folder, c.cause)
			}
		}
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the missing folder %s was created (%v)", missing, err)
	}
	if entries, _ := os.ReadDir(readOnly); len(entries) != 0 {
		t.Errorf("files appeared in the read-only folder: %v", entries)
	}
}
