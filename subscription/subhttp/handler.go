package subhttp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxBodyBytes     = 1 << 20  // 1 MiB
	DefaultMaxBundleBytes   = 16 << 20 // 16 MiB: a test bench loads its data in one Bundle
	DefaultCount            = 20
	DefaultMaxCount         = 1000
	DefaultMaxBundleEntries = 1000
)

// Config configures NewHandler. The zero value works: it derives URLs from
// each request and uses the Default* limits.
type Config struct {
	// Base gives the public server base of each request, which every URL
	// in a response starts with; the zero value derives it from the
	// request. The socket hub is given the same Base.
	Base endpoint.Base
	// MaxBodyBytes limits request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxBundleBytes limits the body of POST /fhir (transaction and batch);
	// 0 means DefaultMaxBundleBytes.
	MaxBundleBytes int64
	// MaxBundleEntries limits the entries of a transaction or batch; 0 means
	// DefaultMaxBundleEntries.
	MaxBundleEntries int
	// MaxConditionalDeletes caps the resources one conditional delete
	// removes; 0 means subscription.DefaultMaxConditionalDeletes.
	MaxConditionalDeletes int
	// DefaultCount is the page size of a search without _count; 0 means
	// DefaultCount. MaxCount caps _count; 0 means DefaultMaxCount.
	DefaultCount, MaxCount int
	// Logger receives request lines (Debug) and internal errors (Error). Nil
	// discards.
	Logger *slog.Logger
	// SoftwareVersion is CapabilityStatement.software.version; empty means
	// "dev".
	SoftwareVersion string

	// Capability, when set, amends the CapabilityStatement after it is built
	// and before it is cached (operations, topic canonicals, the websocket
	// extension). serverBase is the server base the statement is built for,
	// without FHIRPath.
	Capability func(cs *CapabilityStatement, serverBase string)
	// IssueLimit, when set, is asked before a binding token or ticket is
	// issued; false answers 429 (a per-client rate limit).
	IssueLimit func(r *http.Request) bool

	// Version is the FHIR version of the API's wire: R4 (the zero value),
	// mounted at endpoint.FHIRPath, or R5, mounted at endpoint.R5FHIRPath,
	// where Subscriptions are read and written in their R5 form and the
	// Subscription operations answer in R5 shapes (r5.go).
	Version fhir.Version

	// testRoutes, set by this package's tests only, registers extra routes
	// behind the same middleware, to exercise it.
	testRoutes func(r chi.Router)
}

func (c *Config) setDefaults() {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxBundleBytes <= 0 {
		c.MaxBundleBytes = DefaultMaxBundleBytes
	}
	if c.MaxBundleEntries <= 0 {
		c.MaxBundleEntries = DefaultMaxBundleEntries
	}
	if c.MaxConditionalDeletes <= 0 {
		c.MaxConditionalDeletes = subscription.DefaultMaxConditionalDeletes
	}
	if c.MaxCount <= 0 {
		c.MaxCount = DefaultMaxCount
	}
	if c.DefaultCount <= 0 {
		c.DefaultCount = DefaultCount
	}
	c.DefaultCount = min(c.DefaultCount, c.MaxCount)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SoftwareVersion == "" {
		c.SoftwareVersion = "dev"
	}
}

// api holds the handlers' dependencies; it is immutable after NewHandler.
type api struct {
	svc  *subscription.Service
	cfg  Config
	caps capCache
}

// NewHandler returns the FHIR REST API as a chi router to be mounted at
// endpoint.FHIRPath: r.Mount(endpoint.FHIRPath, NewHandler(svc, cfg)). Its own routes
// are GET /metadata; POST / (transaction or batch); GET /{type} and POST
// /{type}/_search (search); POST /{type} (create); GET, PUT and DELETE
// /{type}/{id}; GET /{type}/{id}/_history; GET /{type}/{id}/_history/{vid};
// GET /{type}/_history and GET /_history (history.go); and the
// Subscription operations (operations.go).
func NewHandler(svc *subscription.Service, cfg Config) http.Handler {
	cfg.setDefaults()
	a := &api{svc: svc, cfg: cfg}
	r := chi.NewRouter()
	r.Use(requestID, a.requestContext, logRequests, recoverPanics, checkAccept, middleware.GetHead)
	r.NotFound(handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return &statusError{Status: http.StatusNotFound, Code: fhir.IssueNotFound,
			Msg: fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)}
	}).ServeHTTP)
	r.MethodNotAllowed(handlerFunc(func(w http.ResponseWriter, req *http.Request) error {
		path := req.URL.Path
		if rctx := chi.RouteContext(req.Context()); rctx != nil && rctx.RoutePath != "" {
			path = rctx.RoutePath
		}
		var allowed []string
		for _, m := range []string{http.MethodDelete, http.MethodGet, http.MethodPatch, http.MethodPost, http.MethodPut} {
			if r.Match(chi.NewRouteContext(), m, path) {
				allowed = append(allowed, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		return &statusError{Status: http.StatusMethodNotAllowed, Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("method %s is not allowed on %s (allowed: %s)", req.Method, req.URL.Path, strings.Join(allowed, ", "))}
	}).ServeHTTP)
	a.subscriptionRoutes(r)
	a.routeHistory(r)
	if cfg.testRoutes != nil {
		cfg.testRoutes(r)
	}
	for _, route := range []struct {
		method, path string
		h            handlerFunc
	}{
		{http.MethodGet, "/metadata", a.metadata},
		{http.MethodPost, "/", a.bundle},
		{http.MethodGet, "/{type}", a.search},
		{http.MethodPost, "/{type}", a.create},
		{http.MethodPut, "/{type}", a.conditionalUpdate},
		{http.MethodDelete, "/{type}", a.conditionalDelete},
		{http.MethodPatch, "/{type}", a.patch},
		{http.MethodPatch, "/{type}/{id}", a.patch},
		{http.MethodPost, "/{type}/_search", a.search},
		{http.MethodPost, "/{type}/$validate", a.validateOp},
		{http.MethodPost, "/{type}/{id}/$validate", a.validateOp},
		{http.MethodGet, "/{type}/{id}", a.read},
		{http.MethodPut, "/{type}/{id}", a.update},
		{http.MethodDelete, "/{type}/{id}", a.delete},
		{http.MethodGet, "/{type}/{id}/_history", a.history},
		{http.MethodGet, "/{type}/{id}/_history/{vid}", a.vread},
	} {
		r.Method(route.method, route.path, route.h)
	}
	return r
}

// fhirPath is where the API is mounted, which every URL it writes names.
func (a *api) fhirPath() string {
	if a.cfg.Version == fhir.R5 {
		return endpoint.R5FHIRPath
	}
	return endpoint.FHIRPath
}

// requestInfo is what the middleware learns about a request and the
// helpers need; it is stored once in the request context.
type requestInfo struct {
	log          *slog.Logger
	serverBase   string // without the FHIR path
	fhirPath     string // endpoint.FHIRPath, or endpoint.R5FHIRPath for Config.Version R5
	version      fhir.Version
	maxBodyBytes int64
	pretty       bool
	contentType  string // of every response body; "" before negotiation (contentType)
}

type infoKey struct{}

func info(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
		return ri
	}
	// Outside NewHandler's router (a handler used alone in a test): derive
	// what can be derived, with a discarding logger.
	return &requestInfo{log: slog.New(slog.DiscardHandler), serverBase: endpoint.Base{}.Server(r), fhirPath: endpoint.FHIRPath, maxBodyBytes: DefaultMaxBodyBytes}
}

// requestID reuses a request id set by an outer router, so that the lead's
// access log and ours agree, and otherwise sets one.
func requestID(next http.Handler) http.Handler {
	withID := middleware.RequestID(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if middleware.GetReqID(r.Context()) != "" {
			next.ServeHTTP(w, r)
			return
		}
		withID.ServeHTTP(w, r)
	})
}

func (a *api) requestContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri := &requestInfo{
			// The path only: a query string may carry identifiers a log
			// must not keep.
			log: a.cfg.Logger.With("method", r.Method, "path", r.URL.Path,
				"request_id", middleware.GetReqID(r.Context())),
			serverBase:   a.cfg.Base.Server(r),
			fhirPath:     a.fhirPath(),
			version:      a.cfg.Version,
			maxBodyBytes: a.cfg.MaxBodyBytes,
			pretty:       r.URL.Query().Get("_pretty") == "true",
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), infoKey{}, ri)))
	})
}

func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		next.ServeHTTP(ww, r)
		// Debug: a line per request would swamp the log at thousands of
		// writes per second; failures that need an operator log at Error
		// where they happen.
		info(r).log.Debug("request", "status", ww.Status(), "bytes", ww.BytesWritten(),
			"duration", time.Since(start))
	})
}

func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v) // net/http's way to abort a response; not a bug
			}
			info(r).log.Error("panic", "err", fmt.Sprint(v), "stack", string(debug.Stack()))
			if ww, ok := w.(middleware.WrapResponseWriter); ok && ww.Status() != 0 {
				return // headers are out; nothing sane can be added
			}
			writeOutcome(w, r, http.StatusInternalServerError,
				fhir.NewOutcome(fhir.IssueException, "internal server error"))
		}()
		next.ServeHTTP(w, r)
	})
}

// jsonTypes are the media types accepted for FHIR JSON; application/json+fhir
// is the DSTU2 name that some clients still send.
var jsonTypes = []string{"application/fhir+json", "application/json", "application/json+fhir"}

// checkAccept answers 406 when the client asks only for formats other than
// FHIR R4 JSON, in _format or Accept, and otherwise records the response
// Content-Type (negotiate).
func checkAccept(next http.Handler) http.Handler {
	return handlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		ct, err := negotiate(r)
		if err != nil {
			return err
		}
		info(r).contentType = ct
		next.ServeHTTP(w, r)
		return nil
	})
}
