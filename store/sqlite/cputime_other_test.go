//go:build !unix

package sqlite_test

import "time"

// cpuTime is zero where there is no getrusage: the benchmark's CPU
// figure is then 0.
func cpuTime() time.Duration { return 0 }
