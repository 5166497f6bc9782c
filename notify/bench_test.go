package notify

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/gorilla/websocket"
)

// BenchmarkHubPublish measures one write fanned out to n bound sockets
// over loopback: the time from the write until every client has read its
// notification. "shared": one subscription bound on every socket; "own":
// each socket bound to its own subscription, all matching the write.
func BenchmarkHubPublish(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		for _, mode := range []string{"shared", "own"} {
			b.Run(fmt.Sprintf("%s/sockets=%d", mode, n), func(b *testing.B) {
				benchPublish(b, n, mode == "own")
			})
		}
	}
}

func benchPublish(b *testing.B, n int, own bool) {
	e := newEnv(b, Config{})
	var toks []string
	if own {
		for range n {
			toks = append(toks, e.token(e.createSub(subOpts{content: fhir.ContentIDOnly})))
		}
	} else {
		toks = []string{e.token(e.createSub(subOpts{content: fhir.ContentIDOnly}))}
	}
	var got sync.WaitGroup
	var readers sync.WaitGroup
	conns := make([]*websocket.Conn, n)
	for i := range n {
		conn, _, err := testDialer.Dial(e.ws+"/ws", nil)
		if err != nil {
			b.Fatalf("dial %d: %v", i, err)
		}
		conns[i] = conn
		if err := conn.WriteMessage(websocket.TextMessage, []byte("bind-with-token "+toks[i%len(toks)])); err != nil {
			b.Fatal(err)
		}
		if _, _, err := conn.ReadMessage(); err != nil { // the handshake
			b.Fatal(err)
		}
		readers.Go(func() {
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					return
				}
				got.Done()
			}
		})
	}
	b.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
		readers.Wait()
	})
	b.ResetTimer()
	for b.Loop() {
		got.Add(n)
		e.write(1, "")
		got.Wait()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/socket")
}

// TestMemoryPerIdleSocket opens 5,000 sockets, each bound to its own
// subscription, and reports the Go memory (heap in use + stacks) each
// costs. The clients are raw TCP connections that send the upgrade and a
// bind-with-token frame and never read, so nearly all of the measured
// memory is the server's (a client TCP conn is a few hundred bytes).
func TestMemoryPerIdleSocket(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("5,000 sockets; memory is meaningless under -race")
	}
	const n = 5000
	e := newEnv(t, Config{})
	toks := make([]string, n)
	for i := range toks {
		toks[i] = e.token(e.createSub(subOpts{content: fhir.ContentIDOnly}))
	}
	addr := strings.TrimPrefix(e.ws, "ws://")
	measure := func() (heap, stack uint64) {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse, ms.StackInuse
	}
	h0, s0 := measure()
	conns := make([]net.Conn, n)
	for i := range n {
		c, err := rawBind(addr, toks[i])
		if err != nil {
			t.Fatalf("socket %d: %v", i, err)
		}
		conns[i] = c
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	waitFor(t, "every binding", func() bool { return e.hub.Stats().Bindings == n })
	time.Sleep(100 * time.Millisecond) // let handshakes finish writing
	h1, s1 := measure()
	heap, stack := float64(h1-h0)/n, float64(s1-s0)/n
	if path := os.Getenv("NOTIFY_HEAP_PROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		pprof.Lookup("heap").WriteTo(f, 0)
		f.Close()
	}
	t.Logf("per idle bound socket: %.0f B heap + %.0f B stack = %.2f KiB (%d sockets)", heap, stack, (heap+stack)/1024, n)
}

// rawBind opens a WebSocket by hand: the upgrade request, then one masked
// bind-with-token frame. It reads only the 101 response.
func rawBind(addr, tok string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", addr)
	br := bufio.NewReaderSize(c, 256)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			c.Close()
			return nil, err
		}
		if line == "\r\n" {
			break
		}
	}
	payload := []byte("bind-with-token " + tok)
	frame := []byte{0x81, 0x80 | byte(len(payload)), 0, 0, 0, 0}
	rand.Read(frame[2:6])
	for i, p := range payload {
		frame = append(frame, p^frame[2+i%4])
	}
	if _, err := c.Write(frame); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
