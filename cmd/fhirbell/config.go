package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// Config is everything `fhirbell serve` and `fhirbell migrate` can be told.
type Config struct {
	Addr            string        // listen address
	DatabaseURL     string        // Postgres DSN; empty selects the in-memory store
	BaseURL         string        // public base URL (scheme://host[:port]); empty derives it from each request
	LogFormat       string        // text | json
	LogLevel        string        // debug | info | warn | error
	MaxBodyBytes    int64         // largest request body accepted on /fhir
	ShutdownTimeout time.Duration // how long graceful shutdown waits for requests and sockets
	EventRetention  time.Duration // how long subscription events are kept for resume and $events
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
	}
	if err := errors.Join(e.errs...); err != nil {
		return cfg, err
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return cfg, cfg.Validate()
}

// flagHelp is returned by parseConfig when -h was asked for.
var flagHelp = flag.ErrHelp
