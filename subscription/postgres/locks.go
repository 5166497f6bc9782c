package postgres

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// lockClass is the first half of the advisory lock keys of Store.Lock
// ("lock" in ASCII); the second half hashes the schema and the key, so
// that stores on different schemas (parallel tests) never wait for each
// other. A hash collision only serialises two unrelated callers.
const lockClass = 0x6c6f636b

// unlockTimeout bounds the release of the locks when the caller's context
// is already done.
const unlockTimeout = 5 * time.Second

// Lock takes session-level advisory locks on a connection of its own,
// held until unlock; see subscription.Store.Lock. A holder needs further
// connections to search and to write while it holds the lock, so at most
// half the pool's connections hold locks at once (lockSlots): the others
// stay free for the holders' own work, and holders cannot starve each
// other of connections.
func (s *Store) Lock(ctx context.Context, keys []string) (func(), error) {
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	select {
	case s.lockSlots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		<-s.lockSlots
		return nil, fmt.Errorf("lock: %w", translate(err))
	}
	var once sync.Once
	unlock := func() {
		once.Do(func() {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), unlockTimeout)
			defer cancel()
			if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock_all()`); err != nil {
				// A session that cannot say unlock must end: that
				// releases its locks.
				conn.Conn().Close(uctx)
			}
			conn.Release()
			<-s.lockSlots
		})
	}
	for _, k := range keys {
		if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, hashtext(coalesce(current_schema(), '') || ':' || $2))`, lockClass, k); err != nil {
			unlock()
			return nil, fmt.Errorf("lock: %w", translate(err))
		}
	}
	return unlock, nil
}
