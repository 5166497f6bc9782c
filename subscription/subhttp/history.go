package subhttp

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
)

// versionParams are the parameters type- and system-level history
// understand.
var versionParams = []string{"_since", "_at", "_count", "_cursor", "_format", "_pretty", "_summary", "_elements"}

// typeHistory serves GET /{type}/_history.
func (a *api) typeHistory(w http.ResponseWriter, r *http.Request) error {
	typ, err := pathType(r)
	if err != nil {
		return err
	}
	return a.serveVersions(w, r, typ)
}

// systemHistory serves GET /_history.
func (a *api) systemHistory(w http.ResponseWriter, r *http.Request) error {
	return a.serveVersions(w, r, "")
}

func (a *api) serveVersions(w http.ResponseWriter, r *http.Request, typ string) error {
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fhir.Invalid("", "malformed query string: "+err.Error())
	}
	b, err := a.versionsBundle(r.Context(), fhirBase(r), typ, params)
	if err != nil {
		return err
	}
	writeBody(w, r, http.StatusOK, b)
	return nil
}

// parseVersionQuery reads the parameters of a type- or system-level
// history into a query and a page size.
func (a *api) parseVersionQuery(typ string, params url.Values) (subscription.HistoryQuery, int, error) {
	q := subscription.HistoryQuery{Type: typ}
	for k, vs := range params {
		if !slices.Contains(versionParams, k) {
			return q, 0, &fhir.ValidationError{Path: k, Code: fhir.IssueNotSupported,
				Msg: fmt.Sprintf("history parameter %q is not supported (supported: _since, _at, _count, _cursor, _summary, _elements)", k)}
		}
		if len(vs) > 1 && k != "_format" && k != "_pretty" && k != "_elements" {
			return q, 0, fhir.Invalid(k, fmt.Sprintf("%s is given %d times; give it once", k, len(vs)))
		}
	}
	if v := params.Get("_since"); v != "" {
		lo, _, ok := search.ParseDateRange(v)
		if !ok {
			return q, 0, fhir.Invalid("_since", fmt.Sprintf("%q is not an instant (e.g. 2024-05-01T10:00:00Z)", v))
		}
		q.Since = lo
	}
	if v := params.Get("_at"); v != "" {
		lo, hi, ok := search.ParseDateRange(v)
		if !ok {
			return q, 0, fhir.Invalid("_at", fmt.Sprintf("%q is not a date, dateTime or instant", v))
		}
		q.AtLo, q.AtHi = lo, hi
	}
	q.Cursor = params.Get("_cursor")
	count := a.cfg.DefaultCount
	if v := params.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return q, 0, fhir.Invalid("_count", fmt.Sprintf("%q is not a non-negative integer", v))
		}
		count = n
	}
	return q, min(count, a.cfg.MaxCount), nil
}

// versionsBundle returns the history Bundle of one page of the history of
// typ (of every type when typ is ""), newest first. Its next link carries
// the store's keyset cursor, so pages neither skip nor repeat versions
// while writes go on; there is no previous or last link, and no total
// (counting every version is what paging avoids).
func (a *api) versionsBundle(ctx context.Context, base, typ string, params url.Values) ([]byte, error) {
	q, count, err := a.parseVersionQuery(typ, params)
	if err != nil {
		return nil, err
	}
	sh, err := resourceShape(params)
	if err != nil {
		return nil, err
	}
	page, err := a.svc.HistoryOf(ctx, q, count)
	if err != nil {
		return nil, err
	}
	self := base + "/_history"
	if typ != "" {
		self = base + "/" + typ + "/_history"
	}
	b := &bundle{ResourceType: "Bundle", ID: a.svc.NewID(), Meta: &bundleMeta{LastUpdated: fhir.FormatInstant(time.Now())},
		Type: "history"}
	link := func(rel, cursor string) bundleLink {
		v := url.Values{}
		for k, vs := range params {
			if k != "_format" && k != "_pretty" && k != "_cursor" {
				v[k] = vs
			}
		}
		v.Set("_count", strconv.Itoa(count))
		if cursor != "" {
			v.Set("_cursor", cursor)
		}
		return bundleLink{Relation: rel, URL: self + "?" + v.Encode()}
	}
	b.Link = []bundleLink{link("self", q.Cursor), link("first", "")}
	if page.Next != "" {
		b.Link = append(b.Link, link("next", page.Next))
	}
	for _, v := range page.Versions {
		var prev *subscription.Resource
		if v.Recreated {
			prev = &subscription.Resource{Deleted: true}
		}
		b.Entry = append(b.Entry, historyEntry(ctx, base, v.Resource, prev, sh))
	}
	return b.encode()
}

// routeHistory registers the type- and system-level history routes (chi
// prefers their literal _history segment to the {id} of a read) and
// Patient/$everything (everything.go).
func (a *api) routeHistory(r chi.Router) {
	r.Method(http.MethodGet, "/_history", handlerFunc(a.systemHistory))
	r.Method(http.MethodGet, "/{type}/_history", handlerFunc(a.typeHistory))
	r.Method(http.MethodGet, "/{type}/{id}/$everything", handlerFunc(a.everything))
}
