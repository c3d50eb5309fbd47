//go:build unix

package depgraph

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user + system) this process has used, to tell
// the work done from waiting on a busy machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
