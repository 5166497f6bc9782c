// Package pgtest gives tests a Postgres schema of their own: NewSchema
// creates a fresh schema in the database FHIRBELL_TEST_DATABASE_URL names
// and drops it when the test ends, so that tests (and several developers'
// runs) never see each other's rows. It imports testing, so only test
// files import it: the production binary does not link it.
package pgtest
