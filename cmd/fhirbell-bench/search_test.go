package main

import (
	"os"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
)

// checkSearch checks a small search run: every resource loaded, every
// shape asked and answered right (the scenario verifies each answer), the
// paging run saw every hit of its code.
func checkSearch(t *testing.T, r *Report, obs, patients int) {
	t.Helper()
	s := r.Search
	if s == nil || s.Loaded != int64(obs+patients) || s.LoadPerSec <= 0 || s.LoadHTTP.N == 0 {
		t.Fatalf("search = %+v, want %d resources loaded", s, obs+patients)
	}
	if len(s.Queries) != 10 || s.WrongAnswers != 0 {
		t.Fatalf("search queries = %d, wrong answers %d (%s); want 10 shapes, none wrong", len(s.Queries), s.WrongAnswers, s.FirstWrongText)
	}
	for _, q := range s.Queries {
		if q.Time.N != s.Repeat || q.Example == "" {
			t.Errorf("query %s = %+v, want %d timed answers", q.Name, q, s.Repeat)
		}
	}
	if p := s.Paging; p == nil || p.Hits == 0 || p.Pages == 0 || p.PageTimes.N != p.Runs*p.Pages {
		t.Errorf("paging = %+v, want hits over pages", p)
	}
	if !r.Complete {
		t.Errorf("search incomplete: %q", r.Problems)
	}
}

// TestSearchScenario runs the search scenario at a tiny size on the
// in-memory server (a page of 20 spans several Bundles of 100).
func TestSearchScenario(t *testing.T) {
	base, _ := startServer(t)
	r, table, err := runJSON(t, "search", "--fhir-base", base, "--observations", "450", "--patients", "9", "--bundle", "100", "--repeat", "4")
	if err != nil {
		t.Fatalf("search: %v\n%s", err, table)
	}
	checkSearch(t, r, 450, 9)
	if r.Search.Index != nil {
		t.Errorf("index size without --database-url: %+v", r.Search.Index)
	}
}

// TestSearchScenarioPostgres runs it against a server on a Postgres
// schema of its own and reads the index size.
func TestSearchScenarioPostgres(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	startServer(t) // builds the binary
	cmd, base, err := launch(server.bin, dsn)
	if cmd != nil {
		t.Cleanup(func() {
			cmd.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
			}
		})
	}
	if err != nil {
		t.Fatalf("start fhirbell on Postgres: %v", err)
	}
	r, table, err := runJSON(t, "search", "--fhir-base", base, "--database-url", dsn, "--observations", "300", "--patients", "6", "--bundle", "100", "--repeat", "3")
	if err != nil {
		t.Fatalf("search: %v\n%s", err, table)
	}
	checkSearch(t, r, 300, 6)
	ix := r.Search.Index
	if ix == nil || ix.Resources < 306 || ix.Rows < 306 || ix.BytesPerResource <= 0 || len(ix.Tables) != 5 || !ix.Analyzed {
		t.Fatalf("index = %+v, want at least the 306 loaded resources live, in 5 analysed tables", ix)
	}
}

// TestPopulation: the same run id gives the same data, and the counts the
// checks rely on add up.
func TestPopulation(t *testing.T) {
	a, b := newPopulation("0123abcd", 2000, 40), newPopulation("0123abcd", 2000, 40)
	if len(a.obs) != 2000 || a.obs[1999] != b.obs[1999] {
		t.Fatal("the same run id gave other data")
	}
	var perCode, perPat, perPC int
	for _, n := range a.perCode {
		perCode += n
	}
	for _, n := range a.perPat {
		perPat += int(n)
	}
	for _, n := range a.perPC {
		perPC += int(n)
	}
	if perCode != 2000 || perPat != 2000 || perPC != 2000 {
		t.Fatalf("counts per code/patient/both = %d/%d/%d, want 2000 each", perCode, perPat, perPC)
	}
	for _, o := range a.obs {
		c := benchCodes[o.code]
		if o.value < c.lo || o.value > c.hi || o.date < dateFrom.Unix() || o.date >= dateFrom.Unix()+dateSpan {
			t.Fatalf("observation %+v out of its ranges", o)
		}
	}
	if got := string(a.obsJSON(nil, genObs{patient: 3, value: 1234, date: dateFrom.Unix(), code: 0})); got != `{"resourceType":"Observation","status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}]},"subject":{"reference":"Patient/0123abcd-p3"},"effectiveDateTime":"2015-01-01T00:00:00Z","valueQuantity":{"value":123.4,"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}` {
		t.Errorf("obsJSON = %s", got)
	}
}
