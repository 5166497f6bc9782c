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
	query   url.Values     // opSearch
	ifMatch int64          // 0: none
	res     *fhir.Resource // opCreate, opUpdate
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
			fmt.Sprintf("POST %s takes a transaction or batch Bundle, not a %s", FHIRPath, b.Type))
	}
	kind, _ := b.Obj.String("type")
	if kind != "transaction" && kind != "batch" {
		raw, _ := b.Obj.Get("type")
		return nil, fhir.Invalid("Bundle.type",
			fmt.Sprintf("POST %s takes a Bundle of type transaction or batch, not %s", FHIRPath, cmp.Or(string(raw), "none")))
	}
	var raws []json.RawMessage
	if raw, ok := b.Obj.Get("entry"); ok {
		if err := json.Unmarshal(raw, &raws); err != nil {
			return nil, fhir.Invalid("Bundle.entry", "must be an array of entries")
		}
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
	for _, k := range []string{"ifNoneExist", "ifNoneMatch", "ifModifiedSince"} {
		if _, ok := req.Get(k); ok {
			return nil, entryErr(index, "", &fhir.ValidationError{Path: "request." + k, Code: fhir.IssueNotSupported,
				Msg: "conditional requests are not supported"})
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
	case http.MethodPut:
		if len(segs) == 1 {
			return unsupported("conditional update is not supported; PUT [type]/[id]")
		}
		if len(segs) != 2 {
			return unsupported("an update is PUT [type]/[id]")
		}
		e.op = opUpdate
	case http.MethodDelete:
		if len(segs) == 1 {
			return unsupported("conditional delete is not supported; DELETE [type]/[id]")
		}
		if len(segs) != 2 {
			return unsupported("a delete is DELETE [type]/[id]")
		}
		e.op = opDelete
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
		default:
			return unsupported("not a read, vread, history or search URL")
		}
	default:
		return entryErr(e.index, "", &fhir.ValidationError{Path: "request.method", Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("method %q is not supported (POST, PUT, DELETE or GET)", e.method)})
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
		if e.op == opUpdate {
			if err := checkUpdateID(e.res, e.id); err != nil {
				return entryErr(e.index, "resource", err)
			}
		}
	}
	return nil
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
		if e.op != opRead && e.op != opCreate && e.op != opUpdate && e.op != opDelete {
			return nil, entryErr(i, "", &fhir.ValidationError{Path: "request.url", Code: fhir.IssueNotSupported,
				Msg: "a transaction may only read (GET [type]/[id]); put searches, vreads and history in a batch"})
		}
		entries[i] = e
	}
	// A resource may be the target of one write only (R4 http.html#trules),
	// and fullUrls identify entries, so both must be unique.
	targets := map[string]int{}
	fullURLs := map[string]int{}
	for _, e := range entries {
		if e.op == opUpdate || e.op == opDelete {
			k := e.typ + "/" + e.id
			if j, dup := targets[k]; dup {
				return nil, entryErr(e.index, "", fhir.Invalid("request.url",
					fmt.Sprintf("%s is also written by Bundle.entry[%d]; a transaction may write a resource once", k, j)))
			}
			targets[k] = e.index
		}
		if e.fullURL != "" {
			if j, dup := fullURLs[e.fullURL]; dup {
				return nil, entryErr(e.index, "", fhir.Invalid("fullUrl",
					fmt.Sprintf("%q is also the fullUrl of Bundle.entry[%d]", e.fullURL, j)))
			}
			fullURLs[e.fullURL] = e.index
		}
	}
	// Assign ids first, so that every entry can refer to every other.
	local := map[string]string{}
	for _, e := range entries {
		switch e.op {
		case opCreate:
			e.id = a.svc.NewID()
		case opUpdate:
		default:
			continue
		}
		if isLocalURN(e.fullURL) {
			local[e.fullURL] = e.typ + "/" + e.id
		}
	}
	for _, e := range entries {
		if e.res == nil || (e.op != opCreate && e.op != opUpdate) {
			continue
		}
		out, changed, err := rewriteRefs(e.res.Obj.Bytes(), func(path, ref string) (string, error) {
			if !isLocalURN(ref) {
				return ref, nil
			}
			if to, ok := local[ref]; ok {
				return to, nil
			}
			return "", fhir.Invalid(path, fmt.Sprintf("reference %q names no entry's fullUrl in this transaction", ref))
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
		res, err = w.Delete(ctx, e.typ, e.id, e.ifMatch)
		if errors.Is(err, subscription.ErrPreconditionFailed) {
			err = preconditionError(ctx, w.Read, e.typ, e.id, e.ifMatch)
		}
	case opRead:
		res, err = w.Read(ctx, e.typ, e.id)
		pref = returnRepresentation
	default:
		return bundleEntry{}, fmt.Errorf("entry op %d is not a write", e.op) // parseEntry's callers prevent this
	}
	if err != nil {
		return bundleEntry{}, identify(err, e.typ, e.id)
	}
	return resourceEntry(base, res, status, pref), nil
}

// execErr locates the failure of executing entry e. The Service's
// validation errors concern the resource; their paths may start with the
// resource type ("Subscription.criteria"), which the entry path replaces.
func execErr(e *entry, err error) error {
	es, ok := fhir.AsValidation(err)
	if !ok || e.res == nil {
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

// resourceEntry is the response entry of an interaction that produced res.
func resourceEntry(base string, res subscription.Resource, status int, pref string) bundleEntry {
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
		out.Resource = res.Body
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
	switch e.op {
	case opCreate, opUpdate, opDelete:
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
		return resourceEntry(base, res, http.StatusOK, returnRepresentation), nil
	case opVRead:
		res, err := a.svc.VRead(ctx, e.typ, e.id, e.vid)
		if err != nil {
			return bundleEntry{}, identify(err, e.typ, e.id+"/_history/"+strconv.FormatInt(e.vid, 10))
		}
		return resourceEntry(base, res, http.StatusOK, returnRepresentation), nil
	case opHistory:
		b, err := a.historyBundle(ctx, base, e.typ, e.id, e.query)
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
