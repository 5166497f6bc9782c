package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestMetricsDocumentedAndOnDashboard: every fhirbell_ metric a node
// exposes is explained in docs/operations.md, and every fhirbell_ metric
// the Grafana dashboard queries exists (the pool's only on Postgres, so
// those are checked against the docs).
func TestMetricsDocumentedAndOnDashboard(t *testing.T) {
	s := mustRunServe(t, nil, "--cluster-report-interval", "100ms")
	waitUntil(t, "the first node report", func() bool {
		return strings.Contains(getText(t, s.URL+"/metrics"), "fhirbell_cluster_nodes ")
	})
	exposed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (fhirbell_\w+) (\w+)$`).FindAllStringSubmatch(getText(t, s.URL+"/metrics"), -1) {
		exposed[m[1]] = true
		if m[2] == "histogram" {
			for _, suf := range []string{"_bucket", "_sum", "_count"} {
				exposed[m[1]+suf] = true
			}
		}
	}
	if len(exposed) < 20 {
		t.Fatalf("only %d fhirbell metrics exposed", len(exposed))
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := func(name string) bool {
		for _, suf := range []string{"", "_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suf); ok && strings.Contains(string(doc), "`"+base+"`") {
				return true
			}
		}
		// A table row may list several pool counters by their suffix.
		rest, pool := strings.CutPrefix(name, "fhirbell_pg_pool")
		return pool && strings.Contains(string(doc), "`"+rest+"`")
	}
	for name := range exposed {
		if strings.HasSuffix(name, "_bucket") || strings.HasSuffix(name, "_sum") || strings.HasSuffix(name, "_count") {
			continue
		}
		if !documented(name) {
			t.Errorf("%s is exposed but not explained in docs/operations.md", name)
		}
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	raw, err := os.ReadFile("../../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("docs/grafana-dashboard.json: %v", err)
	}
	used := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, name := range regexp.MustCompile(`fhirbell_\w+`).FindAllString(tg.Expr, -1) {
				used++
				switch {
				case exposed[name]:
				case strings.HasPrefix(name, "fhirbell_pg_pool_") && documented(name):
				default:
					t.Errorf("dashboard panel %q queries %s, which no node exposes", p.Title, name)
				}
			}
		}
	}
	if used < 20 {
		t.Errorf("the dashboard queries only %d fhirbell series", used)
	}
}
