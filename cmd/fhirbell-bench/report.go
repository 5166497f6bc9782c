package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Dist summarises a sample of durations, in milliseconds.
type Dist struct {
	N    int     `json:"n"`
	Min  float64 `json:"min_ms"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

// dist summarises ds (it sorts ds in place). Percentiles are nearest-rank.
func dist(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	slices.Sort(ds)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Dist{
		N:    len(ds),
		Min:  ms(ds[0]),
		Mean: ms(sum / time.Duration(len(ds))),
		P50:  ms(percentile(ds, 50)),
		P90:  ms(percentile(ds, 90)),
		P99:  ms(percentile(ds, 99)),
		Max:  ms(ds[len(ds)-1]),
	}
}

// percentile returns the nearest-rank p-th percentile of sorted ds.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// String is the table form: p50/p90/p99/max.
func (d Dist) String() string {
	if d.N == 0 {
		return "-"
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  max %s ms (n=%d, min %s)", f(d.P50), f(d.P90), f(d.P99), f(d.Max), d.N, f(d.Min))
}

// Host describes where the generator ran.
type Host struct {
	NumCPU     int    `json:"num_cpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GoVersion  string `json:"go_version"`
	LoadBefore string `json:"load_before"` // /proc/loadavg at the start
	LoadAfter  string `json:"load_after"`
}

// Report is the outcome of one run: what was asked, what was measured and
// what went wrong. It is printed as a table and written as JSON.
type Report struct {
	Scenario   string            `json:"scenario"`
	Target     string            `json:"target"`
	Dialect    string            `json:"dialect"`
	Started    time.Time         `json:"started"`
	Seconds    float64           `json:"seconds"`
	Host       Host              `json:"host"`
	Params     map[string]any    `json:"params"`
	Idle       *IdleResult       `json:"idle,omitempty"`
	FanOut     *FanOutResult     `json:"fanout,omitempty"`
	Throughput *ThroughputResult `json:"throughput,omitempty"`
	Latency    *LatencyResult    `json:"latency,omitempty"`
	RestHook   *RestHookResult   `json:"rest_hook,omitempty"`
	Failover   *FailoverResult   `json:"failover,omitempty"`
	Search     *SearchResult     `json:"search,omitempty"`
	Frames     map[string]int64  `json:"frames"`            // frames received by kind
	GenRSSKiB  int64             `json:"generator_rss_kib"` // the generator's own resident memory at the end of the measurement
	Complete   bool              `json:"complete"`          // every expected socket bound and notification arrived
	Problems   []string          `json:"problems,omitempty"`
}

func newReport(scenario string, o *options) *Report {
	return &Report{
		Scenario: scenario,
		Target:   o.FHIRBase,
		Dialect:  o.Dialect,
		Started:  time.Now().UTC().Truncate(time.Millisecond),
		Host: Host{
			NumCPU:     runtime.NumCPU(),
			GOMAXPROCS: runtime.GOMAXPROCS(0),
			GoVersion:  runtime.Version(),
			LoadBefore: loadAverage(),
		},
		Params: map[string]any{},
	}
}

// addFrames adds counts to the frames received.
func (r *Report) addFrames(counts map[string]int64) {
	if r.Frames == nil {
		r.Frames = map[string]int64{}
	}
	for k, v := range counts {
		r.Frames[k] += v
	}
}

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// rows is the table form of the report.
func (r *Report) rows() [][2]string {
	var rows [][2]string
	add := func(k string, v any) { rows = append(rows, [2]string{k, fmt.Sprint(v)}) }
	add("scenario", r.Scenario)
	add("target", r.Target+" ("+r.Dialect+")")
	keys := make([]string, 0, len(r.Params))
	for k := range r.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var ps []string
	for _, k := range keys {
		ps = append(ps, fmt.Sprintf("%s=%v", k, r.Params[k]))
	}
	add("params", strings.Join(ps, " "))
	switch {
	case r.Idle != nil:
		rows = append(rows, r.Idle.rows()...)
	case r.FanOut != nil:
		rows = append(rows, r.FanOut.rows()...)
	case r.Throughput != nil:
		rows = append(rows, r.Throughput.rows()...)
	case r.Latency != nil:
		rows = append(rows, r.Latency.rows()...)
	case r.RestHook != nil:
		rows = append(rows, r.RestHook.rows()...)
	case r.Failover != nil:
		rows = append(rows, r.Failover.rows()...)
	case r.Search != nil:
		rows = append(rows, r.Search.rows()...)
	}
	add("generator rss", fmt.Sprintf("%d KiB", r.GenRSSKiB))
	add("load (1/5/15 min)", r.Host.LoadBefore+" → "+r.Host.LoadAfter)
	add("complete", r.Complete)
	for _, p := range r.Problems {
		add("problem", p)
	}
	return rows
}

// printTable writes the report as a two-column table.
func (r *Report) printTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, row := range r.rows() {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	return tw.Flush()
}

// writeJSON writes the report to path.
func (r *Report) writeJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode report: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func kib(v int64) string {
	if v < 0 {
		return "-"
	}
	return strconv.FormatInt(v, 10) + " KiB"
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(a/b*100) / 100
}
