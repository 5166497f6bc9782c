package search

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
)

// extractorRevision is bumped whenever what the extractor yields changes
// in a way the registry table does not show (a new value form, a cut
// length), so that IndexVersion changes and stores rebuild their indexes.
const extractorRevision = "1"

// IndexVersion identifies what the extractor yields: a hash of the
// embedded registry and the extractor's revision. A store whose index was
// built by another version re-extracts every resource (fhirbell reindex).
var IndexVersion = sync.OnceValue(func() string {
	h := sha256.New()
	h.Write(searchParamsJSON)
	h.Write([]byte(extractorRevision))
	return hex.EncodeToString(h.Sum(nil))[:16]
})

// SortKeys returns the keys a search sorts by: q.Sort, or _id when it has
// none. Ties are broken by id ascending (unless _id is a key).
//
// The default is _id rather than _lastUpdated because a resource's id
// never changes: paging by id neither skips nor repeats a resource that is
// updated while a client pages, and every index row carries the id, so a
// store can page straight from the index of a search's most selective
// term instead of joining every match to its last-updated time first.
func (q *Query) SortKeys() []SortKey {
	if len(q.Sort) == 0 {
		return []SortKey{{Param: "_id"}}
	}
	return q.Sort
}

// SortValue is a resource's value for one sort key: a time, a number or a
// text by the key's type; Null when the resource has none (it then sorts
// after every resource that has one, in both directions). Inf is -1 or +1
// for an open date bound (before or after every time).
type SortValue struct {
	Null bool
	Time time.Time
	Inf  int
	Num  *big.Rat
	Str  string
}

// Compare orders two values of the same key ascending; Null last.
func (a SortValue) Compare(b SortValue) int {
	switch {
	case a.Null || b.Null:
		if a.Null == b.Null {
			return 0
		}
		if a.Null {
			return 1
		}
		return -1
	case a.Num != nil:
		return a.Num.Cmp(b.Num)
	case a.Inf != 0 || b.Inf != 0:
		if a.Inf == b.Inf {
			return 0
		}
		if a.Inf < b.Inf {
			return -1
		}
		return 1
	case !a.Time.IsZero() || !b.Time.IsZero():
		return a.Time.Compare(b.Time)
	}
	return strings.Compare(a.Str, b.Str)
}

// SortValueOf returns the value a resource with values vals sorts by for
// key k of a parameter (not _id or _lastUpdated): see ParamValues.SortIndex.
func SortValueOf(vals *Values, k SortKey) SortValue {
	pv := vals.Param(k.Param)
	if pv == nil {
		return SortValue{Null: true}
	}
	asc, desc := pv.SortIndex()
	i := asc
	if k.Descending {
		i = desc
	}
	if i < 0 {
		return SortValue{Null: true}
	}
	switch pv.Type {
	case "date":
		d := pv.Dates[i]
		if k.Descending {
			if d.OpenHi {
				return SortValue{Inf: 1}
			}
			return SortValue{Time: d.Hi}
		}
		if d.OpenLo {
			return SortValue{Inf: -1}
		}
		return SortValue{Time: d.Lo}
	case "number":
		return SortValue{Num: pv.Numbers[i]}
	case "quantity":
		return SortValue{Num: pv.Quantities[i].Value}
	case "token":
		return SortValue{Str: pv.Tokens[i].Code}
	case "string":
		return SortValue{Str: Fold(pv.Strings[i])}
	case "uri":
		return SortValue{Str: pv.URIs[i]}
	case "reference":
		return SortValue{Str: pv.Refs[i]}
	}
	return SortValue{Null: true}
}

// Cursor is a keyset position in the results of a search: the sort values
// and id of a resource. A next-page cursor names the last resource of a
// page, a previous-page cursor (Back) the first. Positions hold under
// concurrent writes: the page after a cursor starts after that position,
// whatever was inserted or removed before it.
type Cursor struct {
	Keys []CursorKey `json:"k"`
	ID   string      `json:"i"`
	Back bool        `json:"b,omitempty"`
}

// CursorKey is one sort value in a cursor, as text: an RFC 3339 time,
// "-infinity" or "infinity", a decimal, or a string; Null when none.
type CursorKey struct {
	Null bool   `json:"n,omitempty"`
	V    string `json:"v,omitempty"`
}

// Key returns v in a cursor.
func (v SortValue) Key() CursorKey {
	switch {
	case v.Null:
		return CursorKey{Null: true}
	case v.Num != nil:
		return CursorKey{V: DecimalString(v.Num)}
	case v.Inf < 0:
		return CursorKey{V: "-infinity"}
	case v.Inf > 0:
		return CursorKey{V: "infinity"}
	case !v.Time.IsZero():
		return CursorKey{V: v.Time.UTC().Format(time.RFC3339Nano)}
	}
	return CursorKey{V: v.Str}
}

// Value reads a cursor key for a sort key of parameter type typ ("date",
// "number", "quantity", or any other for text).
func (c CursorKey) Value(typ string) (SortValue, bool) {
	if c.Null {
		return SortValue{Null: true}, true
	}
	switch typ {
	case "date":
		switch c.V {
		case "-infinity":
			return SortValue{Inf: -1}, true
		case "infinity":
			return SortValue{Inf: 1}, true
		}
		t, err := time.Parse(time.RFC3339Nano, c.V)
		return SortValue{Time: t}, err == nil
	case "number", "quantity":
		n, ok := new(big.Rat).SetString(c.V)
		return SortValue{Num: n}, ok
	}
	return SortValue{Str: c.V}, true
}

// Encode returns the cursor as the opaque text of a _cursor parameter.
func (c Cursor) Encode() string {
	b, _ := json.Marshal(c) // plain strings and bools: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a _cursor parameter for a search sorted by keys on
// typ. A cursor that does not decode, or was made for other sort keys, is
// a *fhir.ValidationError.
func DecodeCursor(s, typ string, keys []SortKey) (Cursor, error) {
	var c Cursor
	bad := fhir.Invalid("_cursor", "the cursor is malformed or belongs to another search; follow the links of the Bundle")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil || len(c.Keys) != len(keys) || !fhir.ValidID(c.ID) {
		return Cursor{}, bad
	}
	for i, k := range keys {
		kt := "date"
		switch k.Param {
		case "_id":
			kt = "text"
		case "_lastUpdated":
		default:
			kt = ParamType(typ, k.Param)
		}
		if c.Keys[i].Null && (k.Param == "_id" || k.Param == "_lastUpdated") {
			return Cursor{}, bad
		}
		if _, ok := c.Keys[i].Value(kt); !ok {
			return Cursor{}, bad
		}
	}
	return c, nil
}

// DecimalString returns the exact decimal form of n, which must be a
// finite decimal (every number a resource or a search holds is).
func DecimalString(n *big.Rat) string {
	if n.IsInt() {
		return n.Num().String()
	}
	// A finite decimal has a denominator of 2^a·5^b; max(a, b) digits after
	// the point are exact.
	d := new(big.Int).Set(n.Denom())
	var twos, fives int
	five, r := big.NewInt(5), new(big.Int)
	for d.Bit(0) == 0 {
		d.Rsh(d, 1)
		twos++
	}
	for {
		q, m := new(big.Int).QuoRem(d, five, r)
		if m.Sign() != 0 {
			break
		}
		d = q
		fives++
	}
	return n.FloatString(max(twos, fives))
}
