package subscription

import (
	"fmt"
	"net/textproto"
	"net/url"
	"strings"

	"github.com/fhirbell/fhirbell/fhir"
)

// ChannelRestHook is the channel on which fhirbell POSTs notification
// Bundles to the subscriber's endpoint (the resthook package delivers it).
const ChannelRestHook = "rest-hook"

// ExtSecret is Medplum's shared-secret extension on a Subscription: when it
// is present, every rest-hook POST carries X-Signature, the hex
// HMAC-SHA256 of the body under that secret.
const ExtSecret = "https://medplum.com/fhir/StructureDefinition/subscription-secret"

// Header is one channel.header entry of a rest-hook Subscription, sent with
// every POST. Its value is a secret as far as logs are concerned.
type Header struct {
	Name  string // canonical form (textproto.CanonicalMIMEHeaderKey)
	Value string
}

// maxHeaders and maxHeaderBytes bound what a Subscription may ask to be
// sent with each POST.
const (
	maxHeaders     = 20
	maxHeaderBytes = 8 << 10
)

// reservedHeaders are set by the deliverer, or by net/http, and a
// channel.header may not replace them: they frame the request or carry the
// signature the receiver checks.
var reservedHeaders = map[string]bool{
	"Host": true, "Content-Length": true, "Content-Type": true, "Transfer-Encoding": true,
	"Connection": true, "Keep-Alive": true, "Te": true, "Trailer": true, "Upgrade": true,
	"Proxy-Authorization": true, "Proxy-Connection": true, "Expect": true, "X-Signature": true,
}

// ParseHeader parses one channel.header entry, "Name: value" (R4 says
// "Additional headers / information to send as part of the notification";
// every server reads it as an HTTP header line). The name must be an HTTP
// token and not one the deliverer sets itself; the value may not hold
// control characters (no header injection). The error never quotes the
// value, which is usually a credential.
func ParseHeader(s string) (Header, error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return Header{}, fmt.Errorf("is not \"Name: value\"")
	}
	name = strings.TrimSpace(name)
	if name == "" || !isToken(name) {
		return Header{}, fmt.Errorf("header name %q is not an HTTP token", truncate(name, 40))
	}
	name = textproto.CanonicalMIMEHeaderKey(name)
	if reservedHeaders[name] || strings.HasPrefix(name, "Proxy-") {
		return Header{}, fmt.Errorf("header %s is set by the server and cannot be given", name)
	}
	value = strings.TrimSpace(value)
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return Header{}, fmt.Errorf("the value of header %s holds a control character", name)
		}
	}
	return Header{Name: name, Value: value}, nil
}

// isToken reports whether s is an RFC 9110 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// ParseEndpoint checks a rest-hook channel.endpoint: an absolute http or
// https URL with a host, without user information (credentials belong in
// channel.header, which is never logged, not in a URL, which is) and
// without a fragment. Whether its host may be reached is the endpoint
// policy's question (EndpointPolicy), not this one's.
func ParseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("is not a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("must be an http:// or https:// URL")
	case u.Host == "" || u.Hostname() == "":
		return nil, fmt.Errorf("has no host")
	case u.User != nil:
		return nil, fmt.Errorf("must not carry credentials; send them with channel.header")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return nil, fmt.Errorf("must not have a fragment")
	}
	return u, nil
}

// parseRestHook reads what a rest-hook channel adds: the endpoint (1..1),
// the headers and the Medplum secret.
func (s *Subscription) parseRestHook(root, ch node) error {
	ep, present, err := ch.str("endpoint")
	if err != nil {
		return err
	}
	if !present || strings.TrimSpace(ep) == "" {
		return &fhir.ValidationError{Path: ch.at("endpoint"), Msg: "is required for a rest-hook channel (the URL notifications are POSTed to)", Code: fhir.IssueRequired}
	}
	if _, err := ParseEndpoint(ep); err != nil {
		return fhir.Invalid(ch.at("endpoint"), err.Error())
	}
	s.Endpoint = ep
	hs, err := ch.strs("header")
	if err != nil {
		return err
	}
	if len(hs) > maxHeaders {
		return fhir.Invalid(ch.at("header"), fmt.Sprintf("at most %d headers", maxHeaders))
	}
	size := 0
	for i, h := range hs {
		size += len(h)
		hdr, err := ParseHeader(h)
		if err != nil {
			return fhir.Invalid(fmt.Sprintf("%s[%d]", ch.at("header"), i), err.Error())
		}
		s.Headers = append(s.Headers, hdr)
	}
	if size > maxHeaderBytes {
		return fhir.Invalid(ch.at("header"), fmt.Sprintf("headers exceed %d bytes", maxHeaderBytes))
	}
	exts, err := root.extensions("extension")
	if err != nil {
		return err
	}
	for _, e := range exts {
		if e.url != ExtSecret {
			continue
		}
		if s.Secret != "" {
			return fhir.Invalid(e.path, "subscription-secret appears twice")
		}
		if s.Secret, err = e.stringValue("valueString"); err != nil {
			return err
		}
		if s.Secret == "" {
			return fhir.Invalid(e.path, "subscription-secret is empty")
		}
	}
	return nil
}

// live reports whether the engine numbers events for s: an active
// subscription, or a rest-hook one waiting for its handshake (requested)
// or failing (error). A rest-hook subscription keeps its log while its
// endpoint is down, so that nothing is lost when it recovers (Backport IG:
// in error the server keeps counting events).
func (s *Subscription) live() bool {
	switch s.Status {
	case StatusActive:
		return true
	case StatusRequested, StatusError:
		return s.ChannelType == ChannelRestHook
	}
	return false
}

// socketActive reports whether a WebSocket may bind s.
func (s *Subscription) socketActive() bool {
	return s.Status == StatusActive && s.ChannelType == ChannelWebsocket
}
