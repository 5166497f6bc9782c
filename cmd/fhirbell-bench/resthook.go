package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/resthook/resthooktest"
)

// RestHookResult is the rest-hook scenario: W writers for a while, every
// write matching all N rest-hook subscriptions, whose notifications the
// generator's own receiver (on loopback) takes.
type RestHookResult struct {
	Subscriptions int     `json:"subscriptions"`
	Handshakes    int     `json:"handshakes"`
	Writes        int64   `json:"writes"`
	WritesPerSec  float64 `json:"writes_per_sec"`
	Expected      int64   `json:"events_expected"` // writes × subscriptions
	Received      int64   `json:"events_received"` // distinct (subscription, event) pairs acknowledged
	Duplicates    int64   `json:"duplicates"`
	POSTs         int64   `json:"posts"`
	EventsPerSec  float64 `json:"events_per_sec"` // received over the time from the first write to the last POST
	FromRequest   Dist    `json:"write_to_post"`  // POST arrival minus the write's request start
	HTTP          Dist    `json:"http"`           // the write's round trip
}

func (r *RestHookResult) rows() [][2]string {
	return [][2]string{
		{"subscriptions", fmt.Sprintf("%d (%d handshakes)", r.Subscriptions, r.Handshakes)},
		{"writes", fmt.Sprintf("%d (%.0f/s)", r.Writes, r.WritesPerSec)},
		{"events", fmt.Sprintf("%d received of %d, %d duplicates, in %d POSTs (%.0f events/s)", r.Received, r.Expected, r.Duplicates, r.POSTs, r.EventsPerSec)},
		{"write → POST", r.FromRequest.String()},
		{"write http", r.HTTP.String()},
	}
}

// createRestHookSubscription creates one rest-hook Subscription POSTing
// to endpoint.
func (c *client) createRestHookSubscription(ctx context.Context, criteria, endpoint string, maxCount int) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"resourceType": "Subscription",
		"status":       "requested",
		"reason":       "fhirbell-bench",
		"criteria":     criteria,
		"channel": map[string]any{
			"type": "rest-hook", "endpoint": endpoint, "payload": "application/fhir+json",
			"_payload": map[string]any{"extension": []any{map[string]any{
				"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-payload-content", "valueCode": "id-only"}}},
			"extension": []any{map[string]any{
				"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-max-count", "valuePositiveInt": maxCount}},
		},
	})
	b, err := c.do(ctx, http.MethodPost, "/Subscription", body)
	if err != nil {
		return "", fmt.Errorf("create rest-hook subscription (does the server allow loopback endpoints, --rest-hook-allow 127.0.0.1/8?): %w", err)
	}
	id := resourceID(b)
	if id == "" {
		return "", errors.New("create subscription: the response has no id")
	}
	return id, nil
}

// restHook runs the rest-hook scenario.
func (b *bench) restHook(ctx context.Context) error {
	o := b.o
	res := &RestHookResult{Subscriptions: o.Subs}
	b.rep.RestHook = res
	b.rep.Params["subscriptions"] = o.Subs
	b.rep.Params["writers"] = o.Writers
	b.rep.Params["duration"] = o.Duration.String()
	b.rep.Params["max-count"] = o.MaxCount

	// Writes are recorded by resource id before their POSTs can arrive:
	// the id is only known from the response, so arrivals for an unknown
	// id wait in pending until the writer records it.
	type write struct{ start time.Time }
	var (
		mu       sync.Mutex
		writes   = map[string]write{}
		pending  = map[string][]time.Time{}
		seen     = map[string]bool{} // subscription id + "#" + event number
		samples  []time.Duration
		lastPost time.Time
	)
	var handshakes, posts, received, dups atomic.Int64
	record := func(id string, at time.Time) {
		if w, ok := writes[id]; ok {
			samples = append(samples, at.Sub(w.start))
		} else {
			pending[id] = append(pending[id], at)
		}
	}
	rcv, err := resthooktest.New()
	if err != nil {
		return err
	}
	defer rcv.Close()
	rcv.OnReceive = func(r resthooktest.Received) {
		posts.Add(1)
		switch r.Summary.Type {
		case fhir.NotifyHandshake:
			handshakes.Add(1)
			return
		case fhir.NotifyEvent:
		default:
			return
		}
		mu.Lock()
		defer mu.Unlock()
		lastPost = r.At
		for i, n := range r.Summary.Events {
			key := r.Summary.SubscriptionID() + "#" + fmt.Sprint(n)
			if seen[key] {
				dups.Add(1)
				continue
			}
			seen[key] = true
			received.Add(1)
			if i < len(r.Summary.Focus) {
				f := r.Summary.Focus[i]
				record(f[strings.LastIndexByte(f, '/')+1:], r.At)
			}
		}
	}

	code := b.code("resthook")
	ids := make([]string, o.Subs)
	err = parallel(ctx, o.Subs, o.Setup, func(ctx context.Context, i int) error {
		id, err := b.c.createRestHookSubscription(ctx, "Observation?code="+codeSystem+"|"+code, rcv.URL, o.MaxCount)
		if err != nil {
			return err
		}
		ids[i] = id
		b.mu.Lock()
		b.created = append(b.created, id)
		b.mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	b.logf("%d rest-hook subscriptions created; waiting for their handshakes", o.Subs)
	if !waitUntil(ctx, o.RoundTimeout, func() bool { return handshakes.Load() >= int64(o.Subs) }) {
		b.rep.problem("%d of %d handshakes within %s", handshakes.Load(), o.Subs, o.RoundTimeout)
	}
	res.Handshakes = int(handshakes.Load())

	wctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var n atomic.Int64
	var httpMu sync.Mutex
	var httpRT []time.Duration
	start := time.Now()
	var wg sync.WaitGroup
	for w := range o.Writers {
		wg.Go(func() {
			for k := 0; wctx.Err() == nil && n.Add(1) <= int64(o.Writes); k++ {
				t0 := time.Now()
				// A write started is finished (ctx, not wctx): one cut off
				// by the deadline would commit uncounted.
				resp, err := b.c.write(ctx, "Observation", observation(code, b.code(fmt.Sprintf("rh-%d", w)), k))
				t1 := time.Now()
				if err != nil {
					n.Add(-1)
					if ctx.Err() == nil {
						mu.Lock()
						b.rep.problem("write: %v", err)
						mu.Unlock()
					}
					return
				}
				id := resourceID(resp)
				mu.Lock()
				writes[id] = write{t0}
				for _, at := range pending[id] {
					samples = append(samples, at.Sub(t0))
				}
				delete(pending, id)
				mu.Unlock()
				httpMu.Lock()
				httpRT = append(httpRT, t1.Sub(t0))
				httpMu.Unlock()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	mu.Lock()
	res.Writes = int64(len(writes))
	mu.Unlock()
	res.Expected = res.Writes * int64(o.Subs)
	res.WritesPerSec = ratio(float64(res.Writes), elapsed.Seconds())
	b.logf("%d writes in %s; waiting for %d events", res.Writes, elapsed.Round(time.Millisecond), res.Expected)
	if !waitUntil(ctx, o.RoundTimeout, func() bool { return received.Load() >= res.Expected }) {
		b.rep.problem("%d of %d events within %s of the last write", received.Load(), res.Expected, o.RoundTimeout)
	}
	mu.Lock()
	res.FromRequest = dist(samples)
	if !lastPost.IsZero() {
		res.EventsPerSec = ratio(float64(received.Load()), lastPost.Sub(start).Seconds())
	}
	mu.Unlock()
	res.Received, res.Duplicates, res.POSTs = received.Load(), dups.Load(), posts.Load()
	res.HTTP = dist(httpRT)
	b.rep.GenRSSKiB = genRSS()
	b.rep.Complete = res.Received == res.Expected && res.Handshakes == o.Subs
	return nil
}

// waitUntil polls cond until it holds (true) or timeout passes (false).
func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
