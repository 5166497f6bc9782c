package resthook

import "time"

// Backoff spaces the attempts after failures: the n-th failure in a row
// waits Base·2^(n-1), capped at Max, of which a random half is taken off
// ("equal jitter": never less than half the step, so retries stay spaced,
// and spread so that the subscriptions of one dead endpoint do not retry
// in lockstep). With the defaults: about 1, 2, 4, 8 … s, then 5 min.
type Backoff struct {
	Base time.Duration
	Max  time.Duration
}

// DefaultBackoff is the backoff used when none is configured.
var DefaultBackoff = Backoff{Base: time.Second, Max: 5 * time.Minute}

// Delay returns the wait after the failures-th failure in a row (from 1);
// jitter is a number in [0, 1).
func (b Backoff) Delay(failures int, jitter float64) time.Duration {
	if failures < 1 {
		return 0
	}
	d := b.Base
	for i := 1; i < failures && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return half + time.Duration(float64(d-half)*jitter)
}
