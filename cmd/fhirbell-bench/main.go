package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/fhirbell/fhirbell/endpoint"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first Ctrl-C the run winds down (closing sockets, deleting
	// its subscriptions); a second one kills the process.
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, net.DefaultResolver.LookupIPAddr)
	stop()
	if errors.Is(err, errUsage) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fhirbell-bench:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const usage = `fhirbell-bench — load generator for FHIR Subscriptions over WebSockets (loopback targets only)

Usage:
  fhirbell-bench idle       [flags]   N bound sockets; server resident memory per socket
  fhirbell-bench fanout     [flags]   one write matching N subscriptions on N sockets
  fhirbell-bench throughput [flags]   W concurrent writers, S subscriptions, match rate m
  fhirbell-bench latency    [flags]   one subscriber, write-to-notification distribution
  fhirbell-bench resthook   [flags]   N rest-hook subscriptions on a loopback receiver; writes/s, write-to-POST latency
  fhirbell-bench failover   [flags]   sockets over several nodes, one node killed: time until every client is live again, no event lost
  fhirbell-bench search     [flags]   load N Observations by transaction Bundles, then time a fixed set of searches

Run "fhirbell-bench <scenario> -h" for the flags.
`

// Upper bounds on what a run may ask for: the generator must stop by
// itself, whatever the flags say.
const (
	maxSockets       = 200_000
	maxSubscriptions = 200_000
	maxWriters       = 1024
	maxDuration      = 10 * time.Minute
	maxMaxTime       = time.Hour
	maxWrites        = 10_000_000
	maxSamples       = 1_000_000
	maxRounds        = 1000
)

// options are the flags of every scenario; each scenario reads its own.
type options struct {
	FHIRBase  string
	Token     string
	Dialect   string
	WSURL     string
	ServerPID int
	JSONOut   string
	MaxTime   time.Duration
	Setup     int
	Sources   int
	BindWait  time.Duration // how long a socket may take to upgrade and get its handshake
	// SourceFirst is the last byte of the first source address (127.0.0.x).
	SourceFirst int
	Keep        bool
	Quiet       bool

	Sockets      int           // idle, fanout
	Shared       bool          // idle, fanout: every socket on one subscription
	Settle       time.Duration // idle: wait before reading memory
	Hold         time.Duration // idle: keep the sockets open after measuring
	Rounds       int           // fanout
	Code         string        // fanout: the code subscriptions match and writes carry (default: one of this run)
	Passive      bool          // fanout: bind and record, never write
	RoundTimeout time.Duration // fanout, latency: wait for notifications
	Subs         int           // throughput
	Bind         bool          // throughput: one bound socket per subscription
	Writers      int           // throughput
	Duration     time.Duration // throughput
	Writes       int           // throughput: stop after this many writes
	MatchRate    float64       // throughput
	Mix          string        // throughput: code | mixed
	Unpinned     float64       // throughput: fraction of subscriptions that pin nothing
	Samples      int           // latency
	Warmup       int           // latency
	Interval     time.Duration // latency
	MaxCount     int           // resthook: backport-max-count
	Nodes        []string      // failover: the FHIR bases of the cluster's nodes
	KillPID      int           // failover: the pid of the node to kill
	KillNode     int           // failover: its index in Nodes
	Rate         float64       // failover: writes per second
	Before       time.Duration // failover: writing before the kill
	After        time.Duration // failover: writing after the kill
	Observations int           // search
	Patients     int           // search: 0 means Observations/50
	BundleSize   int           // search: entries per transaction Bundle
	Repeat       int           // search: measured answers per query shape
	DatabaseURL  string        // search: fhirbell's Postgres, for the index size
	Analyze      bool          // search: VACUUM (ANALYZE) the index tables after the load
	Reuse        string        // search: run id of an earlier load to query instead of loading
}

// parseOptions parses the flags of a scenario.
func parseOptions(scenario string, args []string, out io.Writer) (*options, error) {
	o := &options{
		FHIRBase: "http://127.0.0.1:8080" + endpoint.FHIRPath, Dialect: dialectBackport, MaxTime: 10 * time.Minute,
		Setup: 32, BindWait: 15 * time.Second, Settle: 3 * time.Second, Rounds: 5, RoundTimeout: 30 * time.Second,
		Bind: true, Writers: 16, Duration: 10 * time.Second, Writes: maxWrites,
		MatchRate: 0.1, Mix: "code", Samples: 1000, Warmup: 20,
	}
	fs := flag.NewFlagSet("fhirbell-bench "+scenario, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.FHIRBase, "fhir-base", o.FHIRBase, "FHIR base URL of the server (loopback only)")
	fs.StringVar(&o.Token, "token", os.Getenv("FHIRBELL_BENCH_TOKEN"), "static bearer token for REST and the WebSocket upgrade (env FHIRBELL_BENCH_TOKEN); never printed")
	fs.StringVar(&o.Dialect, "dialect", o.Dialect, "how sockets bind: backport (bind-with-token text), medplum (JSON framing), ticket ($websocket-ticket), legacy (bind <id>)")
	fs.StringVar(&o.WSURL, "ws-url", "", "WebSocket URL to use instead of the server's websocket-url (legacy default: ws://<host>/ws)")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "pid of the server process on this machine, to read its resident memory")
	fs.StringVar(&o.JSONOut, "json", "", "also write the report as JSON to this file")
	fs.DurationVar(&o.MaxTime, "max-time", o.MaxTime, "stop the whole run after this long (at most 1h)")
	fs.IntVar(&o.Setup, "setup-concurrency", o.Setup, "concurrent REST calls and dials while setting up")
	fs.BoolVar(&o.Keep, "keep", false, "keep the subscriptions the run created (default: delete them at the end)")
	fs.BoolVar(&o.Quiet, "quiet", false, "no progress lines on stderr")
	fs.DurationVar(&o.BindWait, "bind-timeout", o.BindWait, "how long a socket may take to upgrade and get its handshake (a loaded machine needs more)")
	fs.IntVar(&o.SourceFirst, "source-first", 1, "the first loopback source address is 127.0.0.<this>: give each of several generator processes its own")
	switch scenario {
	case "idle", "fanout":
		def := 1000
		fs.IntVar(&o.Sockets, "sockets", def, "number of sockets (and subscriptions)")
		fs.IntVar(&o.Sources, "sources", 0, "loopback source addresses 127.0.0.1… to spread sockets over (0: one per 25,000 sockets)")
		fs.BoolVar(&o.Shared, "shared", false, "bind every socket to one subscription instead of one each")
	}
	switch scenario {
	case "idle":
		fs.DurationVar(&o.Settle, "settle", o.Settle, "wait this long after binding before reading memory")
		fs.DurationVar(&o.Hold, "hold", 0, "keep the sockets open this long after measuring")
	case "fanout":
		fs.IntVar(&o.Rounds, "rounds", o.Rounds, "writes, one at a time, each matching every subscription")
		fs.DurationVar(&o.RoundTimeout, "round-timeout", o.RoundTimeout, "how long to wait for one write's notifications")
		fs.StringVar(&o.Code, "code", "", "the code (system http://bench.example) the subscriptions match and the writes carry, shared by several generator processes (default: one of this run)")
		fs.BoolVar(&o.Passive, "passive", false, "bind and record the arrivals of --rounds events, but write nothing: another process (same --code) writes")
	case "throughput":
		fs.IntVar(&o.Subs, "subscriptions", 1000, "active subscriptions")
		fs.BoolVar(&o.Bind, "bind", o.Bind, "bind one socket per subscription and count notifications")
		fs.IntVar(&o.Writers, "writers", o.Writers, "concurrent writers")
		fs.DurationVar(&o.Duration, "duration", o.Duration, "how long to write")
		fs.IntVar(&o.Writes, "writes", o.Writes, "stop after this many writes")
		fs.Float64Var(&o.MatchRate, "match-rate", o.MatchRate, "fraction of writes that match one subscription")
		fs.StringVar(&o.Mix, "mix", o.Mix, "criteria: code (Observation?code=…) or mixed (code; subject+status; code+subject)")
		fs.Float64Var(&o.Unpinned, "unpinned", 0, "fraction of subscriptions whose criteria pin no value (value-quantity=gt…; they never match)")
		fs.IntVar(&o.Sources, "sources", 0, "loopback source addresses for the sockets (0: automatic)")
		fs.Func("nodes", "comma-separated FHIR base URLs of a cluster's nodes: writer w writes to node w mod n and socket i binds on node i mod n (default: --fhir-base alone)", nodesFlag(o))
	case "resthook":
		fs.IntVar(&o.Subs, "subscriptions", 10, "rest-hook subscriptions, each matching every write")
		fs.IntVar(&o.Writers, "writers", 4, "concurrent writers")
		fs.DurationVar(&o.Duration, "duration", o.Duration, "how long to write")
		fs.IntVar(&o.Writes, "writes", o.Writes, "stop after this many writes")
		fs.IntVar(&o.MaxCount, "max-count", 10, "backport-max-count of each subscription (events per POST)")
		fs.DurationVar(&o.RoundTimeout, "timeout", o.RoundTimeout, "how long to wait for the handshakes, and for the events after the last write")
	case "failover":
		fs.Func("nodes", "comma-separated FHIR base URLs of the cluster's nodes (at least 2; loopback only)", nodesFlag(o))
		fs.IntVar(&o.Sockets, "sockets", 300, "sockets, spread over the nodes (socket i on node i mod n)")
		fs.IntVar(&o.Subs, "subscriptions", 10, "subscriptions the sockets share (each write matches all)")
		fs.IntVar(&o.Sources, "sources", 0, "loopback source addresses 127.0.0.1… to spread sockets over (0: one per 25,000 sockets)")
		fs.IntVar(&o.KillPID, "kill-pid", 0, "pid of the `fhirbell serve` process to kill with SIGKILL (the node at --kill-node); 0: kill nothing (a steady run, e.g. a hot subscription with --subscriptions 1)")
		fs.IntVar(&o.KillNode, "kill-node", 0, "index in --nodes of the node that --kill-pid serves")
		fs.Float64Var(&o.Rate, "rate", 50, "writes per second, to the surviving nodes in turn")
		fs.DurationVar(&o.Before, "before", 2*time.Second, "how long to write before the kill")
		fs.DurationVar(&o.After, "after", 5*time.Second, "how long to write after the kill")
		fs.DurationVar(&o.RoundTimeout, "timeout", o.RoundTimeout, "how long to wait for tokens, and for the last events after the writes stop")
	case "search":
		fs.IntVar(&o.Observations, "observations", 10_000, "Observations to load")
		fs.IntVar(&o.Patients, "patients", 0, "Patients they belong to (0: one per 50 Observations)")
		fs.IntVar(&o.BundleSize, "bundle", 500, "entries per transaction Bundle")
		fs.IntVar(&o.Writers, "loaders", 2, "transactions in flight at once while loading")
		fs.IntVar(&o.Repeat, "repeat", 50, "measured answers per query shape (after 3 unmeasured)")
		fs.StringVar(&o.DatabaseURL, "database-url", "", "the server's Postgres (loopback), to report the search index size; never printed")
		fs.BoolVar(&o.Analyze, "analyze", true, "with --database-url: VACUUM (ANALYZE) the index tables after the load, as autovacuum would")
		fs.StringVar(&o.Reuse, "reuse", "", "query the data an earlier run loaded (its run id, with the same --observations and --patients) instead of loading")
	case "latency":
		fs.IntVar(&o.Samples, "samples", o.Samples, "measured writes, one at a time")
		fs.IntVar(&o.Warmup, "warmup", o.Warmup, "unmeasured writes first")
		fs.DurationVar(&o.Interval, "interval", 0, "pause between writes")
		fs.DurationVar(&o.RoundTimeout, "timeout", 5*time.Second, "how long to wait for one notification")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.FHIRBase = strings.TrimRight(o.FHIRBase, "/")
	return o, o.validate(scenario)
}

// nodesFlag parses --nodes into o.Nodes.
func nodesFlag(o *options) func(string) error {
	return func(v string) error {
		o.Nodes = nil
		for n := range strings.SplitSeq(v, ",") {
			o.Nodes = append(o.Nodes, strings.TrimRight(strings.TrimSpace(n), "/"))
		}
		return nil
	}
}

// validate enforces the bounds.
func (o *options) validate(scenario string) error {
	switch o.Dialect {
	case dialectBackport, dialectMedplum, dialectTicket, dialectLegacy:
	default:
		return fmt.Errorf("--dialect %q: want backport, medplum, ticket or legacy", o.Dialect)
	}
	inRange := func(name string, v, lo, hi int) error {
		if v < lo || v > hi {
			return fmt.Errorf("--%s %d: want %d…%d", name, v, lo, hi)
		}
		return nil
	}
	errs := []error{
		inRange("setup-concurrency", o.Setup, 1, 1024),
		inRange("sources", o.Sources, 0, 254),
		inRange("source-first", o.SourceFirst, 1, 254),
	}
	if o.BindWait <= 0 || o.BindWait > maxDuration {
		errs = append(errs, fmt.Errorf("--bind-timeout %v: want (0, %v]", o.BindWait, maxDuration))
	}
	if o.MaxTime <= 0 || o.MaxTime > maxMaxTime {
		errs = append(errs, fmt.Errorf("--max-time %v: want (0, %v]", o.MaxTime, maxMaxTime))
	}
	switch scenario {
	case "idle", "fanout":
		errs = append(errs, inRange("sockets", o.Sockets, 1, maxSockets))
		if scenario == "fanout" {
			errs = append(errs, inRange("rounds", o.Rounds, 1, maxRounds))
		}
		if o.Settle < 0 || o.Settle > maxDuration || o.Hold < 0 || o.Hold > maxDuration {
			errs = append(errs, fmt.Errorf("--settle and --hold: want 0…%v", maxDuration))
		}
	case "throughput":
		if len(o.Nodes) > 64 {
			errs = append(errs, fmt.Errorf("--nodes: at most 64, got %d", len(o.Nodes)))
		}
		errs = append(errs,
			inRange("subscriptions", o.Subs, 1, maxSubscriptions),
			inRange("writers", o.Writers, 1, maxWriters),
			inRange("writes", o.Writes, 1, maxWrites))
		if o.Duration <= 0 || o.Duration > maxDuration {
			errs = append(errs, fmt.Errorf("--duration %v: want (0, %v]", o.Duration, maxDuration))
		}
		if o.MatchRate < 0 || o.MatchRate > 1 || o.Unpinned < 0 || o.Unpinned > 1 {
			errs = append(errs, errors.New("--match-rate and --unpinned: want 0…1"))
		}
		if o.Mix != "code" && o.Mix != "mixed" {
			errs = append(errs, fmt.Errorf("--mix %q: want code or mixed", o.Mix))
		}
	case "resthook":
		errs = append(errs,
			inRange("subscriptions", o.Subs, 1, 10_000),
			inRange("writers", o.Writers, 1, maxWriters),
			inRange("writes", o.Writes, 1, maxWrites),
			inRange("max-count", o.MaxCount, 1, 1000))
		if o.Duration <= 0 || o.Duration > maxDuration {
			errs = append(errs, fmt.Errorf("--duration %v: want (0, %v]", o.Duration, maxDuration))
		}
	case "failover":
		errs = append(errs,
			inRange("sockets", o.Sockets, 1, maxSockets),
			inRange("subscriptions", o.Subs, 1, 10_000))
		if len(o.Nodes) < 2 || len(o.Nodes) > 64 {
			errs = append(errs, fmt.Errorf("--nodes: want 2…64 FHIR base URLs, got %d", len(o.Nodes)))
		} else {
			errs = append(errs, inRange("kill-node", o.KillNode, 0, len(o.Nodes)-1))
		}
		if o.KillPID < 0 {
			errs = append(errs, errors.New("--kill-pid: want a pid, or 0 to kill nothing"))
		}
		if o.Rate <= 0 || o.Rate > 100_000 {
			errs = append(errs, fmt.Errorf("--rate %v: want (0, 100000]", o.Rate))
		}
		if o.Before <= 0 || o.Before > maxDuration || o.After <= 0 || o.After > maxDuration {
			errs = append(errs, fmt.Errorf("--before and --after: want (0, %v]", maxDuration))
		}
	case "search":
		errs = append(errs,
			inRange("observations", o.Observations, 1, 10_000_000),
			inRange("patients", o.Patients, 0, 10_000_000),
			inRange("bundle", o.BundleSize, 1, 1000),
			inRange("loaders", o.Writers, 1, 64),
			inRange("repeat", o.Repeat, 1, 100_000))
		if o.Reuse != "" && (len(o.Reuse) != 8 || strings.Trim(o.Reuse, "0123456789abcdef") != "") {
			errs = append(errs, fmt.Errorf("--reuse %q: want the 8 hex digits of a run id", o.Reuse))
		}
	case "latency":
		errs = append(errs, inRange("samples", o.Samples, 1, maxSamples), inRange("warmup", o.Warmup, 0, 10_000))
		if o.Interval < 0 || o.Interval > time.Minute {
			errs = append(errs, fmt.Errorf("--interval %v: want 0…1m", o.Interval))
		}
	}
	if o.RoundTimeout <= 0 || o.RoundTimeout > maxDuration {
		errs = append(errs, fmt.Errorf("timeout %v: want (0, %v]", o.RoundTimeout, maxDuration))
	}
	return errors.Join(errs...)
}

// run is the whole program: it parses args, checks the target, runs the
// scenario within --max-time and prints the report.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup lookupFunc) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	scenario, rest := args[0], args[1:]
	var runScenario func(*bench, context.Context) error
	switch scenario {
	case "idle":
		runScenario = (*bench).idle
	case "fanout":
		runScenario = (*bench).fanout
	case "throughput":
		runScenario = (*bench).throughput
	case "latency":
		runScenario = (*bench).latency
	case "resthook":
		runScenario = (*bench).restHook
	case "failover":
		runScenario = (*bench).failover
	case "search":
		runScenario = (*bench).search
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "unknown scenario %q\n\n%s", scenario, usage)
		return errUsage
	}
	o, err := parseOptions(scenario, rest, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", scenario, err)
	}
	for _, n := range o.Nodes {
		if err := checkURL(ctx, lookup, n); err != nil {
			return fmt.Errorf("%s: --nodes: %w", scenario, err)
		}
	}
	switch {
	case scenario == "failover":
		// Setup and clean-up go through a node that survives.
		o.FHIRBase = o.Nodes[(o.KillNode+1)%len(o.Nodes)]
	case len(o.Nodes) > 0:
		o.FHIRBase = o.Nodes[0]
	}
	if err := checkURL(ctx, lookup, o.FHIRBase); err != nil {
		return fmt.Errorf("%s: %w", scenario, err)
	}
	if o.Dialect == dialectLegacy && o.WSURL == "" {
		o.WSURL = defaultWSURL(o.FHIRBase)
	}
	if o.WSURL != "" {
		if err := checkURL(ctx, lookup, o.WSURL); err != nil {
			return fmt.Errorf("%s: --ws-url: %w", scenario, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.MaxTime)
	defer cancel()

	b := &bench{
		o:      o,
		c:      newClient(o.FHIRBase, o.Token, o.Setup+o.Writers+8, lookup),
		run:    randomRunID(),
		rep:    newReport(scenario, o),
		stderr: stderr,
	}
	start := time.Now()
	err = runScenario(b, ctx)
	b.cleanup(context.WithoutCancel(ctx))
	b.rep.Seconds = time.Since(start).Round(time.Millisecond).Seconds()
	b.rep.Host.LoadAfter = loadAverage()
	if ctx.Err() != nil && err == nil {
		b.rep.problem("stopped early: %v", context.Cause(ctx))
	}
	if err != nil {
		b.rep.problem("%v", err)
		b.rep.Complete = false
	}
	if perr := b.rep.printTable(stdout); perr != nil {
		return perr
	}
	if o.JSONOut != "" {
		if jerr := b.rep.writeJSON(o.JSONOut); jerr != nil {
			return jerr
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", scenario, err)
	}
	if !b.rep.Complete {
		return fmt.Errorf("%s: %w", scenario, errIncomplete)
	}
	return nil
}

// errIncomplete ends a run that finished but did not see every socket
// bound or every notification arrive; the report says what was missing.
var errIncomplete = errors.New("incomplete run (see the problems in the report)")

// randomRunID names the run's codes so that runs never match each other's
// subscriptions.
func randomRunID() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
