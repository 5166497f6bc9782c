package resthook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// Policy decides which endpoints rest-hook notifications may reach. By
// default only public unicast addresses may: an endpoint whose host is, or
// resolves to, a loopback, private, shared (CGNAT), link-local (cloud
// metadata services live at 169.254.169.254 and fd00:ec2::254),
// unspecified, multicast, broadcast, documentation or benchmarking address
// is refused, at create and update (CheckEndpoint) and again at every
// connection (DialContext, which connects only to an address it has just
// checked, so a name that resolves elsewhere later, DNS rebinding, gains
// nothing). The allow list opens exceptions by CIDR or by host name.
//
// A Policy is immutable and safe for concurrent use.
type Policy struct {
	allowNets  []netip.Prefix
	allowHosts map[string]bool // lower case, without a trailing dot
	dialer     *net.Dialer
	// lookup resolves a host name (net.DefaultResolver.LookupNetIP; tests
	// swap it to play DNS rebinding).
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)
}

// ParseAllow builds a Policy from an allow list: comma-separated CIDRs
// ("127.0.0.1/8", "10.1.0.0/16", "::1/128"), bare addresses (one host) or
// host names ("hooks.internal", matched exactly, case-insensitively).
// Empty allows only public addresses.
func ParseAllow(list string) (*Policy, error) {
	p := &Policy{
		allowHosts: map[string]bool{},
		lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		},
		dialer: &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second},
	}
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			pfx, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("rest-hook allow %q: not a CIDR", item)
			}
			p.allowNets = append(p.allowNets, pfx.Masked())
			continue
		}
		if a, err := netip.ParseAddr(strings.Trim(item, "[]")); err == nil {
			a = a.Unmap()
			p.allowNets = append(p.allowNets, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		h := strings.TrimSuffix(strings.ToLower(item), ".")
		if !validHostName(h) {
			return nil, fmt.Errorf("rest-hook allow %q: not a CIDR, an address or a host name", item)
		}
		p.allowHosts[h] = true
	}
	return p, nil
}

// validHostName reports whether h looks like a DNS name.
func validHostName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// special lists the ranges refused unless allowed, with the word that
// explains each refusal. Loopback, private, link-local, multicast and
// unspecified addresses are recognised by netip itself (see blocked).
var special = []struct {
	pfx  netip.Prefix
	kind string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (CGNAT)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64 (may reach private IPv4)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "NAT64 (may reach private IPv4)"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("2002::/16"), "6to4 (may reach private IPv4)"},
}

// blocked returns why a may not be reached by default ("" when it may).
func blocked(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case !a.IsValid():
		return "invalid"
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local (cloud metadata)"
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast(), a.IsLinkLocalMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "broadcast"
	}
	for _, s := range special {
		if s.pfx.Contains(a) {
			return s.kind
		}
	}
	return ""
}

// allowedAddr returns why a is refused, or "".
func (p *Policy) allowedAddr(a netip.Addr) string {
	a = a.Unmap()
	why := blocked(a)
	if why == "" {
		return ""
	}
	for _, pfx := range p.allowNets {
		if pfx.Contains(a) {
			return ""
		}
	}
	return why
}

// hostAllowed reports whether host is allowed by name.
func (p *Policy) hostAllowed(host string) bool {
	return p.allowHosts[strings.TrimSuffix(strings.ToLower(host), ".")]
}

// refusal is a connection the policy refused.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

// resolve returns the addresses to connect to for host, every one of
// which the policy allows, or the reason none may be used: a *refusal, or
// a *net.DNSError.
func (p *Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if why := p.allowedAddr(a); why != "" && !p.hostAllowed(host) {
			return nil, &refusal{fmt.Sprintf("%s is a %s address, which rest-hook endpoints may not reach unless --rest-hook-allow (FHIRBELL_REST_HOOK_ALLOW) allows it", a.Unmap(), why)}
		}
		return []netip.Addr{a.Unmap()}, nil
	}
	addrs, err := p.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	if p.hostAllowed(host) {
		return addrs, nil
	}
	// Every address must pass, not just one: a client that cannot know
	// which address a connection will use must not be able to aim one of
	// them inside.
	for _, a := range addrs {
		if why := p.allowedAddr(a); why != "" {
			return nil, &refusal{fmt.Sprintf("%s resolves to %s, a %s address, which rest-hook endpoints may not reach unless --rest-hook-allow (FHIRBELL_REST_HOOK_ALLOW) allows it", host, a.Unmap(), why)}
		}
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return addrs, nil
}

var _ subscription.EndpointPolicy = (*Policy)(nil)

// CheckEndpoint implements subscription.EndpointPolicy: it refuses an
// endpoint that is not an http(s) URL, whose host does not resolve, or
// that resolves to an address the policy refuses. The lookup is bounded
// by a few seconds, since it runs while a client waits.
func (p *Policy) CheckEndpoint(ctx context.Context, endpoint string) error {
	u, err := subscription.ParseEndpoint(endpoint)
	if err != nil {
		return &fhir.ValidationError{Path: "Subscription.channel.endpoint", Msg: err.Error(), Code: fhir.IssueInvalid}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = p.resolve(ctx, u.Hostname())
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &dnsErr):
		return &fhir.ValidationError{Path: "Subscription.channel.endpoint", Code: fhir.IssueInvalid,
			Msg: fmt.Sprintf("host %s does not resolve (%s)", u.Hostname(), dnsErr.Err)}
	default:
		return &fhir.ValidationError{Path: "Subscription.channel.endpoint", Code: fhir.IssueSecurity, Msg: err.Error()}
	}
}

// DialContext connects to addr ("host:port") after checking it: the host
// is resolved here, each address checked, and the connection made to a
// checked address, never to a name the dialer would resolve again. The
// socket's Control hook checks the address once more (belt and braces for
// a future caller that dials a name).
func (p *Policy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	addrs, err := p.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	byName := p.hostAllowed(host)
	d := *p.dialer
	d.Control = func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return &refusal{"unparsable address " + address}
		}
		if why := p.allowedAddr(ap.Addr()); why != "" && !byName {
			return &refusal{fmt.Sprintf("%s is a %s address", ap.Addr(), why)}
		}
		return nil
	}
	var firstErr error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, firstErr
}
