package fhir

import (
	"fmt"
	"unicode/utf8"
)

// JSON accepts documents that FHIR does not, and that a store then either
// refuses (Postgres jsonb: SQLSTATE 22021, 22P05, 22003) or keeps and serves
// back broken (the memory store). ParseObject refuses them with the other
// syntax errors, so every path that takes a resource body from outside (REST
// create and update, every Bundle entry, operation Parameters) turns them
// into a 400 OperationOutcome before anything is stored:
//
//   - text that is not UTF-8 (RFC 8259 §8.1), and \u escapes that are not
//     characters: an unpaired surrogate (\ud800) encodes nothing;
//   - control characters other than tab, CR and LF, escaped or not: FHIR
//     strings may not hold them (R4 §2.6.2 "string"), and jsonb cannot
//     store \u0000;
//   - numbers longer than MaxNumberLen bytes or with an exponent beyond
//     ±MaxNumberExponent. FHIR decimals carry at most a few dozen digits;
//     1e999999 is not a measurement but a request for a million-digit
//     number, which Postgres refuses and which an exact (big.Rat)
//     comparison would have to build.

// Bounds on a JSON number literal in a resource body.
const (
	MaxNumberLen      = 100
	MaxNumberExponent = 1000
)

// CheckText reports whether b, a syntactically valid JSON document, also
// meets the text rules above; the error is a *ValidationError giving the
// byte offset of the first violation.
func CheckText(b []byte) error {
	if !utf8.Valid(b) {
		off := 0
		for off < len(b) {
			r, n := utf8.DecodeRune(b[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return Invalid("", fmt.Sprintf("body is not valid UTF-8 (at byte %d)", off))
	}
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			end, err := checkString(b, i+1)
			if err != nil {
				return err
			}
			i = end
		case c == '-' || '0' <= c && c <= '9':
			j := i
			for j < len(b) && isNumberByte(b[j]) {
				j++
			}
			if err := checkNumber(b[i:j], i); err != nil {
				return err
			}
			i = j - 1
		}
	}
	return nil
}

// checkString checks the string whose content starts at b[i] and returns
// the offset of its closing quote.
func checkString(b []byte, i int) (int, error) {
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i, nil
		case c < 0x20:
			return 0, controlChar(i)
		case c == '\\':
			i++
			if i >= len(b) || b[i] != 'u' {
				continue // a one-letter escape; the decoder checked which
			}
			r, ok := hex4(b, i+1)
			if !ok {
				return 0, Invalid("", fmt.Sprintf("body has a bad \\u escape (at byte %d)", i-1))
			}
			switch {
			case r < 0x20 && r != '\t' && r != '\n' && r != '\r':
				return 0, controlChar(i - 1)
			case 0xDC00 <= r && r < 0xE000:
				return 0, loneSurrogate(i - 1)
			case 0xD800 <= r && r < 0xDC00:
				// A high surrogate must be followed by a low one.
				if i+10 >= len(b) || b[i+5] != '\\' || b[i+6] != 'u' {
					return 0, loneSurrogate(i - 1)
				}
				lo, ok := hex4(b, i+7)
				if !ok || lo < 0xDC00 || lo >= 0xE000 {
					return 0, loneSurrogate(i - 1)
				}
				i += 6
			}
			i += 4
		}
	}
	return 0, Invalid("", "body has an unterminated string")
}

func controlChar(off int) error {
	return Invalid("", fmt.Sprintf("body has a control character in a string (at byte %d); FHIR strings allow only tab, CR and LF", off))
}

func loneSurrogate(off int) error {
	return Invalid("", fmt.Sprintf("body has a \\u escape that is an unpaired UTF-16 surrogate (at byte %d)", off))
}

// hex4 decodes the four hex digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

func isNumberByte(c byte) bool {
	return '0' <= c && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// checkNumber checks a number literal found at byte off.
func checkNumber(lit []byte, off int) error {
	if len(lit) > MaxNumberLen {
		return Invalid("", fmt.Sprintf("body has a number of more than %d characters (at byte %d)", MaxNumberLen, off))
	}
	for k, c := range lit {
		if c != 'e' && c != 'E' {
			continue
		}
		exp := 0
		for _, d := range lit[k+1:] {
			if '0' <= d && d <= '9' {
				exp = exp*10 + int(d-'0')
				if exp > MaxNumberExponent {
					return Invalid("", fmt.Sprintf("body has a number whose exponent is beyond ±%d (at byte %d)", MaxNumberExponent, off))
				}
			}
		}
		break
	}
	return nil
}
