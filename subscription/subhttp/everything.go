package subhttp

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
)

// everythingParams are the parameters Patient/$everything understands.
var everythingParams = []string{"_since", "_type", "_count", "_cursor", "_summary", "_elements", "_format", "_pretty"}

// everything serves GET /{type}/{id}/$everything: the Patient and its
// compartment (subscription.Service.Everything) as a searchset Bundle,
// paged with a cursor in the next link.
func (a *api) everything(w http.ResponseWriter, r *http.Request) error {
	typ, id, err := pathTypeID(r)
	if err != nil {
		return err
	}
	if typ != "Patient" {
		return &statusError{Status: http.StatusNotFound, Code: fhir.IssueNotSupported,
			Msg: fmt.Sprintf("$everything is served on Patient, not %s", typ)}
	}
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return fhir.Invalid("", "malformed query string: "+err.Error())
	}
	q := subscription.EverythingQuery{Patient: id, Cursor: params.Get("_cursor")}
	sh, err := resourceShape(params) // _summary=count has no total to give here
	if err != nil {
		return err
	}
	for k, vs := range params {
		if !slices.Contains(everythingParams, k) {
			return &fhir.ValidationError{Path: k, Code: fhir.IssueNotSupported,
				Msg: fmt.Sprintf("$everything parameter %q is not supported (supported: _since, _type, _count, _cursor, _summary, _elements)", k)}
		}
		if len(vs) > 1 && k != "_type" && k != "_format" && k != "_pretty" {
			return fhir.Invalid(k, fmt.Sprintf("%s is given %d times; give it once", k, len(vs)))
		}
	}
	if v := params.Get("_since"); v != "" {
		lo, _, ok := search.ParseDateRange(v)
		if !ok {
			return fhir.Invalid("_since", fmt.Sprintf("%q is not an instant (e.g. 2024-05-01T10:00:00Z)", v))
		}
		q.Since = lo
	}
	if vs, ok := params["_type"]; ok {
		q.Types = []string{}
		for _, v := range vs {
			for t := range strings.SplitSeq(v, ",") {
				if !fhir.IsResourceType(t) {
					return fhir.Invalid("_type", fmt.Sprintf("unknown resource type %q", t))
				}
				q.Types = append(q.Types, t)
			}
		}
	}
	count := a.cfg.DefaultCount
	if v := params.Get("_count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fhir.Invalid("_count", fmt.Sprintf("%q is not a positive integer", v))
		}
		count = min(n, a.cfg.MaxCount)
	}
	page, err := a.svc.Everything(r.Context(), q, count)
	if err != nil {
		return versionError(w, subscription.Resource{}, identify(err, typ, id))
	}
	base := fhirBase(r)
	self := base + "/Patient/" + id + "/$everything"
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
	b := &bundle{ResourceType: "Bundle", ID: a.svc.NewID(), Meta: &bundleMeta{LastUpdated: fhir.FormatInstant(time.Now())},
		Type: "searchset", Link: []bundleLink{link("self", q.Cursor), link("first", "")}}
	if page.Next != "" {
		b.Link = append(b.Link, link("next", page.Next))
	}
	for _, m := range page.Resources {
		b.Entry = append(b.Entry, bundleEntry{FullURL: base + "/" + m.Type + "/" + m.ID, Resource: sh.Apply(m.Body),
			Search: &entrySearch{Mode: "match"}})
	}
	out, err := b.encode()
	if err != nil {
		return err
	}
	writeBody(w, r, http.StatusOK, out)
	return nil
}
