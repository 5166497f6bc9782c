package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// DefaultAlgorithms is the JWS algorithm allow-list used when
// JWTConfig.Algorithms is empty: asymmetric algorithms only. "none" and
// the HMAC family (HS256…) are never accepted, whatever the configuration
// says, because a JWKS holds public keys and an HMAC "signed" with a public
// key proves nothing (the classic algorithm-confusion attack).
var DefaultAlgorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// Defaults of JWTConfig.
const (
	// DefaultJWKSRefresh is how often the JWKS is fetched anyway.
	DefaultJWKSRefresh = time.Hour
	// DefaultUnknownKIDInterval is the least time between two JWKS
	// fetches caused by tokens naming an unknown kid.
	DefaultUnknownKIDInterval = time.Minute
	// defaultHTTPTimeout bounds one JWKS fetch.
	defaultHTTPTimeout = 10 * time.Second
)

// JWTConfig configures a JWT authenticator. Exactly one of JWKSURL and
// JWKSFile must be set, and Audiences must not be empty.
type JWTConfig struct {
	// JWKSURL is where the signing keys are fetched (FHIRBELL_JWKS_URL).
	// It must be https, except for a loopback host. Keys are refreshed
	// every RefreshInterval and, rate-limited, when a token names an
	// unknown kid (key rotation).
	JWKSURL string
	// JWKSFile is a JWKS JSON file read once at construction
	// (FHIRBELL_JWKS_FILE). There is no refresh: restart to rotate keys.
	JWKSFile string
	// Issuer, when set, must equal the iss claim (FHIRBELL_ISSUER).
	Issuer string
	// Audiences must contain at least one value; the aud claim must
	// contain one of them (FHIRBELL_AUDIENCE, usually the FHIR base URL).
	// A token for another resource server must never be accepted here.
	Audiences []string
	// Leeway is the clock skew allowed on exp, nbf and iat;
	// DefaultLeeway when zero.
	Leeway time.Duration
	// Algorithms is the allow-list of JWS algorithms; DefaultAlgorithms
	// when empty. It must be a subset of DefaultAlgorithms.
	Algorithms []string
	// RefreshInterval is the periodic JWKS refresh; DefaultJWKSRefresh
	// when zero.
	RefreshInterval time.Duration
	// UnknownKIDInterval is the least time between two JWKS refreshes
	// triggered by an unknown kid, so that tokens with made-up kids
	// cannot make us hammer the identity provider;
	// DefaultUnknownKIDInterval when zero.
	UnknownKIDInterval time.Duration
	// HTTPClient fetches the JWKS; a client with a 10 s timeout when nil.
	HTTPClient *http.Client
	// Logger receives JWKS refresh failures (never a token); nothing is
	// logged when nil.
	Logger *slog.Logger
	// Now is the clock for exp/nbf/iat checks; time.Now when nil.
	Now func() time.Time
}

// JWT authenticates signed JWT access tokens against a JWKS. It is safe
// for concurrent use. Close it to stop the JWKS refresh goroutine.
type JWT struct {
	kf     keyfunc.Keyfunc
	parser *jwt.Parser
	leeway time.Duration
	cancel context.CancelFunc
}

// NewJWT checks cfg, loads the JWKS (fetching it once from JWKSURL, so a
// wrong URL fails here rather than on the first request) and returns the
// authenticator.
func NewJWT(cfg JWTConfig) (*JWT, error) {
	if (cfg.JWKSURL == "") == (cfg.JWKSFile == "") {
		return nil, errors.New("jwt auth: set exactly one of the JWKS URL and the JWKS file")
	}
	if len(cfg.Audiences) == 0 || slices.Contains(cfg.Audiences, "") {
		return nil, errors.New("jwt auth: an audience is required")
	}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	for _, a := range algs {
		if !slices.Contains(DefaultAlgorithms, a) {
			return nil, fmt.Errorf("jwt auth: algorithm %q is not allowed", a)
		}
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	}
	if leeway < 0 {
		return nil, errors.New("jwt auth: negative leeway")
	}
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(algs),
		jwt.WithLeeway(leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithAudience(cfg.Audiences...),
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Now != nil {
		opts = append(opts, jwt.WithTimeFunc(cfg.Now))
	}
	j := &JWT{parser: jwt.NewParser(opts...), leeway: leeway, cancel: func() {}}

	var storage jwkset.Storage
	var err error
	if cfg.JWKSFile != "" {
		storage, err = fileStorage(cfg.JWKSFile)
	} else {
		var ctx context.Context
		ctx, j.cancel = context.WithCancel(context.Background())
		storage, err = httpStorage(ctx, cfg)
	}
	if err != nil {
		j.cancel()
		return nil, err
	}
	keys, err := storage.KeyReadAll(context.Background())
	if err == nil && len(keys) == 0 {
		err = errors.New("jwt auth: the JWKS holds no usable key")
	}
	if err != nil {
		j.cancel()
		return nil, err
	}
	j.kf, err = keyfunc.New(keyfunc.Options{
		Storage: storage,
		// Keys marked for encryption never verify signatures; keys
		// without "use" are accepted, as most providers omit it.
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err != nil {
		j.cancel()
		return nil, fmt.Errorf("jwt auth: %w", err)
	}
	return j, nil
}

// fileStorage reads a static JWKS.
func fileStorage(path string) (jwkset.Storage, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("jwt auth: read jwks file: %w", err)
	}
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(raw, &set); err != nil {
		return nil, fmt.Errorf("jwt auth: parse jwks file %s: %w", path, err)
	}
	storage, err := set.ToStorage()
	if err != nil {
		return nil, fmt.Errorf("jwt auth: jwks file %s: %w", path, err)
	}
	return storage, nil
}

// httpStorage builds the refreshing JWKS client. ctx ends its refresh
// goroutine.
func httpStorage(ctx context.Context, cfg JWTConfig) (jwkset.Storage, error) {
	u, err := url.Parse(cfg.JWKSURL)
	if err != nil || u.Host == "" {
		return nil, errors.New("jwt auth: the JWKS URL is not an absolute URL")
	}
	if err := checkEndpoint(u); err != nil {
		return nil, fmt.Errorf("jwt auth: jwks url: %w", err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	refresh := cfg.RefreshInterval
	if refresh <= 0 {
		refresh = DefaultJWKSRefresh
	}
	unknown := cfg.UnknownKIDInterval
	if unknown <= 0 {
		unknown = DefaultUnknownKIDInterval
	}
	logger := cfg.Logger
	where := u.Scheme + "://" + u.Host + u.Path // no query or userinfo in logs
	onErr := func(ctx context.Context, err error) {
		if logger != nil {
			logger.WarnContext(ctx, "jwks refresh failed", "url", where, "err", err)
		}
	}
	store, err := jwkset.NewStorageFromHTTP(cfg.JWKSURL, jwkset.HTTPClientStorageOptions{
		Client:              client,
		Ctx:                 ctx,
		HTTPTimeout:         defaultHTTPTimeout,
		RefreshErrorHandler: onErr,
		RefreshInterval:     refresh,
	})
	if err != nil {
		return nil, fmt.Errorf("jwt auth: fetch jwks from %s: %w", where, err)
	}
	return jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs: map[string]jwkset.Storage{cfg.JWKSURL: store},
		// A request with an unknown kid waits at most this long for the
		// refresh limiter; since the limiter's interval is longer, a
		// request arriving while refreshes are throttled fails at once
		// instead of queueing.
		RateLimitWaitMax:  defaultHTTPTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(unknown), 1),
	})
}

// checkEndpoint requires https for anything an attacker on the path could
// abuse (keys, client secrets), allowing plain http only on loopback.
func checkEndpoint(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return nil
		}
		return errors.New("plain http is allowed only on a loopback host")
	}
	return fmt.Errorf("unsupported scheme %q", u.Scheme)
}

// Close stops the JWKS refresh goroutine. Authenticate keeps working with
// the keys already loaded.
func (j *JWT) Close() error {
	j.cancel()
	return nil
}

// Authenticate verifies the signature (algorithm allow-list, key from the
// JWKS by kid), then exp (required), nbf, iat, aud and iss with the
// configured leeway, and returns the Principal built from the claims sub
// (required: RFC 9068),
// client_id (else azp, else cid), scope (a space-separated string, or an
// array) and scp, patient, fhirUser, iss and exp.
func (j *JWT) Authenticate(ctx context.Context, bearer string) (Principal, error) {
	if bearer == "" {
		return Principal{}, ErrMissingToken
	}
	if len(bearer) > maxTokenLen {
		return Principal{}, unauthenticated("token too large")
	}
	var c tokenClaims
	if _, err := j.parser.ParseWithClaims(bearer, &c, j.kf.KeyfuncCtx(ctx)); err != nil {
		return Principal{}, jwtError(err)
	}
	if strings.TrimSpace(c.Subject) == "" {
		// RFC 9068 §2.2 requires sub. Without it the caller has no
		// identity of its own: per-principal limits and Subscription
		// ownership would lump it with every other subject-less token.
		return Principal{}, unauthenticated("required claim missing")
	}
	scopes := NewScopes(append(c.Scope, c.Scp...)...)
	p := Principal{
		Kind:     kindFor(scopes, c.Patient, c.FHIRUser),
		Method:   MethodJWT,
		Issuer:   c.Issuer,
		Subject:  c.Subject,
		ClientID: firstNonEmpty(c.ClientID, c.Azp, c.Cid),
		Scopes:   scopes,
		Patient:  c.Patient,
		FHIRUser: c.FHIRUser,
	}
	if c.ExpiresAt != nil {
		// The token is accepted until exp plus the leeway, on REST and on
		// sockets alike: a socket authorised by a token the server still
		// accepts must not be closed as expired the moment it opens.
		p.Expires = c.ExpiresAt.Add(j.leeway)
	}
	return p, nil
}

// jwtError maps a jwt library error to ErrUnauthenticated with a fixed
// reason. The library's own text is dropped: it may quote header or claim
// content, and we promise never to echo token material.
func jwtError(err error) error {
	for _, m := range []struct {
		err    error
		reason string
	}{
		{jwt.ErrTokenMalformed, "malformed token"},
		{jwt.ErrTokenUnverifiable, "unknown signing key"},
		{jwt.ErrTokenSignatureInvalid, "invalid signature or algorithm not allowed"},
		{jwt.ErrTokenExpired, "token expired"},
		{jwt.ErrTokenNotValidYet, "token not yet valid"},
		{jwt.ErrTokenUsedBeforeIssued, "token issued in the future"},
		{jwt.ErrTokenInvalidAudience, "wrong audience"},
		{jwt.ErrTokenInvalidIssuer, "wrong issuer"},
		{jwt.ErrTokenRequiredClaimMissing, "required claim missing"},
	} {
		if errors.Is(err, m.err) {
			return unauthenticated(m.reason)
		}
	}
	return unauthenticated("invalid token")
}

// tokenClaims are the claims fhirbell reads from an access token.
type tokenClaims struct {
	jwt.RegisteredClaims
	Scope    stringList `json:"scope"`
	Scp      stringList `json:"scp"`
	ClientID string     `json:"client_id"`
	Azp      string     `json:"azp"`
	Cid      string     `json:"cid"`
	Patient  string     `json:"patient"`
	FHIRUser string     `json:"fhirUser"`
}

// stringList decodes a claim that providers send either as one
// space-separated string or as an array of strings.
type stringList []string

// UnmarshalJSON accepts "a b" or ["a", "b"] (and null).
func (l *stringList) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*l = strings.Fields(s)
		return nil
	}
	var a []string
	if err := json.Unmarshal(b, &a); err != nil {
		return errors.New("scope claim is neither a string nor an array of strings")
	}
	*l = a
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
