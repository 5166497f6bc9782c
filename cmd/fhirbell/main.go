package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, errUsage) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fhirbell:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const usage = `fhirbell — FHIR R4 Subscriptions over WebSockets

Usage:
  fhirbell serve [flags]     run the server
  fhirbell migrate [flags]   apply database migrations and exit
  fhirbell reindex [flags]   rebuild the Postgres search index, resumably, while servers keep serving
  fhirbell listen [flags]    subscribe over a WebSocket and print notifications

Run "fhirbell <command> -h" for the flags of a command.
`

// run is the whole program: it parses args, runs the chosen subcommand until
// ctx is cancelled, and returns why it stopped.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdout, stderr, nil)
}

// runWith is run with a hook that learns the listening address (tests use
// it to serve on port 0).
func runWith(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, onListen func(addr string)) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve", "migrate", "reindex":
	case "listen":
		return runListen(ctx, rest, getenv, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
	var flagOut strings.Builder
	cfg, err := parseConfig(cmd, rest, getenv, &flagOut)
	if err != nil {
		io.WriteString(stderr, flagOut.String())
		if errors.Is(err, flagHelp) {
			return nil
		}
		return fmt.Errorf("%s: %w", cmd, err)
	}
	logger := newLogger(cfg, stderr)
	switch cmd {
	case "migrate":
		return migrate(ctx, cfg, logger)
	case "reindex":
		return reindex(ctx, cfg, logger, stdout)
	default:
		return serve(ctx, cfg, logger, onListen)
	}
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // Validate checked it
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
