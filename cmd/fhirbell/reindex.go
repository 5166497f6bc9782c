package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/subscription/postgres"
)

// ReindexConfig is what `fhirbell reindex` takes besides the database.
type ReindexConfig struct {
	Restart bool // ignore the cursor an interrupted reindex left
	Batch   int  // resources per transaction
}

// errNoReindexInMemory is the answer of reindex without a database: the
// in-memory store extracts each resource's values as it is written and
// rebuilds nothing across restarts, because it keeps nothing.
var errNoReindexInMemory = errors.New("reindex: no database URL (set --database-url or FHIRBELL_DATABASE_URL): " +
	"only the Postgres search index can be rebuilt; the in-memory store indexes each resource as it is written and keeps nothing across restarts, so it never needs a reindex")

// reindex re-extracts the search index of every live resource on
// Postgres (postgres.Reindex), continuing an interrupted run unless
// --restart, with a progress bar on a terminal and progress lines
// otherwise. Servers on the same database keep serving meanwhile.
func reindex(ctx context.Context, cfg Config, logger *slog.Logger, stdout io.Writer) error {
	if cfg.DatabaseURL == "" {
		return errNoReindexInMemory
	}
	if cfg.Reindex.Batch < 1 || cfg.Reindex.Batch > 10_000 {
		return fmt.Errorf("reindex: --batch %d: want 1…10000", cfg.Reindex.Batch)
	}
	st, err := postgres.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("reindex: open database: %w", err)
	}
	defer st.Close()
	if _, err := postgres.IndexStale(ctx, st.Pool()); err != nil {
		return fmt.Errorf("reindex: %w (is the database migrated? fhirbell migrate applies the schema)", err)
	}
	p := newProgress(stdout, isTerminal(stdout))
	start := time.Now()
	err = st.Reindex(ctx, postgres.ReindexOptions{Full: true, Restart: cfg.Reindex.Restart, Batch: cfg.Reindex.Batch, Progress: p.update})
	p.finish()
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("reindex interrupted after %d of %d resources; run fhirbell reindex again to continue: %w", p.done, p.total, ctx.Err())
		}
		return fmt.Errorf("reindex: %w", err)
	}
	logger.Info("search index rebuilt", "resources", p.total, "seconds", time.Since(start).Round(time.Millisecond).Seconds())
	return nil
}

// isTerminal reports whether w is a character device (a terminal), where a
// redrawn progress bar makes sense.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress shows a reindex's advance: on a terminal one line redrawn in
// place (a bar, the count, the rate, the time left), elsewhere a plain
// line each time the whole percentage moves, so that a log gets at most
// about a hundred lines whatever the size.
type progress struct {
	w           io.Writer
	tty         bool
	start       time.Time
	first       int64 // done when the run started (a resumed run)
	done, total int64
	pct         int // last percentage printed as a plain line
	drawn       bool
}

func newProgress(w io.Writer, tty bool) *progress {
	return &progress{w: w, tty: tty, pct: -1, first: -1}
}

func (p *progress) update(done, total int64) {
	if p.first < 0 {
		p.first, p.start = done, time.Now()
		if done > 0 {
			fmt.Fprintf(p.w, "reindex: continuing an interrupted reindex after %d resources\n", done)
		}
	}
	p.done, p.total = done, total
	pct := 100
	if total > 0 {
		pct = int(done * 100 / total)
	}
	rate := float64(done-p.first) / max(time.Since(p.start).Seconds(), 1e-3)
	if !p.tty {
		if pct != p.pct {
			p.pct = pct
			fmt.Fprintf(p.w, "reindex: %3d%% %d/%d resources (%.0f/s)\n", pct, done, total, rate)
		}
		return
	}
	const width = 30
	fill := pct * width / 100
	left := "-"
	if rate > 0 && done < total {
		left = (time.Duration(float64(total-done)/rate) * time.Second).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r[%s%s] %3d%% %d/%d resources, %.0f/s, %s left\x1b[K",
		strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct, done, total, rate, left)
	p.drawn = true
}

// finish ends the redrawn line.
func (p *progress) finish() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
