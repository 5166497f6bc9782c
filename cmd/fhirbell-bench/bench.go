package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// codeSystem is the system of every code the generator writes and
// subscribes to.
const codeSystem = "http://bench.example"

// bench is one run of one scenario.
type bench struct {
	o      *options
	c      *client
	run    string // run id, part of every code
	rep    *Report
	stderr io.Writer

	mu      sync.Mutex
	created []string // subscription ids to delete at the end; guarded by mu
}

// logf prints a progress line on stderr.
func (b *bench) logf(format string, args ...any) {
	if !b.o.Quiet {
		fmt.Fprintf(b.stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

// code is a code of this run.
func (b *bench) code(s string) string { return b.run + "-" + s }

// subStatus is the status a Subscription is created with: Medplum wants
// active, the R4 spec and HAPI want requested.
func (b *bench) subStatus() string {
	if b.o.Dialect == dialectMedplum {
		return "active"
	}
	return "requested"
}

// createSubs creates n subscriptions with criteria(i), Setup at a time.
func (b *bench) createSubs(ctx context.Context, n int, criteria func(i int) string) ([]string, error) {
	ids := make([]string, n)
	var done atomic.Int64
	stop := b.progress("subscriptions created", &done, n)
	defer stop()
	err := parallel(ctx, n, b.o.Setup, func(ctx context.Context, i int) error {
		id, err := b.c.createSubscription(ctx, criteria(i), b.subStatus())
		if err != nil {
			return err
		}
		ids[i] = id
		b.mu.Lock()
		b.created = append(b.created, id)
		b.mu.Unlock()
		done.Add(1)
		return nil
	})
	return ids, err
}

// progress logs done/total every two seconds until stopped.
func (b *bench) progress(what string, done *atomic.Int64, total int) (stop func()) {
	if total < 2000 {
		return func() {}
	}
	t := time.NewTicker(2 * time.Second)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-t.C:
				b.logf("%s: %d/%d", what, done.Load(), total)
			case <-quit:
				return
			}
		}
	})
	return func() { t.Stop(); close(quit); wg.Wait() }
}

// cleanup deletes the subscriptions the run created, unless --keep.
func (b *bench) cleanup(ctx context.Context) {
	b.mu.Lock()
	ids := b.created
	b.created = nil
	b.mu.Unlock()
	if b.o.Keep || len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	b.logf("deleting %d subscriptions", len(ids))
	var failed atomic.Int64
	parallel(ctx, len(ids), b.o.Setup, func(ctx context.Context, i int) error {
		if b.c.deleteSubscription(ctx, ids[i]) != nil {
			failed.Add(1)
		}
		return nil
	})
	if n := failed.Load(); n > 0 {
		b.rep.problem("%d of %d subscriptions could not be deleted", n, len(ids))
	}
}

// serverRSS reads the server's resident memory, or -1 without --server-pid.
func (b *bench) serverRSS() int64 {
	if b.o.ServerPID <= 0 {
		return -1
	}
	v, err := readRSS(b.o.ServerPID)
	if err != nil {
		b.rep.problem("server memory: %v", err)
		return -1
	}
	return v
}

// genRSS reads the generator's resident memory in KiB (-1 if unknown).
func genRSS() int64 {
	v, err := readRSS(0)
	if err != nil {
		return -1
	}
	return v
}

// sources picks the source addresses for n sockets: --sources, or one per
// 25,000 sockets (an address has about 28,000 ephemeral ports).
func (b *bench) sources(n int) int {
	s := b.o.Sources
	if s == 0 {
		s = (n + 24_999) / 25_000
	}
	if s > 1 && !ipv4Target(b.o.FHIRBase) {
		b.rep.problem("the target is IPv6: one source address only")
		s = 1
	}
	return s
}

// raiseFiles raises the open-file limit for n sockets and records a
// shortfall as a problem (the run then stops where the limit bites).
func (b *bench) raiseFiles(n int) {
	need := uint64(n + b.o.Setup + b.o.Writers + 256)
	lim, err := raiseNoFile(need)
	b.rep.Params["open_file_limit"] = lim
	if err != nil {
		b.rep.problem("%v", err)
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// observation is the JSON of an Observation with the given code, subject
// and value, built by hand because writers build thousands per second.
func observation(code, subject string, value int) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"`...)
	b = append(b, codeSystem...)
	b = append(b, `","code":"`...)
	b = append(b, code...)
	b = append(b, `"}]},"subject":{"reference":"Patient/`...)
	b = append(b, subject...)
	b = append(b, `"},"valueQuantity":{"value":`...)
	b = strconv.AppendInt(b, int64(value), 10)
	b = append(b, `}}`...)
	return b
}
