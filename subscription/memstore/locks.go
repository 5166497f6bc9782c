package memstore

import (
	"context"
	"slices"
	"sync"
)

// keyLocks are the named locks of Store.Lock: one process holds them all,
// so a map of held keys, each with a channel closed on release, is enough.
type keyLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{} // guarded by mu
}

// Lock takes each key in sorted order; see subscription.Store.Lock.
func (s *Store) Lock(ctx context.Context, keys []string) (func(), error) {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	l := &s.locks
	var taken []string
	release := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, k := range taken {
			close(l.held[k])
			delete(l.held, k)
		}
	}
	for _, k := range keys {
		for {
			l.mu.Lock()
			if l.held == nil {
				l.held = map[string]chan struct{}{}
			}
			ch, busy := l.held[k]
			if !busy {
				l.held[k] = make(chan struct{})
			}
			l.mu.Unlock()
			if !busy {
				taken = append(taken, k)
				break
			}
			select {
			case <-ch:
			case <-ctx.Done():
				release()
				return nil, ctx.Err()
			}
		}
	}
	var once sync.Once
	return func() { once.Do(release) }, nil
}
