package resthooktest

import (
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
)

// Received is one POST the receiver got.
type Received struct {
	At      time.Time
	Header  http.Header
	Body    []byte
	Status  int                      // what the receiver answered
	Summary fhir.NotificationSummary // the decoded status Parameters
	Parsed  bool                     // Summary was decoded
}

// Acked reports whether the receiver answered it with a 2xx.
func (r Received) Acked() bool { return r.Status >= 200 && r.Status < 300 }

// Receiver records POSTs. It is safe for concurrent use.
type Receiver struct {
	// URL is the endpoint, http://127.0.0.1:port/hook.
	URL string
	// OnReceive, if set before the first POST, is called for each one,
	// on the request goroutine.
	OnReceive func(Received)

	srv    *http.Server
	ln     net.Listener
	status atomic.Int32
	mu     sync.Mutex
	got    []Received
	wake   chan struct{}
}

// New starts a receiver on a free loopback port, answering 200; Close
// stops it.
func New() (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{URL: "http://" + ln.Addr().String() + "/hook", ln: ln, wake: make(chan struct{}, 1)}
	r.status.Store(http.StatusOK)
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

// TB is the part of testing.TB the helpers use (declared here so that the
// benchmark binary, which uses the receiver, does not link package
// testing).
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// MustNew is New, closed in tb.Cleanup.
func MustNew(tb TB) *Receiver {
	tb.Helper()
	r, err := New()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Close)
	return r
}

// Close stops the receiver.
func (r *Receiver) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = r.srv.Shutdown(ctx)
}

// SetStatus sets the status later POSTs are answered with.
func (r *Receiver) SetStatus(code int) { r.status.Store(int32(code)) }

// ServeHTTP records a POST.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 16<<20))
	rec := Received{At: time.Now(), Header: req.Header.Clone(), Body: body, Status: int(r.status.Load())}
	rec.Summary, rec.Parsed = fhir.ReadNotification(body)
	if req.Method != http.MethodPost {
		rec.Status = http.StatusMethodNotAllowed
	}
	r.mu.Lock()
	r.got = append(r.got, rec)
	r.mu.Unlock()
	if r.OnReceive != nil {
		r.OnReceive(rec)
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
	w.WriteHeader(rec.Status)
}

// All returns what was received so far, in arrival order.
func (r *Receiver) All() []Received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.got...)
}

// Wait returns All once cond holds for it, or fails tb after timeout.
func (r *Receiver) Wait(tb TB, timeout time.Duration, what string, cond func([]Received) bool) []Received {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		all := r.All()
		if cond(all) {
			return all
		}
		select {
		case <-r.wake:
		case <-time.After(50 * time.Millisecond):
		case <-deadline.C:
			tb.Fatalf("rest-hook receiver: no %s within %s; got %d POSTs: %s", what, timeout, len(all), Describe(all))
			return nil
		}
	}
}

// Acked returns the event numbers of the acknowledged event
// notifications, in arrival order.
func Acked(all []Received) []int64 {
	var out []int64
	for _, rec := range all {
		if rec.Acked() && rec.Summary.Type == fhir.NotifyEvent {
			out = append(out, rec.Summary.Events...)
		}
	}
	return out
}

// Count returns how many acknowledged notifications of type typ arrived.
func Count(all []Received, typ string) int {
	n := 0
	for _, rec := range all {
		if rec.Acked() && rec.Summary.Type == typ {
			n++
		}
	}
	return n
}

// Describe summarises POSTs for failure messages.
func Describe(all []Received) string {
	s := ""
	for i, rec := range all {
		if i == 20 {
			s += " …"
			break
		}
		s += " " + rec.Summary.Type + "/" + rec.Summary.Status
		for _, n := range rec.Summary.Events {
			s += "#" + itoa(n)
		}
		s += "→" + itoa(int64(rec.Status))
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
