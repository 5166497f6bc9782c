//go:build unix

package main

import (
	"fmt"
	"syscall"
)

// raiseNoFile raises the soft open-file limit to at least need and returns
// the limit in force. The Go runtime already lifts the soft limit to the
// hard one at start; raising the hard limit needs CAP_SYS_RESOURCE, so a
// need above it is an error that says so.
func raiseNoFile(need uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("get open-file limit: %w", err)
	}
	if lim.Cur >= need {
		return lim.Cur, nil
	}
	want := lim
	want.Cur = need
	if want.Max < need {
		want.Max = need
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		// No privilege for the hard limit: take what we may.
		lim.Cur = lim.Max
		if err2 := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err2 != nil {
			return 0, fmt.Errorf("set open-file limit: %w", err2)
		}
		return lim.Cur, fmt.Errorf("open-file limit is %d, the run needs %d (raising the hard limit: %v)", lim.Cur, need, err)
	}
	return want.Cur, nil
}
