package auth

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultLimiterKeys bounds the number of keys a Limiter tracks when
// NewLimiter is given no bound.
const DefaultLimiterKeys = 10000

// Limiter is a token bucket per key (a client id, or a client IP from
// TrustedProxies.ClientIP) for abuse limits on ticket and binding-token
// issuance and on WebSocket upgrades. Memory is bounded: a key idle long
// enough for its bucket to refill completely is forgotten (a fresh bucket
// is identical), and when maxKeys are still tracked after that sweep an
// arbitrary tenth is dropped, which hands those keys a fresh, full bucket
// — a flood of distinct keys therefore cannot grow memory, at the price of
// occasionally forgiving a throttled key. It is safe for concurrent use.
type Limiter struct {
	limit   rate.Limit
	burst   int
	maxKeys int
	idle    time.Duration // time for an empty bucket to refill

	// Now is the clock; time.Now when nil. Set it before first use.
	Now func() time.Time

	mu   sync.Mutex // guards keys
	keys map[string]*limiterEntry
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

// NewLimiter returns a Limiter allowing each key perSecond events per
// second on average, in bursts of up to burst (at least 1), tracking at
// most maxKeys keys (DefaultLimiterKeys when maxKeys <= 0).
func NewLimiter(perSecond float64, burst, maxKeys int) *Limiter {
	if burst < 1 {
		burst = 1
	}
	if maxKeys <= 0 {
		maxKeys = DefaultLimiterKeys
	}
	idle := time.Hour
	if perSecond > 0 {
		idle = time.Duration(float64(burst) / perSecond * float64(time.Second))
	}
	return &Limiter{
		limit:   rate.Limit(perSecond),
		burst:   burst,
		maxKeys: maxKeys,
		idle:    idle,
		keys:    make(map[string]*limiterEntry),
	}
}

// Allow reports whether key may act now, and if so spends one token.
func (l *Limiter) Allow(key string) bool {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= l.maxKeys {
			l.evict(now)
		}
		e = &limiterEntry{lim: rate.NewLimiter(l.limit, l.burst)}
		l.keys[key] = e
	}
	e.seen = now
	return e.lim.AllowN(now, 1)
}

// evict forgets fully refilled keys and, if that is not enough, an
// arbitrary tenth of the rest. Called with mu held.
func (l *Limiter) evict(now time.Time) {
	for k, e := range l.keys {
		if now.Sub(e.seen) >= l.idle {
			delete(l.keys, k)
		}
	}
	if len(l.keys) < l.maxKeys {
		return
	}
	drop := max(l.maxKeys/10, 1)
	for k := range l.keys {
		if drop == 0 {
			break
		}
		delete(l.keys, k)
		drop--
	}
}

// Len reports how many keys are tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}
