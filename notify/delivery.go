// Delivery by cursor, on the writer. Events live in the Backend's log,
// never in per-socket queues; each binding holds a cursor, the number of
// the last event it sent. Publish, PublishEvents and the poll
// (publish.go) raise a subscription's known head and wake the sessions
// bound to it (a work bit, never a blocking send). A woken writer sends
// each binding what lies between its cursor and the head, from the hub's
// recent events when it holds them, else from the log, and advances the
// cursor. A slow client simply lags: it costs no memory and blocks nobody,
// and is closed with 4429 only when the events after its cursor have been
// pruned.

package notify

import (
	"log/slog"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/subscription"
)

// batch is how many events a drain reads per binding per pass; other
// bindings and control ops get their turn in between. A pass also reads
// at most Config.MaxBatchBytes of events (Event.Size; always one), from
// memory or from the log, which stops reading there: a session holds one
// batch at a time, so the events a socket holds, however slow its client,
// are bounded by bytes as well as count (Hub.held counts them).
const batch = 128

// hold counts evs in the bytes that sessions hold for sending and returns
// what it added (for the caller to take back when sent).
func (h *Hub) hold(evs []subscription.Event) int64 {
	var n int64
	for i := range evs {
		n += evs[i].Size()
	}
	if cur := h.held.Add(n); cur > h.heldPeak.Load() {
		h.heldPeak.Store(cur) // racy maximum: good enough for a gauge and a test's bound
	}
	return n
}

// drain sends every binding what lies between its cursor and its
// subscription's head, at most batch events per binding per call (it wakes
// itself again when more remain). False means the session ended.
func (s *session) drain() bool {
	if !s.tellStore() {
		return false
	}
	more, resched := false, false
	for _, b := range s.bindings {
		id := b.st.id
		head := b.st.head.Load()
		if b.cursor >= head {
			continue
		}
		// The head was raised after the store last changed state (a poll
		// that is answered clears storeDown before it raises heads), so
		// this says "active" before the events it announces when a drain
		// that began while the store was down reaches them.
		if !s.tellStore() {
			return false
		}
		if sub, ok := s.hub.b.ActiveSubscription(id); ok {
			// Content, max-count or the heartbeat period may have changed;
			// a new period takes effect now, not at the old deadline.
			resched = resched || sub.HeartbeatPeriod != b.sub.HeartbeatPeriod
			b.sub = sub
		}
		per := max(b.sub.MaxCount, 1)
		limit := per * max(batch/per, 1)
		maxBytes := s.hub.cfg.MaxBatchBytes
		evs := b.st.recentAfter(b.cursor, limit, maxBytes)
		src := ReadMemory
		var err error
		if evs == nil {
			src = ReadLog
			evs, err = s.hub.b.Events(s.hub.ctx, id, b.cursor, 0, limit, maxBytes)
		}
		if err != nil {
			if s.hub.ctx.Err() == nil {
				s.logf(slog.LevelError, "read events", "subscription_id", id, "err", err)
			}
			s.retry = true
			continue
		}
		if len(evs) == 0 || evs[0].Number != b.cursor+1 {
			heads, err := s.hub.b.EventHeads(s.hub.ctx, []string{id})
			if err != nil {
				s.retry = true
				continue
			}
			if first := heads[id].FirstRetained; first > b.cursor+1 {
				return s.tooFarBehind(id, b.cursor, first)
			}
			// The head moved past the log (not expected): resync.
			s.logf(slog.LevelWarn, "event log behind its head", "subscription_id", id, "event_number", b.cursor)
			b.st.head.Store(heads[id].Last)
			continue
		}
		s.hub.obs.Read(src, len(evs))
		held := s.hub.hold(evs)
		ok := s.sendEvents(b, evs)
		s.hub.held.Add(-held)
		if !ok {
			return false
		}
		if b.st.raise(b.cursor) {
			// The log held events no wake-up had announced yet (they
			// committed before their Publish arrived). That Publish will
			// find the head already raised and wake nobody, so the other
			// sessions on this subscription must be woken here.
			s.hub.wakeOthers(b.st, s)
		}
		if b.cursor < b.st.head.Load() {
			more = true
		}
	}
	if more {
		s.wakeUp()
	}
	if s.retry || resched {
		s.reschedule(time.Now())
	}
	return true
}

// tooFarBehind explains and closes with 4429: the events after cursor are
// no longer in the log.
func (s *session) tooFarBehind(id string, cursor, first int64) bool {
	msg := "Subscription/" + id + ": events " + itoa(cursor+1) + " to " + itoa(first-1) +
		" are no longer retained; recover with $events from " + itoa(first) + " and resume, or bind again"
	if s.write(outcomeFrame(fhir.IssueProcessing, msg)) {
		s.end(TooFarBehind, "too far behind")
	}
	return false
}

// deliverable returns the events of evs the socket's current
// authorization may receive (Backend.Deliverable: the guard of REST reads
// on each event's focus), in order; the others are withheld, exactly as
// $events leaves them out for the same token. An event exists only
// because the subscription's owner could read its focus when it was
// written, so what a socket gets is the owner's grant intersected with
// the socket's. Nothing is checked in auth mode none.
func (s *session) deliverable(evs []subscription.Event) []subscription.Event {
	if s.hub.cfg.Authenticator == nil {
		return evs
	}
	p := s.authz().principal
	if p == nil {
		return nil
	}
	out := evs[:0:0]
	for _, ev := range evs {
		if s.hub.b.Deliverable(s.hub.ctx, *p, ev) {
			out = append(out, ev)
		}
	}
	if len(out) == len(evs) {
		return evs
	}
	return out
}

// sendEvents sends evs (consecutive, after b.cursor) and advances the
// cursor after each frame: backport Bundles of up to MaxCount events, or
// one `ping <id>` per event for legacy. Only the events the socket may
// receive are sent (deliverable); the cursor passes the others.
func (s *session) sendEvents(b *binding, all []subscription.Event) bool {
	now := time.Now()
	last := all[len(all)-1].Number
	defer func() {
		// Past withheld events too, so they are not read again.
		if b.cursor < last && !s.closing.Load() {
			b.cursor = last
			b.publish()
		}
	}()
	evs := s.deliverable(all)
	if b.dialect == legacy {
		frame := []byte("ping " + b.sub.ID)
		for i, ev := range evs {
			if !s.write(frame) {
				return false
			}
			b.cursor, b.lastSend = ev.Number, now
			b.publish()
			s.hub.obs.Delivered(DialectLegacy, evs[i:i+1], time.Now())
		}
		return true
	}
	per := max(b.sub.MaxCount, 1)
	nevs := make([]fhir.NotificationEvent, 0, min(per, len(evs)))
	for len(evs) > 0 {
		// A Bundle holds up to max-count events and, like the batch, at
		// most MaxBatchBytes of them (always one): a frame is never larger
		// than the batch it comes from.
		n, bytes := 0, int64(0)
		for n < min(per, len(evs)) {
			if bytes += evs[n].Size(); n > 0 && bytes > s.hub.cfg.MaxBatchBytes {
				break
			}
			n++
		}
		chunk := evs[:n]
		evs = evs[len(chunk):]
		nevs = nevs[:0]
		for i := range chunk {
			nevs = append(nevs, subscription.NotificationEvent(chunk[i]))
		}
		last := chunk[len(chunk)-1].Number
		if !s.sendStatus(b, fhir.NotifyEvent, "active", last, nevs, "") {
			return false
		}
		b.cursor, b.lastSend = last, now
		b.publish()
		s.hub.obs.Delivered(DialectBackport, chunk, time.Now())
	}
	return true
}

// sendStatus builds and sends one notification Bundle for b; errText, when
// not empty, is its error (the reason for a status of error).
func (s *session) sendStatus(b *binding, typ, status string, since int64, evs []fhir.NotificationEvent, errText string) bool {
	st := fhir.Status{
		Subscription:     "Subscription/" + b.sub.ID,
		Topic:            b.sub.TopicURL,
		Status:           status,
		Type:             typ,
		EventsSinceStart: since,
		Events:           evs,
	}
	st.Relative = b.medplum
	if exp := s.authExpires(); !exp.IsZero() {
		st.Extensions = []fhir.Extension{fhir.AuthExpires(exp)}
	}
	if errText != "" {
		st.Errors = []fhir.CodeableConcept{{Text: errText}}
	}
	bp := s.hub.getBuf()
	defer s.hub.putBuf(bp)
	v, base := s.wireVersion(b), s.base
	if v == fhir.R5 {
		base = s.baseR5
	}
	out, err := fhir.AppendNotification((*bp)[:0], v, st, b.sub.Content, base, "", time.Now())
	if err != nil {
		// A bug (the inputs come from the engine): skip the frame, keep
		// the socket.
		s.logf(slog.LevelError, "build notification", "subscription_id", b.sub.ID, "err", err)
		return true
	}
	*bp = out
	return s.write(out)
}

// wireVersion is the FHIR version of b's notification Bundles: what the
// socket asked for on the upgrade, else what the subscription's
// channel.payload asks, else R4; a Medplum binding is never sent R4's
// status Parameters (its client reads a SubscriptionStatus), so R4 becomes
// R4B there. One model, one event log: only the wire differs.
func (s *session) wireVersion(b *binding) fhir.Version {
	v := fhir.R4
	switch {
	case s.versionAsked:
		v = s.version
	case b.sub.VersionAsked:
		v = b.sub.Version
	}
	if v == fhir.R4 && b.medplum {
		v = fhir.R4B
	}
	return v
}

// getBuf returns a buffer for building one notification.
func (h *Hub) getBuf() *[]byte {
	if bp, ok := h.bufs.Get().(*[]byte); ok {
		return bp
	}
	b := make([]byte, 0, 4096)
	return &b
}

// putBuf recycles a buffer unless it grew huge (one big resource must not
// pin memory for good).
func (h *Hub) putBuf(bp *[]byte) {
	if cap(*bp) <= 1<<20 {
		h.bufs.Put(bp)
	}
}
