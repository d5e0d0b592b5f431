package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/whatsend/whatsend/campaign"
)

// owner identifies this process to the store's leases. Its host is
// WHATSEND_HOST when set, else the host name: a lease held on the same host
// is taken over at once when its pid is gone, so machines whose containers
// share a host name must each set a distinct WHATSEND_HOST.
func owner() campaign.Owner {
	host := os.Getenv("WHATSEND_HOST")
	if host == "" {
		host, _ = os.Hostname()
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	pid := os.Getpid()
	return campaign.Owner{
		ID:        fmt.Sprintf("%s:%d:%s", host, pid, hex.EncodeToString(b)),
		PID:       pid,
		Started:   procStarted(pid),
		Host:      host,
		Alive:     pidAlive,
		StartTime: procStarted,
	}
}

// pidAlive reports whether a process with that pid runs on this host.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// procStarted returns when process pid started, in clock ticks since boot
// (field 22 of /proc/<pid>/stat), or 0 when it is not known: no such
// process, or no /proc (not Linux). With the pid it names one process:
// a pid reused later comes with another start time.
func procStarted(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return statStarted(string(b))
}

// statStarted reads the start time from a /proc/<pid>/stat line. Field 2,
// the command name in parentheses, may itself hold spaces and
// parentheses: the fields are counted from the last ')'.
func statStarted(stat string) int64 {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(stat[i+1:]) // fields 3, 4, ...
	const field = 22
	if len(fields) < field-2 {
		return 0
	}
	n, err := strconv.ParseInt(fields[field-3], 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
