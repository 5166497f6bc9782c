package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/subscription"
)

// Config is everything `fhirbell serve` and `fhirbell migrate` can be told.
type Config struct {
	Reindex         ReindexConfig // fhirbell reindex only
	Addr            string        // listen address
	DatabaseURL     string        // Postgres DSN; empty selects the in-memory store
	BaseURL         string        // public base URL (scheme://host[:port]); empty derives it from each request
	LogFormat       string        // text | json
	LogLevel        string        // debug | info | warn | error
	MaxBodyBytes    int64         // largest request body accepted on /fhir
	ShutdownTimeout time.Duration // how long graceful shutdown waits for requests and sockets
	EventRetention  time.Duration // how long subscription events are kept for resume and $events

	// Authentication (docs/security.md).
	Auth                      string // none | jwt | introspect
	InsecureNoAuth            bool   // allow auth none on a non-loopback address
	JWKSURL, JWKSFile         string
	Issuer, Audience          string
	IntrospectionURL          string
	IntrospectionClientID     string
	IntrospectionClientSecret string // from the environment or a file only
	// IntrospectionCache is how long an active introspection answer is
	// reused, and how often open sockets' tokens are checked again
	// (at most auth.MaxIntrospectionTTL).
	IntrospectionCache time.Duration

	// Transport security.
	AllowedOrigins string // comma-separated browser origins allowed besides the server's own
	AllowedHosts   string // comma-separated Host names served (DNS-rebinding defence); "*" for any
	TLSCert        string
	TLSKey         string
	TLSClientCA    string // PEM bundle: turns on mutual TLS for system clients
	TLSClientScope string // "backend|system/*.rs system/Subscription.cruds;CN=ops,O=Acme|…": certificate subject → scopes
	TrustedProxies string // comma-separated IPs/CIDRs whose X-Forwarded-Proto/Host are believed
	RequireTLS     bool   // refuse plain HTTP except health checks

	// Abuse limits.
	TokenRate              float64 // $get-ws-binding-token and $websocket-ticket per second per client
	UpgradeRate            float64 // WebSocket upgrades per second per client
	MaxSocketsPerPrincipal int
	MaxConnsPerIP          int           // open connections per client address (0: no cap)
	BodyTimeout            time.Duration // a request body must start arriving within this
	BodyMinRate            int64         // bytes per second a body must keep up after BodyTimeout

	Cluster  ClusterConfig  // several nodes on one Postgres (cluster.go)
	RestHook RestHookConfig // rest-hook delivery (resthook.go)
	Tracing  TracingConfig  // OpenTelemetry spans over OTLP (tracing.go)
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		LogFormat:       "text",
		LogLevel:        "info",
		MaxBodyBytes:    1 << 20,
		ShutdownTimeout: 15 * time.Second,
		EventRetention:  subscription.DefaultRetention,
		Auth:            "none",

		IntrospectionCache: auth.MaxIntrospectionTTL,
		TokenRate:          5,
		UpgradeRate:        10,

		MaxSocketsPerPrincipal: 50,
		MaxConnsPerIP:          256,
		BodyTimeout:            10 * time.Second,
		BodyMinRate:            4096,
		Cluster:                DefaultClusterConfig(),
		RestHook:               DefaultRestHookConfig(),
		Tracing:                DefaultTracingConfig(),
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("addr %q: %w", c.Addr, err)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("base-url %q: want an absolute http(s) URL with no query", c.BaseURL)
		}
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("log-format %q: want text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	if c.MaxBodyBytes < 1024 {
		return errors.New("max-body-bytes must be at least 1024")
	}
	if c.EventRetention < time.Minute {
		return errors.New("event-retention must be at least 1m")
	}
	switch c.Auth {
	case "none":
	case "jwt":
		if (c.JWKSURL == "") == (c.JWKSFile == "") {
			return errors.New("auth jwt needs exactly one of jwks-url and jwks-file")
		}
		if c.Audience == "" {
			return errors.New("auth jwt needs an audience (audience, or base-url from which it defaults)")
		}
	case "introspect":
		if c.IntrospectionURL == "" || c.IntrospectionClientID == "" || c.IntrospectionClientSecret == "" {
			return errors.New("auth introspect needs introspection-url, introspection-client-id and FHIRBELL_INTROSPECTION_CLIENT_SECRET")
		}
		if c.IntrospectionCache <= 0 || c.IntrospectionCache > auth.MaxIntrospectionTTL {
			return fmt.Errorf("introspection-cache must be positive and at most %v", auth.MaxIntrospectionTTL)
		}
	default:
		return fmt.Errorf("auth %q: want none, jwt or introspect", c.Auth)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("tls-cert and tls-key go together")
	}
	if c.TLSClientCA != "" && c.TLSCert == "" {
		return errors.New("tls-client-ca needs tls-cert and tls-key (mutual TLS is served directly)")
	}
	if c.TokenRate <= 0 || c.UpgradeRate <= 0 || c.MaxSocketsPerPrincipal < 1 {
		return errors.New("token-rate, upgrade-rate and max-sockets-per-principal must be positive")
	}
	if c.MaxConnsPerIP < 0 || c.BodyTimeout < 0 || c.BodyMinRate < 0 {
		return errors.New("max-conns-per-ip, body-timeout and body-min-rate must not be negative")
	}
	if err := c.Cluster.Validate(); err != nil {
		return err
	}
	if err := c.Tracing.Validate(); err != nil {
		return err
	}
	if err := c.RestHook.Validate(); err != nil {
		return err
	}
	if c.ShutdownTimeout <= 0 {
		return errors.New("shutdown-timeout must be positive")
	}
	return nil
}

// envFlag registers flags whose defaults come from FHIRBELL_* variables, so
// that the precedence is flag > environment > built-in default.
type envFlag struct {
	fs     *flag.FlagSet
	getenv func(string) string
	errs   []error
	after  []func() // run after parsing (conversions)
}

func envName(name string) string {
	return "FHIRBELL_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

func (e *envFlag) usage(name, usage string) string {
	return fmt.Sprintf("%s (env %s)", usage, envName(name))
}

func (e *envFlag) String(p *string, name, usage string) {
	if v := e.getenv(envName(name)); v != "" {
		*p = v
	}
	e.fs.StringVar(p, name, *p, e.usage(name, usage))
}

func (e *envFlag) Int64(p *int64, name, usage string) {
	if v := e.getenv(envName(name)); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s=%q: not an integer", envName(name), v))
		}
		*p = n
	}
	e.fs.Int64Var(p, name, *p, e.usage(name, usage))
}

func (e *envFlag) Bool(p *bool, name, usage string) {
	if v := e.getenv(envName(name)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s=%q: not a boolean", envName(name), v))
		}
		*p = b
	}
	e.fs.BoolVar(p, name, *p, e.usage(name, usage))
}

func (e *envFlag) Int(p *int, name, usage string) {
	var v int64 = int64(*p)
	e.Int64(&v, name, usage)
	e.after = append(e.after, func() { *p = int(v) })
}

func (e *envFlag) Float(p *float64, name, usage string) {
	if v := e.getenv(envName(name)); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s=%q: not a number", envName(name), v))
		}
		*p = f
	}
	e.fs.Float64Var(p, name, *p, e.usage(name, usage))
}

// Secret reads a secret from FHIRBELL_<NAME>, or from the file named by
// FHIRBELL_<NAME>_FILE; never from a flag, which would show in ps.
func (e *envFlag) Secret(p *string, name string) {
	env := envName(name)
	if v := e.getenv(env); v != "" {
		*p = v
		return
	}
	if path := e.getenv(env + "_FILE"); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s_FILE: %w", env, err))
			return
		}
		*p = strings.TrimSpace(string(b))
	}
}

func (e *envFlag) Duration(p *time.Duration, name, usage string) {
	if v := e.getenv(envName(name)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			e.errs = append(e.errs, fmt.Errorf("%s=%q: not a duration", envName(name), v))
		}
		*p = d
	}
	e.fs.DurationVar(p, name, *p, e.usage(name, usage))
}

// parseConfig parses the flags of a subcommand over the defaults and the
// environment.
func parseConfig(cmd string, args []string, getenv func(string) string, out *strings.Builder) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("fhirbell "+cmd, flag.ContinueOnError)
	fs.SetOutput(out)
	e := &envFlag{fs: fs, getenv: getenv}
	e.String(&cfg.DatabaseURL, "database-url", "Postgres connection URL; empty runs on the in-memory store")
	e.String(&cfg.LogFormat, "log-format", "log format: text or json")
	e.String(&cfg.LogLevel, "log-level", "log level: debug, info, warn or error")
	if cmd == "serve" {
		e.String(&cfg.Addr, "addr", "listen address")
		e.String(&cfg.BaseURL, "base-url", "public base URL, e.g. https://fhir.example.org (default: taken from each request)")
		e.Int64(&cfg.MaxBodyBytes, "max-body-bytes", "largest request body accepted")
		e.Duration(&cfg.ShutdownTimeout, "shutdown-timeout", "graceful shutdown deadline")
		e.Duration(&cfg.EventRetention, "event-retention", "how long subscription events are kept (for resume and $events)")
		e.String(&cfg.Auth, "auth", "authentication: none, jwt or introspect")
		e.Bool(&cfg.InsecureNoAuth, "insecure-no-auth", "allow auth none on an address that is not loopback")
		e.String(&cfg.JWKSURL, "jwks-url", "JWKS URL for auth jwt")
		e.String(&cfg.JWKSFile, "jwks-file", "JWKS file for auth jwt")
		e.String(&cfg.Issuer, "issuer", "required iss of access tokens")
		e.String(&cfg.Audience, "audience", "required aud of access tokens (default: the FHIR base URL)")
		e.String(&cfg.IntrospectionURL, "introspection-url", "RFC 7662 endpoint for auth introspect")
		e.String(&cfg.IntrospectionClientID, "introspection-client-id", "client id for the introspection endpoint")
		e.Secret(&cfg.IntrospectionClientSecret, "introspection-client-secret")
		e.Duration(&cfg.IntrospectionCache, "introspection-cache", "how long an introspection answer is reused, and how often open sockets' tokens are checked again (at most 60s)")
		e.String(&cfg.AllowedOrigins, "allowed-origins", "comma-separated browser origins allowed (CORS and WebSocket upgrades)")
		e.String(&cfg.AllowedHosts, "allowed-hosts", "comma-separated host names the server answers to, or * (default with auth none: localhost and the base-url host; otherwise any)")
		e.String(&cfg.TLSCert, "tls-cert", "TLS certificate (PEM): serve HTTPS and WSS")
		e.String(&cfg.TLSKey, "tls-key", "TLS private key (PEM)")
		e.String(&cfg.TLSClientCA, "tls-client-ca", "CA bundle (PEM) for mutual TLS client certificates")
		e.String(&cfg.TLSClientScope, "tls-client-scopes", "client certificate subject (CN or DN) to scopes, e.g. 'backend|system/*.rs;CN=ops,O=Acme|system/*.cruds'")
		e.String(&cfg.TrustedProxies, "trusted-proxies", "comma-separated proxy IPs/CIDRs whose X-Forwarded-Proto/Host are believed")
		e.Bool(&cfg.RequireTLS, "require-tls", "refuse plain HTTP except health checks")
		e.Float(&cfg.TokenRate, "token-rate", "binding tokens and tickets per second per client")
		e.Float(&cfg.UpgradeRate, "upgrade-rate", "WebSocket upgrades per second per client")
		e.Int(&cfg.MaxSocketsPerPrincipal, "max-sockets-per-principal", "open sockets allowed per principal")
		e.Int(&cfg.MaxConnsPerIP, "max-conns-per-ip", "open connections allowed per client address, trusted proxies not counted (0: no cap)")
		e.Duration(&cfg.BodyTimeout, "body-timeout", "time a request body has to start arriving (0: no body deadline)")
		e.Int64(&cfg.BodyMinRate, "body-min-rate", "bytes per second a request body must average after body-timeout")
		registerClusterFlags(e, &cfg.Cluster)
		registerRestHookFlags(e, &cfg.RestHook)
		registerTracingFlags(e, &cfg.Tracing)
	}
	if cmd == "reindex" {
		fs.BoolVar(&cfg.Reindex.Restart, "restart", false, "start from the first resource even when an interrupted reindex could continue")
		fs.IntVar(&cfg.Reindex.Batch, "batch", 500, "resources per transaction (1…10000)")
	}
	if err := errors.Join(e.errs...); err != nil {
		return cfg, err
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	for _, f := range e.after {
		f()
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.Audience == "" && cfg.BaseURL != "" {
		cfg.Audience = cfg.BaseURL + endpoint.FHIRPath
	}
	return cfg, cfg.Validate()
}

// flagHelp is returned by parseConfig when -h was asked for.
var flagHelp = flag.ErrHelp
