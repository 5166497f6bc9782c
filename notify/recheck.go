// The re-check of open sockets' access tokens (Config.Recheck), on its own
// goroutine started by Run. In auth mode introspect a token can be revoked
// before its exp; REST notices within the introspection cache interval,
// and so must a socket.

package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/fhirbell/fhirbell/auth"
)

// recheckLoop checks the kept access token of every open session each
// Config.Recheck until ctx ends.
func (h *Hub) recheckLoop(ctx context.Context) {
	t := time.NewTicker(h.cfg.Recheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.recheck(ctx)
	}
}

// recheck checks each session's kept token once. The Authenticator's
// cache answers most of them at once; one that must ask the authorization
// server is bounded by reauthTimeout.
func (h *Hub) recheck(ctx context.Context) {
	h.mu.Lock()
	sessions := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		sessions = append(sessions, s)
	}
	h.mu.Unlock()
	for _, s := range sessions {
		if ctx.Err() != nil {
			return
		}
		az := s.authz()
		if az.token == "" || s.closing.Load() {
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, reauthTimeout)
		p, err := h.cfg.Authenticator.Authenticate(cctx, az.token)
		cancel()
		switch {
		case errors.Is(err, auth.ErrUnauthenticated):
			s.revoke(az.token)
		case err != nil:
			// The authorization server is down: as on REST (503), a good
			// token is not thrown away; the next round asks again.
		case p.Subject == az.subject && (p.Scopes.String() != az.principal.Scopes.String() || p.Patient != az.principal.Patient):
			// The grant behind the same token changed: delivery follows it.
			s.queue(&op{kind: opReauth, principal: &p, secret: az.token})
		}
	}
}

// revoke ends the session's authorization now, as its expiry would (final
// query-status error per backport binding, close 4001), if tok is still
// its token.
func (s *session) revoke(tok string) {
	s.mu.Lock()
	still := s.az.token == tok
	if still {
		s.az.expires = time.Now()
		s.az.token = ""
	}
	s.mu.Unlock()
	if still {
		s.logf(slog.LevelDebug, "websocket access token no longer active")
		s.timeUp()
	}
}
