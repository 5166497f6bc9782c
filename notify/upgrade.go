// The upgrade, on the net/http handler goroutine: the checks of an upgrade
// request and their refusals (each with an OperationOutcome body), ticket
// redemption, the upgrade itself, and the start of the session's reader.
// The order of the checks is told in the package documentation
// (Authentication).

package notify

import (
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/endpoint"
	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/gorilla/websocket"
)

// Handler returns the handler of the WebSocket endpoint,
// endpoint.WebSocketPath with or without a "/{ticket}" (mount it on both;
// any prefix before it is ignored), and endpoint.MedplumWebSocketPath.
func (h *Hub) Handler() http.Handler { return http.HandlerFunc(h.serveHTTP) }

// wsPath splits the request path into the endpoint and its ticket.
func wsPath(p string) (ticket string, ok bool) {
	const ws = endpoint.WebSocketPath
	if strings.HasSuffix(p, ws) || p == ws+"/" || strings.HasSuffix(p, endpoint.MedplumWebSocketPath) {
		return "", true
	}
	i := strings.LastIndex(p, ws+"/")
	if i < 0 {
		return "", false
	}
	ticket = p[i+len(ws+"/"):]
	if ticket == "" {
		return "", true
	}
	if strings.Contains(ticket, "/") {
		return "", false
	}
	return ticket, true
}

// serveHTTP checks the request (origin, access token, rate limit),
// redeems a ticket if the path has one, upgrades, and starts the session.
// It never logs the path, the query or any header: a ticket, like an
// access token, is a credential.
func (h *Hub) serveHTTP(w http.ResponseWriter, r *http.Request) {
	ticket, ok := wsPath(r.URL.Path)
	if !ok {
		httpOutcome(w, http.StatusNotFound, fhir.IssueNotFound, "no such WebSocket endpoint")
		return
	}
	h.mu.Lock()
	closing := h.closing
	h.mu.Unlock()
	if closing {
		httpOutcome(w, http.StatusServiceUnavailable, fhir.IssueTransient, "server is shutting down")
		return
	}
	// Checked before the ticket is redeemed, so a link preview or a
	// cross-site page cannot burn it.
	if !websocket.IsWebSocketUpgrade(r) {
		w.Header().Set("Upgrade", "websocket")
		httpOutcome(w, http.StatusUpgradeRequired, fhir.IssueNotSupported, "this endpoint speaks WebSocket only")
		return
	}
	if !h.originAllowed(r) {
		httpOutcome(w, http.StatusForbidden, fhir.IssueForbidden, "origin not allowed")
		return
	}
	version, versionAsked, status, msg := socketVersion(r)
	if status != 0 {
		httpOutcome(w, status, fhir.IssueNotSupported, msg)
		return
	}
	tok, err := h.upgradeToken(r)
	if err != nil {
		h.refuseAuth(w, err)
		return
	}
	var p *auth.Principal
	mode := AuthAnonymous
	if tok != "" {
		pr, err := h.cfg.Authenticator.Authenticate(r.Context(), tok)
		if err != nil {
			h.refuseAuth(w, err)
			return
		}
		p = &pr
		mode = AuthHeader
		if _, viaSubprotocol := auth.SubprotocolToken(r); viaSubprotocol {
			mode = AuthSubprotocol
		}
	} else if h.cfg.Authenticator != nil && len(h.cfg.ClientCerts) > 0 {
		// A system client on mutual TLS: its verified certificate is its
		// credential, as on the REST API.
		if pr, ok := auth.ClientCertPrincipal(r.TLS, h.cfg.ClientCerts); ok {
			p = &pr
			mode = AuthClientCert
		}
	}
	if lim := h.cfg.UpgradeLimiter; lim != nil {
		key := "ip:" + h.cfg.Origin.Proxies.ClientIP(r)
		if p != nil && p.Subject != "" {
			key = "sub:" + p.Subject
		}
		if !lim.Allow(key) {
			w.Header().Set("Retry-After", "1")
			httpOutcome(w, http.StatusTooManyRequests, fhir.IssueThrottled, "too many WebSocket upgrades; slow down")
			return
		}
	}
	var grant *subscription.Grant
	if ticket != "" {
		// Another principal's ticket is refused before it is consumed:
		// whoever sees a ticket URL must not be able to burn it.
		g, err := h.b.RedeemToken(r.Context(), subscription.KindTicket, ticket, func(g subscription.Grant) error {
			if p != nil && g.Subject != p.Subject {
				return errTicketOfAnother
			}
			return nil
		})
		switch {
		case errors.Is(err, errTicketOfAnother):
			httpOutcome(w, http.StatusForbidden, fhir.IssueSecurity, "the ticket was issued to another principal than the access token's; it was not used")
			return
		case errors.Is(err, subscription.ErrTokenExpired):
			httpOutcome(w, http.StatusUnauthorized, fhir.IssueLogin, "ticket expired; request a new one with $websocket-ticket")
			return
		case errors.Is(err, subscription.ErrTokenInvalid):
			httpOutcome(w, http.StatusNotFound, fhir.IssueNotFound, "unknown or already used ticket; request a new one with $websocket-ticket")
			return
		case err != nil:
			h.log.Error("redeem ticket", "err", err)
			httpOutcome(w, http.StatusInternalServerError, fhir.IssueException, "ticket could not be checked")
			return
		}
		grant = &g
		if mode == AuthAnonymous {
			mode = AuthTicket
		}
	}
	// The socket counts against its principal's cap before the 101 goes
	// out: a client that saw its socket open holds its place, and of two
	// racing upgrades the later is the one refused.
	subject := ""
	if p != nil {
		subject = p.Subject
	}
	claimed := h.claim(subject)
	conn, err := h.upg.Upgrade(w, r, nil)
	if err != nil {
		if claimed {
			h.release(subject)
		}
		return // gorilla has answered with an HTTP error
	}
	s := h.newSession(conn, r, p, tok, mode)
	s.version, s.versionAsked = version, versionAsked
	if claimed {
		s.claimed = subject
	}
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		if claimed {
			h.release(subject)
		}
		conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(h.cfg.WriteWait))
		conn.Close()
		return
	}
	h.sessions[s] = struct{}{}
	h.wg.Add(1)
	h.mu.Unlock()
	if p != nil {
		s.logf(slog.LevelDebug, "websocket authenticated", "principal", *p)
	}
	// Queued before serve starts: the control queue cannot be full.
	if !claimed {
		s.tooManySockets()
	} else if grant != nil {
		s.bindGrant(*grant, [32]byte{}, false)
	}
	// The session runs in its own goroutine and the handler returns, so
	// that net/http releases what it holds for the connection (its 4 KiB
	// read and write buffers, the request, the handler's grown stack):
	// about 18 KiB per idle socket (see doc.go).
	go func() {
		defer func() {
			h.mu.Lock()
			delete(h.sessions, s)
			h.mu.Unlock()
			h.wg.Done()
		}()
		s.serve()
	}()
}

// originAllowed applies Config.Origin.
func (h *Hub) originAllowed(r *http.Request) bool {
	return h.cfg.Origin.AllowUpgrade(r)
}

// errTicketOfAnother refuses a ticket presented with the access token of
// another principal than the one it was issued to.
var errTicketOfAnother = errors.New("ticket of another principal")

// errMalformedToken is the ErrUnauthenticated of an access token offered
// in a form that cannot be read.
var errMalformedToken = fmt.Errorf("%w: malformed Authorization header or bearer subprotocol", auth.ErrUnauthenticated)

// errBareBearerSubprotocol refuses a fhirbell.bearer.<token> subprotocol
// offered without fhirbell: the only subprotocol the server could then
// echo is the token entry, and it never echoes a token.
var errBareBearerSubprotocol = errors.New("offer the subprotocol " + auth.Subprotocol + " beside " + auth.BearerSubprotocolPrefix + "<token>")

// errTwoTokens refuses an upgrade carrying an access token both in
// Authorization and in the subprotocol.
var errTwoTokens = errors.New("send the access token once: in Authorization or in the subprotocol, not both")

// upgradeToken returns the access token an upgrade carries ("" for none):
// from Authorization: Bearer (native clients) or from a
// fhirbell.bearer.<token> subprotocol offered beside fhirbell (browsers,
// which cannot set headers on a WebSocket). In auth mode none tokens are
// ignored, but a bearer subprotocol without fhirbell is still refused.
func (h *Hub) upgradeToken(r *http.Request) (string, error) {
	sp, offered := auth.SubprotocolToken(r)
	bearerEntry := false
	for _, p := range websocket.Subprotocols(r) {
		if strings.HasPrefix(p, auth.BearerSubprotocolPrefix) {
			bearerEntry = true
		}
	}
	if bearerEntry && !offered {
		return "", errBareBearerSubprotocol
	}
	if h.cfg.Authenticator == nil {
		return "", nil
	}
	bt, hasBearer := auth.BearerToken(r)
	switch {
	case !hasBearer && r.Header.Get("Authorization") != "":
		return "", errMalformedToken
	case bearerEntry && sp == "":
		return "", errMalformedToken
	case hasBearer && sp != "":
		return "", errTwoTokens
	case hasBearer:
		return bt, nil
	}
	return sp, nil
}

// refuseAuth answers an upgrade whose credentials cannot be accepted: 401
// with the RFC 6750 challenge, 503 when the authorization server could not
// be asked, 400 for a malformed offer. err never holds token material
// (auth errors carry fixed reasons only).
func (h *Hub) refuseAuth(w http.ResponseWriter, err error) {
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case errors.Is(err, errBareBearerSubprotocol), errors.Is(err, errTwoTokens):
		httpOutcome(w, http.StatusBadRequest, fhir.IssueInvalid, err.Error())
	case errors.Is(err, auth.ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", auth.Challenge("", err))
		httpOutcome(w, http.StatusUnauthorized, fhir.IssueLogin, "access token not accepted ("+err.Error()+")")
	case errors.Is(err, auth.ErrAuthUnavailable):
		w.Header().Set("Retry-After", "5")
		httpOutcome(w, http.StatusServiceUnavailable, fhir.IssueTransient, "the authorization server is unavailable; try again")
	default:
		h.log.Error("authenticate websocket upgrade", "err", err)
		httpOutcome(w, http.StatusInternalServerError, fhir.IssueException, "the access token could not be checked")
	}
}

// socketVersion reads the wire version a client asks for on the upgrade:
// the fhirVersion query parameter (?fhirVersion=4.3), else a fhirVersion
// parameter on an Accept media type (application/fhir+json;
// fhirVersion=5.0). A version fhirbell does not write is refused, with the
// status to answer (400 for the query, 406 for Accept) and why; the ticket
// of a refused upgrade is not redeemed.
func socketVersion(r *http.Request) (v fhir.Version, asked bool, status int, msg string) {
	if q := r.URL.Query(); q.Has("fhirVersion") {
		v, ok := fhir.ParseVersion(q.Get("fhirVersion"))
		if !ok {
			return v, false, http.StatusBadRequest, "fhirVersion " + quoteShort(q.Get("fhirVersion")) + " is not supported (4.0, 4.3 or 5.0)"
		}
		return v, true, 0, ""
	}
	for _, accept := range r.Header.Values("Accept") {
		for _, mr := range strings.Split(accept, ",") {
			_, params, err := mime.ParseMediaType(strings.TrimSpace(mr))
			if err != nil {
				continue
			}
			if s, has := params["fhirversion"]; has {
				v, ok := fhir.ParseVersion(s)
				if !ok {
					return v, false, http.StatusNotAcceptable, "fhirVersion " + quoteShort(s) + " is not supported (4.0, 4.3 or 5.0)"
				}
				return v, true, 0, ""
			}
		}
	}
	return fhir.R4, false, 0, ""
}

// httpOutcome answers a refused upgrade with an OperationOutcome.
func httpOutcome(w http.ResponseWriter, status int, code, diag string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	w.Write(fhir.MarshalOutcome(fhir.NewOutcome(code, diag)))
}
