package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/fhirbell/fhirbell/fhir"
)

// frameKind is what a server frame means to the generator.
type frameKind int

const (
	frameOther     frameKind = iota // anything unrecognised (pong, query-status, …)
	frameHandshake                  // a handshake Bundle or legacy `bound <id>`: the socket is bound
	frameEvent                      // an event-notification Bundle or legacy `ping <id>`
	frameHeartbeat                  // a heartbeat Bundle
	frameError                      // an OperationOutcome: the server refused something
	numFrameKinds
)

// String names the kind in reports.
func (k frameKind) String() string {
	switch k {
	case frameHandshake:
		return "handshake"
	case frameEvent:
		return "event-notification"
	case frameHeartbeat:
		return "heartbeat"
	case frameError:
		return "error"
	default:
		return "other"
	}
}

var (
	tokEvent     = []byte(`"event-notification"`)
	tokHandshake = []byte(`"handshake"`)
	tokHeartbeat = []byte(`"heartbeat"`)
	tokOutcome   = []byte(`"OperationOutcome"`)
)

// classify sorts a text frame by substring, without decoding it: the
// generator sees thousands of frames per second on the same cores as the
// server. The type code sits in the first entry's status resource
// (Parameters in R4 Backport, SubscriptionStatus in R4B/R5 and Medplum),
// which is where these strings appear in the servers we target; an
// event-notification is checked first so that a resource payload that
// happens to contain the word "handshake" cannot hide it.
func classify(b []byte) frameKind {
	switch {
	case bytes.HasPrefix(b, []byte("ping ")):
		return frameEvent
	case bytes.HasPrefix(b, []byte("bound ")):
		return frameHandshake
	case bytes.Contains(b, tokEvent):
		return frameEvent
	case bytes.Contains(b, tokHandshake):
		return frameHandshake
	case bytes.Contains(b, tokHeartbeat):
		return frameHeartbeat
	case bytes.Contains(b, tokOutcome):
		return frameError
	}
	return frameOther
}

// parameters is the part of a FHIR Parameters resource the generator
// reads: primitive values by name.
type parameters struct {
	ResourceType string `json:"resourceType"`
	Parameter    []struct {
		Name        string `json:"name"`
		ValueString string `json:"valueString"`
		ValueURL    string `json:"valueUrl"`
		ValueURI    string `json:"valueUri"`
	} `json:"parameter"`
}

// parseParameters decodes a Parameters resource into name → value (the
// first value of each name; valueString, valueUrl or valueUri).
func parseParameters(b []byte) (map[string]string, error) {
	var p parameters
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("decode Parameters: %w", err)
	}
	if p.ResourceType != "Parameters" {
		return nil, fmt.Errorf("decode Parameters: resourceType is %q", p.ResourceType)
	}
	out := make(map[string]string, len(p.Parameter))
	for _, x := range p.Parameter {
		v := x.ValueString
		if v == "" {
			v = x.ValueURL
		}
		if v == "" {
			v = x.ValueURI
		}
		if _, dup := out[x.Name]; !dup && x.Name != "" {
			out[x.Name] = v
		}
	}
	return out, nil
}

// resourceID returns the id of a resource body, or "".
func resourceID(b []byte) string {
	var r struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &r) != nil {
		return ""
	}
	return r.ID
}

var (
	tokEventNumber = []byte(`"event-number","valueString":"`)
	tokSinceStart  = []byte(`"events-since-subscription-start","valueString":"`)
)

// quickSummary reads the type, events-since-subscription-start and event
// numbers of a notification frame. For the compact R4 Backport JSON that
// fhirbell writes it only scans bytes (the failover scenario reads every
// frame of thousands of sockets on the server's cores); anything else goes
// through the full decoder. ok is false for a frame that is not a
// notification.
func quickSummary(b []byte) (typ string, since int64, events []int64, ok bool) {
	k := classify(b)
	if k == frameHandshake || k == frameEvent || k == frameHeartbeat {
		if n, found := scanNumbers(b, tokSinceStart, nil); found {
			evs, _ := scanNumbers(b, tokEventNumber, nil)
			if k != frameEvent || len(evs) > 0 {
				return k.String(), n[0], evs, true
			}
		}
	}
	n, ok := fhir.ReadNotification(b)
	return n.Type, n.EventsSinceStart, n.Events, ok
}

// scanNumbers appends to dst the decimal number after each occurrence of
// tok in b, and reports whether there was at least one.
func scanNumbers(b, tok []byte, dst []int64) ([]int64, bool) {
	found := false
	for {
		i := bytes.Index(b, tok)
		if i < 0 {
			return dst, found
		}
		b = b[i+len(tok):]
		var n int64
		j := 0
		for ; j < len(b) && b[j] >= '0' && b[j] <= '9'; j++ {
			n = n*10 + int64(b[j]-'0')
		}
		if j == 0 || j == len(b) || b[j] != '"' {
			return dst, false // not a number: let the decoder judge
		}
		dst, found = append(dst, n), true
	}
}
