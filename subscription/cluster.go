package subscription

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Change is what one committed transaction changed that other nodes of a
// cluster must learn: the events it appended (for wake-ups) and the ids of
// the Subscription and SubscriptionTopic resources it created, updated or
// deleted (for their matchers and topic sets).
type Change struct {
	Events        []EventRef
	Subscriptions []string // Subscription ids created, updated or deleted
	Topics        []string // SubscriptionTopic ids created, updated or deleted
	// Sent is when the sending node was handed the oldest of these
	// changes, as it reported it (zero: unknown); set by receivers only.
	Sent time.Time
}

// Empty reports whether c carries nothing.
func (c Change) Empty() bool {
	return len(c.Events) == 0 && len(c.Subscriptions) == 0 && len(c.Topics) == 0
}

// Broadcaster tells the other nodes of a cluster about committed changes.
// The Service calls Broadcast after the transaction has committed and after
// its own in-memory state and its Publisher were updated, never inside the
// transaction. Broadcast must return quickly whatever the state of the
// network or database (queue and send later, or drop): every receiver must
// also discover changes without it (polling), so a lost broadcast delays
// delivery but never loses it. Broadcast must not keep c's slices.
type Broadcaster interface {
	Broadcast(c Change)
}

// SetBroadcaster sets who tells other nodes about committed changes
// (default: nobody, a single node). It is a setter, not an Option, because
// the Broadcaster is built from the Service's store. Call it before the
// Service takes writes (before Load).
func (s *Service) SetBroadcaster(b Broadcaster) { s.cluster.bc = b }

// clusterState is the Service's part in a cluster.
type clusterState struct {
	bc Broadcaster // set before the Service takes writes
	// mu serialises Refresh and Reload, so that two of them never
	// interleave their reads and updates of one resource. Local writes do
	// not take it; see Refresh for why memory still converges.
	mu sync.Mutex
}

// broadcast hands what the committed transaction of w changed to the
// Broadcaster, if any.
func (s *Service) broadcast(w *Writer) {
	bc := s.cluster.bc
	if bc == nil {
		return
	}
	c := Change{Events: w.refs, Subscriptions: w.subIDs, Topics: w.topicIDs}
	if c.Empty() {
		return
	}
	bc.Broadcast(c)
}

// noteChanged records id in *ids once.
func noteChanged(ids *[]string, id string) {
	if !slices.Contains(*ids, id) {
		*ids = append(*ids, id)
	}
}

// Refresh re-reads the named SubscriptionTopic and Subscription resources
// from the store and makes memory agree with it: a topic that is stored
// and valid is added (replacing the one with its id or URL), otherwise it
// is removed; a subscription that is stored, valid and active is put into
// the index, otherwise it is removed. Topics are refreshed first, since
// subscriptions are validated against them. Unknown ids are fine (they are
// removed, which is a no-op).
//
// A node calls it for the changes another node broadcast. Because it
// reads the store rather than trusting the message, it is idempotent and
// order-insensitive: whatever interleaving of Refresh calls and local
// writes, the last Refresh of an id leaves memory equal to the stored
// version, and every write is followed by a broadcast (which reaches the
// writing node too) and so by such a Refresh.
func (s *Service) Refresh(ctx context.Context, subIDs, topicIDs []string) error {
	s.cluster.mu.Lock()
	defer s.cluster.mu.Unlock()
	var errs []error
	topicsChanged := false
	for _, id := range topicIDs {
		changed, err := s.refreshTopic(ctx, id)
		if err != nil {
			errs = append(errs, err)
		}
		topicsChanged = topicsChanged || changed
	}
	if topicsChanged {
		s.reindex()
	}
	for _, id := range subIDs {
		if err := s.refreshSubscription(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// refreshTopic brings topic id in memory in line with the store and
// reports whether the topic set changed.
func (s *Service) refreshTopic(ctx context.Context, id string) (bool, error) {
	if builtinID(id) {
		return false, nil // never changes (writes to it are refused)
	}
	r, err := s.store.Read(ctx, "SubscriptionTopic", id)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrGone):
		return s.removeTopicID(id, ""), nil
	case err != nil:
		return false, fmt.Errorf("refresh topic %s: %w", id, err)
	}
	t, err := ParseTopic(r.Body)
	if err != nil {
		s.logger.Warn("stored topic no longer valid; removed", "topic_id", id, "err", err)
		return s.removeTopicID(id, ""), nil
	}
	if old, ok := s.topics.Topic(t.URL); ok && old.ID != id && builtinID(old.ID) {
		// Validation refuses this on write; a stored one must not shadow a
		// built-in topic either.
		s.logger.Warn("stored topic claims a built-in canonical; skipped", "topic_id", id, "topic", t.URL)
		return s.removeTopicID(id, ""), nil
	}
	t.ID = id
	s.removeTopicID(id, t.URL) // its URL may have changed
	s.topics.Add(t)
	return true, nil
}

// removeTopicID removes every topic with id id whose URL is not keep and
// reports whether it removed any.
func (s *Service) removeTopicID(id, keep string) bool {
	removed := false
	for _, t := range s.topics.All() {
		if t.ID == id && t.URL != keep {
			s.topics.Remove(t.URL)
			removed = true
		}
	}
	return removed
}

// refreshSubscription brings subscription id in memory in line with the
// store.
func (s *Service) refreshSubscription(ctx context.Context, id string) error {
	r, err := s.store.Read(ctx, "Subscription", id)
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrGone):
		s.index.remove(id)
		return nil
	case err != nil:
		return fmt.Errorf("refresh subscription %s: %w", id, err)
	}
	sub, err := ParseSubscription(r.Body, s.topics, s.now())
	if err != nil {
		s.logger.Warn("stored subscription no longer valid; not active here", "subscription_id", id, "err", err)
		s.index.remove(id)
		return nil
	}
	sub.ID = id
	if sub.live() {
		s.index.put(sub, s.topics)
	} else {
		s.index.remove(id)
	}
	return nil
}

// Reload re-reads every SubscriptionTopic and Subscription from the store
// and makes memory equal to it, removals included: the full catch-up a node
// does when it may have missed broadcasts (its listener reconnected, or a
// broadcast said too much had changed to list). Built-in topics are always
// kept. On an error memory is left as it was for whatever could not be
// read.
func (s *Service) Reload(ctx context.Context) error {
	s.cluster.mu.Lock()
	defer s.cluster.mu.Unlock()
	all := func([]byte) (bool, error) { return true, nil }
	stored, err := s.store.Search(ctx, "SubscriptionTopic", all)
	if err != nil {
		return fmt.Errorf("reload topics: %w", err)
	}
	keep := map[string]bool{}
	for _, t := range BuiltinTopics() {
		keep[t.URL] = true
	}
	var topics []*Topic
	for _, r := range stored {
		if builtinID(r.ID) {
			continue
		}
		t, err := ParseTopic(r.Body)
		if err != nil {
			s.logger.Warn("stored topic no longer valid; skipped", "topic_id", r.ID, "err", err)
			continue
		}
		if keep[t.URL] {
			continue // a built-in canonical wins
		}
		t.ID = r.ID
		keep[t.URL] = true
		topics = append(topics, t)
	}
	for _, t := range s.topics.All() {
		if !keep[t.URL] {
			s.topics.Remove(t.URL)
		}
	}
	for _, t := range topics {
		s.topics.Add(t)
	}
	subs, err := s.store.Search(ctx, "Subscription", all)
	if err != nil {
		s.reindex()
		return fmt.Errorf("reload subscriptions: %w", err)
	}
	now := s.now()
	active := map[string]bool{}
	for _, r := range subs {
		sub, err := ParseSubscription(r.Body, s.topics, now)
		if err != nil {
			s.logger.Warn("stored subscription no longer valid; skipped", "subscription_id", r.ID, "err", err)
			continue
		}
		sub.ID = r.ID
		if !sub.live() {
			continue
		}
		active[r.ID] = true
		s.index.put(sub, s.topics)
	}
	for _, sub := range s.index.all() {
		if !active[sub.ID] {
			s.index.remove(sub.ID)
		}
	}
	s.logger.Debug("subscriptions reloaded", "topics", len(s.topics.All()), "active_subscriptions", len(active))
	return nil
}
