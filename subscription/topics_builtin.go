package subscription

import (
	"embed"
	"fmt"
	"io/fs"
	"sync"
)

//go:generate go run topics/gen.go -in ../testdata/fhir-r4/search-parameters.json -out topics

// builtinFS holds the built-in topics: one generated "<Type>-changed" topic
// per common clinical type (topics/gen.go writes them) and the hand-written
// encounter-start example.
//
//go:embed topics/*.json
var builtinFS embed.FS

// BuiltinTopicBase is the canonical base of fhirbell's own topics.
const BuiltinTopicBase = "https://fhirbell.dev/fhir/SubscriptionTopic/"

// EncounterStartTopic is the canonical of the built-in encounter-start
// topic. The Subscriptions Backport IG publishes no encounter-start topic
// of its own (its examples are encounter-complete), so fhirbell uses the
// canonical of the Argonaut Encounters IG, which the IG's reference
// implementations and connectathon clients use.
const EncounterStartTopic = "http://argonautproject.org/encounters-ig/SubscriptionTopic/encounter-start"

// ChangedTopic returns the canonical of the built-in topic that fires on
// every create, update and delete of resourceType, e.g.
// https://fhirbell.dev/fhir/SubscriptionTopic/Observation-changed. Only the
// types of BuiltinTopics have one.
func ChangedTopic(resourceType string) string {
	return BuiltinTopicBase + resourceType + "-changed"
}

var builtinTopics = sync.OnceValues(func() ([]*Topic, error) {
	files, err := fs.Glob(builtinFS, "topics/*.json")
	if err != nil {
		return nil, err
	}
	var out []*Topic
	for _, name := range files {
		b, err := builtinFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		t, err := ParseTopic(b)
		if err != nil {
			return nil, fmt.Errorf("built-in topic %s: %w", name, err)
		}
		out = append(out, t)
	}
	return out, nil
})

// BuiltinTopics returns the topics fhirbell always offers, sorted by file
// name: "<Type>-changed" for Appointment, Communication, Condition,
// DiagnosticReport, Encounter, MedicationRequest, Observation, Patient,
// ServiceRequest and Task, and encounter-start. They are parsed on first
// call and shared: callers must not modify them. It panics if an embedded
// topic does not parse, a build defect that the package tests catch.
func BuiltinTopics() []*Topic {
	ts, err := builtinTopics()
	if err != nil {
		panic("subscription: " + err.Error())
	}
	return ts
}
