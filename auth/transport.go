package auth

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
)

// ClientCertPrincipal maps a verified mutual-TLS client certificate to a
// system Principal. mapping goes from the certificate subject, either the
// full distinguished name as crypto/x509 prints it ("CN=engine,O=Acme") or
// the bare common name ("engine"), to the space-separated scopes that
// client holds; the full DN is tried first. It returns false when the
// connection has no verified chain (the TLS config must use
// tls.VerifyClientCertIfGiven or RequireAndVerifyClientCert with the
// --tls-client-ca pool; an unverified certificate is never trusted) or the
// subject is not in mapping.
func ClientCertPrincipal(state *tls.ConnectionState, mapping map[string]string) (Principal, bool) {
	if state == nil || len(state.VerifiedChains) == 0 || len(state.VerifiedChains[0]) == 0 {
		return Principal{}, false
	}
	cert := state.VerifiedChains[0][0]
	dn := cert.Subject.String()
	scopes, ok := mapping[dn]
	if !ok && cert.Subject.CommonName != "" {
		scopes, ok = mapping[cert.Subject.CommonName]
	}
	if !ok {
		return Principal{}, false
	}
	return Principal{
		Kind:     KindSystem,
		Method:   MethodMTLS,
		Subject:  dn,
		ClientID: cert.Subject.CommonName,
		Scopes:   ParseScopes(scopes),
		Expires:  cert.NotAfter,
	}, true
}

// LoadClientCAs reads a PEM file of CA certificates for verifying client
// certificates (--tls-client-ca).
func LoadClientCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read client ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("client ca %s: no PEM certificate found", path)
	}
	return pool, nil
}

// TrustedProxies is the set of reverse proxies (--trusted-proxies) whose
// X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-For headers are
// believed. The zero value trusts nobody, so those headers are ignored.
// The RFC 7239 Forwarded header is not read.
type TrustedProxies struct {
	prefixes []netip.Prefix
}

// ParseTrustedProxies parses a comma-separated list of IP addresses and
// CIDR prefixes ("10.0.0.0/8, 192.168.1.7, ::1"). Empty items are skipped;
// anything else unparsable is an error.
func ParseTrustedProxies(list string) (TrustedProxies, error) {
	var t TrustedProxies
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if strings.Contains(item, "/") {
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return TrustedProxies{}, fmt.Errorf("trusted proxy %q: %w", item, err)
			}
			t.prefixes = append(t.prefixes, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return TrustedProxies{}, fmt.Errorf("trusted proxy %q: %w", item, err)
		}
		a = a.Unmap()
		t.prefixes = append(t.prefixes, netip.PrefixFrom(a, a.BitLen()))
	}
	return t, nil
}

// contains reports whether a is one of the trusted proxies.
func (t TrustedProxies) contains(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Contains reports whether a is one of the trusted proxies.
func (t TrustedProxies) Contains(a netip.Addr) bool { return t.contains(a) }

// remoteAddr parses r.RemoteAddr ("ip:port", or a bare ip in tests).
func remoteAddr(r *http.Request) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// Trusted reports whether r came directly from a trusted proxy.
func (t TrustedProxies) Trusted(r *http.Request) bool {
	a, ok := remoteAddr(r)
	return ok && t.contains(a)
}

// Scheme returns "https" or "http": the X-Forwarded-Proto a trusted proxy
// set (its first value), else "https" when the connection itself is TLS.
// The URLs the server hands out (websocket-url) use wss:// exactly when
// this is "https".
func (t TrustedProxies) Scheme(r *http.Request) string {
	if t.Trusted(r) {
		if v := firstForwarded(r.Header.Get("X-Forwarded-Proto")); v != "" {
			switch strings.ToLower(v) {
			case "https", "wss":
				return "https"
			case "http", "ws":
				return "http"
			}
		}
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

// Host returns the host[:port] the client asked for: the X-Forwarded-Host
// of a trusted proxy (its first value, if it is a syntactically valid
// host), else r.Host.
func (t TrustedProxies) Host(r *http.Request) string {
	if t.Trusted(r) {
		if v := firstForwarded(r.Header.Get("X-Forwarded-Host")); v != "" && validHost(v) {
			return v
		}
	}
	return r.Host
}

// ClientIP returns the address of the client, for rate limiting and logs:
// r.RemoteAddr, or, when that is a trusted proxy, the right-most address in
// X-Forwarded-For that is not itself a trusted proxy (the left part of the
// header is written by the client and proves nothing).
func (t TrustedProxies) ClientIP(r *http.Request) string {
	a, ok := remoteAddr(r)
	if !ok {
		return r.RemoteAddr
	}
	if !t.contains(a) {
		return a.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage: stop at the last proxy we trust
		}
		h = h.Unmap()
		if !t.contains(h) {
			return h.String()
		}
		a = h
	}
	return a.String()
}

// firstForwarded returns the first comma-separated value, trimmed.
func firstForwarded(v string) string {
	v, _, _ = strings.Cut(v, ",")
	return strings.TrimSpace(v)
}

// validHost accepts "name", "name:port", "1.2.3.4:port", "[::1]" and
// "[::1]:port" made of characters a host may contain, so a forwarded
// header cannot inject paths, userinfo or whitespace into URLs we build
// from it.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := range len(h) {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_') {
			return false
		}
	}
	host := h
	if i := strings.LastIndexByte(h, ':'); i >= 0 && i > strings.LastIndexByte(h, ']') {
		host = h[:i]
		port := h[i+1:]
		if port == "" || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
			return false
		}
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		return err == nil && a.Is6()
	}
	return host != "" && !strings.ContainsAny(host, ":[]")
}

// CheckNoneAllowed reports whether auth mode none may listen on addr (a
// host:port as given to net.Listen): only loopback hosts (127.0.0.0/8,
// ::1, "localhost") qualify, unless insecure (--insecure-no-auth) is set.
// ":8080", "0.0.0.0:8080" and "[::]:8080" listen on every interface and are
// refused.
func CheckNoneAllowed(addr string, insecure bool) error {
	if insecure {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr // no port: judge the host alone
	}
	if isLoopbackHost(host) {
		return nil
	}
	return fmt.Errorf("%w: %q (listen on 127.0.0.1 or pass --insecure-no-auth)", ErrInsecureListen, addr)
}

// isLoopbackHost reports whether host is "localhost" or a loopback IP
// literal. Other names are not resolved: what they resolve to can change.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
