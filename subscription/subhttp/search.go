package subhttp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/fhir/shape"
	"github.com/fhirbell/fhirbell/subscription"
)

// formType is the Content-Type of POST /{type}/_search.
const formType = "application/x-www-form-urlencoded"

// formatParams shape the response, not the result; they are not passed to
// the search parser and not repeated in paging links.
var formatParams = []string{"_format", "_pretty"}

func (a *api) search(w http.ResponseWriter, r *http.Request) error {
	typ, err := pathType(r)
	if err != nil {
		return err
	}
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fhir.Invalid("", "malformed query string: "+err.Error())
	}
	if r.Method == http.MethodPost {
		body, err := readBody(w, r, info(r).maxBodyBytes, []string{formType})
		if err != nil {
			return err
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return fhir.Invalid("", "malformed form body: "+err.Error())
		}
		for k, vs := range form {
			params[k] = append(params[k], vs...)
		}
	}
	b, err := a.searchBundle(r.Context(), fhirBase(r), typ, params)
	if err != nil {
		return err
	}
	writeBody(w, r, http.StatusOK, b)
	return nil
}

// searchBundle runs a search of typ and returns the searchset Bundle of the
// page that params' _offset and _count select.
func (a *api) searchBundle(ctx context.Context, fhirBase, typ string, params url.Values) ([]byte, error) {
	filter := url.Values{}
	for k, vs := range params {
		if !slices.Contains(formatParams, k) {
			filter[k] = vs
		}
	}
	sh, err := shape.FromQuery(filter)
	if err != nil {
		return nil, err
	}
	q, err := search.ParseQuery(typ, filter)
	if err != nil {
		return nil, fmt.Errorf("parse search: %w", err)
	}
	// Query.Count cannot tell "_count=0" (a total only) from no _count.
	count := q.Count
	if count <= 0 {
		count = a.cfg.DefaultCount
	}
	if c := filter.Get("_count"); c != "" {
		if n, err := strconv.Atoi(c); err == nil && n == 0 {
			count = 0
		}
	}
	count = min(count, a.cfg.MaxCount)
	if count == 0 && q.Total == "" {
		q.Total = search.TotalAccurate // _count=0 asks for the total only
	}
	res, err := a.svc.Search(ctx, q, count)
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", typ, err)
	}
	b := &bundle{ResourceType: "Bundle", ID: a.svc.NewID(), Meta: &bundleMeta{LastUpdated: fhir.FormatInstant(time.Now())},
		Type: "searchset"}
	if res.Total >= 0 {
		b.Total = &res.Total
	}
	b.Link = searchLinks(fhirBase+"/"+typ, filter, count, res)
	for _, m := range res.Matches {
		b.Entry = append(b.Entry, bundleEntry{FullURL: fhirBase + "/" + m.Type + "/" + m.ID, Resource: sh.Apply(outBody(ctx, m.Type, m.Body)),
			Search: &entrySearch{Mode: "match"}})
	}
	for _, m := range res.Included {
		b.Entry = append(b.Entry, bundleEntry{FullURL: fhirBase + "/" + m.Type + "/" + m.ID, Resource: sh.Apply(outBody(ctx, m.Type, m.Body)),
			Search: &entrySearch{Mode: "include"}})
	}
	return b.encode()
}

// searchLinks returns the self, first, next and previous links of a
// search page. Next and previous carry the store's keyset cursor
// (_cursor) instead of an offset, so that they stay correct while the
// data changes, and any node can serve them without state. They repeat
// the filter with the effective _count. There is no last link: a keyset
// cannot name the last page without counting to it.
func searchLinks(base string, filter url.Values, count int, res subscription.SearchResult) []bundleLink {
	link := func(rel, cursor string, keepPosition bool) bundleLink {
		q := url.Values{}
		for k, vs := range filter {
			if keepPosition || (k != "_cursor" && k != "_offset") {
				q[k] = vs
			}
		}
		delete(q, "_count")
		q.Set("_count", strconv.Itoa(count))
		if cursor != "" {
			delete(q, "_offset")
			q.Set("_cursor", cursor)
		}
		return bundleLink{Relation: rel, URL: base + "?" + q.Encode()}
	}
	links := []bundleLink{link("self", "", true)}
	if count == 0 {
		return links
	}
	links = append(links, link("first", "", false))
	if res.Prev != "" {
		links = append(links, link("previous", res.Prev, false))
	}
	if res.Next != "" {
		links = append(links, link("next", res.Next, false))
	}
	return links
}

// window returns the page of list that starts at offset and holds at most
// count items.
func window[T any](list []T, offset, count int) []T {
	if offset >= len(list) || count <= 0 {
		return nil
	}
	return list[offset:min(offset+count, len(list))]
}

// pageLinks returns self, first, previous, next and last links for the page
// at offset of size count among total results. They repeat the filter
// parameters with _offset and _count, so any node can serve any page
// without state. With count 0 (a total only) there is only self.
func pageLinks(base string, filter url.Values, offset, count, total int) []bundleLink {
	link := func(rel string, off int) bundleLink {
		q := url.Values{}
		for k, vs := range filter {
			if k != "_count" && k != "_offset" {
				q[k] = vs
			}
		}
		q.Set("_count", strconv.Itoa(count))
		if off > 0 {
			q.Set("_offset", strconv.Itoa(off))
		}
		return bundleLink{Relation: rel, URL: base + "?" + q.Encode()}
	}
	links := []bundleLink{link("self", offset)}
	if count == 0 {
		return links
	}
	links = append(links, link("first", 0))
	if offset > 0 {
		links = append(links, link("previous", max(0, offset-count)))
	}
	if offset+count < total {
		links = append(links, link("next", offset+count))
	}
	last := 0
	if total > 0 {
		last = (total - 1) / count * count
	}
	return append(links, link("last", last))
}

// historyParams are the parameters instance history understands.
var historyParams = []string{"_count", "_offset", "_format", "_pretty", "_summary", "_elements"}

func (a *api) history(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := pathTypeID(r)
	if err != nil {
		return err
	}
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fhir.Invalid("", "malformed query string: "+err.Error())
	}
	b, err := a.historyBundle(r.Context(), fhirBase(r), typ, id, params)
	if err != nil {
		return err
	}
	writeBody(w, r, http.StatusOK, b)
	return nil
}

// historyBundle returns the history Bundle of typ/id, newest version first,
// paged by params' _offset and _count.
func (a *api) historyBundle(ctx context.Context, base, typ, id string, params url.Values) ([]byte, error) {
	count, offset, err := a.historyPage(params)
	if err != nil {
		return nil, err
	}
	sh, err := resourceShape(params)
	if err != nil {
		return nil, err
	}
	versions, err := a.svc.History(ctx, typ, id)
	if err != nil {
		return nil, identify(err, typ, id)
	}
	total := len(versions)
	b := &bundle{ResourceType: "Bundle", ID: a.svc.NewID(), Meta: &bundleMeta{LastUpdated: fhir.FormatInstant(time.Now())},
		Type: "history", Total: &total}
	b.Link = pageLinks(base+"/"+typ+"/"+id+"/_history", shapeParams(params), offset, count, total)
	for i, v := range window(versions, offset, count) {
		// versions are newest first, so the previous version is the next
		// element.
		var prev *subscription.Resource
		if j := offset + i + 1; j < len(versions) {
			prev = &versions[j]
		}
		b.Entry = append(b.Entry, historyEntry(ctx, base, v, prev, sh))
	}
	return b.encode()
}

func (a *api) historyPage(params url.Values) (count, offset int, err error) {
	for k := range params {
		if !slices.Contains(historyParams, k) {
			return 0, 0, &fhir.ValidationError{Path: k, Code: fhir.IssueNotSupported,
				Msg: fmt.Sprintf("history parameter %q is not supported (supported: _count, _offset, _summary, _elements)", k)}
		}
	}
	count = a.cfg.DefaultCount
	for _, p := range []struct {
		name string
		dst  *int
	}{{"_count", &count}, {"_offset", &offset}} {
		v := params.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, fhir.Invalid(p.name, fmt.Sprintf("%q is not a non-negative integer", v))
		}
		*p.dst = n
	}
	return min(count, a.cfg.MaxCount), offset, nil
}

// historyEntry describes one version as the interaction that made it: a
// first version or one after a deletion as a create, a deletion as DELETE,
// anything else as PUT.
func historyEntry(ctx context.Context, base string, v subscription.Resource, prev *subscription.Resource, sh shape.Shape) bundleEntry {
	e := bundleEntry{FullURL: base + "/" + v.Type + "/" + v.ID,
		Response: &entryResponse{Etag: etag(v.VersionID), LastModified: fhir.FormatInstant(v.LastUpdated)}}
	switch {
	case v.Deleted:
		e.Request = &entryRequest{Method: http.MethodDelete, URL: v.Type + "/" + v.ID}
		e.Response.Status = statusLine(http.StatusOK)
	case v.VersionID == 1:
		e.Request = &entryRequest{Method: http.MethodPost, URL: v.Type}
		e.Response.Status = statusLine(http.StatusCreated)
	case prev != nil && prev.Deleted:
		e.Request = &entryRequest{Method: http.MethodPut, URL: v.Type + "/" + v.ID}
		e.Response.Status = statusLine(http.StatusCreated)
	default:
		e.Request = &entryRequest{Method: http.MethodPut, URL: v.Type + "/" + v.ID}
		e.Response.Status = statusLine(http.StatusOK)
	}
	if !v.Deleted {
		e.Resource = sh.Apply(outBody(ctx, v.Type, v.Body))
	}
	return e
}
