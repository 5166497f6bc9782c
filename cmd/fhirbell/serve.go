package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/notify"
	"github.com/fhirbell/fhirbell/resthook"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
	"github.com/fhirbell/fhirbell/subscription/postgres"
	"github.com/fhirbell/fhirbell/subscription/subhttp"
	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"
)

// openStore opens the configured store: Postgres (migrated first when
// migrate is set) or, with no database URL, the in-memory store.
func openStore(ctx context.Context, cfg Config, logger *slog.Logger, migrate bool) (subscription.Store, error) {
	if cfg.DatabaseURL == "" {
		logger.Warn("no database configured: using the in-memory store, nothing persists across restarts")
		return memstore.New(), nil
	}
	st, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if migrate {
		if err := postgres.Migrate(ctx, st.Pool()); err != nil {
			st.Close()
			return nil, fmt.Errorf("migrate: %w", err)
		}
	}
	logger.Info("store ready", "store", "postgres")
	return st, nil
}

func migrate(ctx context.Context, cfg Config, logger *slog.Logger) error {
	if cfg.DatabaseURL == "" {
		return errors.New("migrate: no database URL (set --database-url or FHIRBELL_DATABASE_URL)")
	}
	st, err := openStore(ctx, cfg, logger, true)
	if err != nil {
		return err
	}
	logger.Info("migrations applied")
	return st.Close()
}

// serve runs the HTTP server until ctx is cancelled, then shuts down
// gracefully within cfg.ShutdownTimeout.
func serve(ctx context.Context, cfg Config, logger *slog.Logger, onListen func(addr string)) error {
	sec, err := newSecurity(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer sec.close()
	store, err := openStore(ctx, cfg, logger, true)
	if err != nil {
		return err
	}
	defer store.Close()
	opts := []subscription.Option{subscription.WithLogger(logger), subscription.WithRetention(cfg.EventRetention)}
	if !sec.open {
		opts = append(opts, subscription.WithAuthorizer(subscription.ScopeAuthorizer{}))
	}
	opts = append(opts, subscription.WithNodeTTL(cfg.Cluster.nodeTTL()))
	policy, err := resthook.ParseAllow(cfg.RestHook.Allow)
	if err != nil {
		return err
	}
	opts = append(opts, subscription.WithEndpointPolicy(policy))
	nodeID := uuid.NewString()
	tr, err := newTracing(ctx, cfg.Tracing, nodeID)
	if err != nil {
		return err
	}
	defer func() {
		// After the server and the hub stopped: their last spans go out.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.shutdown(sctx); err != nil {
			logger.Warn("export the last spans", "err", err)
		}
	}()
	if tr.on() {
		opts = append(opts, subscription.WithEventTrace(tr.eventTrace))
		logger.Info("tracing on: spans are exported over OTLP/HTTP", "sample_ratio", cfg.Tracing.SampleRatio)
	}
	svc := subscription.NewService(store, opts...)
	m := newMetrics(svc)
	if pg, ok := store.(*postgres.Store); ok {
		m.watchPool(pg.Pool())
	}
	hubCfg := notify.Config{
		Base:                   sec.base, // the REST API's too: one public base
		AllowAnonymousBind:     sec.open,
		Origin:                 sec.origins,
		MaxSocketsPerPrincipal: cfg.MaxSocketsPerPrincipal,
		PollInterval:           cfg.Cluster.PollInterval,
		Logger:                 logger,
		Observer:               tr.observer(m.hub),
	}
	if !sec.open {
		hubCfg.Authenticator = sec.authn
		hubCfg.UpgradeLimiter = sec.upgrades
		hubCfg.ClientCerts = sec.clientCerts
		if cfg.Auth == "introspect" {
			// A revoked token stops a socket when it would stop a REST
			// call: at the cache interval.
			hubCfg.Recheck = cfg.IntrospectionCache
		}
	}
	hub := notify.NewHub(svc, hubCfg)
	m.watchHub(hub)
	deliverer, err := newDeliverer(cfg.RestHook, nodeID, policy, store, svc, func(a resthook.Attempt) {
		m.observeRestHook(a)
		tr.observeRestHook(a)
	}, logger)
	if err != nil {
		return err
	}
	m.watchRestHook(deliverer)
	svc.SetPublisher(m.publisher(hub, deliverer))
	if err := svc.Load(ctx); err != nil {
		return fmt.Errorf("load subscriptions: %w", err)
	}
	// Many nodes on one Postgres (cluster.go); a no-op on the in-memory
	// store. Deferred after store.Close, so it stops first, and after
	// hub.Shutdown, so the last writes are announced. cfg.Cluster holds the
	// --cluster-* flags.
	started := time.Now().UTC()
	stopCluster, broadcaster, err := startCluster(ctx, cfg.Cluster, nodeID, store, svc, deliveryFanout{hub: hub, restHook: deliverer}, logger)
	if err != nil {
		return err
	}
	if broadcaster != nil {
		m.watchBroadcaster(broadcaster)
	}
	defer stopCluster()
	// Background work stops before the deferred store.Close: the
	// maintenance loop and the hub's timing and polling loop.
	bctx, stopBackground := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { svc.RunMaintenance(bctx, time.Minute) })
	background.Go(func() { hub.Run(bctx) })
	defer func() {
		stopBackground()
		background.Wait()
	}()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln = limitConnsPerIP(ln, cfg.MaxConnsPerIP, sec.proxies, logger)
	// Rest-hook notifications refer to resources by absolute URL, so the
	// deliverer starts once the address is known; it stops with the
	// background work, giving its leases up.
	deliverer.SetBaseURL(baseFor(cfg, sec, ln.Addr()) + endpoint.FHIRPath)
	background.Go(func() { deliverer.Run(bctx) })
	srv := &http.Server{
		Handler:           bodyDeadline(cfg.BodyTimeout, cfg.BodyMinRate, newRouter(cfg, svc, hub, sec, m, tr, logger)),
		TLSConfig:         sec.tls,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	logger.Info("listening", "addr", ln.Addr().String(), "fhir_base", baseFor(cfg, sec, ln.Addr())+endpoint.FHIRPath, "auth", cfg.Auth, "tls", sec.tls != nil)
	reporter := &nodeReporter{id: nodeID, address: baseFor(cfg, sec, ln.Addr()), started: started,
		interval: cfg.Cluster.ReportInterval, hub: hub, svc: svc, m: m, log: logger.With("node_id", nodeID)}
	background.Go(func() { reporter.run(bctx) })
	if onListen != nil {
		onListen(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if sec.tls != nil {
			errc <- srv.ServeTLS(ln, "", "") // certificates are in TLSConfig
			return
		}
		errc <- srv.Serve(ln)
	}()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	// http.Server.Shutdown does not wait for hijacked connections: the hub
	// says goodbye (1001) to its sockets and waits for them itself.
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-errc // http.ErrServerClosed
	if err := hub.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown sockets: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func baseFor(cfg Config, sec *security, addr net.Addr) string {
	if cfg.BaseURL != "" {
		return cfg.BaseURL
	}
	if sec.tls != nil {
		return "https://" + addr.String()
	}
	return "http://" + addr.String()
}

// newRouter assembles the HTTP surface: /fhir, /ws, the console, health
// checks.
func newRouter(cfg Config, svc *subscription.Service, hub *notify.Hub, sec *security, m *metrics, tr *tracing, logger *slog.Logger) http.Handler {
	r := chi.NewRouter()
	r.Use(m.instrument, sec.checkHost)
	if cfg.RequireTLS {
		r.Use(sec.requireTLS)
	}
	r.Get("/", consoleHandler)
	r.Get("/console/{file}", consoleAsset)
	r.Method(http.MethodGet, "/metrics", m.handler())
	r.Get("/console/stats", func(w http.ResponseWriter, r *http.Request) {
		st := hub.Stats()
		writeJSON(w, http.StatusOK, consoleStats{Sockets: st.Sockets, Bindings: st.Bindings, Topics: len(svc.Topics().All())})
	})
	r.Handle(endpoint.WebSocketPath, hub.Handler())
	r.Handle(endpoint.WebSocketPath+"/*", hub.Handler())
	r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	r.Get("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := svc.Ping(ctx); err != nil {
			logger.Warn("not ready", "err", err)
			w.Header().Set("Content-Type", "application/fhir+json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write(fhir.MarshalOutcome(fhir.NewOutcome(fhir.IssueTransient, "store unreachable")))
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	// CORS answers preflights before authentication: a browser sends no
	// Authorization header on a preflight.
	apiConfig := subhttp.Config{
		Base:         sec.base,
		MaxBodyBytes: cfg.MaxBodyBytes,
		Logger:       logger,
		IssueLimit:   sec.issueLimit,
		Capability:   sec.capability,
	}
	api := tr.middleware(auth.CORS(sec.origins)(sec.authenticate(subhttp.NewHandler(svc, apiConfig))))
	r.Mount(endpoint.FHIRPath, api)
	// The same API for R5 clients: same handlers, same store, same event
	// log; Subscriptions are translated at its edge (docs/clients.md).
	apiConfig.Version = fhir.R5
	r.Mount(endpoint.R5FHIRPath, tr.middleware(auth.CORS(sec.origins)(sec.authenticate(subhttp.NewHandler(svc, apiConfig)))))
	// The same API under the Medplum SDK's default path, advertised
	// nowhere: URLs in responses keep the one base. (The socket's alias,
	// endpoint.MedplumWebSocketPath, is served by the /ws/* route.)
	r.Mount(endpoint.MedplumFHIRPath, api)
	r.Handle(endpoint.MedplumMePath, auth.CORS(sec.origins)(sec.authenticate(http.HandlerFunc(medplumMe))))
	return r
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
