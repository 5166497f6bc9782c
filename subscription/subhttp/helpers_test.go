package subhttp

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/fhirbell/fhirbell/subscription"
	"github.com/fhirbell/fhirbell/subscription/memstore"
)

// testServer is the API mounted at /fhir on a chi router, as cmd/fhirbell
// mounts it, over a fresh memstore.
type testServer struct {
	*httptest.Server
	svc *subscription.Service
}

func newTestServer(tb testing.TB, cfg Config) *testServer {
	tb.Helper()
	store := memstore.New()
	tb.Cleanup(func() { store.Close() })
	svc := subscription.NewService(store)
	if err := svc.Load(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	r := chi.NewRouter()
	r.Mount("/fhir", NewHandler(svc, cfg))
	srv := httptest.NewServer(r)
	tb.Cleanup(srv.Close)
	return &testServer{Server: srv, svc: svc}
}

// response is a finished HTTP exchange with its body decoded when it is
// JSON.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a request; headers are name, value pairs. A body without an
// explicit Content-Type is sent as application/fhir+json.
func (s *testServer) do(tb testing.TB, method, path, body string, headers ...string) *response {
	tb.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = s.URL + path
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(tb.Context(), method, u, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/fhir+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	out := &response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			tb.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, path, err, raw)
		}
	}
	return out
}

// mustDo is do that fails the test unless the status is want.
func (s *testServer) mustDo(tb testing.TB, want int, method, path, body string, headers ...string) *response {
	tb.Helper()
	r := s.do(tb, method, path, body, headers...)
	if r.status != want {
		tb.Fatalf("%s %s = %d, want %d\n%s", method, path, r.status, want, r.raw)
	}
	return r
}

// get walks a decoded JSON value along keys (strings) and indexes (ints);
// nil when the path does not exist.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				return nil
			}
			v = a[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

func list(v any, path ...any) []any {
	a, _ := get(v, path...).([]any)
	return a
}

// link returns the url of the Bundle link with relation rel.
func link(bundle map[string]any, rel string) string {
	for _, l := range list(bundle, "link") {
		if str(l, "relation") == rel {
			return str(l, "url")
		}
	}
	return ""
}
