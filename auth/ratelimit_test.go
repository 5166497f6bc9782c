package auth

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	clock := &fakeClock{t: testNow}
	l := NewLimiter(1, 3, 100) // 1/s, bursts of 3
	l.Now = clock.Now
	type step struct {
		advance time.Duration
		key     string
		want    bool
	}
	steps := []step{
		{0, "a", true}, {0, "a", true}, {0, "a", true}, {0, "a", false}, // burst spent
		{0, "b", true}, // other keys are independent
		{500 * time.Millisecond, "a", false},
		{500 * time.Millisecond, "a", true}, // one token back after 1 s
		{0, "a", false},
		{10 * time.Second, "a", true}, {0, "a", true}, {0, "a", true}, {0, "a", false}, // refilled to burst, not beyond
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		if got := l.Allow(s.key); got != s.want {
			t.Errorf("step %d: Allow(%q) at +%v = %v, want %v", i, s.key, clock.Now().Sub(testNow), got, s.want)
		}
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	clock := &fakeClock{t: testNow}
	l := NewLimiter(1, 2, 50)
	l.Now = clock.Now
	for i := range 1000 {
		l.Allow(fmt.Sprintf("k%d", i))
		if n := l.Len(); n > 50 {
			t.Fatalf("after %d keys Len() = %d, want <= 50", i+1, n)
		}
	}
	// Idle keys whose buckets refilled are swept first; a busy key that
	// is throttled survives the sweep.
	clock.Advance(time.Hour)
	l2 := NewLimiter(1, 2, 3)
	l2.Now = clock.Now
	l2.Allow("busy")
	l2.Allow("busy")
	l2.Allow("idle1")
	l2.Allow("idle2")
	clock.Advance(2 * time.Second) // idle1/idle2 fully refilled; busy too, but re-touch it
	if !l2.Allow("busy") {
		t.Fatal("busy key throttled after refill")
	}
	l2.Allow("busy") // spend the burst
	l2.Allow("new")  // full: sweeps idle1 and idle2, keeps busy
	if l2.Len() != 2 {
		t.Errorf("Len() after sweep = %d, want 2 (busy, new)", l2.Len())
	}
	if l2.Allow("busy") {
		t.Error("busy key got a fresh bucket from the sweep; want it still throttled")
	}
}

func TestLimiterDefaults(t *testing.T) {
	l := NewLimiter(0, 0, 0)
	if l.burst != 1 || l.maxKeys != DefaultLimiterKeys {
		t.Errorf("NewLimiter(0,0,0) = burst %d, maxKeys %d; want 1, %d", l.burst, l.maxKeys, DefaultLimiterKeys)
	}
	if !l.Allow("x") || l.Allow("x") {
		t.Error("zero rate: want exactly one event (the burst), then refusal")
	}
}
