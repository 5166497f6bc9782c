package postgres

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

// BenchmarkVersions pages type- and system-level history over 300,000
// resources of four types (about 600,000 versions, a tenth of them
// deletions), written straight into resource_versions. Each op is one
// page of 20. The plans it relies on are logged (go test -v).
//
//	FHIRBELL_TEST_DATABASE_URL=… go test -run '^$' -bench Versions -benchtime 200x ./subscription/postgres
func BenchmarkVersions(b *testing.B) {
	s := OpenTestStore(b)
	ctx := b.Context()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := s.pool.Exec(ctx, `
INSERT INTO resource_versions (type, id, version, last_updated, deleted, body)
SELECT (ARRAY['Patient','Observation','Encounter','Practitioner'])[1 + (g % 97 = 0)::int * 3 + (g % 97 <> 0)::int * (g % 3)], 'id' || g, v,
       $1::timestamptz + (g * 3 + v) * interval '1 ms', v = 3 AND g % 10 = 0,
       CASE WHEN v = 3 AND g % 10 = 0 THEN NULL ELSE json_build_object('resourceType', 'Basic', 'id', 'id' || g) END
FROM generate_series(1, 300000) g, generate_series(1, 1 + g % 3) v`, start)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE resource_versions`); err != nil {
		b.Fatal(err)
	}
	deep := subscription.HistoryCursor{At: start.Add(20 * time.Minute), Type: "Observation", ID: "id5", Version: 1}.Encode()
	deepType := subscription.HistoryCursor{At: start.Add(20 * time.Minute), Type: "Practitioner", ID: "id5", Version: 1}.Encode()
	for _, bc := range []struct {
		name string
		q    subscription.HistoryQuery
	}{
		{"system/first", subscription.HistoryQuery{}},
		{"system/deep", subscription.HistoryQuery{Cursor: deep}},
		{"system/since", subscription.HistoryQuery{Since: start.Add(10 * time.Minute), Cursor: deep}},
		{"type/first", subscription.HistoryQuery{Type: "Observation"}},
		{"type/rare-deep", subscription.HistoryQuery{Type: "Practitioner", Cursor: deepType}},
		{"type/at", subscription.HistoryQuery{Type: "Observation", AtLo: start.Add(8 * time.Minute), AtHi: start.Add(8*time.Minute + time.Second)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var cur *subscription.HistoryCursor
			if bc.q.Cursor != "" {
				c, _ := subscription.DecodeHistoryCursor(bc.q.Cursor, bc.q.Type)
				cur = &c
			}
			sql, args := historySQL(bc.q, cur, 21)
			rows, err := s.pool.Query(ctx, "EXPLAIN (COSTS OFF) "+sql, args...)
			if err != nil {
				b.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					b.Fatal(err)
				}
				plan = append(plan, line)
			}
			rows.Close()
			if !strings.Contains(strings.Join(plan, "\n"), "Index Scan Backward using resource_versions_") {
				b.Errorf("plan walks no history index:\n%s", strings.Join(plan, "\n"))
			}
			b.Logf("plan:\n%s", strings.Join(plan, "\n"))
			b.ResetTimer()
			for b.Loop() {
				page, err := s.Versions(ctx, bc.q, 20)
				if err != nil || len(page.Versions) != 20 {
					b.Fatal(fmt.Sprint(len(page.Versions), err))
				}
			}
		})
	}
}
