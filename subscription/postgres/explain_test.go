package postgres

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
)

// planNode is a node of EXPLAIN (FORMAT JSON).
type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	Plans        []planNode `json:"Plans"`
}

// walk calls f on n and every node under it.
func (n *planNode) walk(f func(*planNode)) {
	f(n)
	for i := range n.Plans {
		n.Plans[i].walk(f)
	}
}

// loadExplainData writes obs Observations over patients Patients (with an
// MRN identifier), ten codes, dates over ten years and a value each, in
// transactions of 500, then vacuums and analyses the tables (what
// autovacuum does after a bulk load): the planner then costs the searches
// on statistics and visibility like a loaded server's.
func loadExplainData(t *testing.T, s *Store, obs, patients int) {
	t.Helper()
	ctx := t.Context()
	var bodies []string
	for p := range patients {
		bodies = append(bodies, fmt.Sprintf(`{"resourceType":"Patient","id":"p%d","identifier":[{"system":"http://bench.example/mrn","value":"m%d"}],"name":[{"family":"F%d"}]}`, p, p, p%97))
	}
	for i := range obs {
		day := (i * 7919) % 3650
		bodies = append(bodies, fmt.Sprintf(`{"resourceType":"Observation","id":"o%d","status":"final",`+
			`"code":{"coding":[{"system":"http://loinc.org","code":"c%d"}]},"subject":{"reference":"Patient/p%d"},`+
			`"effectiveDateTime":"%d-%02d-%02dT10:00:00Z","valueQuantity":{"value":%d,"system":"http://unitsofmeasure.org","code":"mm[Hg]"}}`,
			i, i%10, (i*31)%patients, 2015+day/365, 1+day%365/31, 1+day%28, 40+(i*13)%160))
	}
	for len(bodies) > 0 {
		n := min(500, len(bodies))
		chunk := bodies[:n]
		bodies = bodies[n:]
		err := s.Tx(ctx, func(tx subscription.Tx) error {
			for _, b := range chunk {
				if _, _, err := tx.Put(ctx, mustParse(t, b), 0); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("load: %v", err)
		}
	}
	for _, table := range []string{"resource_heads", "resource_versions", "search_token", "search_string", "search_reference", "search_date", "search_number"} {
		if _, err := s.pool.Exec(ctx, "VACUUM (ANALYZE) "+table); err != nil {
			t.Fatalf("analyze %s: %v", table, err)
		}
	}
}

// TestSelectiveSearchPlans: on enough rows, with statistics, every
// selective search shape (the ones docs/benchmarks.md times) plans as
// index scans — no Seq Scan of the resources or of an index table — for
// the first page, for a later page (after a cursor in the middle of the
// default _id order, the case of a client paging through every hit), and
// for the exact count of _summary=count. It asserts on plan node types,
// never on timings.
func TestSelectiveSearchPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 20,000 resources")
	}
	s := OpenTestStore(t)
	loadExplainData(t, s, 20_000, 400)
	tests := []struct {
		typ, query string
		count      int
		index      bool // must use an index of a search_* table (not only resource_heads')
	}{
		{"Observation", "_id=o17", 20, false},
		{"Patient", "_id=p1,p2,p3,p4,p5", 1000, false}, // what _include asks
		{"Observation", "subject=Patient/p17", 20, true},
		{"Observation", "subject=Patient/p17&code=http://loinc.org|c7", 20, true},
		{"Observation", "code=http://loinc.org|c3&date=ge2024-06-01", 20, true},
		{"Observation", "code=http://loinc.org|c3", 1000, true}, // paging every hit
		{"Observation", "_sort=-date", 20, true},
		{"Observation", "subject=Patient/p17&_sort=-date", 20, true},
		{"Observation", "subject.identifier=http://bench.example/mrn|m17", 20, true},
		{"Observation", "value-quantity=gt195", 20, true},
		{"Observation", "code=http://loinc.org|c3&_summary=count", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"?"+tt.query, func(t *testing.T) {
			params, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			q, err := search.ParseQuery(tt.typ, params)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			type stmt struct {
				what string
				sql  string
				args []any
			}
			var stmts []stmt
			if q.Summary == "count" {
				sql, args, err := countSQL(q)
				if err != nil {
					t.Fatal(err)
				}
				stmts = append(stmts, stmt{"count", sql, args})
			} else {
				sql, args, _, err := phaseSQL(q, 0, nil, false, tt.count+1)
				if err != nil {
					t.Fatal(err)
				}
				stmts = append(stmts, stmt{"page", sql, args})
				if q.SortKeys()[0].Param == "_id" {
					// "o5" sorts among the first tenth of the ids ("o0" … "o9999").
					cur := &search.Cursor{Keys: []search.CursorKey{{V: "o5"}}, ID: "o5"}
					sql, args, _, err = phaseSQL(q, 0, cur, false, tt.count+1)
					if err != nil {
						t.Fatal(err)
					}
					stmts = append(stmts, stmt{"later page", sql, args})
				}
			}
			for _, st := range stmts {
				var out []byte
				if err := s.pool.QueryRow(t.Context(), "EXPLAIN (FORMAT JSON) "+st.sql, st.args...).Scan(&out); err != nil {
					t.Fatalf("%s: explain: %v\n%s", st.what, err, st.sql)
				}
				var plans []struct {
					Plan planNode `json:"Plan"`
				}
				if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
					t.Fatalf("%s: decode plan: %v", st.what, err)
				}
				var seq []string
				searchIndex := false
				plans[0].Plan.walk(func(n *planNode) {
					if n.NodeType == "Seq Scan" && (strings.HasPrefix(n.RelationName, "search_") || strings.HasPrefix(n.RelationName, "resource_")) {
						seq = append(seq, n.RelationName)
					}
					if strings.HasPrefix(n.IndexName, "search_") {
						searchIndex = true
					}
				})
				if len(seq) > 0 || (tt.index && !searchIndex) {
					t.Errorf("%s plans Seq Scans on %v (search index used: %v):\n%s\n%s", st.what, seq, searchIndex, st.sql, out)
				}
			}
		})
	}
}
