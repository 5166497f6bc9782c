// Package resthooktest is a minimal rest-hook receiver on loopback: an
// HTTP server that records every notification POSTed to it and answers
// with a status the caller sets, for end-to-end tests and the benchmark.
package resthooktest
