package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testKey is a signing key with its kid and algorithm.
type testKey struct {
	kid    string
	method jwt.SigningMethod
	priv   crypto.Signer
}

func (k testKey) public() crypto.PublicKey { return k.priv.Public() }

// Keys are expensive to generate (RSA especially), so tests share them.
var (
	keysOnce                      sync.Once
	rsaKey, rsaKey2, ecKey, edKey testKey
	rsaOther                      testKey // same kid as rsaKey, different key: bad signatures
)

func keys(tb testing.TB) (rs, rs2, ec, ed, other testKey) {
	tb.Helper()
	keysOnce.Do(func() {
		r1, err := rsa.GenerateKey(rand.Reader, 2048)
		must(tb, err)
		r2, err := rsa.GenerateKey(rand.Reader, 2048)
		must(tb, err)
		r3, err := rsa.GenerateKey(rand.Reader, 2048)
		must(tb, err)
		e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(tb, err)
		_, d, err := ed25519.GenerateKey(rand.Reader)
		must(tb, err)
		rsaKey = testKey{"rsa-1", jwt.SigningMethodRS256, r1}
		rsaKey2 = testKey{"rsa-2", jwt.SigningMethodRS256, r2}
		rsaOther = testKey{"rsa-1", jwt.SigningMethodRS256, r3}
		ecKey = testKey{"ec-1", jwt.SigningMethodES256, e}
		edKey = testKey{"ed-1", jwt.SigningMethodEdDSA, d}
	})
	return rsaKey, rsaKey2, ecKey, edKey, rsaOther
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// jwksJSON returns the public JWKS of ks.
func jwksJSON(tb testing.TB, ks ...testKey) []byte {
	tb.Helper()
	set := jwkset.JWKSMarshal{}
	for _, k := range ks {
		jwk, err := jwkset.NewJWKFromKey(k.public(), jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{
			KID: k.kid, ALG: jwkset.ALG(k.method.Alg()), USE: jwkset.UseSig,
		}})
		must(tb, err)
		set.Keys = append(set.Keys, jwk.Marshal())
	}
	b, err := json.Marshal(set)
	must(tb, err)
	return b
}

// jwksServer serves a JWKS on loopback that tests can swap, counting
// fetches.
type jwksServer struct {
	*httptest.Server
	fetches atomic.Int64
	mu      sync.Mutex
	body    []byte
	status  int
}

func newJWKSServer(tb testing.TB, ks ...testKey) *jwksServer {
	tb.Helper()
	s := &jwksServer{body: jwksJSON(tb, ks...), status: http.StatusOK}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		body, status := s.body, s.status
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	tb.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(tb testing.TB, status int, ks ...testKey) {
	b := jwksJSON(tb, ks...)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body, s.status = b, status
}

// testClient is an HTTP client whose idle connections are closed at the
// end of the test, so goleak sees no lingering transport goroutines.
func testClient(tb testing.TB) *http.Client {
	tr := &http.Transport{}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// mint signs claims with k, setting its kid unless noKID.
func mint(tb testing.TB, k testKey, claims jwt.MapClaims, noKID bool) string {
	tb.Helper()
	tok := jwt.NewWithClaims(k.method, claims)
	if !noKID {
		tok.Header["kid"] = k.kid
	}
	s, err := tok.SignedString(k.priv)
	must(tb, err)
	return s
}

func writeFile(tb testing.TB, name string, b []byte) string {
	tb.Helper()
	p := filepath.Join(tb.TempDir(), name)
	must(tb, os.WriteFile(p, b, 0o600))
	return p
}
