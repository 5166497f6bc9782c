package search

import (
	"fmt"
	"github.com/fhirbell/fhirbell/fhir"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Value is one ORed value of a term, parsed for the term's type.
type Value struct {
	raw    string // unescaped
	prefix string // date, number, quantity: eq ne gt lt ge le sa eb ap

	// token: system|code; hasSystem is true when a "|" was given.
	system, code string
	hasSystem    bool

	// string (and token :text): the folded text.
	folded string

	// date: the half-open range [lo, hi) the value denotes.
	lo, hi time.Time

	// number, quantity: the number and the half-open range [numLo, numHi)
	// of its implicit precision. quantity: system and code (code may be a
	// unit when system is empty).
	num, numLo, numHi *big.Rat

	// reference: refType/refID when the value names a type and id, refID
	// alone for a plain id; raw otherwise (canonical or other URL).
	refType, refID string
}

// prefixes are the comparison prefixes of date, number and quantity values.
var prefixes = []string{"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"}

func splitPrefix(s string) (prefix, rest string) {
	if len(s) > 2 {
		for _, p := range prefixes {
			if s[:2] == p {
				return p, s[2:]
			}
		}
	}
	return "eq", s
}

func (t *Term) parseValue(part string) (*Value, error) {
	v := &Value{raw: unescape(part)}
	switch t.param.Type {
	case "token":
		if t.modifier == "text" {
			v.folded = foldText(v.raw)
			return v, nil
		}
		pieces := splitEscaped(part, '|')
		switch len(pieces) {
		case 1:
			v.code = unescape(pieces[0])
		case 2:
			v.system, v.code, v.hasSystem = unescape(pieces[0]), unescape(pieces[1]), true
			if v.system == "" && v.code == "" {
				return nil, fhir.Invalid(t.key, `"|" is not a token: give a code, system|code, |code or system|`)
			}
		default:
			return nil, fhir.Invalid(t.key, fmt.Sprintf("token %q has more than one unescaped \"|\"", v.raw))
		}
	case "string":
		v.folded = foldText(v.raw)
	case "uri":
	case "date":
		var rest string
		v.prefix, rest = splitPrefix(v.raw)
		lo, hi, ok := parseDateRange(rest)
		if !ok {
			return nil, fhir.Invalid(t.key, fmt.Sprintf("%q is not a date, dateTime or instant (e.g. 2024-03-05 or 2024-03-05T10:00:00Z)", v.raw))
		}
		v.lo, v.hi = lo, hi
	case "number":
		var rest string
		v.prefix, rest = splitPrefix(v.raw)
		if !v.setNumber(rest) {
			return nil, fhir.Invalid(t.key, fmt.Sprintf("%q is not a number", v.raw))
		}
	case "quantity":
		pieces := splitEscaped(part, '|')
		if len(pieces) != 1 && len(pieces) != 3 {
			return nil, fhir.Invalid(t.key, fmt.Sprintf("%q is not a quantity: use number, number|system|code or number||unit", v.raw))
		}
		var rest string
		v.prefix, rest = splitPrefix(unescape(pieces[0]))
		if !v.setNumber(rest) {
			return nil, fhir.Invalid(t.key, fmt.Sprintf("%q does not start with a number", v.raw))
		}
		if len(pieces) == 3 {
			v.system, v.code = unescape(pieces[1]), unescape(pieces[2])
		}
	case "reference":
		if err := v.setReference(t); err != nil {
			return nil, err
		}
	default:
		return nil, notSupported(t.key, "search parameter type %s is not supported", t.param.Type)
	}
	return v, nil
}

var numberPattern = regexp.MustCompile(`^[+-]?(\d+)(\.(\d+))?([eE]([+-]?\d{1,4}))?$`)

// setNumber parses s and its implicit range: "100" stands for [99.5,
// 100.5), "100.0" for [99.95, 100.05), "1e2" for [50, 150) (one
// significant figure), per the R4 search spec's rule that a number
// matches within the precision it was given.
func (v *Value) setNumber(s string) bool {
	m := numberPattern.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	n, ok := new(big.Rat).SetString(s)
	if !ok {
		return false
	}
	exp := -len(m[3])
	if m[5] != "" {
		e, _ := strconv.Atoi(m[5]) // the pattern guarantees digits
		exp += e
	}
	half := new(big.Rat).SetFrac64(1, 2)
	scale := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(exp))), nil))
	if exp >= 0 {
		half.Mul(half, scale)
	} else {
		half.Quo(half, scale)
	}
	v.num = n
	v.numLo = new(big.Rat).Sub(n, half)
	v.numHi = new(big.Rat).Add(n, half)
	return true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// setReference reads a reference search value: Type/id, a plain id (with
// the :Type modifier it becomes Type/id), an absolute URL (its trailing
// Type/id is kept beside the URL) or any other string (a canonical URL,
// compared as is).
func (v *Value) setReference(t *Term) error {
	s := v.raw
	if typ, id, ok := splitTypeID(s); ok {
		if t.refType != "" && typ != t.refType {
			return fhir.Invalid(t.key, fmt.Sprintf("%q does not refer to a %s", s, t.refType))
		}
		if !strings.Contains(s, "://") && len(t.param.Targets) > 0 && !containsString(t.param.Targets, typ) {
			return fhir.Invalid(t.key, fmt.Sprintf("%s cannot refer to %s", t.param.Code, typ))
		}
		v.refType, v.refID = typ, id
		return nil
	}
	if fhir.ValidID(s) {
		v.refType, v.refID = t.refType, s
		return nil
	}
	if t.refType != "" {
		return fhir.Invalid(t.key, fmt.Sprintf("%q is not an id of a %s", s, t.refType))
	}
	return nil // compared as a literal (canonical) reference
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// splitTypeID returns the trailing Type/id of a reference, relative or
// absolute, ignoring a trailing /_history/{vid} or a canonical's |version.
func splitTypeID(ref string) (typ, id string, ok bool) {
	ref, _, _ = strings.Cut(ref, "|")
	if i := strings.Index(ref, "/_history/"); i >= 0 {
		ref = ref[:i]
	}
	j := strings.LastIndexByte(ref, '/')
	if j <= 0 {
		return "", "", false
	}
	id = ref[j+1:]
	rest := ref[:j]
	typ = rest[strings.LastIndexByte(rest, '/')+1:]
	if !fhir.IsResourceType(typ) || !fhir.ValidID(id) {
		return "", "", false
	}
	if len(typ) < len(rest) && !strings.Contains(rest, "://") {
		return "", "", false // "a/Patient/1" is neither relative nor absolute
	}
	return typ, id, true
}

var datePattern = regexp.MustCompile(`^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+\- ]\d{2}:\d{2})?)?)?)?$`)

// parseDateRange parses a FHIR date, dateTime or instant and returns the
// half-open range [lo, hi) it denotes at its precision: "2024" is the year,
// "2024-03" the month, "2024-03-05T10:00" the minute. A time without a zone
// is taken as UTC. A space in place of the zone's "+" is accepted because
// an unescaped "+" in a URL query decodes to a space.
func parseDateRange(s string) (lo, hi time.Time, ok bool) {
	m := datePattern.FindStringSubmatch(s)
	if m == nil {
		return lo, hi, false
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	year, month, day := atoi(m[1]), 1, 1
	if m[2] != "" {
		month = atoi(m[2])
	}
	if m[3] != "" {
		day = atoi(m[3])
	}
	hour, minute, sec, nsec := atoi(m[4]), atoi(m[5]), atoi(m[6]), 0
	if m[7] != "" {
		frac := m[7] + strings.Repeat("0", 9-len(m[7]))
		nsec = atoi(frac)
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 60 {
		return lo, hi, false
	}
	loc := time.UTC
	if z := m[8]; z != "" && z != "Z" {
		off := atoi(z[1:3])*3600 + atoi(z[4:6])*60
		if z[0] == '-' {
			off = -off
		}
		if atoi(z[1:3]) > 14 || atoi(z[4:6]) > 59 {
			return lo, hi, false
		}
		loc = time.FixedZone("", off)
	}
	lo = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, loc)
	if lo.Day() != day {
		return lo, hi, false // February 30th
	}
	switch {
	case m[2] == "":
		hi = lo.AddDate(1, 0, 0)
	case m[3] == "":
		hi = lo.AddDate(0, 1, 0)
	case m[4] == "":
		hi = lo.AddDate(0, 0, 1)
	case m[6] == "":
		hi = lo.Add(time.Minute)
	case m[7] == "":
		hi = lo.Add(time.Second)
	default:
		step := time.Duration(1)
		for range 9 - len(m[7]) {
			step *= 10
		}
		hi = lo.Add(step)
	}
	return lo.UTC(), hi.UTC(), true
}

// ParseDateRange parses a FHIR date, dateTime or instant into the
// half-open range [lo, hi) it denotes at its precision (see
// parseDateRange), for the parameters outside a search that take one
// (_since and _at of a history).
func ParseDateRange(s string) (lo, hi time.Time, ok bool) { return parseDateRange(s) }
