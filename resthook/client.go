package resthook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// DefaultMaxResponseBytes is how much of an endpoint's answer is read:
// enough to reuse the connection after a typical small reply, never
// enough for a hostile endpoint to cost memory. The body is discarded.
const DefaultMaxResponseBytes = 64 << 10

// newHTTPClient returns the client every POST goes through: connections
// only through the policy's dialer, no proxy (a proxy would dial names the
// policy never saw), certificates verified (tlsConfig may add roots, never
// turn verification off), redirects returned as they are (a 3xx is a
// failed delivery: following one would let an allowed endpoint send us
// somewhere the policy refused).
func newHTTPClient(p *Policy, tlsConfig *tls.Config) *http.Client {
	var tc *tls.Config
	if tlsConfig != nil {
		tc = tlsConfig.Clone()
		tc.InsecureSkipVerify = false
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           p.DialContext,
			TLSClientConfig:       tc,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          256,
			MaxIdleConnsPerHost:   64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// attemptError is why a POST did not count as delivered: a message safe to
// store and show (no URL, header or body of the endpoint's) and its
// subscription-error code.
type attemptError struct {
	code string
	msg  string
}

func (e *attemptError) Error() string { return e.msg }

// post sends body to sub's endpoint and reports whether it was answered
// with a 2xx. The request carries Content-Type channel.payload (no body
// when the subscription asked for no payload), the channel.header entries
// and, with a Medplum secret, X-Signature. It waits at most timeout.
func post(ctx context.Context, client *http.Client, sub *subscription.Subscription, body []byte, timeout time.Duration, maxResponse int64) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if sub.Payload == "" {
		body = nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return &attemptError{subscription.ErrorNoResponse, "the endpoint URL cannot be requested"}
	}
	for _, h := range sub.Headers {
		req.Header.Add(h.Name, h.Value)
	}
	if sub.Payload != "" {
		req.Header.Set("Content-Type", sub.Payload)
	}
	req.Header.Set("User-Agent", "fhirbell")
	if sub.Secret != "" {
		mac := hmac.New(sha256.New, []byte(sub.Secret))
		mac.Write(body)
		req.Header.Set("X-Signature", hex.EncodeToString(mac.Sum(nil)))
	}
	res, err := client.Do(req)
	if err != nil {
		return classify(err, timeout)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxResponse))
	res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		msg := fmt.Sprintf("the endpoint answered %d %s", res.StatusCode, http.StatusText(res.StatusCode))
		if res.StatusCode >= 300 && res.StatusCode < 400 {
			msg += " (redirects are not followed)"
		}
		return &attemptError{subscription.ErrorResponse, msg}
	}
	return nil
}

// classify turns a client error into an attemptError. The *url.Error
// wrapper is dropped: it quotes the endpoint URL, whose query may hold a
// secret.
func classify(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ref *refusal
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.Canceled):
		return err // shutting down or lease lost: not the endpoint's fault
	case errors.As(err, &ref):
		return &attemptError{subscription.ErrorNoResponse, "refused to connect: " + ref.msg}
	case errors.As(err, &dnsErr):
		return &attemptError{subscription.ErrorDNS, "the endpoint's host does not resolve: " + dnsErr.Err}
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return &attemptError{subscription.ErrorNoResponse, fmt.Sprintf("no answer within %s (backport-timeout)", timeout)}
	case errors.As(err, &certErr):
		return &attemptError{subscription.ErrorNoResponse, "the endpoint's TLS certificate does not verify: " + certErr.Err.Error()}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		return &attemptError{subscription.ErrorNoResponse, "cannot connect: " + opErr.Err.Error()}
	}
	return &attemptError{subscription.ErrorNoResponse, "the request failed: " + err.Error()}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
