package main

import (
	"testing"

	"github.com/gorilla/websocket"
)

// TestClusterFanOutToOtherNode: writes on node 0 that match many
// subscriptions, all bound by sockets on node 1, reach every socket exactly
// once and in order. Node 1 learns of them by NOTIFY (the poll is slowed
// to 10 s so it cannot help) and reads the woken subscriptions' logs in
// batches (notify/prefetch.go, EventsOf), which this checks end to end.
func TestClusterFanOutToOtherNode(t *testing.T) {
	const subs, writes = 45, 3 // under the 50 sockets one principal may hold
	nodes := startNodes(t, 2, map[string]string{"FHIRBELL_CLUSTER_POLL_INTERVAL": "10s"})
	ids := make([]string, subs)
	for i := range ids {
		ids[i] = createSub(t, nodes[0].URL)
	}
	waitKnown(t, nodes, ids[len(ids)-1])
	conns := make([]*websocket.Conn, subs)
	for i, id := range ids {
		waitKnown(t, nodes[1:], id)
		u, r := ticketURL(t, nodes[1].URL, id)
		if u == "" {
			t.Fatalf("ticket for Subscription/%s on node 1: %d %s", id, r.Status, r.Raw)
		}
		conns[i] = dialWS(t, u)
		expectHandshake(t, conns[i])
	}
	for range writes {
		writeObs(t, nodes[0].URL)
	}
	for _, c := range conns {
		wantSequence(t, readEvents(t, c, nil, writes), writes)
	}
	// One more: nothing of the earlier writes comes again before it.
	writeObs(t, nodes[0].URL)
	for _, c := range conns {
		if got := readEvents(t, c, nil, writes+1); len(got) != 1 || got[0] != writes+1 {
			t.Fatalf("after events 1..%d, got %v, want only [%d]", writes, got, writes+1)
		}
	}
}
