package subscription

import (
	"context"
	"fmt"
)

// StatusInfo is what $status, $events and the WebSocket handshakes report
// about a subscription.
type StatusInfo struct {
	ID       string
	Status   string // requested | active | error | off
	Error    string // Subscription.error
	Kind     Kind
	TopicURL string // the topic canonical, for KindTopic
	Content  string // the payload content level
	Head     EventHead
	// Delivery is the rest-hook delivery record (nil for other channels,
	// or when the store keeps none).
	Delivery *DeliveryState
}

// Status reads Subscription id and its event log's head. A stored
// Subscription that no longer validates (its topic was deleted) is reported
// with status error and the reason.
func (s *Service) Status(ctx context.Context, id string) (StatusInfo, error) {
	r, err := s.Read(ctx, "Subscription", id)
	if err != nil {
		return StatusInfo{}, fmt.Errorf("read Subscription/%s: %w", id, err)
	}
	info := StatusInfo{ID: id}
	sub, perr := ParseSubscription(r.Body, s.topics, s.now())
	if perr != nil {
		info.Status, info.Error, info.Content = StatusError, perr.Error(), ContentEmpty
	} else {
		info.Status, info.Error, info.Kind, info.TopicURL, info.Content = sub.Status, sub.Error, sub.Kind, sub.TopicURL, sub.Content
		if _, live := s.index.get(id); !live && sub.live() {
			info.Status = StatusOff // past its end, not yet rewritten by Maintain
		}
	}
	heads, err := s.EventHeads(ctx, []string{id})
	if err != nil {
		return StatusInfo{}, err
	}
	info.Head = heads[id]
	if perr == nil && sub.ChannelType == ChannelRestHook {
		if info.Delivery, err = s.deliveryState(ctx, id); err != nil {
			return StatusInfo{}, err
		}
	}
	return info, nil
}

// SubscriptionIDs returns the ids of every stored, non-deleted
// Subscription the caller may see, in the store's order.
func (s *Service) SubscriptionIDs(ctx context.Context) ([]string, error) {
	rs, err := s.store.Search(ctx, "Subscription", func(body []byte) (bool, error) { return visible(ctx, "Subscription", body), nil })
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	return ids, nil
}
