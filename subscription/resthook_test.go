package subscription

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseRestHook(t *testing.T) {
	topics := testTopics(t)
	t.Run("IG admission example", func(t *testing.T) {
		s := mustSubscription(t, readTestdata(t, "subscription-ig-admission-resthook.json"), topics)
		if s.ChannelType != ChannelRestHook || s.Endpoint != "https://example.org/Endpoints/d7dcc004-808d-452b-8030-3a3a13cd871d" {
			t.Errorf("channel = %q, %q", s.ChannelType, s.Endpoint)
		}
		if s.Content != ContentIDOnly || s.MaxCount != 20 || s.Timeout != 60*time.Second || !s.HeartbeatSet || s.HeartbeatPeriod != 86400*time.Second {
			t.Errorf("content, max-count, timeout, heartbeat = %q, %d, %v, %v %v", s.Content, s.MaxCount, s.Timeout, s.HeartbeatSet, s.HeartbeatPeriod)
		}
		if s.Status != StatusOff { // its end is in 2020
			t.Errorf("Status = %q, want off", s.Status)
		}
	})
	t.Run("headers and secret", func(t *testing.T) {
		s := mustSubscription(t, sub(`"status":"requested","criteria":"Observation","extension":[{"url":"`+ExtSecret+`","valueString":"s3cret"}],
 "channel":{"type":"rest-hook","endpoint":"https://hooks.example.org/in?x=1","header":["Authorization: Bearer abc","x-tenant:  t1 "]}`), topics)
		want := []Header{{"Authorization", "Bearer abc"}, {"X-Tenant", "t1"}}
		if !slices.Equal(s.Headers, want) || s.Secret != "s3cret" || s.HeartbeatSet {
			t.Errorf("Headers, Secret, HeartbeatSet = %v, %q, %v", s.Headers, s.Secret, s.HeartbeatSet)
		}
	})
	tests := []struct{ sent, want string }{
		{StatusRequested, StatusRequested}, // waits for the handshake
		{StatusActive, StatusActive},       // the Service makes a new one requested
		{StatusError, StatusError},
		{StatusOff, StatusOff},
	}
	for _, tt := range tests {
		s := mustSubscription(t, sub(`"status":"`+tt.sent+`","criteria":"Observation","channel":{"type":"rest-hook","endpoint":"https://x.org/h"}`), topics)
		if s.Status != tt.want {
			t.Errorf("rest-hook sent %s: Status = %s, want %s", tt.sent, s.Status, tt.want)
		}
		if live := s.live(); live != (tt.want != StatusOff) {
			t.Errorf("rest-hook %s: live = %v", tt.want, live)
		}
		if s.socketActive() {
			t.Errorf("rest-hook %s: a socket may bind it", tt.want)
		}
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		in      string
		want    Header
		wantErr string
	}{
		{"Authorization: Bearer x", Header{"Authorization", "Bearer x"}, ""},
		{"x-api-key:k", Header{"X-Api-Key", "k"}, ""},
		{"X-Empty:", Header{"X-Empty", ""}, ""},
		{"X-Tab: a\tb", Header{"X-Tab", "a\tb"}, ""},
		{"no colon", Header{}, "Name: value"},
		{": v", Header{}, "token"},
		{"Bad Name: v", Header{}, "token"},
		{"X-A: b\r\nHost: evil", Header{}, "control character"},
		{"X-A: b\x00", Header{}, "control character"},
		{"Host: evil", Header{}, "set by the server"},
		{"content-length: 0", Header{}, "set by the server"},
		{"X-Signature: forged", Header{}, "set by the server"},
		{"Proxy-Foo: x", Header{}, "set by the server"},
	}
	for _, tt := range tests {
		got, err := ParseHeader(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseHeader(%q) = %v, %v; want an error about %q", tt.in, got, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "evil") {
				t.Errorf("ParseHeader(%q): the error quotes the value: %v", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseHeader(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParseHeader: channel.header comes from clients; whatever it accepts
// must be safe to put on the wire.
func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"Authorization: Bearer x", "a:b", "X: \r\n", ":", "Host: h", "X-\x7f: v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHeader(s)
		if err != nil {
			return
		}
		if h.Name == "" || !isToken(h.Name) || reservedHeaders[h.Name] {
			t.Fatalf("ParseHeader(%q) accepted name %q", s, h.Name)
		}
		if strings.ContainsAny(h.Value, "\r\n\x00") {
			t.Fatalf("ParseHeader(%q) accepted a value with CR, LF or NUL", s)
		}
	})
}

func TestParseEndpoint(t *testing.T) {
	for _, ok := range []string{"https://x.org/h", "http://127.0.0.1:8080/hook?a=b", "https://[::1]:9/x"} {
		if _, err := ParseEndpoint(ok); err != nil {
			t.Errorf("ParseEndpoint(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "x.org/h", "ws://x.org", "https://", "https://:80/x", "https://a@x.org/", "https://x.org/#f", "http://x.org/\x00"} {
		if _, err := ParseEndpoint(bad); err == nil {
			t.Errorf("ParseEndpoint(%q) accepted it", bad)
		}
	}
}
