package main

import (
	"context"
	"fmt"
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
}

// FanOutResult is the fan-out scenario.
type FanOutResult struct {
	Sockets   int           `json:"sockets"`
	Sources   int           `json:"source_addresses"`
	Rounds    []FanOutRound `json:"rounds"`
	Expected  int           `json:"expected"`  // sockets × rounds
	Delivered int           `json:"delivered"` // notifications received within the round timeout
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
	b.logf("fanout: creating %d subscriptions", n)
	ids, err := b.createSubs(ctx, n, func(int) string { return "Observation?code=" + codeSystem + "|" + code })
	if err != nil {
		return err
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
	p := newPool(b.c, o.Dialect, o.WSURL, o.Token, sourceAddrs(res.Sources), onEvent)
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
		rd := FanOutRound{WriteMs: float64((t1 - t0).Microseconds()) / 1e3, Delivered: len(fromResp)}
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
