package patch

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/validate"
)

// FHIRPathPatch applies a FHIRPath Patch (a Parameters resource whose
// "operation" parameters each have parts type, path, and name, value,
// index, source, destination as the type needs) to doc, a resource of
// type typ. Operations apply in order; the first that fails stops the
// patch.
func FHIRPathPatch(typ string, doc, params []byte) ([]byte, error) {
	ops, err := parseOperations(params)
	if err != nil {
		return nil, err
	}
	root, err := decode(doc)
	if err != nil {
		return nil, fmt.Errorf("patch: stored resource: %w", err)
	}
	obj, ok := root.(*object)
	if !ok {
		return nil, fmt.Errorf("patch: stored resource is not an object")
	}
	for _, op := range ops {
		if err := op.apply(typ, obj); err != nil {
			return nil, err
		}
	}
	return encode(obj), nil
}

// operation is one FHIRPath Patch operation.
type operation struct {
	at                  string // Parameters.parameter[i], for errors
	typ, path, name     string
	value               any // nil when absent
	hasValue            bool
	index, source, dest int // -1 when absent
}

func parseOperations(params []byte) ([]*operation, error) {
	root, err := decode(params)
	if err != nil {
		return nil, fhir.Invalid("", "the FHIRPath Patch is not JSON: "+err.Error())
	}
	p, ok := root.(*object)
	if !ok {
		return nil, fhir.Invalid("", "a FHIRPath Patch is a Parameters resource, not a JSON "+kindOf(root))
	}
	if rt, _ := p.get("resourceType"); rt != "Parameters" {
		return nil, fhir.Invalid("resourceType", "a FHIRPath Patch is a Parameters resource")
	}
	list, _ := p.get("parameter")
	params2, _ := list.([]any)
	var ops []*operation
	for i, raw := range params2 {
		at := fmt.Sprintf("Parameters.parameter[%d]", i)
		par, _ := raw.(*object)
		if par == nil {
			return nil, fhir.Invalid(at, "not an object")
		}
		if name, _ := par.get("name"); name != "operation" {
			return nil, fhir.Invalid(at+".name", fmt.Sprintf("%v is not a FHIRPath Patch parameter (operation)", name))
		}
		op := &operation{at: at, index: -1, source: -1, dest: -1}
		parts, _ := par.get("part")
		partList, _ := parts.([]any)
		for j, rp := range partList {
			pat := fmt.Sprintf("%s.part[%d]", at, j)
			part, _ := rp.(*object)
			if part == nil {
				return nil, fhir.Invalid(pat, "not an object")
			}
			pname, _ := part.get("name")
			switch pname {
			case "type", "path", "name":
				v, ok := primitive(part, "valueCode", "valueString")
				if !ok {
					return nil, fhir.Invalid(pat, fmt.Sprintf("part %v needs a valueCode or valueString", pname))
				}
				switch pname {
				case "type":
					op.typ = v
				case "path":
					op.path = v
				default:
					op.name = v
				}
			case "index", "source", "destination":
				v, ok := part.get("valueInteger")
				n, err := strconv.Atoi(fmt.Sprint(v))
				if !ok || err != nil || n < 0 {
					return nil, fhir.Invalid(pat, fmt.Sprintf("part %v needs a non-negative valueInteger", pname))
				}
				switch pname {
				case "index":
					op.index = n
				case "source":
					op.source = n
				default:
					op.dest = n
				}
			case "value":
				v, err := partValue(part, pat)
				if err != nil {
					return nil, err
				}
				op.value, op.hasValue = v, true
			default:
				return nil, fhir.Invalid(pat+".name", fmt.Sprintf("unknown operation part %v", pname))
			}
		}
		if err := op.check(); err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return nil, fhir.Invalid("Parameters.parameter", "a FHIRPath Patch needs at least one operation")
	}
	return ops, nil
}

func primitive(o *object, keys ...string) (string, bool) {
	for _, k := range keys {
		if v, ok := o.get(k); ok {
			s, ok := v.(string)
			return s, ok
		}
	}
	return "", false
}

// partValue is the value of a "value" part: its value[x], or, for an
// anonymous (backbone) type, the object its own parts make.
func partValue(part *object, at string) (any, error) {
	for _, k := range part.keys {
		if strings.HasPrefix(k, "value") && len(k) > len("value") {
			return part.vals[k], nil
		}
	}
	sub, ok := part.get("part")
	list, _ := sub.([]any)
	if !ok || len(list) == 0 {
		return nil, fhir.Invalid(at, "a value part needs a value[x] or parts")
	}
	out := newObject()
	for j, rp := range list {
		p, _ := rp.(*object)
		if p == nil {
			return nil, fhir.Invalid(fmt.Sprintf("%s.part[%d]", at, j), "not an object")
		}
		name, _ := p.get("name")
		n, _ := name.(string)
		if n == "" {
			return nil, fhir.Invalid(fmt.Sprintf("%s.part[%d].name", at, j), "missing")
		}
		v, err := partValue(p, fmt.Sprintf("%s.part[%d]", at, j))
		if err != nil {
			return nil, err
		}
		out.set(n, v)
	}
	return out, nil
}

func (op *operation) check() error {
	need := func(ok bool, what string) error {
		if !ok {
			return &fhir.ValidationError{Path: op.at, Code: fhir.IssueRequired, Msg: fmt.Sprintf("a %s operation needs %s", op.typ, what)}
		}
		return nil
	}
	if err := need(op.path != "", "a path"); err != nil {
		return err
	}
	switch op.typ {
	case "add":
		return firstErr(need(op.name != "", "a name"), need(op.hasValue, "a value"))
	case "insert":
		return firstErr(need(op.index >= 0, "an index"), need(op.hasValue, "a value"))
	case "delete":
		return nil
	case "replace":
		return need(op.hasValue, "a value")
	case "move":
		return firstErr(need(op.source >= 0, "a source"), need(op.dest >= 0, "a destination"))
	case "":
		return &fhir.ValidationError{Path: op.at, Code: fhir.IssueRequired, Msg: "an operation needs a type"}
	}
	return &fhir.ValidationError{Path: op.at, Code: fhir.IssueCodeInvalid, Msg: fmt.Sprintf("operation type %q is not add, insert, delete, replace or move", op.typ)}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// location is one element a path selects: the value at key of an object,
// or at index i of the list under key.
type location struct {
	parent *object
	key    string
	i      int // -1: not in a list
	names  []string
}

func (l location) value() any {
	v := l.parent.vals[l.key]
	if l.i >= 0 {
		return v.([]any)[l.i]
	}
	return v
}

// step is one segment of a path: an element name and an optional filter.
type step struct {
	name   string
	filter string // "", "first", "last" or an index
}

func parsePath(typ, path, at string) ([]step, error) {
	unsupported := func(msg string) error {
		return &fhir.ValidationError{Path: at, Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("path %q: %s; fhirbell supports element navigation with [n], first() and last()", path, msg)}
	}
	segs := strings.Split(path, ".")
	if segs[0] != typ {
		return nil, fhir.Invalid(at, fmt.Sprintf("path %q must start with the resource type %s", path, typ))
	}
	var out []step
	for i := 1; i < len(segs); i++ {
		seg := segs[i]
		switch seg {
		case "first()", "last()":
			if len(out) == 0 {
				return nil, unsupported(seg + " of the resource")
			}
			if out[len(out)-1].filter != "" {
				return nil, unsupported("two filters on one element")
			}
			out[len(out)-1].filter = strings.TrimSuffix(seg, "()")
			continue
		}
		name, idx, hasIdx := strings.Cut(seg, "[")
		if name == "" || strings.ContainsAny(name, "()'= ") {
			return nil, unsupported(fmt.Sprintf("%q is not an element name", seg))
		}
		st := step{name: name}
		if hasIdx {
			n, err := strconv.Atoi(strings.TrimSuffix(idx, "]"))
			if !strings.HasSuffix(idx, "]") || err != nil || n < 0 {
				return nil, fhir.Invalid(at, fmt.Sprintf("path %q: bad index in %q", path, seg))
			}
			st.filter = strconv.Itoa(n)
		}
		out = append(out, st)
	}
	return out, nil
}

// eval returns the elements a path selects in root.
func eval(root *object, steps []step) []location {
	cur := []location{}
	parents := []*object{root}
	var names []string
	for si, st := range steps {
		names = append(names, st.name)
		cur = cur[:0:0]
		for _, p := range parents {
			v, ok := p.get(st.name)
			if !ok {
				continue
			}
			if arr, ok := v.([]any); ok {
				for i := range arr {
					cur = append(cur, location{parent: p, key: st.name, i: i, names: slices.Clone(names)})
				}
			} else {
				cur = append(cur, location{parent: p, key: st.name, i: -1, names: slices.Clone(names)})
			}
		}
		switch st.filter {
		case "":
		case "first":
			cur = cur[:min(1, len(cur))]
		case "last":
			cur = cur[max(0, len(cur)-1):]
		default:
			n, _ := strconv.Atoi(st.filter)
			if n < len(cur) {
				cur = cur[n : n+1]
			} else {
				cur = nil
			}
		}
		if si == len(steps)-1 {
			break
		}
		parents = parents[:0:0]
		for _, l := range cur {
			if o, ok := l.value().(*object); ok {
				parents = append(parents, o)
			}
		}
	}
	return cur
}

func (op *operation) fail(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf("%s (%s %s): %s", op.at, op.typ, op.path, fmt.Sprintf(format, args...))}
}

func (op *operation) apply(typ string, root *object) error {
	steps, err := parsePath(typ, op.path, op.at)
	if err != nil {
		return err
	}
	// The resource itself is the target of an add to the root.
	var locs []location
	if len(steps) > 0 {
		locs = eval(root, steps)
	}
	switch op.typ {
	case "add":
		var target *object
		var names []string
		switch {
		case len(steps) == 0:
			target = root
		case len(locs) == 1:
			target, _ = locs[0].value().(*object)
			names = locs[0].names
		}
		if target == nil {
			return op.fail("the path must select exactly one element that can have children, it selects %d", len(locs))
		}
		names = append(slices.Clone(names), op.name)
		repeats, _ := validate.Repeats(typ, names...)
		existing, has := target.get(op.name)
		if arr, ok := existing.([]any); ok {
			target.set(op.name, append(arr, op.value))
			return nil
		}
		if has {
			return op.fail("%s already has a value; use replace", op.name)
		}
		if repeats {
			target.set(op.name, []any{op.value})
			return nil
		}
		target.set(op.name, op.value)
		return nil
	case "insert":
		if len(locs) == 0 && op.index == 0 {
			parentSteps := steps[:len(steps)-1]
			parent := root
			if len(parentSteps) > 0 {
				pl := eval(root, parentSteps)
				if len(pl) != 1 {
					return op.fail("the path's parent must select one element")
				}
				parent, _ = pl[0].value().(*object)
				if parent == nil {
					return op.fail("the path's parent is not an element with children")
				}
			}
			parent.set(steps[len(steps)-1].name, []any{op.value})
			return nil
		}
		arr, l, err := op.list(locs)
		if err != nil {
			return err
		}
		if op.index > len(arr) {
			return op.fail("index %d is beyond the list's %d elements", op.index, len(arr))
		}
		l.parent.set(l.key, slices.Insert(arr, op.index, op.value))
		return nil
	case "delete":
		switch len(locs) {
		case 0:
			return nil // deleting nothing is not an error (FHIRPath Patch)
		case 1:
		default:
			return op.fail("the path selects %d elements; delete needs one", len(locs))
		}
		l := locs[0]
		if l.i < 0 {
			l.parent.del(l.key)
			return nil
		}
		arr := slices.Delete(l.parent.vals[l.key].([]any), l.i, l.i+1)
		if len(arr) == 0 {
			l.parent.del(l.key)
		} else {
			l.parent.set(l.key, arr)
		}
		return nil
	case "replace":
		if len(locs) != 1 {
			return op.fail("the path selects %d elements; replace needs one", len(locs))
		}
		l := locs[0]
		if l.i < 0 {
			l.parent.set(l.key, op.value)
		} else {
			l.parent.vals[l.key].([]any)[l.i] = op.value
		}
		return nil
	default: // move
		arr, l, err := op.list(locs)
		if err != nil {
			return err
		}
		if op.source >= len(arr) || op.dest >= len(arr) {
			return op.fail("source %d or destination %d is beyond the list's %d elements", op.source, op.dest, len(arr))
		}
		v := arr[op.source]
		arr = slices.Delete(arr, op.source, op.source+1)
		l.parent.set(l.key, slices.Insert(arr, op.dest, v))
		return nil
	}
}

// list returns the one list the locations of a list path belong to.
func (op *operation) list(locs []location) ([]any, location, error) {
	if len(locs) == 0 {
		return nil, location{}, op.fail("the path selects nothing; it must select a list")
	}
	l := locs[0]
	for _, o := range locs[1:] {
		if o.parent != l.parent || o.key != l.key {
			return nil, location{}, op.fail("the path selects elements of several lists")
		}
	}
	arr, ok := l.parent.vals[l.key].([]any)
	if !ok {
		return nil, location{}, op.fail("%s is not a list", l.key)
	}
	return arr, l, nil
}

func kindOf(v any) string {
	switch v.(type) {
	case []any:
		return "array"
	case string:
		return "string"
	case nil:
		return "null"
	case bool:
		return "boolean"
	}
	return "number"
}
