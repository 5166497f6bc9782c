package notify

import (
	"sync"
	"time"
)

// warnLimiter lets through at most warnsPerSecond warn lines per second,
// so that a flood of misbehaving clients cannot flood the log;
// the rest are logged at debug.
type warnLimiter struct {
	mu     sync.Mutex
	window time.Time
	n      int
}

const warnsPerSecond = 10

func (l *warnLimiter) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.window) >= time.Second {
		l.window, l.n = now, 0
	}
	l.n++
	return l.n <= warnsPerSecond
}
