package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
)

// errNotLoopback is returned for any target outside 127.0.0.0/8 and ::1.
var errNotLoopback = errors.New("not a loopback address: fhirbell-bench only targets 127.0.0.0/8 or ::1")

// lookupFunc resolves a host name; tests replace net.DefaultResolver so
// that they never send a DNS query.
type lookupFunc func(ctx context.Context, host string) ([]net.IPAddr, error)

// isLoopback reports whether ip is in 127.0.0.0/8 or is ::1 (an
// IPv4-mapped 127.x address counts as IPv4).
func isLoopback(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.As4()[0] == 127
	}
	return ip == netip.IPv6Loopback()
}

// checkURL refuses a URL whose scheme is not http(s) or ws(s), or whose
// host is not loopback: an IP literal must be loopback, and a name must
// resolve only to loopback addresses.
func checkURL(ctx context.Context, lookup lookupFunc, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("target %q: %w", raw, err)
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return fmt.Errorf("target %q: want an http(s) or ws(s) URL", raw)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("target %q: no host", raw)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if !isLoopback(ip) {
			return fmt.Errorf("target %s: %w", host, errNotLoopback)
		}
		return nil
	}
	addrs, err := lookup(ctx, host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("resolve %s: no address", host)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok || !isLoopback(ip) {
			return fmt.Errorf("target %s resolves to %s: %w", host, a.IP, errNotLoopback)
		}
	}
	return nil
}

// loopbackControl is a net.Dialer Control hook: it runs on the resolved
// address just before connect and refuses anything but loopback, so no
// packet can leave the machine whatever a name resolves to or a server
// hands out.
func loopbackControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s %s: %w", network, address, err)
	}
	if !isLoopback(ap.Addr()) {
		return fmt.Errorf("dial %s: %w", address, errNotLoopback)
	}
	return nil
}

// guardedDialer returns a dialer that only connects to loopback, from the
// given local address when src is valid.
func guardedDialer(src netip.Addr) *net.Dialer {
	d := &net.Dialer{Control: loopbackControl}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	return d
}
