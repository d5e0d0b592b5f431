//go:build unix

package journal

import (
	"bytes"
	"errors"
	"os"
	"syscall"
)

// lockFile takes f's exclusive lock; without wait it fails at once when
// another process holds it. The kernel releases it when its holder dies,
// kill -9 included.
func lockFile(f *os.File, wait bool) error {
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}

// bootID names the running kernel: a file written without a sync is
// whole, up to its last write, only while the kernel that wrote it runs.
func bootID() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "", err
	}
	id := string(bytes.TrimSpace(b))
	if id == "" {
		return "", errors.New("empty boot id")
	}
	return id, nil
}
