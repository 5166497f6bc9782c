package auth

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Defaults and limits of IntrospectionConfig.
const (
	// MaxIntrospectionTTL caps how long an introspection answer is
	// reused: a token revoked at the authorization server stops working
	// here within a minute at most.
	MaxIntrospectionTTL = 60 * time.Second
	// DefaultNegativeTTL is how long an "inactive" answer is reused.
	DefaultNegativeTTL = 5 * time.Second
	// DefaultIntrospectionCache is the default bound on cached answers.
	DefaultIntrospectionCache = 10000
	// defaultIntrospectTimeout is the timeout of the default HTTP client.
	defaultIntrospectTimeout = 5 * time.Second
	// maxIntrospectionResponse bounds the answer we read.
	maxIntrospectionResponse = 1 << 20
	// introspectCallLimit bounds one call even with a caller-supplied
	// HTTPClient that has no timeout of its own.
	introspectCallLimit = 10 * time.Second
)

// IntrospectionConfig configures an RFC 7662 token introspection client.
type IntrospectionConfig struct {
	// URL is the introspection endpoint (FHIRBELL_INTROSPECTION_URL). It
	// must be https, except for a loopback host, since we send our client
	// secret and the caller's token to it.
	URL string
	// ClientID and ClientSecret authenticate us to the endpoint with HTTP
	// Basic (RFC 7662 §2.1, client_secret_basic).
	ClientID, ClientSecret string
	// Issuer, when set, must equal the response's iss when present.
	Issuer string
	// Audiences, when set, must share a value with the response's aud
	// when present. Introspection answers need not carry aud; when absent
	// the endpoint's word that the token is active is taken.
	Audiences []string
	// Leeway is the clock skew allowed on the answer's exp, as for JWTs;
	// DefaultLeeway when zero.
	Leeway time.Duration
	// CacheTTL is how long an active answer is reused; at most (and by
	// default) MaxIntrospectionTTL, and never past the token's exp.
	CacheTTL time.Duration
	// NegativeTTL is how long an inactive answer is reused, so that a
	// flood of made-up tokens does not become a flood of introspection
	// calls; DefaultNegativeTTL when zero, no caching when negative.
	NegativeTTL time.Duration
	// CacheSize bounds the number of cached answers;
	// DefaultIntrospectionCache when zero. The least recently used answer
	// is evicted first.
	CacheSize int
	// HTTPClient calls the endpoint; a client with a 5 s timeout when nil.
	HTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Introspection authenticates opaque (or any) access tokens by asking the
// authorization server (RFC 7662). Answers are cached by the SHA-256 of the
// token, never by the token itself, and concurrent lookups of one token
// share a single call. It is safe for concurrent use.
type Introspection struct {
	cfg      IntrospectionConfig
	endpoint string
	client   *http.Client
	now      func() time.Time
	ttl      time.Duration
	negTTL   time.Duration
	leeway   time.Duration
	group    singleflight.Group

	mu    sync.Mutex // guards cache and order
	cache map[[sha256.Size]byte]*list.Element
	order *list.List // of *cacheEntry, most recently used at the front
	size  int
}

type cacheEntry struct {
	key     [sha256.Size]byte
	p       Principal
	err     error // nil for an active token, ErrUnauthenticated-wrapped for inactive
	expires time.Time
}

// NewIntrospection checks cfg and returns the authenticator.
func NewIntrospection(cfg IntrospectionConfig) (*Introspection, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" {
		return nil, errors.New("introspection auth: the endpoint is not an absolute URL")
	}
	if err := checkEndpoint(u); err != nil {
		return nil, fmt.Errorf("introspection auth: endpoint: %w", err)
	}
	if cfg.ClientID == "" {
		return nil, errors.New("introspection auth: a client id is required")
	}
	in := &Introspection{
		cfg:      cfg,
		endpoint: cfg.URL,
		client:   cfg.HTTPClient,
		now:      cfg.Now,
		ttl:      cfg.CacheTTL,
		negTTL:   cfg.NegativeTTL,
		leeway:   cfg.Leeway,
		size:     cfg.CacheSize,
		cache:    make(map[[sha256.Size]byte]*list.Element),
		order:    list.New(),
	}
	if in.client == nil {
		in.client = &http.Client{Timeout: defaultIntrospectTimeout}
	}
	if in.now == nil {
		in.now = time.Now
	}
	if in.ttl <= 0 || in.ttl > MaxIntrospectionTTL {
		in.ttl = MaxIntrospectionTTL
	}
	if in.leeway < 0 {
		return nil, errors.New("introspection auth: negative leeway")
	}
	if in.leeway == 0 {
		in.leeway = DefaultLeeway
	}
	if in.negTTL == 0 {
		in.negTTL = DefaultNegativeTTL
	}
	if in.size <= 0 {
		in.size = DefaultIntrospectionCache
	}
	return in, nil
}

// Authenticate returns the cached answer for bearer or asks the endpoint.
// An inactive or expired token, or one whose iss/aud do not match, is
// ErrUnauthenticated; an endpoint that cannot be reached, times out,
// answers other than 200 or answers garbage is ErrAuthUnavailable (and is
// not cached).
func (in *Introspection) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	if bearer == "" {
		return Principal{}, ErrMissingToken
	}
	if len(bearer) > maxTokenLen {
		return Principal{}, unauthenticated("token too large")
	}
	key := sha256.Sum256([]byte(bearer))
	if p, err, ok := in.lookup(key); ok {
		return p, err
	}
	// One call per token however many requests carry it at once. The
	// call runs on its own context (bounded by the client timeout), so
	// one caller giving up does not fail the others.
	ch := in.group.DoChan(string(key[:]), func() (any, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), introspectCallLimit)
		defer cancel()
		p, err := in.introspect(cctx, bearer)
		in.store(key, p, err)
		return p, err
	})
	select {
	case res := <-ch:
		p, _ := res.Val.(Principal)
		return p, res.Err
	case <-ctx.Done():
		return Principal{}, fmt.Errorf("%w: %w", ErrAuthUnavailable, ctx.Err())
	}
}

// introspectResponse is the RFC 7662 answer plus the SMART launch
// context claims.
type introspectResponse struct {
	Active   bool       `json:"active"`
	Scope    stringList `json:"scope"`
	ClientID string     `json:"client_id"`
	Sub      string     `json:"sub"`
	Exp      *float64   `json:"exp"`
	Iss      string     `json:"iss"`
	Aud      stringList `json:"aud"`
	Patient  string     `json:"patient"`
	FHIRUser string     `json:"fhirUser"`
}

// introspect performs one call. Its errors never contain the token: the
// request body is not quoted, and url.Error (which holds only the URL,
// and the token is in the body) is reduced to a fixed text.
func (in *Introspection) introspect(ctx context.Context, bearer string) (Principal, error) {
	form := url.Values{"token": {bearer}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Principal{}, fmt.Errorf("%w: build introspection request", ErrAuthUnavailable)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: form-urlencode the credentials before Basic.
	req.SetBasicAuth(url.QueryEscape(in.cfg.ClientID), url.QueryEscape(in.cfg.ClientSecret))
	resp, err := in.client.Do(req)
	if err != nil {
		reason := "request failed"
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			reason = "timeout"
		}
		return Principal{}, fmt.Errorf("%w: introspection %s", ErrAuthUnavailable, reason)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxIntrospectionResponse))
		return Principal{}, fmt.Errorf("%w: introspection answered %d", ErrAuthUnavailable, resp.StatusCode)
	}
	var r introspectResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxIntrospectionResponse)).Decode(&r); err != nil {
		return Principal{}, fmt.Errorf("%w: introspection answer is not valid JSON", ErrAuthUnavailable)
	}
	if !r.Active {
		return Principal{}, unauthenticated("token inactive")
	}
	if in.cfg.Issuer != "" && r.Iss != "" && r.Iss != in.cfg.Issuer {
		return Principal{}, unauthenticated("wrong issuer")
	}
	if len(in.cfg.Audiences) > 0 && len(r.Aud) > 0 &&
		!slices.ContainsFunc(r.Aud, func(a string) bool { return slices.Contains(in.cfg.Audiences, a) }) {
		return Principal{}, unauthenticated("wrong audience")
	}
	if strings.TrimSpace(r.Sub) == "" {
		// As for JWTs (RFC 9068): no subject, no identity of its own.
		return Principal{}, unauthenticated("required claim missing")
	}
	scopes := NewScopes(r.Scope...)
	p := Principal{
		Kind:     kindFor(scopes, r.Patient, r.FHIRUser),
		Method:   MethodIntrospect,
		Issuer:   r.Iss,
		Subject:  r.Sub,
		ClientID: r.ClientID,
		Scopes:   scopes,
		Patient:  r.Patient,
		FHIRUser: r.FHIRUser,
	}
	if r.Exp != nil {
		// Accepted until exp plus the leeway, as a JWT is: REST and
		// sockets then agree on the end (Principal.Expires).
		p.Expires = time.Unix(int64(*r.Exp), 0).Add(in.leeway)
		if !in.now().Before(p.Expires) {
			return Principal{}, unauthenticated("token expired")
		}
	}
	return p, nil
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// lookup returns a live cache entry and marks it recently used.
func (in *Introspection) lookup(key [sha256.Size]byte) (Principal, error, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	el, ok := in.cache[key]
	if !ok {
		return Principal{}, nil, false
	}
	e := el.Value.(*cacheEntry)
	if !in.now().Before(e.expires) {
		in.order.Remove(el)
		delete(in.cache, key)
		return Principal{}, nil, false
	}
	in.order.MoveToFront(el)
	return e.p, e.err, true
}

// store caches an answer: an active one for min(ttl, exp-now), an
// inactive one for negTTL. Unavailability is never cached, so the next
// request retries.
func (in *Introspection) store(key [sha256.Size]byte, p Principal, err error) {
	now := in.now()
	var expires time.Time
	switch {
	case err == nil:
		expires = now.Add(in.ttl)
		if !p.Expires.IsZero() && p.Expires.Before(expires) {
			expires = p.Expires
		}
	case errors.Is(err, ErrUnauthenticated) && in.negTTL > 0:
		expires = now.Add(in.negTTL)
	default:
		return
	}
	if !now.Before(expires) {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if el, ok := in.cache[key]; ok {
		in.order.Remove(el)
	}
	in.cache[key] = in.order.PushFront(&cacheEntry{key: key, p: p, err: err, expires: expires})
	for in.order.Len() > in.size {
		last := in.order.Back()
		in.order.Remove(last)
		delete(in.cache, last.Value.(*cacheEntry).key)
	}
}

// cacheLen reports the number of cached answers (for tests).
func (in *Introspection) cacheLen() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.order.Len()
}
