// Type-level and system-level history: the query a store answers, its
// keyset cursor, and the Service method that judges each version.

package subscription

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/auth"
	"github.com/fhirbell/fhirbell/fhir"
)

// HistoryQuery selects the versions of a type-level history (Type set) or
// of the system-level history (Type "").
type HistoryQuery struct {
	Type string
	// Since keeps the versions written at or after it (_since); zero keeps
	// every version.
	Since time.Time
	// AtLo and AtHi (_at) keep the versions that were current at some
	// moment of [AtLo, AtHi): written before AtHi, and not replaced by a
	// next version written at or before AtLo. A zero AtHi means no _at.
	AtLo, AtHi time.Time
	// Cursor is HistoryPage.Next of the page before; "" starts at the
	// newest version.
	Cursor string
}

// HistoryVersion is one version of a history page.
type HistoryVersion struct {
	Resource
	// Recreated reports that the version before this one is a deletion, so
	// this one created the resource again.
	Recreated bool
	// Was is, for a deletion, the body of the version it deleted (always
	// live: deleting a deleted resource stores nothing); access to the
	// deletion is judged by it. nil for a live version.
	Was json.RawMessage
}

// HistoryPage is one page of a type- or system-level history.
type HistoryPage struct {
	// Versions are newest first: by LastUpdated, then type, id and version,
	// each descending. The order is total, so a keyset cursor on it pages
	// without gaps or repeats while writes go on: a version written after
	// the first page is newer than every page and never shifts one.
	Versions []HistoryVersion
	// Next is the cursor of the following (older) page; "" when there is
	// none.
	Next string
}

// HistoryCursor is a position in the history order: the version it names
// and everything newer is behind it.
type HistoryCursor struct {
	At      time.Time
	Type    string
	ID      string
	Version int64
}

// CursorOf returns the cursor after v.
func CursorOf(v Resource) HistoryCursor {
	return HistoryCursor{At: v.LastUpdated, Type: v.Type, ID: v.ID, Version: v.VersionID}
}

// Encode returns the cursor as an opaque URL-safe string.
func (c HistoryCursor) Encode() string {
	s := strconv.FormatInt(c.At.UnixMicro(), 10) + " " + c.Type + " " + c.ID + " " + strconv.FormatInt(c.Version, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// DecodeHistoryCursor reads a cursor Encode made; anything else is a
// *fhir.ValidationError. A cursor of a type-level history names that
// type.
func DecodeHistoryCursor(s, typ string) (HistoryCursor, error) {
	bad := func() (HistoryCursor, error) {
		return HistoryCursor{}, fhir.Invalid("_cursor", "not a cursor of this history; follow the Bundle's next link")
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad()
	}
	parts := strings.Split(string(raw), " ")
	if len(parts) != 4 {
		return bad()
	}
	us, err1 := strconv.ParseInt(parts[0], 10, 64)
	v, err2 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil || v < 1 || !fhir.IsResourceType(parts[1]) || !fhir.ValidID(parts[2]) || (typ != "" && parts[1] != typ) {
		return bad()
	}
	return HistoryCursor{At: time.UnixMicro(us).UTC(), Type: parts[1], ID: parts[2], Version: v}, nil
}

// Before reports whether a version at (at, typ, id, v) comes after the
// cursor in the newest-first order, i.e. is older than it.
func (c HistoryCursor) Before(at time.Time, typ, id string, v int64) bool {
	if !at.Equal(c.At) {
		return at.Before(c.At)
	}
	if typ != c.Type {
		return typ < c.Type
	}
	if id != c.ID {
		return id < c.ID
	}
	return v < c.Version
}

// HistoryOf returns a page of at most count versions of q's type (or of
// every type), newest first, among those the caller may read: each is
// judged on its own by the read guard (a deletion by the version it
// deleted), and what the caller may not read is left out, so a page may
// hold fewer than count versions while Next says more may follow. A
// type-level history of a type the caller's scopes do not cover at all is
// 403, like a search of it.
func (s *Service) HistoryOf(ctx context.Context, q HistoryQuery, count int) (HistoryPage, error) {
	if q.Type != "" {
		if err := checkAccess(ctx, auth.Read, q.Type, nil, nil); err != nil {
			return HistoryPage{}, err
		}
	}
	page, err := s.store.Versions(ctx, q, count)
	if err != nil {
		return HistoryPage{}, fmt.Errorf("history: %w", err)
	}
	out := page.Versions[:0:0]
	for _, v := range page.Versions {
		body := v.Body
		if v.Deleted {
			body = v.Was
		}
		switch err := readable(ctx, v.Type, body); {
		case err == nil:
			out = append(out, v)
		case errors.Is(err, ErrNotFound), q.Type == "" && errors.Is(err, auth.ErrForbidden):
			// Hidden, or in the system history a type the caller may
			// not read at all: left out.
		default:
			return HistoryPage{}, err
		}
	}
	page.Versions = out
	return page, nil
}
