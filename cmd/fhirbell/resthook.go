package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/fhirbell/fhirbell/resthook"
	"github.com/fhirbell/fhirbell/subscription"
)

// RestHookConfig is how the node delivers rest-hook subscriptions
// (package resthook).
type RestHookConfig struct {
	// Allow lists the CIDRs and host names endpoints may reach besides
	// public addresses, e.g. "127.0.0.1/8" for a local test bench.
	Allow string
	// CAFile adds trusted roots (PEM) for https endpoints behind a private
	// CA; certificates are always verified.
	CAFile string
	// LeaseTTL bounds how long the subscriptions of a dead node wait for
	// another node to take them over.
	LeaseTTL time.Duration
	// ErrorAfter is the failure window after which a subscription goes to
	// error.
	ErrorAfter time.Duration
	// BackoffBase and BackoffMax shape the retries (resthook.Backoff).
	BackoffBase, BackoffMax time.Duration
}

// DefaultRestHookConfig returns the rest-hook settings used when nothing
// is set.
func DefaultRestHookConfig() RestHookConfig {
	return RestHookConfig{
		LeaseTTL:    resthook.DefaultLeaseTTL,
		ErrorAfter:  resthook.DefaultErrorAfter,
		BackoffBase: resthook.DefaultBackoff.Base,
		BackoffMax:  resthook.DefaultBackoff.Max,
	}
}

// Validate reports the first rest-hook setting that cannot work.
func (c RestHookConfig) Validate() error {
	if _, err := resthook.ParseAllow(c.Allow); err != nil {
		return err
	}
	if c.LeaseTTL < time.Second || c.LeaseTTL > 10*time.Minute {
		return fmt.Errorf("rest-hook-lease %s: want between 1s and 10m", c.LeaseTTL)
	}
	if c.ErrorAfter < 0 {
		return errors.New("rest-hook-error-after must not be negative")
	}
	if c.BackoffBase <= 0 || c.BackoffMax < c.BackoffBase {
		return fmt.Errorf("rest-hook-backoff %s..%s: want 0 < base <= max", c.BackoffBase, c.BackoffMax)
	}
	return nil
}

// registerRestHookFlags adds the rest-hook flags of `fhirbell serve`.
func registerRestHookFlags(e *envFlag, c *RestHookConfig) {
	e.String(&c.Allow, "rest-hook-allow", "comma-separated CIDRs and host names rest-hook endpoints may reach besides public addresses (e.g. 127.0.0.1/8 for a local test bench)")
	e.String(&c.CAFile, "rest-hook-ca", "extra trusted CA certificates (PEM) for https rest-hook endpoints")
	e.Duration(&c.LeaseTTL, "rest-hook-lease", "how long a node's lease on a rest-hook subscription lasts unrenewed (takeover time when a node dies)")
	e.Duration(&c.ErrorAfter, "rest-hook-error-after", "how long deliveries may fail before the subscription goes to error (0: at the first failure)")
	e.Duration(&c.BackoffBase, "rest-hook-backoff-base", "first retry delay after a failed delivery (doubles per failure, with jitter)")
	e.Duration(&c.BackoffMax, "rest-hook-backoff-max", "longest retry delay")
}

// newDeliverer builds the rest-hook deliverer of node nodeID (its lease
// holder name: the node's cluster id), which checks endpoints with
// policy (the one the Service checks new endpoints with). The store must
// keep delivery state (both stores do).
func newDeliverer(c RestHookConfig, nodeID string, policy *resthook.Policy, store subscription.Store, svc *subscription.Service, observe func(resthook.Attempt), logger *slog.Logger) (*resthook.Deliverer, error) {
	ds, ok := store.(subscription.DeliveryStore)
	if !ok {
		return nil, errors.New("rest-hook: the store keeps no delivery state")
	}
	var tc *tls.Config
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("rest-hook-ca: %w", err)
		}
		roots, err := x509.SystemCertPool()
		if err != nil {
			roots = x509.NewCertPool()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("rest-hook-ca %s: no PEM certificate", c.CAFile)
		}
		tc = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	errorAfter := c.ErrorAfter
	if errorAfter == 0 {
		errorAfter = -1 // resthook: zero means the default, negative means at once
	}
	d := resthook.New(resthook.Config{
		Backend:    svc,
		Store:      ds,
		Policy:     policy,
		NodeID:     nodeID,
		LeaseTTL:   c.LeaseTTL,
		Backoff:    resthook.Backoff{Base: c.BackoffBase, Max: c.BackoffMax},
		ErrorAfter: errorAfter,
		TLSConfig:  tc,
		Logger:     logger,
		Observe:    observe,
	})
	return d, nil
}

// deliveryFanout is what the cluster wakes on this node: the WebSocket hub
// and the rest-hook deliverer, for events written on other nodes and after
// missed broadcasts.
type deliveryFanout struct {
	hub      clusterHub
	restHook *resthook.Deliverer
}

func (f deliveryFanout) PublishSent(refs []subscription.EventRef, sent time.Time) {
	f.hub.PublishSent(refs, sent)
	f.restHook.Publish(refs)
}

func (f deliveryFanout) Poll() {
	f.hub.Poll()
	f.restHook.Poll()
}
