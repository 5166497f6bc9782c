package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fhirbell/fhirbell/fhir"

	"github.com/gorilla/websocket"
)

// Dialects of --dialect.
const (
	dialectBackport = "backport"
	dialectMedplum  = "medplum"
	dialectTicket   = "ticket"
	dialectLegacy   = "legacy"
)

// eventFunc is told about every notification frame: which socket, when it
// was read, and the frame. It runs on the socket's reader goroutine.
type eventFunc func(i int, at time.Time, frame []byte)

// pool is a set of bound sockets, each with one reader goroutine and no
// writer: the only client message is the bind, written once before the
// reader starts caring.
type pool struct {
	c       *client
	dialect string
	wsURL   string // --ws-url: overrides the server's websocket-url
	dialers []*websocket.Dialer
	header  http.Header
	onEvent eventFunc
	// bindWait bounds the upgrade and the wait for a socket's handshake.
	bindWait time.Duration

	mu    sync.Mutex
	socks []*sock // guarded by mu

	closing  atomic.Bool
	counts   [numFrameKinds]atomic.Int64
	lost     atomic.Int64           // sockets whose reader ended before close
	firstErr atomic.Pointer[string] // first error frame or read error, for the report
	readers  sync.WaitGroup
}

// sock is one bound socket.
type sock struct {
	conn  *websocket.Conn
	ready chan struct{} // closed on the handshake, or when the reader ends first
	err   error         // why the reader ended before the handshake; written before ready closes
}

// newPool returns a pool binding through c as o says (--dialect,
// --ws-url, --token, --bind-timeout).
func newPool(c *client, o *options, sources []netip.Addr, onEvent eventFunc) *pool {
	p := &pool{c: c, dialect: o.Dialect, wsURL: o.WSURL, onEvent: onEvent, header: http.Header{}, bindWait: o.BindWait}
	if o.Token != "" {
		p.header.Set("Authorization", "Bearer "+o.Token)
	}
	if len(sources) == 0 {
		sources = []netip.Addr{{}}
	}
	// Small buffers and one shared write-buffer pool: a socket that is not
	// writing holds no write buffer.
	wpool := &sync.Pool{}
	for _, src := range sources {
		p.dialers = append(p.dialers, &websocket.Dialer{
			NetDialContext:   guardedDialer(src).DialContext,
			HandshakeTimeout: o.BindWait,
			ReadBufferSize:   1024,
			WriteBufferSize:  512,
			WriteBufferPool:  wpool,
		})
	}
	return p
}

// credential is how one socket gets bound: a URL to connect to and the
// message to send after connecting ("" for a ticket URL).
type credential struct {
	url, msg string
}

// credentialFor prepares the binding of a socket to subscription id: a
// binding token (cached per subscription, since it is reusable), a fresh
// single-use ticket, or the legacy bind message.
func (p *pool) credentialFor(ctx context.Context, id string, cache map[string]credential, mu *sync.Mutex) (credential, error) {
	switch p.dialect {
	case dialectLegacy:
		return credential{url: p.wsURL, msg: "bind " + id}, nil
	case dialectTicket:
		u, err := p.c.ticket(ctx, id)
		return credential{url: u}, err
	}
	if cache != nil {
		mu.Lock()
		cr, ok := cache[id]
		mu.Unlock()
		if ok {
			return cr, nil
		}
	}
	tok, u, err := p.c.bindingToken(ctx, id)
	if err != nil {
		return credential{}, err
	}
	if p.wsURL != "" {
		u = p.wsURL
	}
	cr := credential{url: u, msg: "bind-with-token " + tok}
	if p.dialect == dialectMedplum {
		cr.msg = `{"type":"bind-with-token","payload":{"token":"` + tok + `"}}`
	}
	if cache != nil {
		mu.Lock()
		cache[id] = cr
		mu.Unlock()
	}
	return cr, nil
}

// tokens fetches the binding tokens for ids ahead of time (backport and
// medplum dialects), so that the memory measured after binding does not
// include them and dialling is not slowed by REST calls.
func (p *pool) tokens(ctx context.Context, ids []string, conc int) (map[string]credential, error) {
	cache := map[string]credential{}
	if p.dialect != dialectBackport && p.dialect != dialectMedplum {
		return cache, nil
	}
	uniq := map[string]bool{}
	var todo []string
	for _, id := range ids {
		if !uniq[id] {
			uniq[id] = true
			todo = append(todo, id)
		}
	}
	var mu sync.Mutex
	err := parallel(ctx, len(todo), conc, func(ctx context.Context, i int) error {
		_, err := p.credentialFor(ctx, todo[i], cache, &mu)
		return err
	})
	return cache, err
}

// open connects and binds one socket per entry of ids (socket i to
// subscription ids[i]), conc at a time, and waits for each handshake. It
// returns how many sockets are bound; on error the ones already bound stay
// open.
func (p *pool) open(ctx context.Context, ids []string, conc int, cache map[string]credential) (int, error) {
	var mu sync.Mutex
	p.mu.Lock()
	base := len(p.socks)
	p.socks = append(p.socks, make([]*sock, len(ids))...)
	p.mu.Unlock()
	var bound atomic.Int64
	err := parallel(ctx, len(ids), conc, func(ctx context.Context, i int) error {
		cr, err := p.credentialFor(ctx, ids[i], cache, &mu)
		if err != nil {
			return err
		}
		s, err := p.dial(ctx, base+i, cr)
		if err != nil {
			return fmt.Errorf("socket %d: %w", base+i, err)
		}
		p.mu.Lock()
		p.socks[base+i] = s
		p.mu.Unlock()
		select {
		case <-s.ready:
		case <-time.After(p.bindWait):
			return fmt.Errorf("socket %d: no handshake within %v", base+i, p.bindWait)
		case <-ctx.Done():
			return ctx.Err()
		}
		if s.err != nil {
			return fmt.Errorf("socket %d: %w", base+i, s.err)
		}
		bound.Add(1)
		return nil
	})
	return int(bound.Load()), err
}

// dial connects socket i, starts its reader and sends the bind message.
func (p *pool) dial(ctx context.Context, i int, cr credential) (*sock, error) {
	if err := p.c.checkWS(ctx, cr.url); err != nil {
		return nil, err
	}
	d := p.dialers[i%len(p.dialers)]
	conn, resp, err := d.DialContext(ctx, cr.url, p.header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("connect: HTTP %d", resp.StatusCode)
		}
		return nil, fmt.Errorf("connect: %w", redactURLErr(err, cr.url))
	}
	s := &sock{conn: conn, ready: make(chan struct{})}
	p.readers.Add(1)
	go p.read(i, s)
	if cr.msg != "" {
		conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := conn.WriteMessage(websocket.TextMessage, []byte(cr.msg)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("send bind: %w", err)
		}
	}
	return s, nil
}

// redactURLErr hides a ticket URL (a credential) in an error message.
func redactURLErr(err error, u string) error {
	if u == "" {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), u, "<websocket-url>"))
}

// read is socket i's reader: it classifies every frame, marks the socket
// ready on its handshake and reports notifications. gorilla answers pings
// from inside ReadMessage, so reading is all the liveness the server needs.
func (p *pool) read(i int, s *sock) {
	defer p.readers.Done()
	ready := false
	for {
		_, b, err := s.conn.ReadMessage()
		if err != nil {
			if !p.closing.Load() {
				p.lost.Add(1)
				p.noteErr(fmt.Sprintf("socket %d: %v", i, err))
			}
			if !ready {
				s.err = fmt.Errorf("socket closed before the handshake: %w", err)
				close(s.ready)
			}
			return
		}
		now := time.Now()
		k := classify(b)
		p.counts[k].Add(1)
		switch k {
		case frameHandshake:
			if !ready {
				ready = true
				close(s.ready)
			}
		case frameEvent:
			if p.onEvent != nil {
				p.onEvent(i, now, b)
			}
		case frameError:
			p.noteErr(fmt.Sprintf("socket %d: server: %s", i, fhir.OutcomeText(b)))
		}
	}
}

func (p *pool) noteErr(s string) {
	p.firstErr.CompareAndSwap(nil, &s)
}

// close says goodbye on every socket and waits for the readers.
func (p *pool) close() {
	p.closing.Store(true)
	p.mu.Lock()
	socks := p.socks
	p.mu.Unlock()
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bench done")
	for _, s := range socks {
		if s == nil {
			continue
		}
		s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(100*time.Millisecond))
		s.conn.Close()
	}
	p.readers.Wait()
}

// frameCounts returns the frames seen so far by kind.
func (p *pool) frameCounts() map[string]int64 {
	out := map[string]int64{}
	for k := frameKind(0); k < numFrameKinds; k++ {
		if n := p.counts[k].Load(); n > 0 {
			out[k.String()] = n
		}
	}
	return out
}

// problem returns the first error seen, or "".
func (p *pool) problem() string {
	if s := p.firstErr.Load(); s != nil {
		return *s
	}
	return ""
}

// parallel runs f(ctx, i) for i in [0, n), conc at a time, and returns the
// first error; after an error or when ctx ends, no new call starts.
func parallel(ctx context.Context, n, conc int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(conc, n)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := f(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx) // nil unless f failed or the parent ended
}
