package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// FanOutRound is one write matching every subscription.
type FanOutRound struct {
	WriteMs      float64 `json:"write_ms"`      // the write's HTTP round trip
	Delivered    int     `json:"delivered"`     // sockets that got the notification
	FromResponse Dist    `json:"from_response"` // arrival minus the write's response
	FromRequest  Dist    `json:"from_request"`  // arrival minus the write's request start
	// Wall-clock times (Unix milliseconds), to combine the reports of
	// several generator processes on one machine: the write's request and
	// response (not in a --passive report) and this process's first and
	// last arrival.
	RequestUnixMs  float64 `json:"request_unix_ms,omitempty"`
	ResponseUnixMs float64 `json:"response_unix_ms,omitempty"`
	FirstUnixMs    float64 `json:"first_unix_ms"`
	LastUnixMs     float64 `json:"last_unix_ms"`
}

// unixMs is t as Unix milliseconds with a fraction.
func unixMs(t time.Time) float64 { return float64(t.UnixMicro()) / 1e3 }

// FanOutResult is the fan-out scenario.
type FanOutResult struct {
	Sockets int `json:"sockets"`
	// Subscriptions is how many the sockets are bound to: one each, or one
	// for all with --shared.
	Subscriptions int           `json:"subscriptions"`
	Sources       int           `json:"source_addresses"`
	Rounds        []FanOutRound `json:"rounds"`
	Expected      int           `json:"expected"`  // sockets × rounds
	Delivered     int           `json:"delivered"` // notifications received within the round timeout
	// Over all rounds, measured from each write's response.
	All   Dist `json:"all_from_response"`
	First Dist `json:"first_from_response"` // each round's first arrival
	Last  Dist `json:"last_from_response"`  // each round's last arrival
	// Each round's last arrival from the write's request start: the
	// end-to-end figure when the server answers the write late.
	LastFromRequest Dist `json:"last_from_request"`
	Write           Dist `json:"write"` // the writes' HTTP round trips
}

func (r *FanOutResult) rows() [][2]string {
	rows := [][2]string{
		{"sockets", fmt.Sprintf("%d (%d source addresses)", r.Sockets, r.Sources)},
		{"delivered", fmt.Sprintf("%d of %d", r.Delivered, r.Expected)},
		{"first arrival (per write)", r.First.String()},
		{"median arrival (all)", r.All.String()},
		{"last arrival (per write)", r.Last.String()},
		{"last arrival from request", r.LastFromRequest.String()},
		{"write http", r.Write.String()},
	}
	for i, rd := range r.Rounds {
		rows = append(rows, [2]string{"round " + strconv.Itoa(i+1),
			fmt.Sprintf("write %.2f ms, first %.2f, median %.2f, p90 %.2f, last %.2f ms after the response (%d delivered)",
				rd.WriteMs, rd.FromResponse.Min, rd.FromResponse.P50, rd.FromResponse.P90, rd.FromResponse.Max, rd.Delivered)})
	}
	return rows
}

// fanout binds N sockets to N subscriptions with the same criteria and
// makes R writes that match them all, one at a time.
func (b *bench) fanout(ctx context.Context) error {
	o := b.o
	n := o.Sockets
	res := &FanOutResult{Sockets: n, Sources: b.sources(n)}
	b.rep.FanOut = res
	b.rep.Params["sockets"] = n
	b.rep.Params["rounds"] = o.Rounds
	b.raiseFiles(n)

	code := b.code("fanout")
	if o.Code != "" {
		code = o.Code
	}
	b.rep.Params["code"] = code
	b.rep.Params["passive"] = o.Passive
	b.rep.Params["shared"] = o.Shared
	nsubs := n
	if o.Shared {
		nsubs = 1 // one write is then one event, delivered to every socket
	}
	b.logf("fanout: creating %d subscriptions", nsubs)
	subIDs, err := b.createSubs(ctx, nsubs, func(int) string { return "Observation?code=" + codeSystem + "|" + code })
	if err != nil {
		return err
	}
	res.Subscriptions = nsubs
	ids := make([]string, n)
	for i := range ids {
		ids[i] = subIDs[i%nsubs]
	}

	// arrivals[i] is when socket i got this round's notification, in ns
	// since epoch (monotonic), or 0.
	epoch := time.Now()
	arrivals := make([]atomic.Int64, n)
	var got atomic.Int64
	var done atomic.Pointer[doneSignal]
	done.Store(newSignal())
	onEvent := func(i int, at time.Time, _ []byte) {
		if arrivals[i].CompareAndSwap(0, int64(at.Sub(epoch))) && got.Add(1) == int64(n) {
			done.Load().fire()
		}
	}
	var pr *passiveRounds
	if o.Passive {
		pr = newPassiveRounds(o.Rounds, n)
		onEvent = pr.onEvent
	}
	p := newPool(b.c, o, sourceAddrs(b.o.SourceFirst, res.Sources), onEvent)
	defer p.close()
	cache, err := p.tokens(ctx, ids, o.Setup)
	if err != nil {
		return err
	}
	b.logf("fanout: connecting %d sockets", n)
	if bound, err := p.open(ctx, ids, o.Setup, cache); err != nil {
		return fmt.Errorf("after %d sockets: %w", bound, err)
	}
	sleep(ctx, 500*time.Millisecond)
	if o.Passive {
		fmt.Fprintf(b.stderr, "%s fanout: passive: %d sockets bound; waiting for %d rounds\n", time.Now().Format("15:04:05"), n, o.Rounds)
		res.Expected = n * o.Rounds
		res.Rounds, res.Delivered = pr.wait(ctx, o.RoundTimeout)
		var lasts []time.Duration
		for _, rd := range res.Rounds {
			lasts = append(lasts, time.Duration((rd.LastUnixMs-rd.FirstUnixMs)*1e6))
		}
		res.Last = dist(lasts) // here: from this process's first arrival
		b.rep.GenRSSKiB = genRSS()
		b.rep.Frames = p.frameCounts()
		if s := p.problem(); s != "" {
			b.rep.problem("%s", s)
		}
		b.rep.Complete = res.Delivered == res.Expected && p.lost.Load() == 0
		return nil
	}

	var all, firsts, lasts, lastsReq, writes []time.Duration
	body := observation(code, b.code("fanout-patient"), 1)
	for r := range o.Rounds {
		if ctx.Err() != nil {
			break
		}
		sig := newSignal()
		done.Store(sig)
		for i := range arrivals {
			arrivals[i].Store(0)
		}
		got.Store(0)
		t0 := time.Since(epoch)
		if _, err := b.c.write(ctx, "Observation", body); err != nil {
			return fmt.Errorf("round %d: %w", r+1, err)
		}
		t1 := time.Since(epoch)
		timer := time.NewTimer(o.RoundTimeout)
		select {
		case <-sig.ch:
		case <-timer.C:
			b.rep.problem("round %d: %d of %d notifications within %v", r+1, got.Load(), n, o.RoundTimeout)
		case <-ctx.Done():
		}
		timer.Stop()
		var fromResp, fromReq []time.Duration
		for i := range arrivals {
			if v := time.Duration(arrivals[i].Load()); v != 0 {
				fromResp = append(fromResp, v-t1)
				fromReq = append(fromReq, v-t0)
			}
		}
		rd := FanOutRound{WriteMs: float64((t1 - t0).Microseconds()) / 1e3, Delivered: len(fromResp),
			RequestUnixMs: unixMs(epoch.Add(t0)), ResponseUnixMs: unixMs(epoch.Add(t1))}
		if len(fromResp) > 0 {
			rd.FirstUnixMs = unixMs(epoch.Add(t1 + slices.Min(fromResp)))
			rd.LastUnixMs = unixMs(epoch.Add(t1 + slices.Max(fromResp)))
		}
		rd.FromResponse = dist(fromResp)
		rd.FromRequest = dist(fromReq)
		res.Rounds = append(res.Rounds, rd)
		res.Delivered += len(fromResp)
		if len(fromResp) > 0 {
			firsts = append(firsts, fromResp[0]) // dist sorted it
			lasts = append(lasts, fromResp[len(fromResp)-1])
			all = append(all, fromResp...)
			lastsReq = append(lastsReq, fromReq[len(fromReq)-1])
		}
		writes = append(writes, t1-t0)
		b.logf("fanout: round %d: %d delivered, last %.2f ms after the response", r+1, len(fromResp), rd.FromResponse.Max)
		sleep(ctx, 200*time.Millisecond)
	}
	res.Expected = n * o.Rounds
	res.All = dist(all)
	res.First = dist(firsts)
	res.Last = dist(lasts)
	res.LastFromRequest = dist(lastsReq)
	res.Write = dist(writes)
	b.rep.GenRSSKiB = genRSS()
	b.rep.Frames = p.frameCounts()
	if s := p.problem(); s != "" {
		b.rep.problem("%s", s)
	}
	b.rep.Complete = res.Delivered == res.Expected && p.lost.Load() == 0
	return nil
}

// doneSignal is a channel closed at most once, however many times fire is
// called.
type doneSignal struct {
	ch   chan struct{}
	once sync.Once
}

func newSignal() *doneSignal { return &doneSignal{ch: make(chan struct{})} }

func (s *doneSignal) fire() { s.once.Do(func() { close(s.ch) }) }

// passiveRounds records, for a --passive fan-out, when each socket got the
// event of each round: round r is event number r of the socket's
// subscription (each is new, so its events are numbered from 1).
type passiveRounds struct {
	n        int
	arrivals [][]atomic.Int64 // [round][socket]: Unix nanoseconds, or 0
	counts   []atomic.Int64
	first    []atomic.Int64 // the round's first arrival, Unix nanoseconds
}

func newPassiveRounds(rounds, n int) *passiveRounds {
	pr := &passiveRounds{n: n, arrivals: make([][]atomic.Int64, rounds), counts: make([]atomic.Int64, rounds), first: make([]atomic.Int64, rounds)}
	for r := range pr.arrivals {
		pr.arrivals[r] = make([]atomic.Int64, n)
	}
	return pr
}

func (pr *passiveRounds) onEvent(i int, at time.Time, frame []byte) {
	_, _, events, ok := quickSummary(frame)
	if !ok {
		return
	}
	for _, e := range events {
		r := int(e) - 1
		if r < 0 || r >= len(pr.arrivals) {
			continue
		}
		if pr.arrivals[r][i].CompareAndSwap(0, at.UnixNano()) {
			pr.first[r].CompareAndSwap(0, at.UnixNano())
			pr.counts[r].Add(1)
		}
	}
}

// wait waits for each round in turn: for its first arrival (as long as ctx
// allows: the writer decides when), then for the rest, at most timeout
// after that first one.
func (pr *passiveRounds) wait(ctx context.Context, timeout time.Duration) ([]FanOutRound, int) {
	var out []FanOutRound
	total := 0
	for r := range pr.arrivals {
		for pr.first[r].Load() == 0 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		deadline := time.Now().Add(timeout)
		for pr.counts[r].Load() < int64(pr.n) && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		if ctx.Err() != nil {
			break
		}
		rd := FanOutRound{Delivered: int(pr.counts[r].Load())}
		var lo, hi int64
		var rel []time.Duration
		f := pr.first[r].Load()
		for i := range pr.arrivals[r] {
			v := pr.arrivals[r][i].Load()
			if v == 0 {
				continue
			}
			if lo == 0 || v < lo {
				lo = v
			}
			hi = max(hi, v)
			rel = append(rel, time.Duration(v-f))
		}
		rd.FirstUnixMs, rd.LastUnixMs = float64(lo/1e3)/1e3, float64(hi/1e3)/1e3
		rd.FromRequest = dist(rel) // here: from this process's first arrival
		total += rd.Delivered
		out = append(out, rd)
	}
	return out, total
}
