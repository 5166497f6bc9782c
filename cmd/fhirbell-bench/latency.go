package main

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// LatencyResult is the one-subscriber latency scenario.
type LatencyResult struct {
	Samples      int   `json:"samples"`
	Received     int   `json:"received"`
	Timeouts     int   `json:"timeouts"`
	Unverified   int   `json:"unverified"`      // notifications that did not name the written resource (content empty)
	BeforeResp   int   `json:"before_response"` // notifications read before the write's response
	FromRequest  Dist  `json:"from_request"`    // notification minus the write's request start
	FromResponse Dist  `json:"from_response"`   // notification minus the write's response (negative: it came first)
	HTTP         Dist  `json:"http"`            // the write's round trip
	Dropped      int64 `json:"dropped"`         // notifications the generator could not queue
}

func (r *LatencyResult) rows() [][2]string {
	return [][2]string{
		{"samples", fmt.Sprintf("%d received of %d (%d timeouts, %d unverified)", r.Received, r.Samples, r.Timeouts, r.Unverified)},
		{"write → notification", r.FromRequest.String()},
		{"response → notification", r.FromResponse.String() + ", " + strconv.Itoa(r.BeforeResp) + " before the response"},
		{"write http", r.HTTP.String()},
	}
}

// arrival is a notification frame and when it was read.
type arrival struct {
	at    time.Time
	frame []byte
}

// latency makes K writes one at a time, each matching the single bound
// subscription, and measures when its notification arrives.
func (b *bench) latency(ctx context.Context) error {
	o := b.o
	res := &LatencyResult{Samples: o.Samples}
	b.rep.Latency = res
	b.rep.Params["samples"] = o.Samples
	b.rep.Params["warmup"] = o.Warmup
	b.rep.Params["interval"] = o.Interval.String()
	code := b.code("latency")
	ids, err := b.createSubs(ctx, 1, func(int) string { return "Observation?code=" + codeSystem + "|" + code })
	if err != nil {
		return err
	}
	events := make(chan arrival, 64)
	var dropped atomic.Int64
	p := newPool(b.c, o, nil, func(_ int, at time.Time, frame []byte) {
		select {
		case events <- arrival{at, frame}:
		default:
			dropped.Add(1)
		}
	})
	defer p.close()
	if _, err := p.open(ctx, ids, 1, nil); err != nil {
		return err
	}

	var fromReq, fromResp, httpRT []time.Duration
	body := observation(code, b.code("latency-patient"), 1)
	for k := range o.Warmup + o.Samples {
		if ctx.Err() != nil {
			break
		}
		measured := k >= o.Warmup
	drain: // notifications of earlier writes that came after their timeout
		for {
			select {
			case <-events:
			default:
				break drain
			}
		}
		t0 := time.Now()
		resp, err := b.c.write(ctx, "Observation", body)
		t1 := time.Now()
		if err != nil {
			return fmt.Errorf("write %d: %w", k+1, err)
		}
		id := []byte("Observation/" + resourceID(resp))
		timer := time.NewTimer(o.RoundTimeout)
		var got *arrival
	wait:
		for {
			select {
			case a := <-events:
				switch {
				case bytes.Contains(a.frame, id):
				case !bytes.Contains(a.frame, []byte("Observation/")):
					if measured {
						res.Unverified++
					}
				default:
					continue // an earlier write's notification
				}
				got = &a
				break wait
			case <-timer.C:
				break wait
			case <-ctx.Done():
				break wait
			}
		}
		timer.Stop()
		if !measured {
			continue
		}
		httpRT = append(httpRT, t1.Sub(t0))
		if got == nil {
			if ctx.Err() == nil {
				res.Timeouts++
			}
			continue
		}
		res.Received++
		fromReq = append(fromReq, got.at.Sub(t0))
		fromResp = append(fromResp, got.at.Sub(t1))
		if got.at.Before(t1) {
			res.BeforeResp++
		}
		sleep(ctx, o.Interval)
	}
	res.FromRequest = dist(fromReq)
	res.FromResponse = dist(fromResp)
	res.HTTP = dist(httpRT)
	res.Dropped = dropped.Load()
	b.rep.GenRSSKiB = genRSS()
	b.rep.Frames = p.frameCounts()
	if s := p.problem(); s != "" {
		b.rep.problem("%s", s)
	}
	b.rep.Complete = res.Received == o.Samples && res.Timeouts == 0
	return nil
}
