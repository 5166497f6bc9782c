package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
	"github.com/jackc/pgx/v5"
)

// cancelAfter is stdout for a reindex that is interrupted: it cancels
// after n progress lines.
type cancelAfter struct {
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (w *cancelAfter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n--; w.n == 0 {
		w.cancel()
	}
	return w.buf.Write(p)
}

// TestReindexOnPostgres: index rows that went missing or wrong come back
// with `fhirbell reindex` while a server keeps answering on the same
// database; an interrupted reindex continues after its last batch (what
// it had not reached is repaired, what it had done is not redone), and
// --restart starts over.
func TestReindexOnPostgres(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	env := map[string]string{"FHIRBELL_DATABASE_URL": dsn}
	getenv := func(k string) string { return env[k] }
	srv := mustRunServe(t, env)

	var entries []string
	for i := range 40 {
		entries = append(entries, fmt.Sprintf(`{"resource":{"resourceType":"Observation","status":"final",`+
			`"code":{"coding":[{"system":"http://bench.example","code":"c%d"}]},"subject":{"reference":"Patient/p%d"}},`+
			`"request":{"method":"POST","url":"Observation"}}`, i%4, i%5))
	}
	wantStatus(t, do(t, "POST", srv.URL+"/fhir", `{"resourceType":"Bundle","type":"transaction","entry":[`+strings.Join(entries, ",")+`]}`), 200)
	count := func(query string) int {
		t.Helper()
		r := do(t, "GET", srv.URL+"/fhir/Observation?"+query+"&_summary=count", "")
		wantStatus(t, r, 200)
		n, _ := r.Body["total"].(float64)
		return int(n)
	}
	wantCounts := func(code, subject int) {
		t.Helper()
		if c, s := count("code=http://bench.example|c1"), count("subject=Patient/p1"); c != code || s != subject {
			t.Fatalf("code=c1 finds %d, subject=p1 finds %d; want %d and %d", c, s, code, subject)
		}
	}
	wantCounts(10, 8)

	ctx := t.Context()
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	codeRows := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow(ctx, `SELECT count(DISTINCT id) FROM search_token WHERE type = 'Observation' AND param = 'code'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	corrupt := func() {
		t.Helper()
		exec(`DELETE FROM search_token WHERE type = 'Observation' AND param = 'code'`)
		exec(`UPDATE search_reference SET target_id = 'gone' WHERE type = 'Observation' AND param = 'subject'`)
		wantCounts(0, 0)
	}

	corrupt()
	var out bytes.Buffer
	if err := run(ctx, []string{"reindex", "--batch", "7"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("reindex: %v\n%s", err, out.String())
	}
	if lines := strings.Count(out.String(), "\n"); lines < 3 || !strings.Contains(out.String(), "reindex: 100%") || strings.Contains(out.String(), "\r") {
		t.Errorf("reindex printed %d lines, want plain progress lines up to 100%%:\n%s", lines, out.String())
	}
	wantCounts(10, 8)

	// Interrupted after two batches of 7.
	corrupt()
	ictx, cancel := context.WithCancel(ctx)
	w := &cancelAfter{n: 3, cancel: cancel}
	err = run(ictx, []string{"reindex", "--batch", "7"}, getenv, w, io.Discard)
	cancel()
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "run fhirbell reindex again") {
		t.Fatalf("interrupted reindex = %v, want context.Canceled and how to continue\n%s", err, w.buf.String())
	}
	var building *string
	var curType, curID string
	if err := db.QueryRow(ctx, `SELECT building, cursor_type, cursor_id FROM search_index_state`).Scan(&building, &curType, &curID); err != nil {
		t.Fatal(err)
	}
	if building == nil || curType == "" {
		t.Fatalf("after the interrupt: building %v, cursor %s/%s; want a reindex in progress with a cursor", building, curType, curID)
	}
	done := codeRows()
	if done == 0 || done >= 40 {
		t.Fatalf("after the interrupt %d Observations have code rows, want some of the 40", done)
	}
	// Undo what the interrupted run did: a continuing run must not redo it.
	exec(`DELETE FROM search_token WHERE type = 'Observation' AND param = 'code' AND (type, id) <= ($1, $2)`, curType, curID)
	out.Reset()
	if err := run(ctx, []string{"reindex", "--batch", "7"}, getenv, &out, io.Discard); err != nil {
		t.Fatalf("continued reindex: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "continuing an interrupted reindex") {
		t.Errorf("the second run did not say it continues:\n%s", out.String())
	}
	if got := codeRows(); got != 40-done {
		t.Fatalf("after continuing, %d Observations have code rows, want the %d after the cursor", got, 40-done)
	}
	if err := run(ctx, []string{"reindex", "--restart"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatalf("reindex --restart: %v", err)
	}
	if got := codeRows(); got != 40 {
		t.Fatalf("after --restart, %d Observations have code rows, want 40", got)
	}
	wantCounts(10, 8)
	if err := db.QueryRow(ctx, `SELECT building FROM search_index_state`).Scan(&building); err != nil || building != nil {
		t.Fatalf("after a complete reindex building = %v (%v), want NULL", building, err)
	}
}

// TestReindexInMemory: without a database there is nothing to rebuild, and
// the command says why.
func TestReindexInMemory(t *testing.T) {
	err := run(t.Context(), []string{"reindex"}, func(string) string { return "" }, io.Discard, io.Discard)
	if !errors.Is(err, errNoReindexInMemory) {
		t.Fatalf("reindex without a database = %v, want errNoReindexInMemory", err)
	}
}

func TestReindexProgressBar(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, true)
	p.update(0, 200)
	p.update(100, 200)
	p.update(200, 200)
	p.finish()
	if got := b.String(); !strings.Contains(got, "\r[###############...............]  50% 100/200") || !strings.HasSuffix(got, "\n") || strings.Count(got, "\n") != 1 {
		t.Errorf("progress bar = %q", got)
	}
}
