package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/resthook/resthooktest"
	"github.com/fhirbell/fhirbell/subscription/postgres/pgtest"
)

// TestRestHookRestartMidRetry: the endpoint fails, the server retries,
// stops in the middle of its backoff and starts again; the cursor and the
// retry schedule were in the database, so once the endpoint recovers it
// gets every event in order, none missing.
func TestRestHookRestartMidRetry(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	rcv := resthooktest.MustNew(t)
	env := map[string]string{
		"FHIRBELL_DATABASE_URL":           dsn,
		"FHIRBELL_REST_HOOK_ALLOW":        "127.0.0.1/8",
		"FHIRBELL_REST_HOOK_BACKOFF_BASE": "100ms",
		"FHIRBELL_REST_HOOK_BACKOFF_MAX":  "500ms",
	}
	first := mustRunServe(t, env)
	id := createRestHook(t, first.URL, restHookSub(rcv.URL, 0))
	waitStatus(t, first.URL, id, "active", func(s hookStatus) bool { return s.Status == "active" })
	writeObs(t, first.URL)
	wantAcked(t, rcv, 1)

	rcv.SetStatus(http.StatusBadGateway)
	for range 3 {
		writeObs(t, first.URL)
	}
	waitStatus(t, first.URL, id, "failing", func(s hookStatus) bool {
		n, _ := strconv.Atoi(s.Ext["consecutive-failures"])
		return n >= 2
	})
	if err := first.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	second := mustRunServe(t, env)
	st := restHookStatus(t, second.URL, id)
	if st.Ext["last-event-acknowledged"] != "1" || st.Ext["failing-since"] == "" || st.Ext["next-attempt"] == "" {
		t.Fatalf("$status after the restart = %+v, want the stored cursor and failure record", st)
	}
	writeObs(t, second.URL)
	rcv.SetStatus(http.StatusOK)
	all := wantAcked(t, rcv, 5)
	if got := resthooktest.Acked(all); !slices.Equal(got, seq(1, 5)) {
		t.Fatalf("acknowledged events = %v, want 1..5 in order", got)
	}
	waitStatus(t, second.URL, id, "recovered", func(s hookStatus) bool { return s.Ext["consecutive-failures"] == "0" })
}

// TestRestHookTwoNodesOneDeliverer: two nodes on one database; exactly
// one holds the subscription's lease and POSTs (every event arrives once
// while both live), wherever the writes land. The holder is killed with
// SIGKILL mid-stream; the other takes the lease over within seconds and
// the receiver gets every event in order, none missing (an event the dead
// node POSTed but could not record may come twice: at least once).
func TestRestHookTwoNodesOneDeliverer(t *testing.T) {
	dsn := pgtest.NewSchema(t)
	bin := buildFhirbell(t)
	rcv := resthooktest.MustNew(t)
	var envs []map[string]string
	for i := range 2 {
		envs = append(envs, map[string]string{
			"FHIRBELL_DATABASE_URL":          clusterDSN(t, dsn, i),
			"FHIRBELL_CLUSTER_POLL_INTERVAL": "200ms",
			"FHIRBELL_REST_HOOK_ALLOW":       "127.0.0.1/8",
			"FHIRBELL_REST_HOOK_LEASE":       "2s",
		})
	}
	procs := startProcs(t, bin, envs)
	id := createRestHook(t, procs[0].URL, restHookSub(rcv.URL, 0))
	rcv.Wait(t, 20*time.Second, "handshake", func(all []resthooktest.Received) bool { return len(all) > 0 })

	holder, other := -1, -1
	deadline := time.Now().Add(10 * time.Second)
	for holder < 0 && time.Now().Before(deadline) {
		for i, p := range procs {
			if strings.Contains(p.logs.String(), "rest-hook lease taken") {
				if holder >= 0 {
					t.Fatalf("both nodes took the lease:\n%s\n%s", procs[0].logs, procs[1].logs)
				}
				holder, other = i, 1-i
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if holder < 0 {
		t.Fatal("no node took the lease")
	}
	const before, after = 10, 10
	for i := range before {
		writeObs(t, procs[i%2].URL) // writes on both nodes, one deliverer
	}
	all := wantAcked(t, rcv, before)
	if got := resthooktest.Acked(all); !slices.Equal(got, seq(1, before)) {
		t.Fatalf("with two nodes alive: acknowledged %v, want 1..%d exactly once each", got, before)
	}
	if strings.Contains(procs[other].logs.String(), "rest-hook lease taken") {
		t.Fatal("the second node delivered too")
	}

	// Kill the holder while events keep coming on the survivor.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		for range after {
			if err := postObs(ctx, procs[other].URL); err != nil {
				done <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		done <- nil
	}()
	if err := procs[holder].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	all = rcv.Wait(t, 30*time.Second, "every event after the kill", func(all []resthooktest.Received) bool {
		return len(firstSeen(resthooktest.Acked(all))) >= before+after
	})
	acked := resthooktest.Acked(all)
	if got := firstSeen(acked); !slices.Equal(got, seq(1, before+after)) {
		t.Fatalf("after the kill: events first seen %v, want 1..%d in order", got, before+after)
	}
	if !strings.Contains(procs[other].logs.String(), "rest-hook lease taken") {
		t.Error("the survivor never logged taking the lease")
	}
	last := all[len(all)-1].At
	t.Logf("node %d killed; node %d delivered the rest, the last %s after the kill (lease 2s); %d duplicates", holder, other, last.Sub(killed).Round(time.Millisecond), len(acked)-len(firstSeen(acked)))
	if st := restHookStatus(t, procs[other].URL, id); st.Status != "active" {
		t.Errorf("$status on the survivor = %+v", st)
	}
}

// postObs writes one matching Observation.
func postObs(ctx context.Context, base string) error {
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/fhir/Observation", strings.NewReader(clusterObs))
	req.Header.Set("Content-Type", "application/fhir+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		return fmt.Errorf("write on %s: status %d", base, res.StatusCode)
	}
	return nil
}
