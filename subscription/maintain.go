package subscription

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
)

// Maintain runs one pass of housekeeping: it turns off the subscriptions
// whose end has passed (storing a new version with status off), deletes
// events older than the retention and tokens that have expired. Several
// nodes may run it at once: each step is idempotent.
func (s *Service) Maintain(ctx context.Context) error {
	now := s.now()
	var errs []error
	for _, sub := range s.index.all() {
		if !sub.Expired(now) {
			continue
		}
		if err := s.turnOff(ctx, sub.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if n, err := s.store.PruneEvents(ctx, now.Add(-s.retention)); err != nil {
		s.maint.pruneFailures.Add(1)
		errs = append(errs, fmt.Errorf("prune events: %w", err))
	} else {
		s.maint.pruneRuns.Add(1)
		s.maint.pruned.Add(n)
		if n > 0 {
			s.logger.Info("events pruned", "count", n, "retention", s.retention.String())
		}
	}
	if _, err := s.store.PruneTokens(ctx, now); err != nil {
		errs = append(errs, fmt.Errorf("prune tokens: %w", err))
	}
	return errors.Join(errs...)
}

// maintStats counts what Maintain did, for metrics.
type maintStats struct {
	pruneRuns, pruneFailures, pruned atomic.Int64
}

// MaintenanceStats is what Maintain has done since the Service started.
type MaintenanceStats struct {
	PruneRuns     int64 // event prunes that succeeded
	PruneFailures int64 // event prunes that failed
	EventsPruned  int64 // events they deleted
}

// MaintenanceStats returns the counts of Maintain's event prunes.
func (s *Service) MaintenanceStats() MaintenanceStats {
	return MaintenanceStats{PruneRuns: s.maint.pruneRuns.Load(), PruneFailures: s.maint.pruneFailures.Load(), EventsPruned: s.maint.pruned.Load()}
}

// turnOff stores the current version of Subscription id again: validation
// gives a subscription past its end the status off, and the commit takes it
// out of the index.
func (s *Service) turnOff(ctx context.Context, id string) error {
	err := s.Transaction(ctx, func(w *Writer) error {
		cur, err := w.Read(ctx, "Subscription", id)
		if err != nil {
			return err
		}
		r, err := fhir.ParseResource(cur.Body)
		if err != nil {
			return err
		}
		if st, _ := r.Obj.String("status"); st == StatusOff {
			return nil
		}
		_, _, err = w.Update(ctx, r, cur.VersionID)
		return err
	})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrGone) || errors.Is(err, ErrPreconditionFailed) {
		s.index.remove(id) // deleted or changed meanwhile: the change itself refiled it
		return nil
	}
	if err != nil {
		return fmt.Errorf("turn off subscription %s: %w", id, err)
	}
	s.logger.Info("subscription ended", "subscription_id", id)
	return nil
}

// RunMaintenance calls Maintain every interval until ctx ends, logging
// failures; it returns when ctx is done.
func (s *Service) RunMaintenance(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Maintain(ctx); err != nil && ctx.Err() == nil {
				s.logger.Error("maintenance", "err", err)
			}
		}
	}
}
