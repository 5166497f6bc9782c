package subhttp

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/shape"
	"github.com/fhirbell/fhirbell/subscription"
)

// op is what a Bundle entry asks for.
type op int

// The ops in transaction processing order (R4 http.html#trules: DELETE,
// POST, PUT/PATCH, GET).
const (
	opDelete op = iota
	opCreate
	opUpdate
	opPatch
	opRead
	opVRead
	opHistory
	opSearch
)

// entry is one parsed transaction or batch entry.
type entry struct {
	index   int
	fullURL string
	method  string
	op      op
	typ, id string
	vid     int64
	query   url.Values     // opSearch, opHistory
	shape   shape.Shape    // opRead, opVRead: _summary, _elements
	ifMatch int64          // 0: none
	res     *fhir.Resource // opCreate, opUpdate

	// Conditional entries: the criteria of request.ifNoneExist (opCreate)
	// or of a PUT or DELETE [type]?query (opUpdate, opDelete).
	cond *subscription.Criteria
	// What a transaction resolved them to: the resource an ifNoneExist
	// matched (no write), whether a conditional update creates, and the
	// resources a conditional delete removes.
	existing  *subscription.Resource
	creates   bool
	deleteIDs []string
}

// entryError is the failure of Bundle entry index; path locates it within
// the entry ("resource" when err's own path is relative to the resource,
// "request.url" when err names no element).
type entryError struct {
	index int
	path  string
	err   error
}

func (e *entryError) Error() string {
	return fmt.Sprintf("Bundle.entry[%d]: %v", e.index, e.err)
}

func (e *entryError) Unwrap() error { return e.err }

// outcome is Outcome for an entry: the cause's status and issue, located
// at Bundle.entry[i].
func (e *entryError) outcome() (int, *fhir.OperationOutcome) {
	prefix := fmt.Sprintf("Bundle.entry[%d]", e.index)
	if e.path != "" {
		prefix += "." + e.path
	}
	if es, ok := fhir.AsValidation(e.err); ok {
		located := make(fhir.ValidationErrors, len(es))
		for i, ve := range es {
			p := prefix
			if ve.Path != "" {
				p += "." + ve.Path
			}
			located[i] = &fhir.ValidationError{Path: p, Msg: ve.Msg, Code: ve.Code}
		}
		return http.StatusBadRequest, fhir.OutcomeForAll(located)
	}
	status, oo := errorOutcome(e.err)
	if oo == nil {
		return status, nil
	}
	iss := &oo.Issue[0]
	if len(iss.Expression) == 0 {
		iss.Expression = []string{prefix}
	} else {
		for i, x := range iss.Expression {
			iss.Expression[i] = prefix + "." + x
		}
	}
	iss.Diagnostics = prefix + ": " + iss.Diagnostics
	return status, oo
}

func entryErr(index int, path string, err error) error {
	return &entryError{index: index, path: path, err: err}
}

func (a *api) bundle(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r, a.cfg.MaxBundleBytes, jsonTypes)
	if err != nil {
		return err
	}
	out, err := a.processBundle(r.Context(), requestLog(r), fhirBase(r), body, preferReturn(r, returnMinimal))
	if err != nil {
		return err
	}
	return writeJSON(w, r, http.StatusOK, out)
}

// processBundle runs a transaction or batch Bundle and returns the response
// Bundle.
func (a *api) processBundle(ctx context.Context, log *slog.Logger, base string, body []byte, pref string) (*bundle, error) {
	b, err := fhir.ParseResource(body)
	if err != nil {
		return nil, err
	}
	if b.Type != "Bundle" {
		return nil, fhir.Invalid("resourceType",
			fmt.Sprintf("POST [base] takes a transaction or batch Bundle, not a %s", b.Type))
	}
	kind, _ := b.Obj.String("type")
	if kind != "transaction" && kind != "batch" {
		raw, _ := b.Obj.Get("type")
		return nil, fhir.Invalid("Bundle.type",
			fmt.Sprintf("POST [base] takes a Bundle of type transaction or batch, not %s", cmp.Or(string(raw), "none")))
	}
	var raws []json.RawMessage
	if raw, ok := b.Obj.Get("entry"); ok {
		if err := json.Unmarshal(raw, &raws); err != nil {
			return nil, fhir.Invalid("Bundle.entry", "must be an array of entries")
		}
	}
	if err := refuseR5Subscriptions(ctx, raws); err != nil {
		return nil, err
	}
	if n := len(raws); n > a.cfg.MaxBundleEntries {
		return nil, &statusError{Status: http.StatusRequestEntityTooLarge, Code: fhir.IssueTooLong, Expression: []string{"Bundle.entry"},
			Msg: fmt.Sprintf("the Bundle has %d entries; at most %d are accepted", n, a.cfg.MaxBundleEntries)}
	}
	if kind == "transaction" {
		return a.transaction(ctx, base, raws, pref)
	}
	return a.batch(ctx, log, base, raws, pref)
}

// parseEntry checks one entry's structure, request and resource.
func parseEntry(index int, raw json.RawMessage, base string) (*entry, error) {
	obj, err := fhir.ParseObject(raw)
	if err != nil {
		return nil, entryErr(index, "", err)
	}
	e := &entry{index: index}
	if _, ok := obj.Get("fullUrl"); ok {
		if e.fullURL, ok = obj.String("fullUrl"); !ok {
			return nil, entryErr(index, "", fhir.Invalid("fullUrl", "must be a string"))
		}
	}
	reqRaw, ok := obj.Get("request")
	if !ok {
		return nil, entryErr(index, "", &fhir.ValidationError{Path: "request", Code: fhir.IssueRequired,
			Msg: "missing; every transaction or batch entry needs request.method and request.url"})
	}
	req, err := fhir.ParseObject(reqRaw)
	if err != nil {
		return nil, entryErr(index, "request", err)
	}
	e.method, ok = req.String("method")
	if !ok {
		return nil, entryErr(index, "", &fhir.ValidationError{Path: "request.method", Code: fhir.IssueRequired, Msg: "missing or not a string"})
	}
	rawURL, ok := req.String("url")
	if !ok || rawURL == "" {
		return nil, entryErr(index, "", &fhir.ValidationError{Path: "request.url", Code: fhir.IssueRequired, Msg: "missing or not a string"})
	}
	for _, k := range []string{"ifNoneMatch", "ifModifiedSince"} {
		if _, ok := req.Get(k); ok {
			return nil, entryErr(index, "", &fhir.ValidationError{Path: "request." + k, Code: fhir.IssueNotSupported,
				Msg: "conditional reads are not supported in a Bundle; send If-None-Match or If-Modified-Since on a GET"})
		}
	}
	if _, ok := req.Get("ifMatch"); ok {
		v, _ := req.String("ifMatch")
		if e.ifMatch, err = parseETag(v); err != nil {
			return nil, entryErr(index, "", fhir.Invalid("request.ifMatch", err.Error()))
		}
	}
	if resRaw, ok := obj.Get("resource"); ok {
		if e.res, err = fhir.ParseResource(resRaw); err != nil {
			return nil, entryErr(index, "resource", err)
		}
	}
	if err := e.resolveURL(rawURL, base); err != nil {
		return nil, err
	}
	if _, ok := req.Get("ifNoneExist"); ok {
		v, _ := req.String("ifNoneExist")
		if e.op != opCreate {
			return nil, entryErr(index, "", fhir.Invalid("request.ifNoneExist", "only a create (POST) may carry ifNoneExist"))
		}
		c, err := subscription.ParseCriteria(e.typ, v)
		if err != nil {
			return nil, entryErr(index, "", criteriaErr("request.ifNoneExist", err))
		}
		e.cond = &c
	}
	return e, nil
}

// resolveURL interprets request.method and request.url, and checks the
// resource against them.
func (e *entry) resolveURL(rawURL, base string) error {
	u := rawURL
	if rest, ok := strings.CutPrefix(u, base+"/"); ok {
		u = rest
	} else if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
		return entryErr(e.index, "", fhir.Invalid("request.url",
			fmt.Sprintf("%q is not on this server; use a URL relative to %s", rawURL, base)))
	}
	path, rawQuery, hasQuery := strings.Cut(strings.TrimPrefix(u, "/"), "?")
	segs := strings.Split(path, "/")
	if e.method == http.MethodGet && (path == "_history" || (len(segs) == 2 && segs[1] == "_history")) {
		// System- or type-level history: typ "" or typ, no id.
		if len(segs) == 2 {
			e.typ = segs[0]
			if err := checkType(e.typ); err != nil {
				return entryErr(e.index, "request.url", err)
			}
		}
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return entryErr(e.index, "", fhir.Invalid("request.url", "malformed query string: "+err.Error()))
		}
		e.op, e.query = opHistory, q
		return nil
	}
	e.typ = segs[0]
	if err := checkType(e.typ); err != nil {
		return entryErr(e.index, "request.url", err)
	}
	if len(segs) > 1 {
		e.id = segs[1]
		if err := checkID(e.typ, e.id); err != nil {
			return entryErr(e.index, "request.url", err)
		}
	}
	unsupported := func(msg string) error {
		return entryErr(e.index, "", &fhir.ValidationError{Path: "request.url", Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("%s %s: %s", e.method, rawURL, msg)})
	}
	switch e.method {
	case http.MethodPost:
		if len(segs) != 1 || hasQuery {
			return unsupported("a create is POST [type]")
		}
		e.op = opCreate
	case http.MethodPut, http.MethodDelete:
		e.op = opUpdate
		if e.method == http.MethodDelete {
			e.op = opDelete
		}
		switch {
		case len(segs) == 1 && hasQuery:
			c, err := subscription.ParseCriteria(e.typ, rawQuery)
			if err != nil {
				return entryErr(e.index, "", criteriaErr("request.url", err))
			}
			e.cond = &c
		case len(segs) != 2 || hasQuery:
			return unsupported("an update is PUT [type]/[id] or PUT [type]?criteria; a delete DELETE [type]/[id] or DELETE [type]?criteria")
		}
	case http.MethodGet:
		switch {
		case len(segs) == 1:
			e.op = opSearch
			q, err := url.ParseQuery(rawQuery)
			if err != nil {
				return entryErr(e.index, "", fhir.Invalid("request.url", "malformed query string: "+err.Error()))
			}
			e.query = q
		case len(segs) == 2:
			e.op = opRead
			sh, err := entryShape(rawQuery)
			if err != nil {
				return entryErr(e.index, "", err)
			}
			e.shape = sh
		case len(segs) == 3 && segs[2] == "_history":
			e.op = opHistory
			q, err := url.ParseQuery(rawQuery)
			if err != nil {
				return entryErr(e.index, "", fhir.Invalid("request.url", "malformed query string: "+err.Error()))
			}
			e.query = q
		case len(segs) == 4 && segs[2] == "_history":
			vid, err := strconv.ParseInt(segs[3], 10, 64)
			if err != nil || vid < 1 {
				return entryErr(e.index, "", fhir.Invalid("request.url", fmt.Sprintf("invalid version id %q", segs[3])))
			}
			e.op, e.vid = opVRead, vid
			sh, err := entryShape(rawQuery)
			if err != nil {
				return entryErr(e.index, "", err)
			}
			e.shape = sh
		default:
			return unsupported("not a read, vread, history or search URL")
		}
	case http.MethodPatch:
		e.op = opPatch
		switch {
		case len(segs) == 1 && hasQuery:
			c, err := subscription.ParseCriteria(e.typ, rawQuery)
			if err != nil {
				return entryErr(e.index, "", criteriaErr("request.url", err))
			}
			e.cond = &c
		case len(segs) != 2 || hasQuery:
			return unsupported("a patch is PATCH [type]/[id] or PATCH [type]?criteria")
		}
		if e.res == nil {
			return entryErr(e.index, "", &fhir.ValidationError{Path: "resource", Code: fhir.IssueRequired,
				Msg: "missing; a PATCH entry carries the patch: a Parameters (FHIRPath Patch) or a Binary (JSON Patch)"})
		}
		if _, _, err := patchEntryBody(e); err != nil {
			return entryErr(e.index, "", err)
		}
	default:
		return entryErr(e.index, "", &fhir.ValidationError{Path: "request.method", Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("method %q is not supported (POST, PUT, PATCH, DELETE or GET)", e.method)})
	}
	if e.op == opCreate || e.op == opUpdate {
		if e.res == nil {
			return entryErr(e.index, "", &fhir.ValidationError{Path: "resource", Code: fhir.IssueRequired,
				Msg: fmt.Sprintf("missing; %s %s needs a resource", e.method, rawURL)})
		}
		if e.res.Type != e.typ {
			return entryErr(e.index, "", fhir.Invalid("resource.resourceType",
				fmt.Sprintf("resource type %q does not match the type %q in request.url", e.res.Type, e.typ)))
		}
		if e.op == opUpdate && e.cond == nil {
			if err := checkUpdateID(e.res, e.id); err != nil {
				return entryErr(e.index, "resource", err)
			}
		}
	}
	return nil
}

// criteriaErr locates a criteria error with no path of its own at path.
func criteriaErr(path string, err error) error {
	if ve, ok := err.(*fhir.ValidationError); ok && ve.Path == "" {
		return &fhir.ValidationError{Path: path, Msg: ve.Msg, Code: ve.Code}
	}
	return err
}

// isLocalURN reports whether a fullUrl or reference is a Bundle-local
// identifier that a transaction resolves.
func isLocalURN(s string) bool {
	return strings.HasPrefix(s, "urn:uuid:") || strings.HasPrefix(s, "urn:oid:")
}

func (a *api) transaction(ctx context.Context, base string, raws []json.RawMessage, pref string) (*bundle, error) {
	entries := make([]*entry, len(raws))
	for i, raw := range raws {
		e, err := parseEntry(i, raw, base)
		if err != nil {
			return nil, err
		}
		if e.op != opRead && e.op != opCreate && e.op != opUpdate && e.op != opPatch && e.op != opDelete {
			return nil, entryErr(i, "", &fhir.ValidationError{Path: "request.url", Code: fhir.IssueNotSupported,
				Msg: "a transaction may only read (GET [type]/[id]); put searches, vreads and history in a batch"})
		}
		entries[i] = e
	}
	// fullUrls identify entries, so they must be unique.
	fullURLs := map[string]int{}
	for _, e := range entries {
		if e.fullURL != "" {
			if j, dup := fullURLs[e.fullURL]; dup {
				return nil, entryErr(e.index, "", fhir.Invalid("fullUrl",
					fmt.Sprintf("%q is also the fullUrl of Bundle.entry[%d]", e.fullURL, j)))
			}
			fullURLs[e.fullURL] = e.index
		}
	}
	refs, err := conditionalRefs(entries)
	if err != nil {
		return nil, err
	}
	// Every criteria the transaction decides on is locked from the first
	// search to the commit, so that the decisions hold when it writes.
	var crits []subscription.Criteria
	for _, e := range entries {
		if e.cond != nil {
			crits = append(crits, *e.cond)
		}
	}
	for _, r := range refs {
		crits = append(crits, r.crit)
	}
	var out *bundle
	err = a.svc.Locked(ctx, crits, func() error {
		var err error
		out, err = a.runTransaction(ctx, base, entries, refs, pref)
		return err
	})
	return out, err
}

// condRef is a conditional reference ("Patient?identifier=…") of a
// transaction, and the first entry that makes it.
type condRef struct {
	crit  subscription.Criteria
	index int
	path  string
}

// conditionalRefs collects the distinct conditional references of the
// resources the transaction writes.
func conditionalRefs(entries []*entry) (map[string]condRef, error) {
	refs := map[string]condRef{}
	for _, e := range entries {
		if e.res == nil || (e.op != opCreate && e.op != opUpdate) || !mayHoldLinks(e.res.Obj.Bytes()) {
			continue
		}
		_, _, err := rewriteRefs(e.res.Obj.Bytes(), func(path, ref string) (string, error) {
			typ, query, ok := strings.Cut(ref, "?")
			if !ok || strings.Contains(typ, "/") || isLocalURN(ref) {
				return ref, nil
			}
			if _, seen := refs[ref]; seen {
				return ref, nil
			}
			if !fhir.IsResourceType(typ) {
				return "", fhir.Invalid(path, fmt.Sprintf("conditional reference %q: unknown resource type %q", ref, typ))
			}
			c, err := subscription.ParseCriteria(typ, query)
			if err != nil {
				return "", criteriaErr(path, err)
			}
			refs[ref] = condRef{crit: c, index: e.index, path: path}
			return ref, nil
		})
		if err != nil {
			return nil, entryErr(e.index, "resource", err)
		}
	}
	return refs, nil
}

// runTransaction resolves the conditional entries and references, assigns
// ids, rewrites references and runs the writes in the R4 order in one
// store transaction. The caller holds the criteria locks.
func (a *api) runTransaction(ctx context.Context, base string, entries []*entry, refs map[string]condRef, pref string) (*bundle, error) {
	// Conditional creates whose criteria match, conditional updates and
	// deletes: what do they write?
	byCriteria := map[string]*entry{} // ifNoneExist criteria → entry
	for _, e := range entries {
		if e.cond == nil {
			continue
		}
		var err error
		switch e.op {
		case opCreate:
			byCriteria[e.cond.String()] = e
			var found []subscription.Resource
			if found, err = a.svc.Match(ctx, *e.cond); err == nil {
				switch len(found) {
				case 0:
				case 1:
					e.existing = &found[0]
					e.id = found[0].ID
				default:
					err = subscription.PreconditionFailed(fmt.Sprintf("%d %s resources match %s; ifNoneExist must match at most one",
						len(found), e.typ, e.cond))
				}
			}
		case opUpdate:
			e.id, e.creates, err = a.svc.ResolveUpdate(ctx, e.res, *e.cond)
			if err == nil {
				e.res.ID = e.id
				e.res.Obj.Set("id", e.id)
			}
		case opDelete:
			e.deleteIDs, err = a.svc.ResolveDelete(ctx, *e.cond, a.cfg.MaxConditionalDeletes)
		case opPatch:
			e.id, err = a.svc.ResolvePatch(ctx, *e.cond)
		}
		if err != nil {
			return nil, entryErr(e.index, "", err)
		}
	}
	// A resource may be the target of one write only (R4 http.html#trules).
	targets := map[string]int{}
	for _, e := range entries {
		var ids []string
		switch {
		case e.op == opDelete && e.cond != nil:
			ids = e.deleteIDs
		case e.op == opUpdate || e.op == opPatch || e.op == opDelete:
			ids = []string{e.id}
		}
		for _, id := range ids {
			k := e.typ + "/" + id
			if j, dup := targets[k]; dup {
				return nil, entryErr(e.index, "", fhir.Invalid("request.url",
					fmt.Sprintf("%s is also written by Bundle.entry[%d]; a transaction may write a resource once", k, j)))
			}
			targets[k] = e.index
		}
	}
	// Deletions run first: a conditional create sees the store as they
	// leave it, so a match this transaction deletes is no match.
	deleted := map[string]bool{}
	for _, e := range entries {
		if e.op == opDelete {
			for _, id := range append(slices.Clip(e.deleteIDs), e.id) {
				if id != "" {
					deleted[e.typ+"/"+id] = true
				}
			}
		}
	}
	for _, e := range entries {
		if e.op == opCreate && e.existing != nil && deleted[e.typ+"/"+e.existing.ID] {
			e.existing, e.id = nil, ""
		}
	}
	// Assign ids first, so that every entry can refer to every other.
	local := map[string]string{}
	for _, e := range entries {
		switch {
		case e.op == opCreate && e.existing == nil:
			e.id = a.svc.NewID()
		case e.op == opCreate, e.op == opUpdate:
		default:
			continue
		}
		if isLocalURN(e.fullURL) {
			local[e.fullURL] = e.typ + "/" + e.id
		}
	}
	// Conditional references: an entry's own ifNoneExist with the same
	// criteria names what that entry creates or found; otherwise exactly
	// one stored resource must match.
	for ref, r := range refs {
		if e, ok := byCriteria[r.crit.String()]; ok {
			local[ref] = e.typ + "/" + e.id
			continue
		}
		found, err := a.svc.Match(ctx, r.crit)
		if err != nil {
			return nil, entryErr(r.index, "resource", err)
		}
		found = slices.DeleteFunc(found, func(m subscription.Resource) bool { return deleted[m.Type+"/"+m.ID] })
		if len(found) != 1 {
			return nil, entryErr(r.index, "resource."+r.path, subscription.PreconditionFailed(fmt.Sprintf(
				"conditional reference %q matches %d resources; it must match exactly one", ref, len(found))))
		}
		local[ref] = r.crit.Type + "/" + found[0].ID
	}
	for _, e := range entries {
		if e.res == nil || e.existing != nil || (e.op != opCreate && e.op != opUpdate && !(e.op == opPatch && e.res.Type == "Parameters")) ||
			!mayHoldLinks(e.res.Obj.Bytes()) {
			continue
		}
		out, changed, err := rewriteLinks(e.res.Obj.Bytes(), func(path, ref string) (string, error) {
			if to, ok := local[ref]; ok {
				return to, nil
			}
			if isLocalURN(ref) {
				return "", fhir.Invalid(path, fmt.Sprintf("reference %q names no entry's fullUrl in this transaction", ref))
			}
			return ref, nil
		}, func(urn string) string {
			// A narrative link to no entry is text, not a reference: kept.
			return cmp.Or(local[urn], urn)
		})
		if err != nil {
			return nil, entryErr(e.index, "resource", err)
		}
		if changed {
			res, err := fhir.ParseResource(out)
			if err != nil {
				return nil, entryErr(e.index, "resource", err)
			}
			e.res = res
		}
	}
	order := slices.Clone(entries)
	slices.SortStableFunc(order, func(x, y *entry) int { return cmp.Compare(x.op, y.op) })
	results := make([]bundleEntry, len(entries))
	err := a.svc.Transaction(ctx, func(w *subscription.Writer) error {
		for _, e := range order {
			out, err := a.execWrite(ctx, w, base, e, pref)
			if err != nil {
				return execErr(e, err)
			}
			results[e.index] = out
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &bundle{ResourceType: "Bundle", ID: a.svc.NewID(), Type: "transaction-response",
		Meta: &bundleMeta{LastUpdated: fhir.FormatInstant(time.Now())}, Entry: results}, nil
}

// execWrite runs a write entry, or a read that must see this transaction's
// writes, with w.
func (a *api) execWrite(ctx context.Context, w *subscription.Writer, base string, e *entry, pref string) (bundleEntry, error) {
	var (
		res    subscription.Resource
		status = http.StatusOK
		err    error
	)
	switch e.op {
	case opCreate:
		if e.existing != nil {
			// ifNoneExist matched: no write, the match answers.
			return matchedEntry(base, *e.existing, pref), nil
		}
		status = http.StatusCreated
		res, err = w.CreateWithID(ctx, e.res, cmp.Or(e.id, a.svc.NewID()))
	case opUpdate:
		var created bool
		res, created, err = w.Update(ctx, e.res, e.ifMatch)
		if errors.Is(err, subscription.ErrPreconditionFailed) {
			err = preconditionError(ctx, w.Read, e.typ, e.id, e.ifMatch)
		}
		if created {
			status = http.StatusCreated
		}
	case opDelete:
		if e.cond != nil {
			return a.conditionalDeleteEntry(ctx, w, e)
		}
		res, err = w.Delete(ctx, e.typ, e.id, e.ifMatch)
		if errors.Is(err, subscription.ErrPreconditionFailed) {
			err = preconditionError(ctx, w.Read, e.typ, e.id, e.ifMatch)
		}
	case opPatch:
		mt, body, perr := patchEntryBody(e)
		if perr != nil {
			return bundleEntry{}, perr
		}
		res, err = w.Patch(ctx, e.typ, e.id, patcher(e.typ, mt, body), e.ifMatch)
		if errors.Is(err, subscription.ErrPreconditionFailed) {
			err = preconditionError(ctx, w.Read, e.typ, e.id, e.ifMatch)
		}
	case opRead:
		res, err = w.Read(ctx, e.typ, e.id)
		if err != nil {
			return bundleEntry{}, identify(err, e.typ, e.id)
		}
		return readEntry(base, res, e.shape), nil
	default:
		return bundleEntry{}, fmt.Errorf("entry op %d is not a write", e.op) // parseEntry's callers prevent this
	}
	if err != nil {
		return bundleEntry{}, identify(err, e.typ, e.id)
	}
	return resourceEntry(base, res, status, pref), nil
}

// conditionalDeleteEntry deletes what a conditional delete entry
// resolved to and reports it.
func (a *api) conditionalDeleteEntry(ctx context.Context, w *subscription.Writer, e *entry) (bundleEntry, error) {
	var deleted []subscription.Resource
	for _, id := range e.deleteIDs {
		res, err := w.Delete(ctx, e.typ, id, 0)
		if err != nil {
			return bundleEntry{}, identify(err, e.typ, id)
		}
		deleted = append(deleted, res)
	}
	out := bundleEntry{Response: &entryResponse{Status: statusLine(http.StatusOK),
		Outcome: fhir.MarshalOutcome(conditionalDeleteOutcome(*e.cond, deleted))}}
	if len(deleted) == 1 {
		out.Response.Etag = etag(deleted[0].VersionID)
	}
	return out, nil
}

// execErr locates the failure of executing entry e. The Service's
// validation errors concern the resource; their paths may start with the
// resource type ("Subscription.criteria"), which the entry path replaces.
func execErr(e *entry, err error) error {
	es, ok := fhir.AsValidation(err)
	if !ok || e.res == nil || e.op == opPatch { // a patch's result is not the entry's resource
		return entryErr(e.index, "", err)
	}
	rel := make(fhir.ValidationErrors, len(es))
	for i, ve := range es {
		p := ve.Path
		if p == e.typ {
			p = ""
		} else if rest, ok := strings.CutPrefix(p, e.typ+"."); ok {
			p = rest
		}
		rel[i] = &fhir.ValidationError{Path: p, Msg: ve.Msg, Code: ve.Code}
	}
	return entryErr(e.index, "resource", rel)
}

// resourceEntry is the response entry of an interaction that produced res:
// status, location, etag and lastModified always; the resource under
// Prefer: return=representation, an OperationOutcome under
// return=OperationOutcome (and for a deletion), neither under minimal.
func resourceEntry(base string, res subscription.Resource, status int, pref string) bundleEntry {
	return answerEntry(base, res, status, pref, false)
}

// readEntry is the response entry of a read or vread: the resource,
// shaped as the entry's URL asked (_summary, _elements).
func readEntry(base string, res subscription.Resource, sh shape.Shape) bundleEntry {
	out := resourceEntry(base, res, http.StatusOK, returnMinimal)
	out.FullURL = base + "/" + res.Type + "/" + res.ID
	out.Resource = sh.Apply(res.Body)
	return out
}

// entryShape reads the shaping of a read entry's query; any other
// parameter is refused, as a REST read would not use it.
func entryShape(rawQuery string) (shape.Shape, error) {
	if rawQuery == "" {
		return shape.Shape{}, nil
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return shape.Shape{}, fhir.Invalid("request.url", "malformed query string: "+err.Error())
	}
	for k := range q {
		if k != "_summary" && k != "_elements" && k != "_format" && k != "_pretty" {
			return shape.Shape{}, &fhir.ValidationError{Path: "request.url", Code: fhir.IssueNotSupported,
				Msg: fmt.Sprintf("a read takes _summary and _elements, not %q", k)}
		}
	}
	sh, err := resourceShape(q)
	if ve, ok := err.(*fhir.ValidationError); ok {
		return shape.Shape{}, &fhir.ValidationError{Path: "request.url", Code: ve.Code, Msg: ve.Path + ": " + ve.Msg}
	}
	return sh, err
}

// matchedEntry is the response entry of a conditional create that matched
// res and wrote nothing.
func matchedEntry(base string, res subscription.Resource, pref string) bundleEntry {
	return answerEntry(base, res, http.StatusOK, pref, true)
}

func answerEntry(base string, res subscription.Resource, status int, pref string, matched bool) bundleEntry {
	out := bundleEntry{Response: &entryResponse{Status: statusLine(status), Etag: etag(res.VersionID),
		LastModified: fhir.FormatInstant(res.LastUpdated)}}
	if status == http.StatusCreated {
		out.Response.Location = location(res)
	}
	switch {
	case res.Deleted:
		out.Response.Outcome = fhir.MarshalOutcome(deletedOutcome(res))
	case pref == returnRepresentation:
		out.FullURL = base + "/" + res.Type + "/" + res.ID
		out.Resource = fhir.WireResource(res.Body)
	case pref == returnOutcome:
		out.Response.Outcome = fhir.MarshalOutcome(writeOutcomeOf(status, res, matched))
	}
	return out
}

func (a *api) batch(ctx context.Context, log *slog.Logger, base string, raws []json.RawMessage, pref string) (*bundle, error) {
	results := make([]bundleEntry, len(raws))
	for i, raw := range raws {
		out, err := a.batchEntry(ctx, base, i, raw, pref)
		if err != nil {
			if _, ok := errors.AsType[*entryError](err); !ok {
				err = entryErr(i, "", err)
			}
			status, oo := errorOutcome(err)
			switch status {
			case 0:
				return nil, err // the client is gone; stop
			case http.StatusInternalServerError:
				// The entries before this one are committed: answer them,
				// with this failure in its entry, rather than fail the lot.
				log.Error("internal error", "err", err)
			}
			out = bundleEntry{Response: &entryResponse{Status: statusLine(status), Outcome: fhir.MarshalOutcome(oo)}}
		}
		results[i] = out
	}
	return &bundle{ResourceType: "Bundle", ID: a.svc.NewID(), Type: "batch-response",
		Meta: &bundleMeta{LastUpdated: fhir.FormatInstant(time.Now())}, Entry: results}, nil
}

// batchEntry runs one batch entry on its own.
func (a *api) batchEntry(ctx context.Context, base string, i int, raw json.RawMessage, pref string) (bundleEntry, error) {
	e, err := parseEntry(i, raw, base)
	if err != nil {
		return bundleEntry{}, err
	}
	if e.cond != nil {
		return a.conditionalBatchEntry(ctx, base, e, pref)
	}
	switch e.op {
	case opCreate, opUpdate, opPatch, opDelete:
		var out bundleEntry
		err := a.svc.Transaction(ctx, func(w *subscription.Writer) error {
			out, err = a.execWrite(ctx, w, base, e, pref)
			return err
		})
		if err != nil {
			return bundleEntry{}, execErr(e, err)
		}
		return out, nil
	case opRead:
		res, err := a.svc.Read(ctx, e.typ, e.id)
		if err != nil {
			return bundleEntry{}, identify(err, e.typ, e.id)
		}
		return readEntry(base, res, e.shape), nil
	case opVRead:
		res, err := a.svc.VRead(ctx, e.typ, e.id, e.vid)
		if err != nil {
			return bundleEntry{}, identify(err, e.typ, e.id+"/_history/"+strconv.FormatInt(e.vid, 10))
		}
		return readEntry(base, res, e.shape), nil
	case opHistory:
		var b []byte
		if e.id == "" {
			b, err = a.versionsBundle(ctx, base, e.typ, e.query)
		} else {
			b, err = a.historyBundle(ctx, base, e.typ, e.id, e.query)
		}
		if err != nil {
			return bundleEntry{}, err
		}
		return bundleEntry{Resource: b, Response: &entryResponse{Status: statusLine(http.StatusOK)}}, nil
	default: // opSearch
		b, err := a.searchBundle(ctx, base, e.typ, e.query)
		if err != nil {
			return bundleEntry{}, err
		}
		return bundleEntry{Resource: b, Response: &entryResponse{Status: statusLine(http.StatusOK)}}, nil
	}
}

// conditionalBatchEntry runs a conditional batch entry on its own, as the
// REST interaction would.
func (a *api) conditionalBatchEntry(ctx context.Context, base string, e *entry, pref string) (bundleEntry, error) {
	switch e.op {
	case opCreate:
		res, created, err := a.svc.ConditionalCreate(ctx, e.res, *e.cond)
		if err != nil {
			return bundleEntry{}, execErr(e, err)
		}
		if !created {
			return matchedEntry(base, res, pref), nil
		}
		return resourceEntry(base, res, http.StatusCreated, pref), nil
	case opUpdate:
		res, created, err := a.svc.ConditionalUpdate(ctx, e.res, *e.cond, e.ifMatch)
		if err != nil {
			return bundleEntry{}, execErr(e, err)
		}
		status := http.StatusOK
		if created {
			status = http.StatusCreated
		}
		return resourceEntry(base, res, status, pref), nil
	case opPatch:
		mt, body, err := patchEntryBody(e)
		if err != nil {
			return bundleEntry{}, entryErr(e.index, "", err)
		}
		res, err := a.svc.ConditionalPatch(ctx, *e.cond, patcher(e.typ, mt, body), e.ifMatch)
		if err != nil {
			return bundleEntry{}, entryErr(e.index, "", err)
		}
		return resourceEntry(base, res, http.StatusOK, pref), nil
	default: // opDelete
		deleted, err := a.svc.ConditionalDelete(ctx, *e.cond, a.cfg.MaxConditionalDeletes)
		if err != nil {
			return bundleEntry{}, entryErr(e.index, "", err)
		}
		out := bundleEntry{Response: &entryResponse{Status: statusLine(http.StatusOK),
			Outcome: fhir.MarshalOutcome(conditionalDeleteOutcome(*e.cond, deleted))}}
		if len(deleted) == 1 {
			out.Response.Etag = etag(deleted[0].VersionID)
		}
		return out, nil
	}
}
