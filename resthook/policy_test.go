package resthook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
)

func TestPolicyAddresses(t *testing.T) {
	def, _ := ParseAllow("")
	local, err := ParseAllow(" 127.0.0.1/8, ::1/128 ,10.1.2.3, hooks.internal. ")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr         string
		def, allowed string // "" = may be reached; else a word of the refusal
	}{
		{"93.184.216.34", "", ""},
		{"2606:2800:220:1:248:1893:25c8:1946", "", ""},
		{"127.0.0.1", "loopback", ""},
		{"127.8.9.10", "loopback", ""},
		{"::1", "loopback", ""},
		{"::ffff:127.0.0.1", "loopback", ""},
		{"10.1.2.3", "private", ""},
		{"10.1.2.4", "private", "private"},
		{"172.16.0.1", "private", "private"},
		{"192.168.1.1", "private", "private"},
		{"fd00:ec2::254", "private", "private"},
		{"169.254.169.254", "link-local", "link-local"},
		{"fe80::1", "link-local", "link-local"},
		{"0.0.0.0", "unspecified", "unspecified"},
		{"::", "unspecified", "unspecified"},
		{"100.64.0.1", "CGNAT", "CGNAT"},
		{"224.0.0.1", "multicast", "multicast"},
		{"255.255.255.255", "broadcast", "broadcast"},
		{"64:ff9b::a00:1", "NAT64", "NAT64"},
		{"198.18.0.1", "benchmarking", "benchmarking"},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.addr)
		for _, c := range []struct {
			p    *Policy
			want string
		}{{def, tt.def}, {local, tt.allowed}} {
			got := c.p.allowedAddr(a)
			if (got == "") != (c.want == "") || (c.want != "" && !strings.Contains(got, c.want)) {
				t.Errorf("allowedAddr(%s) = %q, want %q", tt.addr, got, c.want)
			}
		}
	}
	if !local.hostAllowed("HOOKS.internal") || local.hostAllowed("hooks.internal.evil.org") {
		t.Error("host names are matched exactly and case-insensitively")
	}
}

func TestParseAllowRefuses(t *testing.T) {
	for _, bad := range []string{"127.0.0.1/33", "10.0.0.0/x", "not a host", "-x.org", "a..b"} {
		if _, err := ParseAllow(bad); err == nil {
			t.Errorf("ParseAllow(%q) accepted it", bad)
		}
	}
}

// fakeDNS answers each lookup of a name with the next answer in turn.
func fakeDNS(p *Policy, answers ...string) *atomic.Int32 {
	var n atomic.Int32
	p.lookup = func(_ context.Context, host string) ([]netip.Addr, error) {
		i := int(n.Add(1)) - 1
		if i >= len(answers) {
			i = len(answers) - 1
		}
		if answers[i] == "" {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var out []netip.Addr
		for a := range strings.SplitSeq(answers[i], ",") {
			out = append(out, netip.MustParseAddr(a))
		}
		return out, nil
	}
	return &n
}

func TestCheckEndpoint(t *testing.T) {
	p, _ := ParseAllow("")
	fakeDNS(p, "93.184.216.34")
	if err := p.CheckEndpoint(t.Context(), "https://hooks.example.org/in"); err != nil {
		t.Errorf("a public endpoint was refused: %v", err)
	}
	for _, tt := range []struct{ endpoint, dns, code string }{
		{"http://127.0.0.1:8080/hook", "", fhir.IssueSecurity},
		{"http://[::1]/hook", "", fhir.IssueSecurity},
		{"http://169.254.169.254/latest/meta-data", "", fhir.IssueSecurity},
		{"http://metadata.internal/x", "169.254.169.254", fhir.IssueSecurity},
		{"http://mixed.example.org/x", "93.184.216.34,10.0.0.7", fhir.IssueSecurity},
		{"http://nowhere.example.org/x", "", fhir.IssueInvalid},
		{"ftp://x.org/", "93.184.216.34", fhir.IssueInvalid},
	} {
		fakeDNS(p, tt.dns)
		err := p.CheckEndpoint(t.Context(), tt.endpoint)
		var ve *fhir.ValidationError
		if !errors.As(err, &ve) || ve.Code != tt.code || ve.Path != "Subscription.channel.endpoint" {
			t.Errorf("CheckEndpoint(%s) = %v, want a %s error on the endpoint", tt.endpoint, err, tt.code)
		}
	}
}

// TestDialRefusesRebinding: a name that resolved to a public address when
// the subscription was created and to loopback now is refused at connect
// time, and nothing reaches the loopback server.
func TestDialRefusesRebinding(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	p, _ := ParseAllow("")
	fakeDNS(p, "93.184.216.34", "127.0.0.1")
	endpoint := "http://rebind.example.org:" + port + "/hook"
	if err := p.CheckEndpoint(t.Context(), endpoint); err != nil {
		t.Fatalf("create-time check: %v", err)
	}
	client := newHTTPClient(p, nil)
	_, err := client.Post(endpoint, "application/fhir+json", strings.NewReader("{}"))
	var ref *refusal
	if !errors.As(err, &ref) || !strings.Contains(ref.msg, "loopback") {
		t.Fatalf("POST after rebinding = %v, want a loopback refusal", err)
	}
	if hits.Load() != 0 {
		t.Fatal("the loopback server was reached")
	}
	// The same server is reachable once the allow list says so.
	allowed, _ := ParseAllow("127.0.0.1/32")
	res, err := newHTTPClient(allowed, nil).Post(srv.URL, "application/fhir+json", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("allowed POST: %v", err)
	}
	res.Body.Close()
	if hits.Load() != 1 {
		t.Fatalf("allowed POST reached the server %d times", hits.Load())
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Base: time.Second, Max: 10 * time.Second}
	for _, tt := range []struct {
		failures int
		jitter   float64
		want     time.Duration
	}{
		{0, 0.5, 0},
		{1, 0, 500 * time.Millisecond},
		{1, 0.999999, time.Second - time.Microsecond},
		{2, 0, time.Second},
		{3, 0.5, 3 * time.Second},
		{4, 0, 4 * time.Second},
		{5, 0, 5 * time.Second}, // capped at 10 s, halved by jitter 0
		{50, 0.5, 7500 * time.Millisecond},
	} {
		got := b.Delay(tt.failures, tt.jitter)
		if d := got - tt.want; d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("Delay(%d, %v) = %v, want %v", tt.failures, tt.jitter, got, tt.want)
		}
	}
}
