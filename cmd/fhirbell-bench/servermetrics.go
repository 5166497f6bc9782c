package main

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// serverText fetches a fhirbell node's /metrics (the root of its FHIR
// base), or nil when it has none.
func serverText(ctx context.Context, c *client) []byte {
	u, err := url.Parse(c.base)
	if err != nil {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.Scheme+"://"+u.Host+"/metrics", nil)
	if err != nil {
		return nil
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != 200 {
		return nil
	}
	return b
}

// histogram is the cumulative count per upper bound (le) of one
// Prometheus histogram, summed over its label values and over nodes.
type histogram map[float64]float64

// serverHistogram reads histogram name from every node; nil when a node
// does not expose it.
func serverHistogram(ctx context.Context, clients []*client, name string) histogram {
	h := histogram{}
	for _, c := range clients {
		b := serverText(ctx, c)
		if b == nil {
			return nil
		}
		found := false
		for line := range strings.SplitSeq(string(b), "\n") {
			if !strings.HasPrefix(line, name+"_bucket{") {
				continue
			}
			i := strings.Index(line, `le="`)
			j := strings.LastIndexByte(line, ' ')
			if i < 0 || j < i {
				continue
			}
			leText := line[i+4:]
			leText = leText[:strings.IndexByte(leText, '"')]
			le, err1 := strconv.ParseFloat(leText, 64)
			v, err2 := strconv.ParseFloat(line[j+1:], 64)
			if err1 != nil || err2 != nil {
				continue
			}
			h[le] += v
			found = true
		}
		if !found {
			return nil
		}
	}
	return h
}

// minus is h − old, bucket by bucket.
func (h histogram) minus(old histogram) histogram {
	out := histogram{}
	for le, v := range h {
		out[le] = v - old[le]
	}
	return out
}

// quantile returns the upper bound (in milliseconds) of the bucket in
// which the q-th quantile falls, and the number of observations; +Inf
// when it is in the last bucket, 0 with no observation.
func (h histogram) quantile(q float64) (ms float64, n float64) {
	les := make([]float64, 0, len(h))
	for le := range h {
		les = append(les, le)
	}
	slices.Sort(les)
	if len(les) == 0 {
		return 0, 0
	}
	n = h[les[len(les)-1]]
	if n <= 0 {
		return 0, 0
	}
	for _, le := range les {
		if h[le] >= q*n {
			if math.IsInf(le, 1) {
				return le, n
			}
			return le * 1000, n
		}
	}
	return math.Inf(1), n
}
