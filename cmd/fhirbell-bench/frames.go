package main

import (
	"bytes"
	"encoding/json"
	"fmt"
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
