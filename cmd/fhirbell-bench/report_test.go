package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one", ms(7), 99, 7 * time.Millisecond},
		{"p50 of 1..10", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 50, 5 * time.Millisecond},
		{"p90 of 1..10", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 90, 9 * time.Millisecond},
		{"p99 of 1..10", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p0 is the minimum", ms(3, 4), 0, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("%s: percentile(%v, %v) = %v, want %v", tt.name, tt.in, tt.p, got, tt.want)
		}
	}
}

func TestDist(t *testing.T) {
	in := []time.Duration{4 * time.Millisecond, -1 * time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond}
	got := dist(in)
	want := Dist{N: 4, Min: -1, Mean: 2, P50: 2, P90: 4, P99: 4, Max: 4}
	if got != want {
		t.Errorf("dist(%v) = %+v, want %+v", in, got, want)
	}
	if z := dist(nil); z != (Dist{}) || z.String() != "-" {
		t.Errorf("dist(nil) = %+v %q, want zero and \"-\"", z, z.String())
	}
}

func TestObservationIsJSON(t *testing.T) {
	b := observation("run-k1", "run-p2", 42)
	if id := resourceID(b); id != "" {
		t.Errorf("observation has id %q, want none", id)
	}
	want := `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://bench.example","code":"run-k1"}]},"subject":{"reference":"Patient/run-p2"},"valueQuantity":{"value":42}}`
	if string(b) != want {
		t.Errorf("observation = %s, want %s", b, want)
	}
}
