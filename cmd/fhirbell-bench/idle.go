package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// IdleResult is the idle-capacity scenario: N sockets bound and quiet.
type IdleResult struct {
	Sockets          int     `json:"sockets"`          // asked for
	Bound            int     `json:"bound"`            // handshakes received
	Subscriptions    int     `json:"subscriptions"`    // created for them
	Sources          int     `json:"source_addresses"` // loopback source addresses used
	ConnectSeconds   float64 `json:"connect_seconds"`  // dialling and binding all sockets
	ServerRSSStart   int64   `json:"server_rss_start_kib"`
	ServerRSSSubs    int64   `json:"server_rss_subscriptions_kib"` // after creating the subscriptions and their tokens
	ServerRSSBound   int64   `json:"server_rss_bound_kib"`         // after binding every socket and --settle
	KiBPerSocket     float64 `json:"server_kib_per_socket"`
	KiBPerSub        float64 `json:"server_kib_per_subscription"` // subscription plus its binding token
	GenRSSBefore     int64   `json:"generator_rss_before_kib"`
	GenRSSBound      int64   `json:"generator_rss_bound_kib"`
	GenKiBPerSocket  float64 `json:"generator_kib_per_socket"`
	LostAfterBinding int64   `json:"lost_after_binding"` // sockets the server closed during the hold
}

func (r *IdleResult) rows() [][2]string {
	return [][2]string{
		{"sockets bound", fmt.Sprintf("%d of %d (%d subscriptions, %d source addresses)", r.Bound, r.Sockets, r.Subscriptions, r.Sources)},
		{"connect+bind time", fmt.Sprintf("%.2f s (%.0f sockets/s)", r.ConnectSeconds, ratio(float64(r.Bound), r.ConnectSeconds))},
		{"server rss start/subs/bound", kib(r.ServerRSSStart) + " / " + kib(r.ServerRSSSubs) + " / " + kib(r.ServerRSSBound)},
		{"server per socket", strconv.FormatFloat(r.KiBPerSocket, 'f', 2, 64) + " KiB"},
		{"server per subscription", strconv.FormatFloat(r.KiBPerSub, 'f', 2, 64) + " KiB"},
		{"generator per socket", strconv.FormatFloat(r.GenKiBPerSocket, 'f', 2, 64) + " KiB"},
		{"sockets lost", strconv.FormatInt(r.LostAfterBinding, 10)},
	}
}

// idle opens N bound sockets and reads the server's resident memory
// before the subscriptions, after them, and after binding.
func (b *bench) idle(ctx context.Context) error {
	o := b.o
	n := o.Sockets
	res := &IdleResult{Sockets: n, Sources: b.sources(n)}
	b.rep.Idle = res
	b.rep.Params["sockets"] = n
	b.rep.Params["shared"] = o.Shared
	b.rep.Params["settle"] = o.Settle.String()
	b.raiseFiles(n)
	if o.ServerPID <= 0 {
		b.rep.problem("no --server-pid: server memory not measured")
	}

	res.ServerRSSStart = b.serverRSS()
	nsubs := n
	if o.Shared {
		nsubs = 1
	}
	b.logf("idle: creating %d subscriptions", nsubs)
	subIDs, err := b.createSubs(ctx, nsubs, func(i int) string {
		return "Observation?code=" + codeSystem + "|" + b.code("idle-"+strconv.Itoa(i))
	})
	res.Subscriptions = nsubs
	if err != nil {
		return err
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = subIDs[i%nsubs]
	}
	p := newPool(b.c, o, sourceAddrs(b.o.SourceFirst, res.Sources), nil)
	defer p.close()
	cache, err := p.tokens(ctx, ids, o.Setup)
	if err != nil {
		return err
	}
	sleep(ctx, time.Second) // let the server's allocator settle after the REST burst
	res.ServerRSSSubs = b.serverRSS()
	res.GenRSSBefore = genRSS()

	b.logf("idle: connecting %d sockets", n)
	start := time.Now()
	res.Bound, err = p.open(ctx, ids, o.Setup, cache)
	res.ConnectSeconds = time.Since(start).Round(time.Millisecond).Seconds()
	if err != nil {
		b.rep.problem("after %d sockets: %v", res.Bound, err)
	}
	if res.Bound > 0 {
		b.logf("idle: %d sockets bound; settling %v", res.Bound, o.Settle)
		sleep(ctx, o.Settle)
		res.ServerRSSBound = b.serverRSS()
		res.GenRSSBound = genRSS()
		b.rep.GenRSSKiB = res.GenRSSBound
		if res.ServerRSSBound >= 0 && res.ServerRSSSubs >= 0 {
			res.KiBPerSocket = ratio(float64(res.ServerRSSBound-res.ServerRSSSubs), float64(res.Bound))
		}
		if res.ServerRSSSubs >= 0 && res.ServerRSSStart >= 0 {
			res.KiBPerSub = ratio(float64(res.ServerRSSSubs-res.ServerRSSStart), float64(nsubs))
		}
		res.GenKiBPerSocket = ratio(float64(res.GenRSSBound-res.GenRSSBefore), float64(res.Bound))
		sleep(ctx, o.Hold)
	}
	res.LostAfterBinding = p.lost.Load()
	b.rep.Frames = p.frameCounts()
	if s := p.problem(); s != "" {
		b.rep.problem("%s", s)
	}
	b.rep.Complete = err == nil && res.Bound == n && res.LostAfterBinding == 0 && ctx.Err() == nil
	return nil
}
