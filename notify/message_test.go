package notify

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/gorilla/websocket"
)

func TestParseClientMessage(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want clientMessage
	}{
		{"bind-with-token abc", clientMessage{kind: msgBindToken, token: "abc"}},
		{"bind-with-token: abc", clientMessage{kind: msgBindToken, token: "abc"}},
		{"bind-with-token:abc", clientMessage{kind: msgBindToken, token: "abc"}},
		{" \tbind-with-token   abc.def-_~ \r\n", clientMessage{kind: msgBindToken, token: "abc.def-_~"}},
		{`{"type":"bind-with-token","payload":{"token":"t1"}}`, clientMessage{kind: msgBindToken, token: "t1", json: true}},
		{`{"type":"unbind-from-token","payload":{"token":"t1"}}`, clientMessage{kind: msgUnbindToken, token: "t1", json: true}},
		{`{"type":"ping"}`, clientMessage{kind: msgPing}},
		{"bind 123", clientMessage{kind: msgBind, id: "123"}},
		{"bind Subscription/123", clientMessage{kind: msgBind, id: "123"}},
		{"bind http://x.org/fhir/Subscription/a-b.c", clientMessage{kind: msgBind, id: "a-b.c"}},
		{"bind Subscription/123/_history/2", clientMessage{kind: msgBind, id: "123"}},
		{"unbind 123", clientMessage{kind: msgUnbind, id: "123"}},
		{"resume 123 0", clientMessage{kind: msgResume, id: "123"}},
		{"resume Subscription/123 42", clientMessage{kind: msgResume, id: "123", since: 42}},
		{`{"resourceType":"Bundle","meta":{"extension":[{"url":"` + fhir.AccessTokenURL + `","valueString":"jwt"}]}}`, clientMessage{kind: msgReauth, token: "jwt"}},
	} {
		got, err := parseClientMessage([]byte(tc.in))
		if err != nil || got != tc.want {
			t.Errorf("parseClientMessage(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseClientMessageErrors(t *testing.T) {
	for _, tc := range []struct{ in, wantErr string }{
		{"", "empty"},
		{"   ", "empty"},
		{"hello", `unknown message "hello"`},
		{"BIND 1", "unknown message"},
		{"bind-with-token", "needs a token"},
		{"bind-with-token:", "needs a token"},
		{"bind-with-token a b", "one token"},
		{"bind-with-token a\x01", "printable"},
		{"bind-with-token a\nbind x", "single line"},
		{"bind", "no subscription id"},
		{"bind 1 2", "one subscription id"},
		{"bind Patient/1", "not a Subscription"},
		{"bind Subscription/", "not a valid id"},
		{"bind " + strings.Repeat("a", 65), "not a valid id"},
		{"resume 1", "resume <id> <n>"},
		{"resume 1 x", "not a whole number"},
		{"resume 1 -1", "not a whole number"},
		{"resume 1 +1", "not a whole number"},
		{"resume 1 99999999999999999999", "not a whole number"},
		{"resume 1 2 3", "resume <id> <n>"},
		{"{", "not valid JSON"},
		{`{"type":"bind-with-token"}`, "needs payload.token"},
		{`{"type":"bind-with-token","payload":{"token":""}}`, "needs payload.token"},
		{`{"type":"subscribe"}`, `unknown message type "subscribe"`},
		{`{}`, "without type"},
		{`{"resourceType":"Patient"}`, `resource "Patient"`},
		{`{"resourceType":"Bundle"}`, "access-token"},
		{"\xff\xfe", "UTF-8"},
	} {
		_, err := parseClientMessage([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("parseClientMessage(%q) error = %v, want one containing %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestParseErrorsNeverEchoTokens(t *testing.T) {
	secret := "s3cr3t-" + strings.Repeat("k", 40)
	for _, in := range []string{
		"bind-with-token " + secret + " extra",
		"bind-with-tokn " + secret,
		`{"type":"bind-with-tokn","payload":{"token":"` + secret + `"}}`,
		`{"type":"unbind-from-token","payload":{"token":"` + secret + "\x01" + `"}}`,
	} {
		_, err := parseClientMessage([]byte(in))
		if err == nil || strings.Contains(err.Error(), secret[:10]) {
			t.Errorf("parseClientMessage(%q) error = %v, want an error without the token", in, err)
		}
	}
}

func FuzzParseClientMessage(f *testing.F) {
	for _, s := range []string{
		"bind-with-token abc", "bind-with-token: abc", "bind-with-token:abc",
		`{"type":"bind-with-token","payload":{"token":"t"}}`, `{"type":"unbind-from-token","payload":{"token":"t"}}`,
		`{"type":"ping"}`, "bind 1", "bind Subscription/1", "unbind 1", "resume 1 5",
		`{"resourceType":"Bundle","meta":{"extension":[{"url":"` + fhir.AccessTokenURL + `","valueString":"jwt"}]}}`,
		"", "{", "resume x -1", "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseClientMessage(b)
		if err != nil {
			if m != (clientMessage{}) {
				t.Errorf("error %v with a non-zero message %+v", err, m)
			}
			if len(err.Error()) > 200 || !utf8.ValidString(err.Error()) {
				t.Errorf("error %q: too long or not UTF-8", err)
			}
			return
		}
		switch m.kind {
		case msgBindToken, msgUnbindToken, msgReauth:
			if m.token == "" || checkToken(m.token) != nil {
				t.Errorf("%q: bad token %q", b, m.token)
			}
		case msgBind, msgUnbind, msgResume:
			if !fhir.ValidID(m.id) || m.since < 0 {
				t.Errorf("%q: bad id %q or number %d", b, m.id, m.since)
			}
		case msgPing:
		default:
			t.Errorf("%q: unknown kind %d", b, m.kind)
		}
	})
}

func TestCloseReasons(t *testing.T) {
	for _, tc := range []struct {
		r    CloseReason
		name string
		code int
		kick bool
	}{
		{ClientClosed, "client_closed", 0, false},
		{BindTimeout, "bind_timeout", 4008, true},
		{Forbidden, "forbidden", 4003, true},
		{TokenExpired, "token_expired", 4001, true},
		{SlowConsumer, "slow_consumer", websocket.ClosePolicyViolation, true},
		{WriteTimeout, "write_timeout", 0, true},
		{ReadTimeout, "read_timeout", 0, true},
		{ProtocolError, "protocol_error", 0, true},
		{TooFarBehind, "too_far_behind", 4429, true},
		{ServerShutdown, "server_shutdown", websocket.CloseGoingAway, false},
		{PolicyViolation, "policy_violation", websocket.ClosePolicyViolation, true},
		{MessageTooBig, "message_too_big", websocket.CloseMessageTooBig, true},
		{UnknownSubscription, "unknown_subscription", 4004, true},
		{TooManySockets, "too_many_sockets", websocket.ClosePolicyViolation, true},
		{CloseReason(99), "CloseReason(99)", 0, true},
	} {
		if got := tc.r.String(); got != tc.name {
			t.Errorf("CloseReason(%d).String() = %q, want %q", int(tc.r), got, tc.name)
		}
		if got := tc.r.CloseCode(); got != tc.code {
			t.Errorf("%v.CloseCode() = %d, want %d", tc.r, got, tc.code)
		}
		if got := tc.r.kick(); got != tc.kick {
			t.Errorf("%v.kick() = %v, want %v", tc.r, got, tc.kick)
		}
	}
}

func TestWSPath(t *testing.T) {
	for _, tc := range []struct {
		path, ticket string
		ok           bool
	}{
		{"/ws", "", true},
		{"/ws/", "", true},
		{"/ws/abc_-", "abc_-", true},
		{"/api/ws/abc", "abc", true},
		{"/ws/subscriptions-r4", "", true}, // Medplum's path
		{"/ws/a/b", "", false},
		{"/other", "", false},
	} {
		ticket, ok := wsPath(tc.path)
		if ticket != tc.ticket || ok != tc.ok {
			t.Errorf("wsPath(%q) = %q, %v; want %q, %v", tc.path, ticket, ok, tc.ticket, tc.ok)
		}
	}
}
