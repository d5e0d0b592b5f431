package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile of the whole process to the file named
// by WHATSEND_CPUPROFILE, when set: how the benchmarks find what an engine
// row costs (go tool pprof whatsend FILE). It returns the function that
// ends the profile.
func startProfile(getenv func(string) string) func() {
	path := getenv("WHATSEND_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "whatsend: WHATSEND_CPUPROFILE:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}
