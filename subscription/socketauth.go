package subscription

// ResourceTypesOf returns the resource types whose writes may notify sub,
// over the Service's current topics (sub.ResourceTypes). A WebSocket
// session re-authenticated in band checks that its new principal may
// still read each of them before it keeps the binding.
func (s *Service) ResourceTypesOf(sub *Subscription) []string {
	return sub.ResourceTypes(s.topics)
}
