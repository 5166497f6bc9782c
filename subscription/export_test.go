package subscription

import "github.com/fhirbell/fhirbell/fhir"

// SkipWriteValidation turns the R4 validation of writes off until restore
// is called, for the benchmark that compares the write path with and
// without it. Not safe while writes run.
func SkipWriteValidation() (restore func()) {
	old := validateWrite
	validateWrite = func(*fhir.Resource) error { return nil }
	return func() { validateWrite = old }
}
