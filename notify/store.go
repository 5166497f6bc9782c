// Whether the Backend's store answers, as the poll of event heads finds
// it, and what the sockets are told. While the store is unreachable every
// socket stays open: each backport binding gets a heartbeat with status
// error saying so at once, and its regular heartbeats say the same; when
// the store answers again each gets a heartbeat with status active, then
// the events it missed. Legacy bindings have no Bundle to carry it and see
// nothing but the delay.

package notify

import (
	"context"
	"errors"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// storeFailed records that a poll failed with err, or has waited too long
// for an answer (pollHeads). Only unavailability (and a deadline) counts:
// any other error is a bug to log, not news for the clients.
func (h *Hub) storeFailed(err error) {
	if !errors.Is(err, subscription.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
		return
	}
	if !h.storeDown.CompareAndSwap(0, time.Now().UnixNano()) {
		return
	}
	h.log.Warn("event store unreachable; telling the bound sockets", "err", err)
	h.wakeAll()
}

// storeAnswered records that a poll succeeded.
func (h *Hub) storeAnswered() {
	if h.storeDown.Swap(0) == 0 {
		return
	}
	h.log.Info("event store reachable again; delivering what was missed")
	h.wakeAll()
}

// wakeAll wakes every session, so that each tells its bindings what
// changed (tellStore) and catches up.
func (h *Hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.sessions {
		s.wakeUp()
	}
}

// storeDownText is the error a binding's heartbeat carries while the store
// has been unreachable since down (unix nanoseconds).
func storeDownText(down int64) string {
	return "the event store has been unreachable since " + time.Unix(0, down).UTC().Format(time.RFC3339) +
		": this socket stays open, the events written before are kept and are sent when it returns, and new writes are refused (503) until then"
}

// tellStore sends every backport binding a heartbeat when the store's
// state changed since the session last said: status error with the reason
// when it became unreachable, status active when it came back. False means
// the session ended.
func (s *session) tellStore() bool {
	down := s.hub.storeDown.Load()
	if down == s.toldDown {
		return true
	}
	status, why := subscription.StatusActive, ""
	if down != 0 {
		status, why = subscription.StatusError, storeDownText(down)
	}
	now := time.Now()
	for _, b := range s.bindings {
		if b.dialect == legacy {
			continue
		}
		if !s.sendStatus(b, fhir.NotifyHeartbeat, status, max(b.st.head.Load(), b.cursor), nil, why) {
			return false
		}
		s.hub.obs.Heartbeat()
		b.lastSend = now
	}
	s.toldDown = down
	return true
}
