package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
)

// TestServeRestartOnPostgres is the README's promise: data written to a
// Postgres-backed server is there after a restart, and `fhirbell migrate`
// alone prepares a database.
func TestServeRestartOnPostgres(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	env := map[string]string{"FHIRBELL_DATABASE_URL": dsn}

	if err := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, io.Discard, io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}

	first := mustRunServe(t, env)
	if got := first.Logs.String(); !strings.Contains(got, "store ready") || strings.Contains(got, "nothing persists") {
		t.Errorf("unexpected store logs:\n%s", got)
	}
	deleted := exerciseCRUD(t, first.URL)
	created := do(t, "POST", first.URL+"/fhir/Observation", `{"resourceType":"Observation","status":"final","code":{"text":"t"}}`)
	wantStatus(t, created, 201)
	id := created.Body["id"].(string)
	wantStatus(t, do(t, "DELETE", first.URL+"/fhir/Patient/"+deleted, ""), 200)
	if err := first.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	second := mustRunServe(t, env)
	got := do(t, "GET", second.URL+"/fhir/Observation/"+id, "")
	wantStatus(t, got, 200)
	if got.Body["id"] != id {
		t.Fatalf("read after restart = %s", got.Raw)
	}
	wantStatus(t, do(t, "GET", second.URL+"/fhir/Patient/"+deleted, ""), 410)
	hist := do(t, "GET", second.URL+"/fhir/Patient/"+deleted+"/_history", "")
	if entries, _ := hist.Body["entry"].([]any); len(entries) != 3 {
		t.Fatalf("history after restart has %d entries, want 3 (create, update, delete)", len(entries))
	}
}
