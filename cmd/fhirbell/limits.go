package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/fhirbell/fhirbell/auth"
)

// Connection-level limits of the HTTP server, against clients that hold
// connections open rather than send requests (slow-loris). The request
// limits (body size, rates, sockets per principal) live with their
// handlers.

// bodyDeadline gives every request body a read deadline that moves with
// the data: the body must start within timeout and then keep up an average
// of minRate bytes a second, so a client dribbling a byte every few seconds
// is cut after timeout whatever the size it announced, while a large body
// on a slow but honest link gets the time it needs. http.Server's
// ReadTimeout cannot do this: it is one fixed deadline for the whole
// request, and it would also apply to the WebSocket connections the hub
// hijacks.
//
// The deadline is lifted when the body has been read, because net/http
// then keeps a background read on the connection (to notice a client that
// goes away) and a deadline there would cancel a request still being
// handled.
func bodyDeadline(timeout time.Duration, minRate int64, next http.Handler) http.Handler {
	if timeout <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		start := time.Now()
		if err := rc.SetReadDeadline(start.Add(timeout)); err != nil {
			next.ServeHTTP(w, r) // not a connection we can set deadlines on (tests)
			return
		}
		r.Body = &rateBody{ReadCloser: r.Body, rc: rc, start: start, timeout: timeout, minRate: minRate}
		next.ServeHTTP(w, r)
	})
}

// rateBody moves the connection's read deadline as the body arrives.
type rateBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	start   time.Time
	timeout time.Duration
	minRate int64
	read    int64
	done    bool
}

func (b *rateBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	switch {
	case b.done:
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The deadline stays in the past, so that net/http, which would
		// otherwise read on to discard the rest of the body, closes the
		// connection after the answer.
		b.done = true
		return n, errBodyTooSlow
	case err != nil:
		// EOF (or the client went away): no more body, so no deadline
		// for net/http's background read.
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	case n > 0 && b.minRate > 0:
		allowed := time.Duration(b.read * int64(time.Second) / b.minRate)
		b.rc.SetReadDeadline(b.start.Add(b.timeout + allowed))
	}
	return n, err
}

// errBodyTooSlow is what a handler reading the body sees when the client
// did not keep up the minimum rate.
var errBodyTooSlow = errors.New("request body arrived too slowly")

// perIPListener caps the connections open at once from one client address.
// Connections from trusted proxies are not counted: behind a proxy every
// client shares its address, and the proxy enforces its own limits.
// Over the cap, a new connection is closed at once, before TLS or HTTP,
// so it costs one accept and one close.
type perIPListener struct {
	net.Listener
	max     int
	proxies auth.TrustedProxies
	logger  *slog.Logger

	mu    sync.Mutex
	open  map[netip.Addr]int
	warnd time.Time // last refusal logged (one line a minute at most)
}

func limitConnsPerIP(ln net.Listener, max int, proxies auth.TrustedProxies, logger *slog.Logger) net.Listener {
	if max <= 0 {
		return ln
	}
	return &perIPListener{Listener: ln, max: max, proxies: proxies, logger: logger, open: map[netip.Addr]int{}}
}

func (l *perIPListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
		if err != nil || l.proxies.Contains(ap.Addr()) {
			return c, nil
		}
		ip := ap.Addr().Unmap()
		l.mu.Lock()
		if l.open[ip] >= l.max {
			now := time.Now()
			logIt := now.Sub(l.warnd) > time.Minute
			if logIt {
				l.warnd = now
			}
			l.mu.Unlock()
			c.Close()
			if logIt {
				l.logger.Warn("connection refused: too many open connections from one address", "client_ip", ip.String(), "max_conns_per_ip", l.max)
			}
			continue
		}
		l.open[ip]++
		l.mu.Unlock()
		return &countedConn{Conn: c, release: func() { l.release(ip) }}, nil
	}
}

func (l *perIPListener) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip)
	}
}

// countedConn gives its slot back once, on the first Close.
type countedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
