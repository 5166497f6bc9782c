package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"
)

// client talks FHIR REST to the target. It is safe for concurrent use.
type client struct {
	base   string // FHIR base URL without a trailing slash
	token  string // static bearer token, or ""
	http   *http.Client
	lookup lookupFunc

	checked sync.Map // websocket URL → error: loopback checks already made
}

func newClient(base, token string, conns int, lookup lookupFunc) *client {
	d := guardedDialer(netip.Addr{})
	tr := &http.Transport{
		DialContext:         d.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &client{
		base:   strings.TrimRight(base, "/"),
		token:  token,
		http:   &http.Client{Transport: tr, Timeout: 30 * time.Second},
		lookup: lookup,
	}
}

// checkWS applies the loopback check to a websocket URL the server handed
// out, once per distinct URL.
func (c *client) checkWS(ctx context.Context, u string) error {
	if v, ok := c.checked.Load(u); ok {
		err, _ := v.(error)
		return err
	}
	err := checkURL(ctx, c.lookup, u)
	if err != nil {
		err = fmt.Errorf("websocket-url from the server: %w", err)
	}
	c.checked.Store(u, err)
	return err
}

// httpError is a non-2xx answer.
type httpError struct {
	Method, Path string
	Status       int
	Text         string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Status, e.Text)
}

// do sends one request to base+path and returns the body of a 2xx answer.
func (c *client) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/fhir+json")
	if body != nil {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", method, redactPath(path), err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, &httpError{Method: method, Path: redactPath(path), Status: resp.StatusCode, Text: fhir.OutcomeText(b)}
	}
	return b, nil
}

// redactPath drops the query string, which may carry ids but is noise in
// error messages.
func redactPath(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// createSubscription POSTs a websocket Subscription with the criteria and
// returns its id.
func (c *client) createSubscription(ctx context.Context, criteria, status string) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"resourceType": "Subscription",
		"status":       status,
		"reason":       "fhirbell-bench",
		"criteria":     criteria,
		"channel":      map[string]any{"type": "websocket", "payload": "application/fhir+json"},
	})
	b, err := c.do(ctx, http.MethodPost, "/Subscription", body)
	if err != nil {
		return "", fmt.Errorf("create subscription: %w", err)
	}
	id := resourceID(b)
	if id == "" {
		return "", errors.New("create subscription: the response has no id")
	}
	return id, nil
}

// deleteSubscription deletes one subscription.
func (c *client) deleteSubscription(ctx context.Context, id string) error {
	_, err := c.do(ctx, http.MethodDelete, "/Subscription/"+url.PathEscape(id), nil)
	return err
}

// bindingToken calls $get-ws-binding-token for one subscription and
// returns the token and the websocket URL to use it on.
func (c *client) bindingToken(ctx context.Context, id string) (token, wsURL string, err error) {
	b, err := c.do(ctx, http.MethodGet, "/Subscription/"+url.PathEscape(id)+"/$get-ws-binding-token", nil)
	if err != nil {
		return "", "", fmt.Errorf("binding token: %w", err)
	}
	p, err := parseParameters(b)
	if err != nil {
		return "", "", fmt.Errorf("binding token: %w", err)
	}
	if p["token"] == "" || p["websocket-url"] == "" {
		return "", "", errors.New("binding token: no token or websocket-url in the answer")
	}
	return p["token"], p["websocket-url"], nil
}

// ticket calls fhirbell's $websocket-ticket and returns the single-use URL.
func (c *client) ticket(ctx context.Context, id string) (string, error) {
	b, err := c.do(ctx, http.MethodGet, "/Subscription/"+url.PathEscape(id)+"/$websocket-ticket", nil)
	if err != nil {
		return "", fmt.Errorf("ticket: %w", err)
	}
	p, err := parseParameters(b)
	if err != nil {
		return "", fmt.Errorf("ticket: %w", err)
	}
	if p["websocket-url"] == "" {
		return "", errors.New("ticket: no websocket-url in the answer")
	}
	return p["websocket-url"], nil
}

// write POSTs a resource and returns the response body.
func (c *client) write(ctx context.Context, typ string, body []byte) ([]byte, error) {
	return c.do(ctx, http.MethodPost, "/"+typ, body)
}

// defaultWSURL derives ws://host/ws from the FHIR base, for the legacy
// dialect when --ws-url is not given.
func defaultWSURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return endpoint.WebSocketURL(u.Scheme + "://" + u.Host)
}

// sourceAddrs returns n loopback source addresses 127.0.0.<first>,
// 127.0.0.<first+1>, … (at most up to .254), or none when n ≤ 1 and first
// is 1 (the kernel picks). Several generator processes use different
// first addresses, so that each has the ephemeral ports of its own.
func sourceAddrs(first, n int) []netip.Addr {
	if n <= 1 && first <= 1 {
		return nil
	}
	first = max(first, 1)
	n = min(max(n, 1), 255-first)
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = netip.AddrFrom4([4]byte{127, 0, 0, byte(first + i)})
	}
	return out
}

// ipv4Target reports whether a URL's host is an IPv4 literal or a name (a
// source address in 127/8 can only reach IPv4).
func ipv4Target(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return ip == nil || ip.To4() != nil
}
