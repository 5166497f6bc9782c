// Deadlines, on the writer: heartbeats, pings, the bind timeout and the
// end of the authorization. There is no timer per socket or per binding:
// each session computes its earliest deadline (reschedule) and gives it to
// the hub's scheduler (sched.go), one goroutine and one timer for the hub.
// A send that postpones a heartbeat does not touch the scheduler; the
// session is then woken early, finds nothing due and reschedules.
// Deadlines may fire up to a twentieth of their period early (at most
// 1 s): heartbeats are never late, and the deadlines of one socket
// coalesce.

package notify

import (
	"slices"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/gorilla/websocket"
)

// earliest returns the earlier of two optional instants (zero: none).
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// heartbeatPeriod is b's heartbeat period at now: every 10 s during the
// last minute of the session's authorization (ending at exp), as a
// warning.
func (s *session) heartbeatPeriod(b *binding, now, exp time.Time) time.Duration {
	p := b.sub.HeartbeatPeriod
	if p <= 0 {
		p = s.hub.cfg.DefaultHeartbeat
	}
	if !exp.IsZero() && exp.Sub(now) <= authWarning {
		p = min(p, authWarningPeriod)
	}
	return p
}

const (
	authWarning       = time.Minute
	authWarningPeriod = 10 * time.Second
)

// early is how much before a periodic deadline it may fire: a twentieth
// of the period, at most a second, so that heartbeats are never late and
// deadlines of one socket coalesce.
func early(p time.Duration) time.Duration { return min(p/20, time.Second) }

func (s *session) pingPeriod() time.Duration { return s.hub.cfg.PongWait * 9 / 10 }

// onTime acts on every deadline that passed: bind timeout, ping, expired
// authorizations, heartbeats. False means the session ended.
func (s *session) onTime() bool {
	now := time.Now()
	s.scheduled = time.Time{} // the scheduler dropped the entry that fired
	cfg := &s.hub.cfg
	if len(s.bindings) == 0 && !now.Before(s.unboundSince.Add(cfg.BindTimeout)) {
		s.end(BindTimeout, "no subscription bound in time")
		return false
	}
	if pp := s.pingPeriod(); !now.Before(s.lastPing.Add(pp - early(pp))) {
		if err := s.conn.WriteControl(websocket.PingMessage, nil, now.Add(cfg.WriteWait)); err != nil {
			s.writeFailed(err)
			return false
		}
		s.lastPing = now
	}
	exp := s.authExpires()
	if !exp.IsZero() && !now.Before(exp) {
		// One authorization per session: when it ends, every backport
		// binding gets a final query-status with status error and the
		// socket closes with 4001. The events go on being logged, so a
		// resume on a new socket recovers them.
		for _, b := range s.bindings {
			if b.dialect != legacy && !s.sendStatus(b, fhir.NotifyQueryStatus, subscription.StatusError, max(b.st.head.Load(), b.cursor), nil,
				"the authorization of this socket expired; resume on a new socket with a fresh token or ticket") {
				return false
			}
		}
		s.hub.obs.Reauth(ReauthExpired)
		s.end(TokenExpired, "authorization expired")
		return false
	}
	for _, b := range slices.Clone(s.bindings) { // unbind edits s.bindings
		id := b.st.id
		if b.dialect == legacy {
			continue
		}
		hp := s.heartbeatPeriod(b, now, exp)
		if now.Before(b.lastSend.Add(hp - early(hp))) {
			continue
		}
		status, why := subscription.StatusActive, ""
		sub, ok := s.hub.b.ActiveSubscription(id)
		if ok {
			b.sub = sub
			if down := s.hub.storeDown.Load(); down != 0 {
				status, why = subscription.StatusError, storeDownText(down) // as tellStore said
			}
		} else {
			status = subscription.StatusOff // deleted or turned off: say so, and stop
		}
		if !s.sendStatus(b, fhir.NotifyHeartbeat, status, max(b.st.head.Load(), b.cursor), nil, why) {
			return false
		}
		s.hub.obs.Heartbeat()
		b.lastSend = now
		if !ok {
			s.unbind(b, now)
		}
	}
	if s.retry {
		s.retry = false
		s.wakeUp()
	}
	s.reschedule(now)
	return true
}

// reschedule gives the scheduler this session's earliest deadline.
func (s *session) reschedule(now time.Time) {
	cfg := &s.hub.cfg
	pp := s.pingPeriod()
	next := s.lastPing.Add(pp - early(pp))
	if len(s.bindings) == 0 {
		next = earliest(next, s.unboundSince.Add(cfg.BindTimeout))
	}
	exp := s.authExpires()
	if !exp.IsZero() {
		next = earliest(next, exp)
		if w := exp.Add(-authWarning); w.After(now) && len(s.bindings) > 0 {
			next = earliest(next, w) // heartbeats speed up from here
		}
	}
	for _, b := range s.bindings {
		if b.dialect != legacy {
			hp := s.heartbeatPeriod(b, now, exp)
			next = earliest(next, b.lastSend.Add(hp-early(hp)))
		}
	}
	if s.retry {
		next = earliest(next, now.Add(time.Second))
	}
	if !next.Equal(s.scheduled) {
		s.scheduled = next
		s.hub.sched.set(s, next)
	}
}
