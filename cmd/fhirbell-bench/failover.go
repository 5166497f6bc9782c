package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fhirbell/fhirbell/fhir"

	"github.com/gorilla/websocket"
)

// FailoverResult is the node-loss scenario: sockets bound across the nodes
// of a cluster, one node killed with SIGKILL while writes go on, its
// clients reconnecting to the others with `resume`.
type FailoverResult struct {
	Nodes         int     `json:"nodes"`
	KilledNode    int     `json:"killed_node"` // index in --nodes
	KilledPID     int     `json:"killed_pid"`
	Sockets       int     `json:"sockets"`
	Subscriptions int     `json:"subscriptions"`
	Sources       int     `json:"source_addresses"`
	Bound         int     `json:"bound"`          // sockets bound before the kill
	OnKilledNode  int     `json:"on_killed_node"` // of them, on the node killed
	Dropped       int     `json:"dropped"`        // sockets whose connection ended after the kill
	Reconnected   int     `json:"reconnected"`    // of them, resumed on another node
	Attempts      int64   `json:"attempts"`       // reconnection attempts, failed ones included
	Detect        Dist    `json:"detect"`         // kill → the socket's read error, per dropped socket
	Live          Dist    `json:"live"`           // kill → the resumed handshake on another node, per dropped socket
	CaughtUp      Dist    `json:"caught_up"`      // kill → the socket has every event committed before it went live again
	AllLiveMs     float64 `json:"all_live_ms"`    // kill → the last dropped socket live again
	Writes        int64   `json:"writes"`         // acknowledged writes (each matches every subscription)
	WriteErrors   int64   `json:"write_errors"`
	Expected      int64   `json:"events_expected"` // over all sockets: the log heads at the end minus where each socket started
	Received      int64   `json:"events_received"` // distinct events received, over all sockets
	Missing       int64   `json:"events_missing"`
	Duplicates    int64   `json:"events_duplicated"` // events received again on a socket that had them
	OutOfOrder    int64   `json:"events_out_of_order"`
	// The servers' own fhirbell_delivery_latency_seconds over the run,
	// summed over the nodes (-1: not available): the bucket bound the
	// quantile falls in, from each event's write to its frame written.
	ServerLatencyP50Ms float64 `json:"server_latency_p50_ms"`
	ServerLatencyP99Ms float64 `json:"server_latency_p99_ms"`
	ServerDeliveries   float64 `json:"server_deliveries"`
	Problem            string  `json:"first_problem,omitempty"`
}

func (r *FailoverResult) rows() [][2]string {
	return [][2]string{
		{"nodes", fmt.Sprintf("%d; killed node %d (pid %d)", r.Nodes, r.KilledNode, r.KilledPID)},
		{"sockets", fmt.Sprintf("%d bound of %d on %d subscriptions (%d source addresses); %d on the killed node", r.Bound, r.Sockets, r.Subscriptions, r.Sources, r.OnKilledNode)},
		{"dropped / reconnected", fmt.Sprintf("%d / %d (%d attempts)", r.Dropped, r.Reconnected, r.Attempts)},
		{"kill → drop seen", r.Detect.String()},
		{"kill → live again", r.Live.String()},
		{"kill → caught up", r.CaughtUp.String()},
		{"all live again", strconv.FormatFloat(r.AllLiveMs, 'f', 1, 64) + " ms after the kill"},
		{"writes", fmt.Sprintf("%d acknowledged, %d errors", r.Writes, r.WriteErrors)},
		{"events", fmt.Sprintf("%d of %d received; %d missing, %d duplicated, %d out of order", r.Received, r.Expected, r.Missing, r.Duplicates, r.OutOfOrder)},
		{"server delivery latency", fmt.Sprintf("p50 ≤ %g ms, p99 ≤ %g ms (bucket bounds; %.0f deliveries)", r.ServerLatencyP50Ms, r.ServerLatencyP99Ms, r.ServerDeliveries)},
	}
}

// fsock is one socket of the failover scenario and everything its reader
// learned. Only its goroutine writes the fields before done; the scenario
// reads them after the readers stopped, or through the atomics.
type fsock struct {
	idx    int
	sub    string // subscription id
	home   int    // the node it was bound on first
	node   int    // the node it is connected to now (its reader's)
	start  int64  // the event number it was bound at
	last   atomic.Int64
	dups   int64
	gaps   int64
	bound  chan struct{} // closed at the first handshake
	conn   atomic.Pointer[websocket.Conn]
	dropAt time.Time // when the connection to the killed node ended
	liveAt time.Time // when the resumed handshake arrived
	upAt   time.Time // when it had caught up with the head it resumed at
	target int64     // the head at the resumed handshake
	tries  int64
	err    string
}

// failover binds --sockets sockets over the nodes (socket i on node i mod
// n, subscription i mod S; every write matches every subscription), writes
// at --rate to the surviving nodes for --before, kills --kill-pid with
// SIGKILL, writes for --after more, and then checks every socket's events
// against the log heads: none missing, none twice, all in order.
func (b *bench) failover(ctx context.Context) error {
	o := b.o
	nodes := o.Nodes
	res := &FailoverResult{Nodes: len(nodes), KilledNode: o.KillNode, KilledPID: o.KillPID, Sockets: o.Sockets,
		Subscriptions: o.Subs, Sources: b.sources(o.Sockets)}
	b.rep.Failover = res
	for k, v := range map[string]any{"nodes": strings.Join(nodes, ","), "sockets": o.Sockets, "subscriptions": o.Subs,
		"rate": o.Rate, "before": o.Before.String(), "after": o.After.String(), "kill_node": o.KillNode} {
		b.rep.Params[k] = v
	}
	// Without --kill-pid nothing is killed: a steady run over every node
	// (a hot subscription with --subscriptions 1), checked the same way.
	kill := o.KillPID > 0
	if !kill {
		res.KilledNode = -1
		b.rep.Params["kill_node"] = -1
	} else if err := checkKillTarget(o.KillPID); err != nil {
		return err
	}
	b.raiseFiles(o.Sockets)
	clients := make([]*client, len(nodes))
	for i, n := range nodes {
		clients[i] = newClient(n, o.Token, o.Setup+8, b.c.lookup)
	}
	var survivors []int
	for i := range nodes {
		if i != o.KillNode || !kill {
			survivors = append(survivors, i)
		}
	}

	code := b.code("failover")
	b.logf("failover: creating %d subscriptions", o.Subs)
	ids, err := b.createSubs(ctx, o.Subs, func(int) string { return "Observation?code=" + codeSystem + "|" + code })
	if err != nil {
		return err
	}

	// Binding tokens per node and subscription (the token's websocket-url
	// is the node's own). A node may not know a subscription created on
	// another for a moment (milliseconds with NOTIFY): retry.
	type cred struct{ tok, url string }
	creds := make([][]cred, len(nodes))
	for n := range nodes {
		creds[n] = make([]cred, o.Subs)
		err := parallel(ctx, o.Subs, o.Setup, func(ctx context.Context, i int) error {
			deadline := time.Now().Add(o.RoundTimeout)
			for {
				tok, u, err := clients[n].bindingToken(ctx, ids[i])
				if err == nil {
					if o.WSURL != "" {
						u = o.WSURL
					}
					if err := b.c.checkWS(ctx, u); err != nil {
						return err
					}
					creds[n][i] = cred{tok, u}
					return nil
				}
				if time.Now().After(deadline) || ctx.Err() != nil {
					return fmt.Errorf("node %d: %w", n, err)
				}
				sleep(ctx, 50*time.Millisecond)
			}
		})
		if err != nil {
			return err
		}
	}

	header := map[string][]string{}
	if o.Token != "" {
		header["Authorization"] = []string{"Bearer " + o.Token}
	}
	srcs := sourceAddrs(b.o.SourceFirst, res.Sources)
	dialers := make([]*websocket.Dialer, max(len(srcs), 1))
	wpool := &sync.Pool{}
	for i := range dialers {
		d := guardedDialer(srcs0(srcs, i))
		dialers[i] = &websocket.Dialer{NetDialContext: d.DialContext, HandshakeTimeout: o.BindWait,
			ReadBufferSize: 1024, WriteBufferSize: 512, WriteBufferPool: wpool}
	}
	wsBase := make([]string, len(nodes))
	for i, n := range nodes {
		if o.WSURL != "" {
			wsBase[i] = o.WSURL
		} else {
			wsBase[i] = defaultWSURL(n)
		}
	}

	var (
		killAt   atomic.Pointer[time.Time]
		closing  atomic.Bool
		readers  sync.WaitGroup
		firstErr atomic.Pointer[string]
	)
	noteErr := func(s string) { firstErr.CompareAndSwap(nil, &s) }
	socks := make([]*fsock, o.Sockets)

	// serve reads one connection of s until it ends; it reports whether
	// the session got its handshake.
	serve := func(s *fsock, conn *websocket.Conn, resumed bool) (live bool, err error) {
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return live, err
			}
			now := time.Now()
			typ, since, events, ok := quickSummary(msg)
			if !ok {
				if classify(msg) == frameError {
					noteErr(fmt.Sprintf("socket %d: server: %s", s.idx, fhir.OutcomeText(msg)))
				}
				continue
			}
			switch typ {
			case "handshake":
				if !live {
					live = true
					if !resumed {
						s.start = since
						s.last.Store(s.start)
						close(s.bound)
					} else {
						s.liveAt, s.target = now, since
						if s.last.Load() >= s.target {
							s.upAt = now
						}
					}
				}
			case "event-notification":
				for _, e := range events {
					last := s.last.Load()
					switch {
					case e <= last:
						s.dups++
						continue
					case e > last+1:
						s.gaps += e - last - 1
					}
					s.last.Store(e)
				}
				if resumed && s.upAt.IsZero() && s.last.Load() >= s.target {
					s.upAt = now
				}
			}
		}
	}
	var attempts atomic.Int64
	// reconnect resumes s on the nodes after its current one, each tried at
	// once; after a full round of failures it backs off (100 ms doubling
	// to 2 s, jittered).
	reconnect := func(s *fsock) bool {
		fails := 0
		next := s.node
		for !closing.Load() && ctx.Err() == nil {
			next = (next + 1) % len(nodes)
			if next == s.node && len(nodes) > 1 {
				next = (next + 1) % len(nodes)
			}
			attempts.Add(1)
			s.tries++
			conn, _, err := dialers[s.idx%len(dialers)].DialContext(ctx, wsBase[next], header)
			if err == nil {
				conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
				err = conn.WriteMessage(websocket.TextMessage, []byte("resume "+s.sub+" "+strconv.FormatInt(s.last.Load(), 10)))
				if err == nil {
					s.node = next
					s.conn.Store(conn)
					if closing.Load() {
						conn.Close()
					}
					live, rerr := serve(s, conn, true)
					conn.Close()
					if live {
						if !closing.Load() {
							noteErr(fmt.Sprintf("socket %d: resumed connection to node %d lost: %v", s.idx, next, rerr))
						}
						return true
					}
					err = rerr
				}
				conn.Close()
			}
			fails++
			s.err = err.Error()
			if fails >= len(nodes)-1 {
				d := min(100*time.Millisecond<<min(fails-len(nodes)+1, 5), 2*time.Second)
				sleep(ctx, d/2+rand.N(d/2+1))
			}
		}
		return false
	}
	run := func(s *fsock, conn *websocket.Conn) {
		defer readers.Done()
		_, err := serve(s, conn, false)
		conn.Close()
		if closing.Load() {
			return
		}
		if killAt.Load() == nil || s.home != o.KillNode || !kill {
			noteErr(fmt.Sprintf("socket %d on node %d lost before or without the kill: %v", s.idx, s.node, err))
		}
		s.dropAt = time.Now()
		if !reconnect(s) && !closing.Load() {
			noteErr(fmt.Sprintf("socket %d: not reconnected: %s", s.idx, s.err))
		}
	}

	b.logf("failover: connecting %d sockets over %d nodes", o.Sockets, len(nodes))
	err = parallel(ctx, o.Sockets, o.Setup, func(ctx context.Context, i int) error {
		s := &fsock{idx: i, sub: ids[i%o.Subs], home: i % len(nodes), node: i % len(nodes), bound: make(chan struct{})}
		socks[i] = s
		cr := creds[s.home][i%o.Subs]
		conn, resp, err := dialers[i%len(dialers)].DialContext(ctx, cr.url, header)
		if err != nil {
			if resp != nil {
				return fmt.Errorf("socket %d: connect: HTTP %d", i, resp.StatusCode)
			}
			return fmt.Errorf("socket %d: connect: %w", i, redactURLErr(err, cr.url))
		}
		s.conn.Store(conn)
		readers.Add(1)
		go run(s, conn)
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := conn.WriteMessage(websocket.TextMessage, []byte("bind-with-token "+cr.tok)); err != nil {
			return fmt.Errorf("socket %d: send bind: %w", i, err)
		}
		select {
		case <-s.bound:
		case <-time.After(o.BindWait):
			return fmt.Errorf("socket %d: no handshake within %v", i, o.BindWait)
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	})
	defer func() {
		closing.Store(true)
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bench done")
		for _, s := range socks {
			if s == nil {
				continue
			}
			if c := s.conn.Load(); c != nil {
				c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(100*time.Millisecond))
				c.Close()
			}
		}
		readers.Wait()
	}()
	for _, s := range socks {
		if s != nil && isClosed(s.bound) {
			res.Bound++
			if kill && s.home == o.KillNode {
				res.OnKilledNode++
			}
		}
	}
	if err != nil {
		return fmt.Errorf("after %d sockets: %w", res.Bound, err)
	}

	// Writes go to the survivors only, so that every acknowledged write is
	// known to be committed; what the killed node had committed shows in
	// the log heads all the same.
	lat0 := serverHistogram(ctx, clients, "fhirbell_delivery_latency_seconds")
	b.logf("failover: writing %v/s; kill in %v", o.Rate, o.Before)
	var writes, writeErrs atomic.Int64
	wctx, stopWrites := context.WithCancel(ctx)
	var writers sync.WaitGroup
	body := observation(code, b.code("failover-patient"), 1)
	interval := time.Duration(float64(time.Second) / o.Rate)
	writers.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		sem := make(chan struct{}, 8)
		var inflight sync.WaitGroup
		for i := 0; ; i++ {
			select {
			case <-wctx.Done():
				inflight.Wait()
				return
			case <-t.C:
			}
			select {
			case sem <- struct{}{}:
			default:
				continue // 8 writes in flight: the server is slower than the rate
			}
			c := clients[survivors[i%len(survivors)]]
			inflight.Go(func() {
				defer func() { <-sem }()
				if _, err := c.write(ctx, "Observation", body); err != nil {
					writeErrs.Add(1)
					noteErr("write: " + err.Error())
					return
				}
				writes.Add(1)
			})
		}
	})
	sleep(ctx, o.Before)

	now := time.Now()
	killAt.Store(&now)
	if kill {
		b.logf("failover: killing node %d (pid %d)", o.KillNode, o.KillPID)
		if err := syscall.Kill(o.KillPID, syscall.SIGKILL); err != nil {
			stopWrites()
			writers.Wait()
			return fmt.Errorf("kill %d: %w", o.KillPID, err)
		}
	}
	sleep(ctx, o.After)
	stopWrites()
	writers.Wait()
	res.Writes, res.WriteErrors = writes.Load(), writeErrs.Load()

	// The heads, from a survivor, once the writes have stopped.
	heads := map[string]int64{}
	for _, id := range ids {
		raw, err := clients[survivors[0]].do(ctx, "GET", "/Subscription/"+url.PathEscape(id)+"/$status", nil)
		if err != nil {
			return err
		}
		n, ok := fhir.ReadNotification(raw)
		if !ok {
			return fmt.Errorf("$status of Subscription/%s: not a status", id)
		}
		heads[id] = n.EventsSinceStart
	}
	deadline := time.Now().Add(o.RoundTimeout)
	for ctx.Err() == nil {
		behind := 0
		for _, s := range socks {
			if s.last.Load() < heads[s.sub] {
				behind++
			}
		}
		if behind == 0 || time.Now().After(deadline) {
			break
		}
		sleep(ctx, 20*time.Millisecond)
	}
	res.ServerLatencyP50Ms, res.ServerLatencyP99Ms, res.ServerDeliveries = -1, -1, -1
	if lat0 != nil {
		if lat1 := serverHistogram(ctx, survivorClients(clients, survivors), "fhirbell_delivery_latency_seconds"); lat1 != nil {
			if !kill {
				d := lat1.minus(lat0)
				res.ServerLatencyP50Ms, res.ServerDeliveries = d.quantile(0.5)
				res.ServerLatencyP99Ms, _ = d.quantile(0.99)
			}
		}
	}
	closing.Store(true)
	for _, s := range socks {
		if c := s.conn.Load(); c != nil {
			c.Close()
		}
	}
	readers.Wait()

	k := *killAt.Load()
	var detect, live, up []time.Duration
	var lastLive time.Duration
	for _, s := range socks {
		res.Expected += heads[s.sub] - s.start
		got := s.last.Load() - s.start - s.gaps
		res.Received += got
		res.Missing += heads[s.sub] - s.start - got
		res.Duplicates += s.dups
		res.OutOfOrder += s.gaps
		if s.dropAt.IsZero() {
			continue
		}
		res.Dropped++
		detect = append(detect, s.dropAt.Sub(k))
		if !s.liveAt.IsZero() {
			res.Reconnected++
			live = append(live, s.liveAt.Sub(k))
			lastLive = max(lastLive, s.liveAt.Sub(k))
			if !s.upAt.IsZero() {
				up = append(up, s.upAt.Sub(k))
			}
		}
	}
	res.Attempts = attempts.Load()
	res.Detect, res.Live, res.CaughtUp = dist(detect), dist(live), dist(up)
	res.AllLiveMs = float64(lastLive.Microseconds()) / 1e3
	if p := firstErr.Load(); p != nil {
		res.Problem = *p
		b.rep.problem("%s", *p)
	}
	b.rep.GenRSSKiB = genRSS()
	b.rep.Complete = res.Bound == o.Sockets && res.Dropped == res.OnKilledNode && res.Reconnected == res.Dropped &&
		res.Missing == 0 && res.Duplicates == 0 && res.OutOfOrder == 0 && res.WriteErrors == 0 && res.Writes > 0
	return nil
}

// survivorClients is clients[i] for each i in idx.
func survivorClients(clients []*client, idx []int) []*client {
	out := make([]*client, len(idx))
	for j, i := range idx {
		out[j] = clients[i]
	}
	return out
}

// srcs0 is the i-th source address, or the zero address (the kernel
// picks) when there are none.
func srcs0[T any](srcs []T, i int) T {
	var zero T
	if len(srcs) == 0 {
		return zero
	}
	return srcs[i%len(srcs)]
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// checkKillTarget refuses to kill anything but a fhirbell server: the
// process must be this user's, not this one, and its command line must be
// `… fhirbell serve …`.
func checkKillTarget(pid int) error {
	if pid <= 1 || pid == os.Getpid() {
		return fmt.Errorf("--kill-pid %d: not a server process", pid)
	}
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return fmt.Errorf("--kill-pid %d: %w", pid, err)
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	if len(args) < 2 || !strings.Contains(args[0], "fhirbell") || !containsArg(args[1:], "serve") {
		return errors.New("--kill-pid " + strconv.Itoa(pid) + ": not a `fhirbell serve` process")
	}
	return nil
}

func containsArg(args []string, a string) bool {
	for _, x := range args {
		if x == a {
			return true
		}
	}
	return false
}
