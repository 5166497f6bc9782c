package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fhirbell/fhirbell/fhir"
)

// msgKind is what a client message asks for.
type msgKind int

const (
	msgBindToken   msgKind = iota + 1 // bind-with-token <t> | bind-with-token: <t> | {"type":"bind-with-token",…}
	msgUnbindToken                    // {"type":"unbind-from-token","payload":{"token":…}}
	msgBind                           // bind <id> (legacy)
	msgUnbind                         // unbind <id>
	msgResume                         // resume <id> <n>
	msgPing                           // {"type":"ping"}
	msgReauth                         // a Bundle carrying meta.extension access-token
)

// clientMessage is a parsed client → server text frame.
type clientMessage struct {
	kind  msgKind
	token string // msgBindToken, msgUnbindToken, msgReauth: a secret, never logged or echoed
	id    string // msgBind, msgUnbind, msgResume: the Subscription id part
	since int64  // msgResume: the last event number the client has
	json  bool   // msgBindToken, msgUnbindToken: sent in Medplum's JSON framing
}

// maxTokenLen bounds a token so that a garbage frame is not taken for one;
// binding tokens are 43 characters and JWTs a few KiB.
const maxTokenLen = 8 << 10

// parseClientMessage parses one text frame in any dialect (see the package documentation).
// It is pure, so it can be fuzzed. Errors are meant for the client (an
// OperationOutcome frame): they never contain a token and quote at most a
// short prefix of the client's input.
//
// Text commands are one line; surrounding whitespace is ignored, words are
// separated by runs of spaces or tabs, and the keywords are lowercase:
//
//	bind-with-token <token>     bind-with-token: <token>     bind-with-token:<token>
//	bind <id>                   bind Subscription/<id>       (also an absolute …/Subscription/<id>)
//	unbind <id>
//	resume <id> <n>             n ≥ 0, decimal
//
// A frame that starts with '{' is JSON: Medplum's {"type":"bind-with-token",
// "payload":{"token":…}}, {"type":"unbind-from-token",…} and {"type":"ping"},
// or a Bundle whose meta.extension holds fhir.AccessTokenURL (in-band
// re-authentication).
func parseClientMessage(b []byte) (clientMessage, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return clientMessage{}, errors.New("empty message")
	}
	if !utf8.Valid(b) {
		return clientMessage{}, errors.New("message is not valid UTF-8")
	}
	if b[0] == '{' {
		return parseJSONMessage(b)
	}
	if bytes.ContainsAny(b, "\r\n") {
		return clientMessage{}, errors.New("a message is a single line")
	}
	s := string(b)
	cmd, rest := cutWord(s)
	switch {
	case cmd == "bind-with-token" || cmd == "bind-with-token:":
		return tokenMessage(msgBindToken, rest)
	case strings.HasPrefix(cmd, "bind-with-token:"): // no space after the colon
		return tokenMessage(msgBindToken, s[len("bind-with-token:"):])
	case cmd == "bind" || cmd == "unbind":
		id, extra := cutWord(rest)
		if extra != "" {
			return clientMessage{}, fmt.Errorf("%s takes one subscription id", cmd)
		}
		sid, err := subscriptionID(id)
		if err != nil {
			return clientMessage{}, fmt.Errorf("%s: %w", cmd, err)
		}
		k := msgBind
		if cmd == "unbind" {
			k = msgUnbind
		}
		return clientMessage{kind: k, id: sid}, nil
	case cmd == "resume":
		id, rest := cutWord(rest)
		num, extra := cutWord(rest)
		if extra != "" || num == "" {
			return clientMessage{}, errors.New("resume takes a subscription id and an event number: resume <id> <n>")
		}
		sid, err := subscriptionID(id)
		if err != nil {
			return clientMessage{}, fmt.Errorf("resume: %w", err)
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n < 0 || num[0] == '+' {
			return clientMessage{}, fmt.Errorf("resume: event number %s is not a whole number ≥ 0", quoteShort(num))
		}
		return clientMessage{kind: msgResume, id: sid, since: n}, nil
	}
	return clientMessage{}, fmt.Errorf("unknown message %s (expected bind-with-token, bind, unbind or resume)", quoteShort(cmd))
}

// cutWord splits s at its first run of spaces or tabs, trimming both parts.
func cutWord(s string) (word, rest string) {
	s = strings.TrimLeft(s, " \t")
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, ""
	}
	return s[:i], strings.TrimLeft(s[i:], " \t")
}

func tokenMessage(k msgKind, rest string) (clientMessage, error) {
	tok, extra := cutWord(rest)
	if tok == "" {
		return clientMessage{}, errors.New("bind-with-token needs a token")
	}
	if extra != "" {
		return clientMessage{}, errors.New("bind-with-token takes one token")
	}
	if err := checkToken(tok); err != nil {
		return clientMessage{}, err
	}
	return clientMessage{kind: k, token: tok}, nil
}

// checkToken accepts printable ASCII without spaces, the alphabet of
// base64url secrets and JWTs.
func checkToken(tok string) error {
	if len(tok) > maxTokenLen {
		return fmt.Errorf("token longer than %d bytes", maxTokenLen)
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c >= 0x7f {
			return errors.New("token has characters outside printable ASCII")
		}
	}
	return nil
}

// subscriptionID returns the id part of "123", "Subscription/123" or
// "https://…/Subscription/123" (HAPI accepts all three and answers with
// the id part), ignoring a trailing /_history/n.
func subscriptionID(s string) (string, error) {
	if s == "" {
		return "", errors.New("no subscription id")
	}
	ref := s
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	id := ref
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		typ := ref[:i]
		if j := strings.LastIndexByte(typ, '/'); j >= 0 {
			typ = typ[j+1:]
		}
		if typ != "Subscription" {
			return "", fmt.Errorf("%s is not a Subscription id or reference", quoteShort(s))
		}
		id = ref[i+1:]
	}
	if !fhir.ValidID(id) {
		return "", fmt.Errorf("%s is not a valid id", quoteShort(s))
	}
	return id, nil
}

// jsonMessage is the union of the JSON frames a client may send.
type jsonMessage struct {
	Type    string `json:"type"`
	Payload *struct {
		Token string `json:"token"`
	} `json:"payload"`
	ResourceType string `json:"resourceType"`
	Meta         *struct {
		Extension []struct {
			URL         string `json:"url"`
			ValueString string `json:"valueString"`
		} `json:"extension"`
	} `json:"meta"`
}

func parseJSONMessage(b []byte) (clientMessage, error) {
	var m jsonMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return clientMessage{}, errors.New("message is not valid JSON")
	}
	if m.ResourceType != "" {
		if m.ResourceType != "Bundle" {
			return clientMessage{}, fmt.Errorf("resource %s is not accepted on the socket (only a re-authentication Bundle)", quoteShort(m.ResourceType))
		}
		if m.Meta != nil {
			for _, e := range m.Meta.Extension {
				if e.URL == fhir.AccessTokenURL {
					if e.ValueString == "" {
						return clientMessage{}, errors.New("the access-token extension in Bundle.meta has no valueString")
					}
					if err := checkToken(e.ValueString); err != nil {
						return clientMessage{}, err
					}
					return clientMessage{kind: msgReauth, token: e.ValueString}, nil
				}
			}
		}
		return clientMessage{}, errors.New("a Bundle sent on the socket must carry an access-token extension in meta.extension")
	}
	switch m.Type {
	case "ping":
		return clientMessage{kind: msgPing}, nil
	case "bind-with-token", "unbind-from-token":
		if m.Payload == nil || m.Payload.Token == "" {
			return clientMessage{}, fmt.Errorf("%s needs payload.token", m.Type)
		}
		if err := checkToken(m.Payload.Token); err != nil {
			return clientMessage{}, err
		}
		k := msgBindToken
		if m.Type == "unbind-from-token" {
			k = msgUnbindToken
		}
		return clientMessage{kind: k, token: m.Payload.Token, json: true}, nil
	case "":
		return clientMessage{}, errors.New("JSON message without type")
	}
	return clientMessage{}, fmt.Errorf("unknown message type %s (expected bind-with-token, unbind-from-token or ping)", quoteShort(m.Type))
}

// quoteShort quotes at most the first 32 bytes of s, for error messages
// that echo client input.
func quoteShort(s string) string {
	const max = 32
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}
