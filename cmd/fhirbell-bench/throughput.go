package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ThroughputResult is the write-throughput scenario.
type ThroughputResult struct {
	Subscriptions int     `json:"subscriptions"`
	Unpinned      int     `json:"unpinned_subscriptions"`
	BoundSockets  int     `json:"bound_sockets"`
	Writers       int     `json:"writers"`
	Seconds       float64 `json:"seconds"`
	Writes        int64   `json:"writes"` // successful
	Errors        int64   `json:"errors"`
	Matching      int64   `json:"matching_writes"` // successful writes that match one subscription
	WritesPerSec  float64 `json:"writes_per_sec"`
	HTTP          Dist    `json:"http"`
	Expected      int64   `json:"notifications_expected"` // Matching, when sockets are bound
	Notifications int64   `json:"notifications"`          // events received within 10 s of the last write
	NotifPerSec   float64 `json:"notifications_per_sec"`  // over the writing period
	DrainMs       float64 `json:"drain_ms"`               // from the last write's response to the last notification
	// From fhirbell's /metrics on every node, when it has them (Postgres):
	// the changes the nodes queued for each other during the writes, and
	// the NOTIFYs that carried them (-1: not available).
	ClusterChanges  float64 `json:"cluster_changes"`
	ClusterNotifies float64 `json:"cluster_notifies"`
	FirstErrorText  string  `json:"first_error,omitempty"`
}

func (r *ThroughputResult) rows() [][2]string {
	return [][2]string{
		{"subscriptions", fmt.Sprintf("%d (%d unpinned), %d bound sockets", r.Subscriptions, r.Unpinned, r.BoundSockets)},
		{"writers", strconv.Itoa(r.Writers)},
		{"writes", fmt.Sprintf("%d in %.2f s, %d errors, %d matching", r.Writes, r.Seconds, r.Errors, r.Matching)},
		{"writes/s", strconv.FormatFloat(r.WritesPerSec, 'f', 0, 64)},
		{"http latency", r.HTTP.String()},
		{"notifications", fmt.Sprintf("%d of %d (%.0f/s), drained %.1f ms after the last write", r.Notifications, r.Expected, r.NotifPerSec, r.DrainMs)},
		{"cluster NOTIFYs", fmt.Sprintf("%.0f for %.0f changes (-1: the servers do not say)", r.ClusterNotifies, r.ClusterChanges)},
	}
}

// clusterCounters sums fhirbell_cluster_changes_total and
// fhirbell_cluster_notifications_total{result="sent"} over the nodes'
// /metrics, or -1 where a node does not expose them.
func clusterCounters(ctx context.Context, clients []*client) (changes, notifies float64) {
	for _, c := range clients {
		u, err := url.Parse(c.base)
		if err != nil {
			return -1, -1
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.Scheme+"://"+u.Host+"/metrics", nil)
		if err != nil {
			return -1, -1
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return -1, -1
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		ch, ok1 := metricValue(b, "fhirbell_cluster_changes_total ")
		nt, ok2 := metricValue(b, `fhirbell_cluster_notifications_total{result="sent"} `)
		if resp.StatusCode != 200 || !ok1 || !ok2 {
			return -1, -1
		}
		changes += ch
		notifies += nt
	}
	return changes, notifies
}

// metricValue finds the sample line starting with prefix in a Prometheus
// text exposition.
func metricValue(b []byte, prefix string) (float64, bool) {
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// subKind is the shape of a throughput subscription's criteria.
type subKind int

const (
	kindCode        subKind = iota // Observation?code=…|k<i>
	kindSubject                    // Observation?subject=Patient/p<i>&status=final
	kindCodeSubject                // Observation?code=…|k<i>&subject=Patient/p<i>
	kindUnpinned                   // Observation?value-quantity=gt<big>: tried on every write, never matches
)

// throughput keeps W writers busy for the duration against S
// subscriptions; a fraction m of the writes match exactly one of them.
func (b *bench) throughput(ctx context.Context) error {
	o := b.o
	res := &ThroughputResult{Subscriptions: o.Subs, Writers: o.Writers}
	b.rep.Throughput = res
	for k, v := range map[string]any{"subscriptions": o.Subs, "writers": o.Writers, "duration": o.Duration.String(),
		"match_rate": o.MatchRate, "mix": o.Mix, "unpinned": o.Unpinned, "bind": o.Bind, "nodes": max(len(o.Nodes), 1)} {
		b.rep.Params[k] = v
	}
	if o.Bind {
		b.raiseFiles(o.Subs)
	}

	kinds := make([]subKind, o.Subs)
	var pinned []int
	for i := range kinds {
		switch {
		case int(float64(i+1)*o.Unpinned) > int(float64(i)*o.Unpinned): // spread evenly
			kinds[i] = kindUnpinned
			res.Unpinned++
		case o.Mix == "mixed":
			kinds[i] = subKind(i % 3)
		}
		if kinds[i] != kindUnpinned {
			pinned = append(pinned, i)
		}
	}
	k := func(i int) string { return b.code("k" + strconv.Itoa(i)) }
	pt := func(i int) string { return b.code("p" + strconv.Itoa(i)) }
	criteria := func(i int) string {
		switch kinds[i] {
		case kindSubject:
			return "Observation?subject=Patient/" + pt(i) + "&status=final"
		case kindCodeSubject:
			return "Observation?code=" + codeSystem + "|" + k(i) + "&subject=Patient/" + pt(i)
		case kindUnpinned:
			return "Observation?value-quantity=gt" + strconv.Itoa(1_000_000+i)
		}
		return "Observation?code=" + codeSystem + "|" + k(i)
	}
	b.logf("throughput: creating %d subscriptions", o.Subs)
	ids, err := b.createSubs(ctx, o.Subs, criteria)
	if err != nil {
		return err
	}

	var notifications atomic.Int64
	var lastNotif atomic.Int64 // ns since epoch
	epoch := time.Now()
	onEvent := func(_ int, at time.Time, frame []byte) {
		// A frame may batch several events (max-count); Backport R4 names
		// each one notification-event.
		n := int64(bytes.Count(frame, []byte(`"notification-event"`)))
		notifications.Add(max(n, 1))
		lastNotif.Store(int64(at.Sub(epoch)))
	}
	// With --nodes, writer w writes to node w mod n, and socket i is bound
	// on node i mod n (with that node's binding token), so that most
	// notifications cross nodes.
	clients := []*client{b.c}
	if len(o.Nodes) > 1 {
		clients = clients[:0]
		for _, n := range o.Nodes {
			clients = append(clients, newClient(n, o.Token, o.Setup+o.Writers+8, b.c.lookup))
		}
	}
	if o.Bind {
		srcs := sourceAddrs(b.o.SourceFirst, b.sources(o.Subs))
		for k, c := range clients {
			var mine []string
			for i := k; i < len(ids); i += len(clients) {
				mine = append(mine, ids[i])
			}
			if len(mine) == 0 {
				continue
			}
			p := newPool(c, o, srcs, onEvent)
			defer func() { b.rep.addFrames(p.frameCounts()); p.close() }()
			cache, err := p.tokens(ctx, mine, o.Setup)
			if err != nil {
				return err
			}
			b.logf("throughput: connecting %d sockets to %s", len(mine), c.base)
			bound, err := p.open(ctx, mine, o.Setup, cache)
			res.BoundSockets += bound
			if err != nil {
				return fmt.Errorf("after %d sockets: %w", res.BoundSockets, err)
			}
			defer func() {
				if s := p.problem(); s != "" {
					b.rep.problem("%s", s)
				}
			}()
		}
		sleep(ctx, 500*time.Millisecond)
	}
	if len(pinned) == 0 && o.MatchRate > 0 {
		return fmt.Errorf("no pinned subscription to match")
	}

	changes0, notifies0 := clusterCounters(ctx, clients)
	b.logf("throughput: %d writers for %v", o.Writers, o.Duration)
	wctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var (
		issued   atomic.Int64
		writes   atomic.Int64
		errs     atomic.Int64
		matching atomic.Int64
		lastResp atomic.Int64
		firstErr atomic.Pointer[string]
		mu       sync.Mutex
		lat      []time.Duration
		wg       sync.WaitGroup
	)
	start := time.Now()
	for w := range o.Writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(w)))
			var mine []time.Duration
			for wctx.Err() == nil && issued.Add(1) <= int64(o.Writes) {
				code, subject, match := b.code("nomatch"), b.code("none"), false
				if rng.Float64() < o.MatchRate {
					i := pinned[rng.IntN(len(pinned))]
					match = true
					switch kinds[i] {
					case kindCode:
						code = k(i)
					case kindSubject:
						subject = pt(i)
					case kindCodeSubject:
						code, subject = k(i), pt(i)
					}
				}
				t0 := time.Now()
				// The request runs on ctx, not wctx: a write in flight at
				// the deadline completes and is counted, so the expected
				// notifications are exact.
				_, err := clients[w%len(clients)].write(ctx, "Observation", observation(code, subject, 1))
				t1 := time.Now()
				if err != nil {
					if ctx.Err() != nil {
						break // stopped by Ctrl-C or --max-time
					}
					errs.Add(1)
					s := err.Error()
					firstErr.CompareAndSwap(nil, &s)
					continue
				}
				mine = append(mine, t1.Sub(t0))
				writes.Add(1)
				if match {
					matching.Add(1)
				}
				lastResp.Store(int64(t1.Sub(epoch)))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	res.Seconds = elapsed.Round(time.Millisecond).Seconds()
	res.Writes, res.Errors, res.Matching = writes.Load(), errs.Load(), matching.Load()
	res.WritesPerSec = ratio(float64(res.Writes), elapsed.Seconds())
	res.HTTP = dist(lat)
	if s := firstErr.Load(); s != nil {
		res.FirstErrorText = *s
		b.rep.problem("first write error: %s", *s)
	}
	if o.Bind {
		res.Expected = res.Matching
		// Wait for the stragglers: at most 10 s.
		deadline := time.Now().Add(10 * time.Second)
		for notifications.Load() < res.Expected && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
		}
		res.Notifications = notifications.Load()
		res.NotifPerSec = ratio(float64(res.Notifications), elapsed.Seconds())
		if res.Notifications > 0 {
			res.DrainMs = float64(time.Duration(lastNotif.Load()-lastResp.Load()).Microseconds()) / 1e3
		}
	}
	res.ClusterChanges, res.ClusterNotifies = -1, -1
	if changes0 >= 0 {
		if c, n := clusterCounters(ctx, clients); c >= 0 {
			res.ClusterChanges, res.ClusterNotifies = c-changes0, n-notifies0
		}
	}
	b.rep.GenRSSKiB = genRSS()
	b.rep.Complete = res.Errors == 0 && res.Writes > 0 && res.Notifications == res.Expected
	return nil
}
