package main

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
)

// fakeLookup resolves from a table and never sends a DNS query.
func fakeLookup(table map[string][]string) lookupFunc {
	return func(_ context.Context, host string) ([]net.IPAddr, error) {
		ips, ok := table[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var out []net.IPAddr
		for _, s := range ips {
			out = append(out, net.IPAddr{IP: net.ParseIP(s)})
		}
		return out, nil
	}
}

func TestCheckURL(t *testing.T) {
	lookup := fakeLookup(map[string][]string{
		"localhost":     {"127.0.0.1", "::1"},
		"bench.local":   {"127.0.0.42"},
		"mixed.example": {"127.0.0.1", "10.0.0.1"},
		"evil.example":  {"93.184.216.34"},
		"empty.example": {},
	})
	tests := []struct {
		url      string
		ok       bool
		loopback bool // when refused: refused for not being loopback
	}{
		{"http://127.0.0.1:8080/fhir", true, false},
		{"http://127.255.255.254/fhir", true, false},
		{"ws://[::1]:8080/ws", true, false},
		{"http://[::ffff:127.0.0.1]/fhir", true, false},
		{"https://localhost/fhir", true, false},
		{"wss://bench.local/ws", true, false},
		{"http://10.0.0.1/fhir", false, true},
		{"http://[::2]/fhir", false, true},
		{"http://[fe80::1]/fhir", false, true},
		{"http://0.0.0.0/fhir", false, true},
		{"http://128.0.0.1/fhir", false, true},
		{"http://evil.example/fhir", false, true},
		{"http://mixed.example/fhir", false, true},
		{"http://empty.example/fhir", false, false},
		{"http://unknown.example/fhir", false, false},
		{"ftp://127.0.0.1/", false, false},
		{"127.0.0.1:8080", false, false},
		{"http:///fhir", false, false},
	}
	for _, tt := range tests {
		err := checkURL(context.Background(), lookup, tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("checkURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
			continue
		}
		if !tt.ok && errors.Is(err, errNotLoopback) != tt.loopback {
			t.Errorf("checkURL(%q) = %v, want errNotLoopback=%v", tt.url, err, tt.loopback)
		}
	}
}

func TestLoopbackControl(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:80", true},
		{"127.3.2.1:9", true},
		{"[::1]:443", true},
		{"192.0.2.1:80", false},
		{"[2001:db8::1]:80", false},
		{"[::ffff:192.0.2.1]:80", false},
		{"not-an-address", false},
	}
	for _, tt := range tests {
		err := loopbackControl("tcp", tt.addr, nil)
		if (err == nil) != tt.ok {
			t.Errorf("loopbackControl(%q) = %v, want ok=%v", tt.addr, err, tt.ok)
		}
	}
}

// TestGuardedDialerRefuses dials a documentation address (TEST-NET-1):
// the Control hook refuses it before connect, so nothing leaves the
// machine.
func TestGuardedDialerRefuses(t *testing.T) {
	for _, src := range []netip.Addr{{}, netip.MustParseAddr("127.0.0.1")} {
		_, err := guardedDialer(src).DialContext(context.Background(), "tcp", "192.0.2.1:9")
		if !errors.Is(err, errNotLoopback) {
			t.Errorf("dial 192.0.2.1:9 from %v = %v, want errNotLoopback", src, err)
		}
	}
}

func TestSourceAddrs(t *testing.T) {
	tests := []struct {
		from, n    int
		want       int
		first, end string
	}{
		{1, 0, 0, "", ""},
		{1, 1, 0, "", ""},
		{1, 2, 2, "127.0.0.1", "127.0.0.2"},
		{1, 3, 3, "127.0.0.1", "127.0.0.3"},
		{1, 300, 254, "127.0.0.1", "127.0.0.254"},
		{5, 0, 1, "127.0.0.5", "127.0.0.5"},
		{5, 1, 1, "127.0.0.5", "127.0.0.5"},
		{5, 2, 2, "127.0.0.5", "127.0.0.6"},
		{250, 10, 5, "127.0.0.250", "127.0.0.254"},
	}
	for _, tt := range tests {
		got := sourceAddrs(tt.from, tt.n)
		if len(got) != tt.want {
			t.Errorf("sourceAddrs(%d) has %d addresses, want %d", tt.n, len(got), tt.want)
			continue
		}
		if tt.want > 0 && (got[0].String() != tt.first || got[len(got)-1].String() != tt.end) {
			t.Errorf("sourceAddrs(%d) = %v…%v, want %s…%s", tt.n, got[0], got[len(got)-1], tt.first, tt.end)
		}
		for _, a := range got {
			if !isLoopback(a) {
				t.Errorf("sourceAddrs(%d) yields %v, not loopback", tt.n, a)
			}
		}
	}
}
