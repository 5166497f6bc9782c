package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The search scenario loads a population of Patients and Observations
// through transaction Bundles and then times a fixed set of searches, one
// at a time, each repeated with other patients and codes. Every answer is
// checked (counts the generator knows, the order a sort promises, the
// condition a filter states), so a fast wrong answer does not pass.

// mrnSystem is the identifier system of the generated Patients.
const mrnSystem = "http://bench.example/mrn"

// benchCode is one LOINC code the generator writes, with its category and
// a plausible UCUM range for valueQuantity (in tenths, to keep one decimal).
type benchCode struct {
	code, display, category, unit string
	lo, hi                        int32 // value range in tenths of the unit
}

// benchCodes are ten common vital signs and labs; Observations spread
// evenly over them, so a code has about N/10 hits.
var benchCodes = []benchCode{
	{"8867-4", "Heart rate", "vital-signs", "/min", 450, 1300},
	{"8480-6", "Systolic blood pressure", "vital-signs", "mm[Hg]", 900, 1800},
	{"8462-4", "Diastolic blood pressure", "vital-signs", "mm[Hg]", 500, 1100},
	{"8310-5", "Body temperature", "vital-signs", "Cel", 355, 405},
	{"29463-7", "Body weight", "vital-signs", "kg", 30, 1500},
	{"8302-2", "Body height", "vital-signs", "cm", 450, 2000},
	{"9279-1", "Respiratory rate", "vital-signs", "/min", 100, 300},
	{"2708-6", "Oxygen saturation in Arterial blood", "vital-signs", "%", 850, 1000},
	{"2339-0", "Glucose [Mass/volume] in Blood", "laboratory", "mg/dL", 600, 3000},
	{"39156-5", "Body mass index (BMI) [Ratio]", "vital-signs", "kg/m2", 150, 450},
}

// The effective dates spread over ten years.
var (
	dateFrom = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	dateSpan = int64(10 * 365 * 24 * 3600) // seconds
)

// genObs is one generated Observation, compact: 1M of them fit in 24 MB.
type genObs struct {
	patient int32
	value   int32 // tenths
	date    int64 // unix seconds
	code    uint8
	status  uint8
}

var obsStatuses = []string{"final", "amended", "preliminary"}

// population is the generated data set and what the generator knows of it.
type population struct {
	run      string
	patients int
	obs      []genObs
	perPat   []int32 // observations per patient
	perPC    []int32 // per patient × code
	perCode  []int
	maxDate  int64
}

// newPopulation generates n Observations for p Patients from the run id
// (the same run id gives the same data).
func newPopulation(run string, n, p int) *population {
	seed, _ := strconv.ParseUint(run, 16, 64) // run ids are hex
	rng := rand.New(rand.NewPCG(seed, 0x5ea4c4))
	pop := &population{run: run, patients: p, obs: make([]genObs, n), perPat: make([]int32, p),
		perPC: make([]int32, p*len(benchCodes)), perCode: make([]int, len(benchCodes))}
	for i := range pop.obs {
		c := rng.IntN(len(benchCodes))
		bc := benchCodes[c]
		st := 0
		switch r := rng.IntN(100); {
		case r >= 97:
			st = 2
		case r >= 90:
			st = 1
		}
		o := genObs{patient: int32(rng.IntN(p)), code: uint8(c), status: uint8(st),
			value: bc.lo + rng.Int32N(bc.hi-bc.lo+1), date: dateFrom.Unix() + rng.Int64N(dateSpan)}
		pop.obs[i] = o
		pop.perPat[o.patient]++
		pop.perPC[int(o.patient)*len(benchCodes)+c]++
		pop.perCode[c]++
		pop.maxDate = max(pop.maxDate, o.date)
	}
	return pop
}

func (p *population) patientID(i int) string { return p.run + "-p" + strconv.Itoa(i) }

// patientJSON is Patient i with an MRN identifier.
func (p *population) patientJSON(i int) []byte {
	b, _ := json.Marshal(map[string]any{
		"resourceType": "Patient", "id": p.patientID(i),
		"identifier": []any{map[string]any{"system": mrnSystem, "value": p.run + "-" + strconv.Itoa(i)}},
		"name":       []any{map[string]any{"family": "Bench" + strconv.Itoa(i%997), "given": []string{"Pat" + strconv.Itoa(i)}}},
		"gender":     []string{"female", "male"}[i%2],
		"birthDate":  fmt.Sprintf("%04d-%02d-%02d", 1930+i%80, 1+i%12, 1+i%28),
	})
	return b
}

// obsJSON is the JSON of generated Observation o, built by hand (the load
// builds hundreds of thousands).
func (p *population) obsJSON(dst []byte, o genObs) []byte {
	c := benchCodes[o.code]
	dst = append(dst, `{"resourceType":"Observation","status":"`...)
	dst = append(dst, obsStatuses[o.status]...)
	dst = append(dst, `","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"`...)
	dst = append(dst, c.category...)
	dst = append(dst, `"}]}],"code":{"coding":[{"system":"http://loinc.org","code":"`...)
	dst = append(dst, c.code...)
	dst = append(dst, `","display":"`...)
	dst = append(dst, c.display...)
	dst = append(dst, `"}]},"subject":{"reference":"Patient/`...)
	dst = append(dst, p.patientID(int(o.patient))...)
	dst = append(dst, `"},"effectiveDateTime":"`...)
	dst = time.Unix(o.date, 0).UTC().AppendFormat(dst, time.RFC3339)
	dst = append(dst, `","valueQuantity":{"value":`...)
	dst = append(dst, tenths(o.value)...)
	dst = append(dst, `,"unit":"`...)
	dst = append(dst, c.unit...)
	dst = append(dst, `","system":"http://unitsofmeasure.org","code":"`...)
	dst = append(dst, c.unit...)
	dst = append(dst, `"}}`...)
	return dst
}

func tenths(v int32) string {
	return strconv.FormatInt(int64(v/10), 10) + "." + strconv.FormatInt(int64(v%10), 10)
}

// SearchResult is the search scenario.
type SearchResult struct {
	Observations   int            `json:"observations"`
	Patients       int            `json:"patients"`
	BundleSize     int            `json:"bundle_size"`
	Loaders        int            `json:"loaders"`
	Loaded         int64          `json:"loaded"` // resources written (Patients and Observations)
	LoadSeconds    float64        `json:"load_seconds"`
	LoadPerSec     float64        `json:"load_resources_per_sec"`
	LoadHTTP       Dist           `json:"load_bundle_http"` // one transaction's round trip
	Repeat         int            `json:"repeat"`
	Queries        []*QueryResult `json:"queries"`
	Paging         *PagingResult  `json:"paging,omitempty"`
	Index          *IndexSize     `json:"index,omitempty"`
	WrongAnswers   int            `json:"wrong_answers"`
	FirstWrongText string         `json:"first_wrong,omitempty"`
}

// QueryResult is one query shape: its time over the repetitions and what
// the answers held.
type QueryResult struct {
	Name     string  `json:"name"`
	Example  string  `json:"example"` // the first URL sent (relative to the FHIR base)
	Time     Dist    `json:"time"`
	Matches  float64 `json:"mean_matches"`  // entries with search.mode match, per answer
	Included float64 `json:"mean_included"` // entries with search.mode include
	Wrong    int     `json:"wrong"`
}

// PagingResult is reading every hit of one code, _count=1000, following
// the next links.
type PagingResult struct {
	Code      string  `json:"code"`
	Hits      int     `json:"hits"`
	Pages     int     `json:"pages"`
	Runs      int     `json:"runs"`
	Seconds   float64 `json:"median_seconds"`
	PerSec    float64 `json:"resources_per_sec"` // Hits / median seconds
	PageTimes Dist    `json:"page"`              // one page's round trip, every run
}

// IndexSize is the search index on Postgres (with --database-url).
type IndexSize struct {
	Resources        int64            `json:"live_resources"`
	Bytes            int64            `json:"index_bytes"` // pg_total_relation_size of the search_* tables
	Rows             int64            `json:"index_rows"`
	BytesPerResource float64          `json:"index_bytes_per_resource"`
	RowsPerResource  float64          `json:"index_rows_per_resource"`
	ResourceBytes    int64            `json:"resource_bytes"` // resource_versions and resource_heads, for scale
	Tables           map[string]int64 `json:"table_bytes"`
	Analyzed         bool             `json:"analyzed"`
}

func (r *SearchResult) rows() [][2]string {
	rows := [][2]string{
		{"population", fmt.Sprintf("%d Observations, %d Patients", r.Observations, r.Patients)},
		{"load", fmt.Sprintf("%d resources in %.1f s: %.0f resources/s (%d loaders, bundles of %d)", r.Loaded, r.LoadSeconds, r.LoadPerSec, r.Loaders, r.BundleSize)},
		{"load bundle http", r.LoadHTTP.String()},
	}
	for _, q := range r.Queries {
		v := q.Time.String() + fmt.Sprintf(", %.1f matches", q.Matches)
		if q.Included > 0 {
			v += fmt.Sprintf(" + %.1f included", q.Included)
		}
		if q.Wrong > 0 {
			v += fmt.Sprintf(", %d WRONG", q.Wrong)
		}
		rows = append(rows, [2]string{"query " + q.Name, v})
	}
	if p := r.Paging; p != nil {
		rows = append(rows, [2]string{"paging", fmt.Sprintf("%d hits of %s in %d pages: %.2f s median of %d, %.0f resources/s", p.Hits, p.Code, p.Pages, p.Seconds, p.Runs, p.PerSec)},
			[2]string{"paging page http", p.PageTimes.String()})
	}
	if ix := r.Index; ix != nil {
		rows = append(rows, [2]string{"index size", fmt.Sprintf("%.0f bytes and %.1f rows per resource (%d MiB for %d live resources; resources themselves %d MiB)",
			ix.BytesPerResource, ix.RowsPerResource, ix.Bytes>>20, ix.Resources, ix.ResourceBytes>>20)})
	}
	return rows
}

// searchBundle is what the checks read of a searchset Bundle.
type searchBundle struct {
	Total *int `json:"total"`
	Link  []struct {
		Relation string `json:"relation"`
		URL      string `json:"url"`
	} `json:"link"`
	Entry []struct {
		Resource struct {
			ResourceType string `json:"resourceType"`
			ID           string `json:"id"`
			Code         struct {
				Coding []struct{ System, Code string } `json:"coding"`
			} `json:"code"`
			Subject struct {
				Reference string `json:"reference"`
			} `json:"subject"`
			Effective     string `json:"effectiveDateTime"`
			ValueQuantity struct {
				Value float64 `json:"value"`
			} `json:"valueQuantity"`
		} `json:"resource"`
		Search struct {
			Mode string `json:"mode"`
		} `json:"search"`
	} `json:"entry"`
}

func (sb *searchBundle) matches() int {
	n := 0
	for _, e := range sb.Entry {
		if e.Search.Mode == "match" {
			n++
		}
	}
	return n
}

func (sb *searchBundle) next() string {
	for _, l := range sb.Link {
		if l.Relation == "next" {
			return l.URL
		}
	}
	return ""
}

// search GETs path (relative to the FHIR base) and decodes the Bundle.
func (b *bench) searchGet(ctx context.Context, path string) (*searchBundle, error) {
	body, err := b.c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	var sb searchBundle
	if err := json.Unmarshal(body, &sb); err != nil {
		return nil, fmt.Errorf("GET %s: decode: %w", redactPath(path), err)
	}
	return &sb, nil
}

// relative turns a link the server gave into a path under the FHIR base:
// the generator follows no link elsewhere.
func (b *bench) relative(link string) (string, error) {
	if p, ok := strings.CutPrefix(link, b.c.base); ok && (p == "" || p[0] == '/') {
		return p, nil
	}
	return "", fmt.Errorf("the server's next link leaves the FHIR base %s", b.c.base)
}

// search runs the search scenario.
func (b *bench) search(ctx context.Context) error {
	o := b.o
	patients := o.Patients
	if patients <= 0 {
		patients = max(1, o.Observations/50)
	}
	res := &SearchResult{Observations: o.Observations, Patients: patients, BundleSize: o.BundleSize, Loaders: o.Writers, Repeat: o.Repeat}
	b.rep.Search = res
	for k, v := range map[string]any{"observations": o.Observations, "patients": patients, "bundle": o.BundleSize,
		"loaders": o.Writers, "repeat": o.Repeat, "run": b.run} {
		b.rep.Params[k] = v
	}
	if o.Reuse != "" {
		b.run = o.Reuse
		b.rep.Params["run"] = b.run
		b.rep.Params["reuse"] = true
	}
	pop := newPopulation(b.run, o.Observations, patients)

	// What the server holds of each code before the load: the code counts
	// are checked against this plus what the run adds.
	baseline := make([]int, len(benchCodes))
	for c, bc := range benchCodes {
		sb, err := b.searchGet(ctx, "/Observation?code=http://loinc.org|"+bc.code+"&_summary=count")
		if err != nil {
			return fmt.Errorf("count before the load: %w", err)
		}
		if sb.Total == nil {
			return errors.New("count before the load: _summary=count answered no total")
		}
		baseline[c] = *sb.Total
	}

	var ids []string
	var err error
	if o.Reuse == "" {
		ids, err = b.loadPopulation(ctx, pop, res)
	} else {
		ids, err = b.reuse(ctx, pop, baseline)
	}
	if err != nil {
		return err
	}
	if o.DatabaseURL != "" {
		ix, err := indexSize(ctx, o.DatabaseURL, o.Analyze)
		if err != nil {
			b.rep.problem("index size: %v", err)
		}
		res.Index = ix
	}

	wrong := func(q *QueryResult, format string, args ...any) {
		q.Wrong++
		res.WrongAnswers++
		if res.FirstWrongText == "" {
			res.FirstWrongText = q.Name + ": " + fmt.Sprintf(format, args...)
			b.rep.problem("wrong answer: %s", res.FirstWrongText)
		}
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	loinc := func(c int) string { return "http://loinc.org|" + benchCodes[c].code }
	// Each shape returns the path of one repetition and the check of its
	// answer (nil when the answer is right).
	type shape struct {
		name string
		make func() (string, func(*searchBundle) error)
	}
	wantMatches := func(sb *searchBundle, n int) error {
		if got := sb.matches(); got != n {
			return fmt.Errorf("%d matches, want %d", got, n)
		}
		return nil
	}
	pageOf := func(n int32) int { return min(int(n), 20) }
	// atLeast checks a page of 20 when the run itself wrote gen matches
	// (other data on the server may add more).
	atLeast := func(sb *searchBundle, gen int) error {
		if got := sb.matches(); got < min(gen, 20) || got > 20 {
			return fmt.Errorf("%d matches, want %d…20", got, min(gen, 20))
		}
		return nil
	}
	countObs := func(f func(genObs) bool) int {
		n := 0
		for _, o := range pop.obs {
			if f(o) {
				n++
			}
		}
		return n
	}
	shapes := []shape{
		{"_id", func() (string, func(*searchBundle) error) {
			id := ids[rng.IntN(len(ids))]
			return "/Observation?_id=" + url.QueryEscape(id), func(sb *searchBundle) error {
				if err := wantMatches(sb, 1); err != nil {
					return err
				}
				if got := sb.Entry[0].Resource.ID; got != id {
					return fmt.Errorf("id %s, want %s", got, id)
				}
				return nil
			}
		}},
		{"subject=", func() (string, func(*searchBundle) error) {
			p := rng.IntN(pop.patients)
			return "/Observation?subject=Patient/" + pop.patientID(p), func(sb *searchBundle) error {
				return wantMatches(sb, pageOf(pop.perPat[p]))
			}
		}},
		{"subject=&code=", func() (string, func(*searchBundle) error) {
			p, c := rng.IntN(pop.patients), rng.IntN(len(benchCodes))
			return "/Observation?subject=Patient/" + pop.patientID(p) + "&code=" + loinc(c), func(sb *searchBundle) error {
				return wantMatches(sb, pageOf(pop.perPC[p*len(benchCodes)+c]))
			}
		}},
		{"code=&date=ge…&_count=20", func() (string, func(*searchBundle) error) {
			c, y := rng.IntN(len(benchCodes)), 2016+rng.IntN(8)
			from := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
			gen := countObs(func(o genObs) bool { return int(o.code) == c && o.date >= from.Unix() })
			return "/Observation?code=" + loinc(c) + "&date=ge" + strconv.Itoa(y) + "-01-01&_count=20", func(sb *searchBundle) error {
				if err := atLeast(sb, gen); err != nil {
					return err
				}
				for _, e := range sb.Entry {
					r := e.Resource
					t, err := time.Parse(time.RFC3339, r.Effective)
					if err != nil || t.Before(from) || len(r.Code.Coding) == 0 || r.Code.Coding[0].Code != benchCodes[c].code {
						return fmt.Errorf("%s (%s, %s) does not match", r.ID, r.Effective, r.Code.Coding)
					}
				}
				return nil
			}
		}},
		{"_sort=-date&_count=20", func() (string, func(*searchBundle) error) {
			return "/Observation?_sort=-date&_count=20", func(sb *searchBundle) error {
				if err := atLeast(sb, len(pop.obs)); err != nil {
					return err
				}
				if err := descendingDates(sb); err != nil {
					return err
				}
				if t, _ := time.Parse(time.RFC3339, sb.Entry[0].Resource.Effective); t.Unix() < pop.maxDate {
					return fmt.Errorf("first date %s is before the latest loaded", sb.Entry[0].Resource.Effective)
				}
				return nil
			}
		}},
		{"subject=&_sort=-date", func() (string, func(*searchBundle) error) {
			p := rng.IntN(pop.patients)
			return "/Observation?subject=Patient/" + pop.patientID(p) + "&_sort=-date", func(sb *searchBundle) error {
				if err := wantMatches(sb, pageOf(pop.perPat[p])); err != nil {
					return err
				}
				return descendingDates(sb)
			}
		}},
		{"subject.identifier=", func() (string, func(*searchBundle) error) {
			p := rng.IntN(pop.patients)
			return "/Observation?subject.identifier=" + url.QueryEscape(mrnSystem+"|"+pop.run+"-"+strconv.Itoa(p)), func(sb *searchBundle) error {
				return wantMatches(sb, pageOf(pop.perPat[p]))
			}
		}},
		{"code=&_include=Observation:subject&_count=20", func() (string, func(*searchBundle) error) {
			c := rng.IntN(len(benchCodes))
			return "/Observation?code=" + loinc(c) + "&_include=Observation:subject&_count=20", func(sb *searchBundle) error {
				if err := atLeast(sb, pop.perCode[c]); err != nil {
					return err
				}
				subjects, included := map[string]bool{}, map[string]bool{}
				for _, e := range sb.Entry {
					switch e.Search.Mode {
					case "match":
						subjects[e.Resource.Subject.Reference] = true
					case "include":
						included[e.Resource.ResourceType+"/"+e.Resource.ID] = true
					}
				}
				for s := range subjects {
					if !included[s] {
						return fmt.Errorf("subject %s not included", s)
					}
				}
				if len(included) != len(subjects) {
					return fmt.Errorf("%d included for %d subjects", len(included), len(subjects))
				}
				return nil
			}
		}},
		{"value-quantity=gt…&_count=20", func() (string, func(*searchBundle) error) {
			v := 100 + rng.IntN(100)
			gen := countObs(func(o genObs) bool { return o.value > int32(v*10) })
			return "/Observation?value-quantity=gt" + strconv.Itoa(v) + "&_count=20", func(sb *searchBundle) error {
				if err := atLeast(sb, gen); err != nil {
					return err
				}
				for _, e := range sb.Entry {
					if e.Resource.ValueQuantity.Value <= float64(v) {
						return fmt.Errorf("%s has value %v, not > %d", e.Resource.ID, e.Resource.ValueQuantity.Value, v)
					}
				}
				return nil
			}
		}},
		{"code=&_summary=count", func() (string, func(*searchBundle) error) {
			c := rng.IntN(len(benchCodes))
			return "/Observation?code=" + loinc(c) + "&_summary=count", func(sb *searchBundle) error {
				if want := baseline[c] + pop.perCode[c]; sb.Total == nil || *sb.Total != want {
					return fmt.Errorf("total %v, want %d", sb.Total, want)
				}
				return nil
			}
		}},
	}
	if len(ids) == 0 {
		shapes = shapes[1:]
	}
	b.logf("search: %d query shapes × %d", len(shapes), o.Repeat)
	for _, s := range shapes {
		q := &QueryResult{Name: s.name}
		res.Queries = append(res.Queries, q)
		var lat []time.Duration
		var matches, included int
		for i := range o.Repeat + searchWarmup {
			path, check := s.make()
			if q.Example == "" {
				q.Example = path
			}
			t0 := time.Now()
			sb, err := b.searchGet(ctx, path)
			d := time.Since(t0)
			if err != nil {
				return fmt.Errorf("query %s: %w", s.name, err)
			}
			if cerr := check(sb); cerr != nil {
				wrong(q, "%s: %v", redactPath(path), cerr)
			}
			if i < searchWarmup {
				continue
			}
			lat = append(lat, d)
			m := sb.matches()
			matches += m
			included += len(sb.Entry) - m
		}
		q.Time = dist(lat)
		q.Matches = ratio(float64(matches), float64(o.Repeat))
		q.Included = ratio(float64(included), float64(o.Repeat))
	}

	if err := b.pageAll(ctx, pop, baseline, res); err != nil {
		return err
	}
	b.rep.GenRSSKiB = genRSS()
	b.rep.Complete = res.WrongAnswers == 0
	return nil
}

// searchWarmup is how many unmeasured answers each shape gets first.
const searchWarmup = 3

func descendingDates(sb *searchBundle) error {
	prev := ""
	for _, e := range sb.Entry {
		if e.Search.Mode != "match" {
			continue
		}
		d := e.Resource.Effective
		if prev != "" && d > prev { // RFC 3339 in UTC: text order is time order
			return fmt.Errorf("%s after %s: not in descending date order", d, prev)
		}
		prev = d
	}
	return nil
}

// loadPopulation writes the Patients, then the Observations, in
// transaction Bundles of BundleSize on Writers connections, and returns a
// sample of the Observation ids the server assigned.
func (b *bench) loadPopulation(ctx context.Context, pop *population, res *SearchResult) ([]string, error) {
	o := b.o
	type request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	}
	type entry struct {
		Resource json.RawMessage `json:"resource"`
		Request  request         `json:"request"`
	}
	type bundle struct {
		ResourceType string  `json:"resourceType"`
		Type         string  `json:"type"`
		Entry        []entry `json:"entry"`
	}
	nPat := (pop.patients + o.BundleSize - 1) / o.BundleSize
	nObs := (len(pop.obs) + o.BundleSize - 1) / o.BundleSize
	var (
		mu     sync.Mutex
		lat    []time.Duration
		sample []string
		done   atomic.Int64
	)
	total := pop.patients + len(pop.obs)
	stop := b.progress("search: resources loaded", &done, total)
	defer stop()
	send := func(ctx context.Context, entries []entry) ([]string, error) {
		body, err := json.Marshal(bundle{ResourceType: "Bundle", Type: "transaction", Entry: entries})
		if err != nil {
			return nil, err
		}
		t0 := time.Now()
		out, err := b.c.do(ctx, http.MethodPost, "", body)
		d := time.Since(t0)
		if err != nil {
			return nil, fmt.Errorf("transaction: %w", err)
		}
		var resp struct {
			Entry []struct {
				Response struct {
					Status   string `json:"status"`
					Location string `json:"location"`
				} `json:"response"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(out, &resp); err != nil || len(resp.Entry) != len(entries) {
			return nil, fmt.Errorf("transaction: %d response entries for %d (%v)", len(resp.Entry), len(entries), err)
		}
		var locs []string
		for _, e := range resp.Entry {
			if !strings.HasPrefix(e.Response.Status, "20") {
				return nil, fmt.Errorf("transaction entry: status %q", e.Response.Status)
			}
			locs = append(locs, e.Response.Location)
		}
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
		done.Add(int64(len(entries)))
		return locs, nil
	}
	b.logf("search: loading %d Patients and %d Observations", pop.patients, len(pop.obs))
	start := time.Now()
	err := parallel(ctx, nPat, o.Writers, func(ctx context.Context, i int) error {
		var es []entry
		for p := i * o.BundleSize; p < min(pop.patients, (i+1)*o.BundleSize); p++ {
			es = append(es, entry{Resource: pop.patientJSON(p), Request: request{"PUT", "Patient/" + pop.patientID(p)}})
		}
		_, err := send(ctx, es)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load patients: %w", err)
	}
	// About 1,000 ids, spread over the load.
	every := max(1, nObs/1000)
	err = parallel(ctx, nObs, o.Writers, func(ctx context.Context, i int) error {
		var es []entry
		for k := i * o.BundleSize; k < min(len(pop.obs), (i+1)*o.BundleSize); k++ {
			es = append(es, entry{Resource: pop.obsJSON(make([]byte, 0, 640), pop.obs[k]), Request: request{"POST", "Observation"}})
		}
		locs, err := send(ctx, es)
		if err != nil {
			return err
		}
		if i%every == 0 {
			// "Observation/<id>/_history/1"
			parts := strings.Split(locs[0], "/")
			if len(parts) >= 2 && parts[0] == "Observation" {
				mu.Lock()
				sample = append(sample, parts[1])
				mu.Unlock()
			}
		}
		return nil
	})
	elapsed := time.Since(start)
	res.Loaded = done.Load()
	res.LoadSeconds = elapsed.Round(time.Millisecond).Seconds()
	res.LoadPerSec = ratio(float64(res.Loaded), elapsed.Seconds())
	res.LoadHTTP = dist(lat)
	if err != nil {
		return nil, fmt.Errorf("load observations: %w", err)
	}
	slices.Sort(sample)
	return sample, nil
}

// reuse stands for the load when the population is on the server already:
// the counts before the load are the counts now less the generated ones,
// and the ids come from the first patients' Observations.
func (b *bench) reuse(ctx context.Context, pop *population, baseline []int) ([]string, error) {
	for c := range baseline {
		baseline[c] -= pop.perCode[c]
		if baseline[c] < 0 {
			return nil, fmt.Errorf("--reuse %s: the server holds fewer %s Observations than the run loaded", pop.run, benchCodes[c].code)
		}
	}
	var ids []string
	for p := 0; p < pop.patients && len(ids) < 1000; p++ {
		sb, err := b.searchGet(ctx, "/Observation?subject=Patient/"+pop.patientID(p)+"&_count=20&_total=none")
		if err != nil {
			return nil, fmt.Errorf("--reuse: %w", err)
		}
		for _, e := range sb.Entry {
			ids = append(ids, e.Resource.ID)
		}
		if p == 0 && len(sb.Entry) == 0 && pop.perPat[0] > 0 {
			return nil, fmt.Errorf("--reuse %s: Patient/%s has no Observations on the server", pop.run, pop.patientID(0))
		}
	}
	return ids, nil
}

// pageAll reads every hit of the first code, _count=1000, following next
// links, a few times, and checks that each run sees every hit once.
func (b *bench) pageAll(ctx context.Context, pop *population, baseline []int, res *SearchResult) error {
	const runs = 3
	c := 0
	want := baseline[c] + pop.perCode[c]
	p := &PagingResult{Code: "http://loinc.org|" + benchCodes[c].code, Hits: want, Runs: runs}
	res.Paging = p
	b.logf("search: paging through %d hits, %d times", want, runs)
	var secs []time.Duration
	var pages []time.Duration
	for range runs {
		seen := make(map[string]bool, want)
		path := "/Observation?code=" + p.Code + "&_count=1000"
		p.Pages = 0
		t0 := time.Now()
		for path != "" {
			t1 := time.Now()
			sb, err := b.searchGet(ctx, path)
			if err != nil {
				return fmt.Errorf("paging: %w", err)
			}
			pages = append(pages, time.Since(t1))
			p.Pages++
			for _, e := range sb.Entry {
				if seen[e.Resource.ID] {
					return fmt.Errorf("paging: %s seen twice", e.Resource.ID)
				}
				seen[e.Resource.ID] = true
			}
			path = ""
			if n := sb.next(); n != "" {
				if path, err = b.relative(n); err != nil {
					return err
				}
			}
		}
		secs = append(secs, time.Since(t0))
		if len(seen) != want {
			res.WrongAnswers++
			if res.FirstWrongText == "" {
				res.FirstWrongText = fmt.Sprintf("paging: %d distinct hits, want %d", len(seen), want)
				b.rep.problem("wrong answer: %s", res.FirstWrongText)
			}
		}
	}
	slices.Sort(secs)
	med := secs[len(secs)/2]
	p.Seconds = med.Round(time.Millisecond).Seconds()
	p.PerSec = ratio(float64(want), med.Seconds())
	p.PageTimes = dist(pages)
	return nil
}
