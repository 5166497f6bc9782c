package postgres

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fhirbell/fhirbell/subscription"
)

func TestChannelForSchema(t *testing.T) {
	long := strings.Repeat("s", 60)
	tests := []struct {
		schema, want string
	}{
		{"", "fhirbell"},
		{"public", "fhirbell"},
		{"tenant_a", "fhirbell_tenant_a"},
		{long, channelForSchema(long)}, // stable
	}
	for _, tt := range tests {
		if got := channelForSchema(tt.schema); got != tt.want {
			t.Errorf("channelForSchema(%q) = %q, want %q", tt.schema, got, tt.want)
		}
	}
	if got := channelForSchema(long); len(got) > 63 || got == channelForSchema(long+"x") {
		t.Errorf("channelForSchema(60 chars) = %q: want ≤ 63 bytes and distinct from a longer schema's", got)
	}
}

func refs(pairs ...any) []subscription.EventRef {
	var out []subscription.EventRef
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, subscription.EventRef{SubscriptionID: pairs[i].(string), Number: int64(pairs[i+1].(int))})
	}
	return out
}

func manyIDs(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%036d", prefix, i)
	}
	return out
}

func TestBatchPayloads(t *testing.T) {
	tests := []struct {
		name    string
		changes []subscription.Change
		limit   int
		// What the decoded payloads add up to.
		wantEvents  map[string]int64
		wantSubs    []string
		wantTopics  []string
		wantPoll    bool
		wantReload  bool
		wantBare    bool // exactly the bare "poll"
		wantPayload int  // number of payloads
	}{
		{
			name:        "events coalesce to the highest number per subscription",
			changes:     []subscription.Change{{Events: refs("a", 1, "b", 7)}, {Events: refs("a", 3, "a", 2)}},
			wantEvents:  map[string]int64{"a": 3, "b": 7},
			wantPayload: 1,
		},
		{
			name:        "ids are deduplicated and sorted",
			changes:     []subscription.Change{{Subscriptions: []string{"s2", "s1"}, Topics: []string{"t"}}, {Subscriptions: []string{"s2"}}},
			wantSubs:    []string{"s1", "s2"},
			wantTopics:  []string{"t"},
			wantPayload: 1,
		},
		{
			name:        "too many events for a payload become the bare poll hint",
			changes:     []subscription.Change{{Events: refsOf(manyIDs("sub", 400))}},
			wantPoll:    true,
			wantBare:    true,
			wantPayload: 1,
		},
		{
			name:        "too many events beside ids: poll flag and the ids",
			changes:     []subscription.Change{{Events: refsOf(manyIDs("sub", 400)), Subscriptions: []string{"s1"}}},
			wantPoll:    true,
			wantSubs:    []string{"s1"},
			wantPayload: 1,
		},
		{
			name:        "too many ids for one payload are spread over several",
			changes:     []subscription.Change{{Subscriptions: manyIDs("s", 500), Topics: manyIDs("t", 10)}},
			wantSubs:    manyIDs("s", 500),
			wantTopics:  manyIDs("t", 10),
			wantPayload: 3,
		},
		{
			name:        "past the pending limit events become a poll hint",
			changes:     []subscription.Change{{Events: refs("a", 1, "b", 1, "c", 1)}, {Events: refs("d", 1)}},
			limit:       2,
			wantPoll:    true,
			wantBare:    true,
			wantPayload: 1,
		},
		{
			name:        "past the pending limit ids become a reload hint",
			changes:     []subscription.Change{{Subscriptions: []string{"a", "b"}, Topics: []string{"c"}}, {Subscriptions: []string{"d"}}},
			limit:       2,
			wantReload:  true,
			wantPayload: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := tt.limit
			if limit == 0 {
				limit = 10_000
			}
			var b batch
			for _, c := range tt.changes {
				b.add(c, limit)
			}
			ps := b.payloads("node-1", maxPayload)
			if len(ps) != tt.wantPayload {
				t.Errorf("payloads = %d, want %d", len(ps), tt.wantPayload)
			}
			if tt.wantBare != (len(ps) == 1 && ps[0] == pollHint) {
				t.Errorf("payloads = %.80q, want bare poll hint: %v", ps, tt.wantBare)
			}
			events := map[string]int64{}
			var subs, topics []string
			var poll, reload bool
			for _, s := range ps {
				if len(s) > maxPayload || len(s) >= 8000 {
					t.Errorf("payload of %d bytes, limit %d", len(s), maxPayload)
				}
				p, err := decodePayload(s)
				if err != nil {
					t.Fatalf("decodePayload(%.80q) = %v", s, err)
				}
				if s != pollHint && p.Node != "node-1" {
					t.Errorf("payload node = %q, want node-1", p.Node)
				}
				maps.Copy(events, p.Events)
				subs = append(subs, p.Subs...)
				topics = append(topics, p.Topics...)
				poll = poll || p.Poll
				reload = reload || p.Reload
			}
			if tt.wantEvents == nil {
				tt.wantEvents = map[string]int64{}
			}
			if !maps.Equal(events, tt.wantEvents) {
				t.Errorf("events = %v, want %v", events, tt.wantEvents)
			}
			if !slices.Equal(subs, tt.wantSubs) || !slices.Equal(topics, tt.wantTopics) {
				t.Errorf("ids = %d subscriptions, %d topics; want %d, %d", len(subs), len(topics), len(tt.wantSubs), len(tt.wantTopics))
			}
			if poll != tt.wantPoll || reload != tt.wantReload {
				t.Errorf("poll, reload = %v, %v; want %v, %v", poll, reload, tt.wantPoll, tt.wantReload)
			}
		})
	}
}

func refsOf(ids []string) []subscription.EventRef {
	out := make([]subscription.EventRef, len(ids))
	for i, id := range ids {
		out[i] = subscription.EventRef{SubscriptionID: id, Number: int64(i + 1)}
	}
	return out
}

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		in      string
		want    subscription.Change
		poll    bool
		wantErr bool
	}{
		{in: "poll", poll: true},
		{in: `{"n":"x","e":{"b":2,"a":1},"s":["s"],"t":["t"]}`, want: subscription.Change{Events: refs("a", 1, "b", 2), Subscriptions: []string{"s"}, Topics: []string{"t"}}},
		{in: `{"n":"x","e":{"a":1},"a":1764763200000}`, want: subscription.Change{Events: refs("a", 1), Sent: time.UnixMilli(1764763200000)}},
		{in: `{"p":true}`, poll: true},
		{in: `{}`},
		{in: `not json`, wantErr: true},
		{in: `{"e":{"a":"one"}}`, wantErr: true},
	}
	for _, tt := range tests {
		p, err := decodePayload(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("decodePayload(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		c := p.change()
		if !slices.Equal(c.Events, tt.want.Events) || !slices.Equal(c.Subscriptions, tt.want.Subscriptions) || !slices.Equal(c.Topics, tt.want.Topics) || p.Poll != tt.poll ||
			!c.Sent.Equal(tt.want.Sent) {
			t.Errorf("decodePayload(%q) = %+v (poll %v), want %+v (poll %v)", tt.in, c, p.Poll, tt.want, tt.poll)
		}
	}
}

func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"poll", `{"n":"x","e":{"a":1},"s":["s"],"t":["t"],"p":true,"r":true}`, `{}`, `[]`, `{"e":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := decodePayload(s)
		if err != nil {
			return
		}
		c := p.change()
		if len(c.Events) != len(p.Events) {
			t.Fatalf("change has %d events, payload %d", len(c.Events), len(p.Events))
		}
		// What decodes re-encodes to something that decodes the same.
		var b batch
		b.add(c, 1<<30)
		b.poll, b.reload = p.Poll, p.Reload
		for _, s2 := range b.payloads(p.Node, maxPayload) {
			if _, err := decodePayload(s2); err != nil {
				t.Fatalf("re-encoded payload %q does not decode: %v", s2, err)
			}
		}
	})
}

// listenerProbe records what a Listener reports.
type listenerProbe struct {
	changes chan subscription.Change
	polls   chan struct{}
	resyncs chan struct{}
}

func newProbe() *listenerProbe {
	return &listenerProbe{changes: make(chan subscription.Change, 100), polls: make(chan struct{}, 100), resyncs: make(chan struct{}, 100)}
}

func (p *listenerProbe) config(channel, node string) ListenerConfig {
	return ListenerConfig{
		Channel:      channel,
		NodeID:       node,
		PollInterval: 50 * time.Millisecond,
		MinBackoff:   10 * time.Millisecond,
		OnChange:     func(c subscription.Change) error { p.changes <- c; return nil },
		OnPoll:       func() { p.polls <- struct{}{} },
		OnResync:     func() error { p.resyncs <- struct{}{}; return nil },
	}
}

// wait returns the next value of ch, failing after 10 s (a bound on a hang,
// not a timing assertion).
func wait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", what)
		panic("unreachable")
	}
}

// startListener runs l until the test ends and waits for its first resync.
func startListener(t *testing.T, l *Listener, p *listenerProbe) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { l.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	wait(t, p.resyncs, "resync after connecting")
}

// startBroadcaster runs n until the test ends or stop is called.
func startBroadcaster(t *testing.T, n *Broadcaster) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.Run(ctx) })
	stop = func() { cancel(); wg.Wait() }
	t.Cleanup(stop)
	return stop
}

func TestBroadcasterToListener(t *testing.T) {
	nodes := openNodes(t, 2)
	ctx := t.Context()
	channel, err := ChannelFor(ctx, nodes[0].Pool())
	if err != nil {
		t.Fatal(err)
	}
	if channel == DefaultChannel {
		t.Fatalf("test schema got channel %q: tests would hear each other", channel)
	}
	probe := newProbe()
	startListener(t, NewListener(nodes[1].Pool().Config().ConnConfig, probe.config(channel, "n1")), probe)
	other := NewBroadcaster(nodes[0].Pool(), BroadcasterConfig{Channel: channel, NodeID: "n0"})
	own := NewBroadcaster(nodes[1].Pool(), BroadcasterConfig{Channel: channel, NodeID: "n1"})
	off := NewBroadcaster(nodes[0].Pool(), BroadcasterConfig{Channel: channel, NodeID: "n0", Disabled: true})
	startBroadcaster(t, other)
	startBroadcaster(t, own)
	startBroadcaster(t, off)

	other.Broadcast(subscription.Change{Events: refs("s1", 4), Subscriptions: []string{"s1"}, Topics: []string{"t1"}})
	got := wait(t, probe.changes, "change from another node")
	want := subscription.Change{Events: refs("s1", 4), Subscriptions: []string{"s1"}, Topics: []string{"t1"}}
	if !slices.Equal(got.Events, want.Events) || !slices.Equal(got.Subscriptions, want.Subscriptions) || !slices.Equal(got.Topics, want.Topics) {
		t.Fatalf("received %+v, want %+v", got, want)
	}

	own.Broadcast(subscription.Change{Events: refs("s1", 5), Subscriptions: []string{"s2"}})
	got = wait(t, probe.changes, "own change")
	if len(got.Events) != 0 || !slices.Equal(got.Subscriptions, []string{"s2"}) {
		t.Fatalf("own change received as %+v, want its subscriptions without its events", got)
	}

	// A disabled broadcaster sends nothing: the next thing heard is the marker.
	off.Broadcast(subscription.Change{Subscriptions: []string{"silent"}})
	other.Broadcast(subscription.Change{Subscriptions: []string{"marker"}})
	if got := wait(t, probe.changes, "marker"); !slices.Equal(got.Subscriptions, []string{"marker"}) {
		t.Fatalf("received %+v, want only the marker (the disabled broadcaster sent something)", got)
	}
	if sent, _ := off.Sent(); sent != 0 {
		t.Errorf("disabled broadcaster sent %d notifications", sent)
	}

	// Too much for a payload: a bare poll hint.
	other.Broadcast(subscription.Change{Events: refsOf(manyIDs("sub", 400))})
	wait(t, probe.polls, "poll hint")
}

func TestBroadcasterCoalesces(t *testing.T) {
	nodes := openNodes(t, 1)
	channel, err := ChannelFor(t.Context(), nodes[0].Pool())
	if err != nil {
		t.Fatal(err)
	}
	probe := newProbe()
	startListener(t, NewListener(nodes[0].Pool().Config().ConnConfig, probe.config(channel, "listener")), probe)
	n := NewBroadcaster(nodes[0].Pool(), BroadcasterConfig{Channel: channel})
	for i := 1; i <= 100; i++ { // before Run: all of it is pending at once
		n.Broadcast(subscription.Change{Events: refs("a", i, "b", 2*i)})
	}
	stop := startBroadcaster(t, n)
	got := wait(t, probe.changes, "coalesced change")
	if !slices.Equal(got.Events, refs("a", 100, "b", 200)) {
		t.Fatalf("received %v, want the highest number of each subscription", got.Events)
	}
	// The listener may hear it before Sent counts it; stopping the
	// broadcaster while that send is in flight would cancel it and count a
	// failure, so wait for the count first.
	deadline := time.Now().Add(5 * time.Second)
	for sent, _ := n.Sent(); sent == 0 && time.Now().Before(deadline); sent, _ = n.Sent() {
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if sent, failed := n.Sent(); sent != 1 || failed != 0 {
		t.Errorf("Sent() = %d, %d; want 1 notification for 100 broadcasts", sent, failed)
	}
}

// TestListenerPollFindsUnannouncedChanges: with nobody notifying (a node
// that died between commit and NOTIFY), the poll still reports every
// Subscription and SubscriptionTopic change.
func TestListenerPollFindsUnannouncedChanges(t *testing.T) {
	nodes := openNodes(t, 1)
	s := nodes[0]
	mustPut(t, s, "Subscription", "before")
	probe := newProbe()
	startListener(t, NewListener(s.Pool().Config().ConnConfig, probe.config("unused", "n")), probe)

	mustPut(t, s, "Subscription", "s1")
	mustPut(t, s, "SubscriptionTopic", "t1")
	mustPut(t, s, "Patient", "p1") // not tracked
	var subs, topics []string
	for len(subs) < 1 || len(topics) < 1 {
		c := wait(t, probe.changes, "polled change")
		subs = append(subs, c.Subscriptions...)
		topics = append(topics, c.Topics...)
	}
	if !slices.Equal(subs, []string{"s1"}) || !slices.Equal(topics, []string{"t1"}) {
		t.Fatalf("poll reported subscriptions %v, topics %v; want [s1], [t1]", subs, topics)
	}
	mustPut(t, s, "Subscription", "before") // an update is a change too
	if c := wait(t, probe.changes, "polled update"); !slices.Equal(c.Subscriptions, []string{"before"}) {
		t.Fatalf("poll reported %+v, want Subscription before", c)
	}
}

// TestListenerReconnects: when its connection is killed, the Listener
// reconnects, resynchronises, and hears notifications again.
func TestListenerReconnects(t *testing.T) {
	nodes := openNodes(t, 1)
	s := nodes[0]
	channel, err := ChannelFor(t.Context(), s.Pool())
	if err != nil {
		t.Fatal(err)
	}
	cc := s.Pool().Config().ConnConfig
	app := "fhirbell-listener-" + strings.ReplaceAll(t.Name(), "/", "-")
	cc.RuntimeParams["application_name"] = app
	probe := newProbe()
	l := NewListener(cc, probe.config(channel, "n"))
	startListener(t, l, probe)

	var killed int
	if err := s.Pool().QueryRow(t.Context(),
		`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate listener backend: %d killed, %v", killed, err)
	}
	wait(t, probe.resyncs, "resync after reconnecting")
	if got := l.Connects(); got != 2 {
		t.Errorf("Connects() = %d, want 2", got)
	}
	n := NewBroadcaster(s.Pool(), BroadcasterConfig{Channel: channel, NodeID: "other"})
	startBroadcaster(t, n)
	n.Broadcast(subscription.Change{Subscriptions: []string{"after"}})
	if c := wait(t, probe.changes, "change after reconnect"); !slices.Equal(c.Subscriptions, []string{"after"}) {
		t.Fatalf("received %+v after reconnect", c)
	}
}
