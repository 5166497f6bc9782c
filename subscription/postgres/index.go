package postgres

import (
	"fmt"
	"math/big"
	"time"

	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/jackc/pgx/v5/pgtype"
)

// This file keeps the search index tables (migrations/0005_search.sql) in
// step with the resources: a write extracts its resource's search values
// once (search.Target.Extract), queues them on the transaction, and the
// queued rows of every resource the transaction wrote go in with one
// statement just before the commit. A resource that had rows (an update or
// a deletion of a live version) loses them at once, in one statement.

type resKey struct{ typ, id string }

// indexRows are the rows of the index tables, column by column, as the
// unnest of the insert statement wants them.
type indexRows struct {
	tokType, tokID, tokParam, tokSystem, tokCode []string
	tokSort                                      []int16

	strType, strID, strParam, strFolded, strExact []string
	strSort                                       []int16

	refType, refID, refParam, refRef []string
	refTargetType, refTargetID       []pgtype.Text
	refCanonical                     []pgtype.Text
	refSort                          []int16

	dateType, dateID, dateParam []string
	dateLo, dateHi              []pgtype.Timestamptz
	dateSort                    []int16

	numType, numID, numParam, numSystem, numCode, numUnit []string
	numValue                                              []pgtype.Numeric
	numSort                                               []int16
}

func (r *indexRows) empty() bool {
	return len(r.tokID) == 0 && len(r.strID) == 0 && len(r.refID) == 0 && len(r.dateID) == 0 && len(r.numID) == 0
}

func sortBits(i, asc, desc int) int16 {
	var b int16
	if i == asc {
		b |= 1
	}
	if i == desc {
		b |= 2
	}
	return b
}

func text(s string, ok bool) pgtype.Text { return pgtype.Text{String: s, Valid: ok} }

func timestamp(t time.Time, open bool, inf pgtype.InfinityModifier) pgtype.Timestamptz {
	if open {
		return pgtype.Timestamptz{InfinityModifier: inf, Valid: true}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

// numeric converts a finite decimal to a numeric.
func numeric(n *big.Rat) pgtype.Numeric {
	var v pgtype.Numeric
	_ = v.Scan(search.DecimalString(n)) // a decimal string always scans
	return v
}

// add appends the rows of one resource.
func (r *indexRows) add(typ, id string, vals *search.Values) {
	for _, pv := range vals.Params {
		asc, desc := pv.SortIndex()
		p := pv.Code
		switch pv.Type {
		case "token":
			for i, tk := range pv.Tokens {
				r.tokType, r.tokID, r.tokParam = append(r.tokType, typ), append(r.tokID, id), append(r.tokParam, p)
				r.tokSystem, r.tokCode, r.tokSort = append(r.tokSystem, tk.System), append(r.tokCode, tk.Code), append(r.tokSort, sortBits(i, asc, desc))
			}
			for _, s := range pv.Texts {
				r.addString(typ, id, p+textSuffix, s, 0)
			}
		case "string":
			for i, s := range pv.Strings {
				r.addString(typ, id, p, s, sortBits(i, asc, desc))
			}
		case "uri":
			for i, s := range pv.URIs {
				r.addString(typ, id, p, s, sortBits(i, asc, desc))
			}
		case "reference":
			for i, ref := range pv.Refs {
				tt, tid, ok := search.SplitReference(ref)
				canon, versioned := search.Canonical(ref)
				r.refType, r.refID, r.refParam, r.refRef = append(r.refType, typ), append(r.refID, id), append(r.refParam, p), append(r.refRef, ref)
				r.refTargetType, r.refTargetID = append(r.refTargetType, text(tt, ok)), append(r.refTargetID, text(tid, ok))
				r.refCanonical, r.refSort = append(r.refCanonical, text(canon, versioned)), append(r.refSort, sortBits(i, asc, desc))
			}
		case "date":
			for i, d := range pv.Dates {
				r.dateType, r.dateID, r.dateParam = append(r.dateType, typ), append(r.dateID, id), append(r.dateParam, p)
				r.dateLo = append(r.dateLo, timestamp(d.Lo, d.OpenLo, pgtype.NegativeInfinity))
				r.dateHi = append(r.dateHi, timestamp(d.Hi, d.OpenHi, pgtype.Infinity))
				r.dateSort = append(r.dateSort, sortBits(i, asc, desc))
			}
		case "number":
			for i, n := range pv.Numbers {
				r.addNumber(typ, id, p, n, "", "", "", sortBits(i, asc, desc))
			}
		case "quantity":
			for i, q := range pv.Quantities {
				r.addNumber(typ, id, p, q.Value, q.System, q.Code, q.Unit, sortBits(i, asc, desc))
			}
		}
	}
}

// textSuffix marks the rows of search_string that hold the texts of a
// token parameter, for :text.
const textSuffix = ":text"

func (r *indexRows) addString(typ, id, param, s string, sort int16) {
	r.strType, r.strID, r.strParam = append(r.strType, typ), append(r.strID, id), append(r.strParam, param)
	r.strFolded, r.strExact, r.strSort = append(r.strFolded, search.Fold(s)), append(r.strExact, s), append(r.strSort, sort)
}

func (r *indexRows) addNumber(typ, id, param string, n *big.Rat, system, code, unit string, sort int16) {
	r.numType, r.numID, r.numParam = append(r.numType, typ), append(r.numID, id), append(r.numParam, param)
	r.numValue, r.numSystem, r.numCode, r.numUnit = append(r.numValue, numeric(n)), append(r.numSystem, system), append(r.numCode, code), append(r.numUnit, unit)
	r.numSort = append(r.numSort, sort)
}

// insertIndexSQL inserts the rows of every index table in one statement
// (one round trip for a whole transaction Bundle).
const insertIndexSQL = `
WITH t AS (
  INSERT INTO search_token (type, id, param, system, code, sort)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int2[])
), s AS (
  INSERT INTO search_string (type, id, param, folded, exact, sort)
  SELECT * FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int2[])
), r AS (
  INSERT INTO search_reference (type, id, param, ref, target_type, target_id, canonical, sort)
  SELECT * FROM unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::int2[])
), d AS (
  INSERT INTO search_date (type, id, param, lo, hi, sort)
  SELECT * FROM unnest($21::text[], $22::text[], $23::text[], $24::timestamptz[], $25::timestamptz[], $26::int2[])
)
INSERT INTO search_number (type, id, param, value, system, code, unit, sort)
SELECT * FROM unnest($27::text[], $28::text[], $29::text[], $30::numeric[], $31::text[], $32::text[], $33::text[], $34::int2[])`

// deleteIndexSQL removes the rows of the resources ($1 types, $2 ids).
const deleteIndexSQL = `
WITH k AS (SELECT * FROM unnest($1::text[], $2::text[]) AS k(type, id)),
t AS (DELETE FROM search_token x USING k WHERE x.type = k.type AND x.id = k.id),
s AS (DELETE FROM search_string x USING k WHERE x.type = k.type AND x.id = k.id),
r AS (DELETE FROM search_reference x USING k WHERE x.type = k.type AND x.id = k.id),
d AS (DELETE FROM search_date x USING k WHERE x.type = k.type AND x.id = k.id)
DELETE FROM search_number x USING k WHERE x.type = k.type AND x.id = k.id`

// extract parses a stored body for the index; the Target is handed back
// with the written version so that the subscription matcher reuses it.
func extract(r subscription.Resource) (*search.Target, *search.Values, error) {
	t := search.NewTarget(r.Body)
	vals, err := t.Extract()
	if err != nil {
		return nil, nil, fmt.Errorf("index %s/%s: %w", r.Type, r.ID, err)
	}
	return t, vals, nil
}

// queueIndex records the index rows of a written version: vals nil for a
// deletion. hadRows says whether committed rows of the resource may exist
// (it had a live version before this transaction wrote it); they are
// deleted now.
func (t *tx) queueIndex(typ, id string, vals *search.Values, hadRows bool) {
	k := resKey{typ, id}
	if t.pending == nil {
		t.pending = map[resKey]*search.Values{}
	}
	if _, queued := t.pending[k]; hadRows && !queued {
		t.later(deleteIndexSQL, []string{typ}, []string{id})
	}
	t.pending[k] = vals
}

// flushIndex queues the insert of the pending rows; Store.Tx calls it
// before the commit, AppendEvents before it locks the counters. A resource
// written again after a flush has rows to replace (queueIndex deletes them).
func (t *tx) flushIndex() {
	var rows indexRows
	for k, vals := range t.pending {
		if vals != nil {
			rows.add(k.typ, k.id, vals)
		}
	}
	t.pending = nil
	if !rows.empty() {
		t.later(insertIndexSQL, rows.args()...)
	}
}

func (r *indexRows) args() []any {
	return []any{
		r.tokType, r.tokID, r.tokParam, r.tokSystem, r.tokCode, r.tokSort,
		r.strType, r.strID, r.strParam, r.strFolded, r.strExact, r.strSort,
		r.refType, r.refID, r.refParam, r.refRef, r.refTargetType, r.refTargetID, r.refCanonical, r.refSort,
		r.dateType, r.dateID, r.dateParam, r.dateLo, r.dateHi, r.dateSort,
		r.numType, r.numID, r.numParam, r.numValue, r.numSystem, r.numCode, r.numUnit, r.numSort,
	}
}
