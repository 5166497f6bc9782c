package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/fhirbell/fhirbell/fhir"
	"github.com/fhirbell/fhirbell/fhir/search"
	"github.com/fhirbell/fhirbell/subscription"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// This file plans a parsed search as SQL over the index tables
// (migrations/0005_search.sql). Every term becomes a semi-join
// (h.id IN (SELECT id FROM search_x WHERE type = … AND param = … AND
// value condition)) whose inner side is one range scan of an index keyed
// (type, param, value…, id); :not and :missing become anti-joins. The
// conditions reproduce the matcher's semantics (fhir/search, match.go) on
// the same extracted values; the differential test holds them together.
//
// Paging is a keyset over the sort keys and the id: a page asks for the
// rows after (or, for a previous page, before) the cursor's position with
// LIMIT count+1, and the extra row says whether there is a next page. A
// sort on a parameter joins the row that holds the resource's sort value
// (sort bit 1 ascending, 2 descending). Resources without a value for the
// first key sort after the others: they are a second phase, read once the
// first is exhausted, so that the first phase can walk the index of the
// sort value and stop after count+1 rows.

// sqlb accumulates a statement's text and arguments.
type sqlb struct {
	args  []any
	alias int
	// idOp and idCursor, when set, are the keyset bound of a page ordered
	// by _id first (id > cursor, or <), repeated inside every semi-join on
	// the heads aliased idAlias (see bound): Postgres does not carry an
	// inequality across h.id = x.id, and without it each page's index
	// range scan would start at the beginning of the term's rows.
	idOp, idCursor, idAlias string
}

// bound returns the page's id bound on col for a semi-join on heads h
// (" AND col > $n"), or "".
func (b *sqlb) bound(h, col string) string {
	if b.idOp == "" || h != b.idAlias {
		return ""
	}
	return " AND " + col + " " + b.idOp + " " + b.arg(b.idCursor) + "::text"
}

func (b *sqlb) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

func (b *sqlb) next(prefix string) string {
	b.alias++
	return prefix + strconv.Itoa(b.alias)
}

// paramTable returns the index table holding a parameter type's values.
func paramTable(typ string) string {
	switch typ {
	case "token":
		return "search_token"
	case "string", "uri":
		return "search_string"
	case "reference":
		return "search_reference"
	case "date":
		return "search_date"
	case "number", "quantity":
		return "search_number"
	}
	return ""
}

// where returns the conditions of q on the heads aliased h (whose type is
// q.Type), ANDed.
func (b *sqlb) where(q *search.Query, h string) (string, error) {
	conds := []string{h + ".type = " + b.arg(q.Type), "NOT " + h + ".deleted"}
	for _, t := range q.Terms() {
		c, err := b.term(q.Type, t, h)
		if err != nil {
			return "", err
		}
		conds = append(conds, c)
	}
	return strings.Join(conds, " AND "), nil
}

// rows returns "SELECT x.id FROM table x WHERE x.type = T AND x.param = P
// AND cond" for a semi-join on h.id.
func (b *sqlb) in(h, table, typ, param, cond string) string {
	x := "x" + strconv.Itoa(b.alias)
	cond = strings.ReplaceAll(cond, "x.", x+".")
	return fmt.Sprintf("%s.id IN (SELECT %s.id FROM %s %s WHERE %s.type = %s AND %s.param = %s AND (%s)%s)",
		h, x, table, x, x, b.arg(typ), x, b.arg(param), cond, b.bound(h, x+".id"))
}

func (b *sqlb) exists(h, table, param, cond string) string {
	x := "x" + strconv.Itoa(b.alias)
	cond = strings.ReplaceAll(cond, "x.", x+".")
	return fmt.Sprintf("EXISTS (SELECT 1 FROM %s %s WHERE %s.type = %s.type AND %s.id = %s.id AND %s.param = %s AND (%s))",
		table, x, x, h, x, h, x, b.arg(param), cond)
}

func (b *sqlb) term(typ string, t *search.Term, h string) (string, error) {
	b.alias++
	code, ptype, targets := t.Param()
	if chain := t.Chain(); chain != nil {
		return b.chain(typ, code, chain, h)
	}
	if has := t.Has(); has != nil {
		return b.has(typ, has, h)
	}
	if code == "_id" {
		return b.id(t, h), nil
	}
	table := paramTable(ptype)
	switch t.Modifier() {
	case "missing":
		present := b.exists(h, table, code, "true")
		if ptype == "token" {
			b.alias++
			present = "(" + present + " OR " + b.exists(h, "search_string", code+textSuffix, "true") + ")"
		}
		if t.Missing() {
			return "NOT " + present, nil
		}
		return present, nil
	case "text":
		var ors []string
		for _, v := range t.Values() {
			ors = append(ors, "x.folded LIKE "+b.arg(likePrefix(v.Folded())))
		}
		return b.in(h, "search_string", typ, code+textSuffix, strings.Join(ors, " OR ")), nil
	}
	var ors []string
	for _, v := range t.Values() {
		c, err := b.value(t, ptype, targets, v)
		if err != nil {
			return "", err
		}
		ors = append(ors, c)
	}
	cond := strings.Join(ors, " OR ")
	if t.Modifier() == "not" {
		return "NOT " + b.exists(h, table, code, cond), nil
	}
	return b.in(h, table, typ, code, cond), nil
}

// id plans _id, which the heads hold.
func (b *sqlb) id(t *search.Term, h string) string {
	switch t.Modifier() {
	case "missing":
		if t.Missing() {
			return "false"
		}
		return "true"
	}
	var ids []string
	for _, v := range t.Values() {
		system, code, hasSystem := v.Token()
		if !hasSystem || system == "" {
			ids = append(ids, code)
		}
	}
	c := h + ".id = ANY(" + b.arg(ids) + "::text[])"
	if t.Modifier() == "not" {
		return "NOT " + c
	}
	return c
}

func likePrefix(s string) string { return likeEscape(s) + "%" }

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// value returns the condition on an index row (alias x) for one value.
func (b *sqlb) value(t *search.Term, ptype string, targets []string, v *search.Value) (string, error) {
	switch ptype {
	case "token":
		system, code, hasSystem := v.Token()
		switch {
		case !hasSystem:
			return "x.code = " + b.arg(code), nil
		case code == "":
			return "x.system = " + b.arg(system), nil
		}
		return "(x.code = " + b.arg(code) + " AND x.system = " + b.arg(system) + ")", nil
	case "string":
		switch t.Modifier() {
		case "exact":
			return "x.exact = " + b.arg(v.Raw()), nil
		case "contains":
			return "x.folded LIKE " + b.arg("%"+likeEscape(v.Folded())+"%"), nil
		}
		return "x.folded LIKE " + b.arg(likePrefix(v.Folded())), nil
	case "uri":
		switch t.Modifier() {
		case "below":
			return "x.exact LIKE " + b.arg(likePrefix(v.Raw())), nil
		case "above":
			return "x.exact = ANY(" + b.arg(search.Prefixes(v.Raw())) + "::text[])", nil
		}
		return "x.exact = " + b.arg(v.Raw()), nil
	case "reference":
		rt, rid := v.Ref()
		if rid == "" {
			return "(x.ref = " + b.arg(v.Raw()) + " OR x.canonical = " + b.arg(v.Raw()) + ")", nil
		}
		c := "x.target_id = " + b.arg(rid)
		switch {
		case rt != "":
			c += " AND x.target_type = " + b.arg(rt)
		case len(targets) > 0:
			c += " AND x.target_type = ANY(" + b.arg(targets) + "::text[])"
		}
		return "(" + c + ")", nil
	case "date":
		return b.date(v), nil
	case "number":
		return b.number(v, "x.value"), nil
	case "quantity":
		c := b.number(v, "x.value")
		switch system, code := v.Unit(); {
		case system != "":
			c += " AND x.system = " + b.arg(system) + " AND x.code = " + b.arg(code)
		case code != "":
			c += " AND (x.code = " + b.arg(code) + " OR x.unit = " + b.arg(code) + ")"
		}
		return "(" + c + ")", nil
	}
	return "", &fhir.ValidationError{Path: t.Key(), Code: fhir.IssueNotSupported, Msg: "search parameter type " + ptype + " is not supported"}
}

// date is matchDate (fhir/search) on the row's [lo, hi), whose open bounds
// are ±infinity: every comparison with an open bound comes out as the
// matcher's OpenLo/OpenHi tests do.
func (b *sqlb) date(v *search.Value) string {
	lo, hi := v.Dates()
	ts := func(t time.Time) string { return b.arg(t) + "::timestamptz" }
	within := func() string { return "(x.lo >= " + ts(lo) + " AND x.hi <= " + ts(hi) + ")" }
	switch v.Prefix() {
	case "ne":
		return "NOT " + within()
	case "gt":
		return "x.hi > " + ts(hi)
	case "lt":
		return "x.lo < " + ts(lo)
	// ge and le add a bound implied by both sides of their OR (a range
	// within [lo, hi) ends after lo and starts before hi), so that the
	// planner can range-scan search_date_hi or _lo and estimate the rows.
	case "ge":
		return "(x.hi > " + ts(lo) + " AND (x.hi > " + ts(hi) + " OR " + within() + "))"
	case "le":
		return "(x.lo < " + ts(hi) + " AND (x.lo < " + ts(lo) + " OR " + within() + "))"
	case "sa":
		return "x.lo >= " + ts(hi)
	case "eb":
		return "x.hi <= " + ts(lo)
	case "ap":
		alo, ahi := v.ApproxDates()
		return "(x.lo < " + ts(ahi) + " AND x.hi > " + ts(alo) + ")"
	}
	return within()
}

// number is matchNumber (fhir/search) on column col.
func (b *sqlb) number(v *search.Value, col string) string {
	n, lo, hi := v.Number()
	num := func(r *big.Rat) string { return b.arg(search.DecimalString(r)) + "::numeric" }
	eq := func() string { return "(" + col + " >= " + num(lo) + " AND " + col + " < " + num(hi) + ")" }
	switch v.Prefix() {
	case "ne":
		return "(" + col + " < " + num(lo) + " OR " + col + " >= " + num(hi) + ")"
	case "gt", "sa":
		return col + " > " + num(n)
	case "lt", "eb":
		return col + " < " + num(n)
	case "ge":
		return col + " >= " + num(n)
	case "le":
		return col + " <= " + num(n)
	case "ap":
		alo, ahi, ok := v.ApproxNumbers()
		if !ok {
			return eq()
		}
		return "(" + col + " >= " + num(alo) + " AND " + col + " <= " + num(ahi) + ")"
	}
	return eq()
}

// chain: the reference points to a live resource of one of the target
// types that matches that type's query. The targets are one derived table
// of (type, id) joined on the reference index, not an OR of one subquery
// per target type: the planner then estimates the few targets and walks
// search_reference_target from each, where the OR form made it filter
// every reference of the parameter.
func (b *sqlb) chain(typ, code string, chain []*search.Query, h string) (string, error) {
	var parts []string
	for _, sub := range chain {
		h2 := b.next("h")
		w, err := b.where(sub, h2)
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("SELECT %s::text AS type, %s.id FROM resource_heads %s WHERE %s", b.arg(sub.Type), h2, h2, w))
	}
	x, c := b.next("x"), b.next("c")
	return fmt.Sprintf("%s.id IN (SELECT %s.id FROM search_reference %s JOIN (%s) %s ON %s.target_id = %s.id AND %s.target_type = %s.type WHERE %s.type = %s AND %s.param = %s%s)",
		h, x, x, strings.Join(parts, " UNION ALL "), c, x, c, x, c, x, b.arg(typ), x, b.arg(code), b.bound(h, x+".id")), nil
}

// has: a live resource of has.Query.Type that matches it refers to h
// through has.Param.
func (b *sqlb) has(typ string, has *search.Has, h string) (string, error) {
	h2 := b.next("h")
	w, err := b.where(has.Query, h2)
	if err != nil {
		return "", err
	}
	r := b.next("r")
	return fmt.Sprintf("%s.id IN (SELECT %s.target_id FROM search_reference %s WHERE %s.type = %s AND %s.param = %s AND %s.target_type = %s%s AND %s.id IN (SELECT %s.id FROM resource_heads %s WHERE %s))",
		h, r, r, r, b.arg(has.Query.Type), r, b.arg(has.Param), r, b.arg(typ), b.bound(h, r+".target_id"), r, h2, h2, w), nil
}

// sortCol is one ORDER BY key: its expression, direction, and whether it
// can be NULL (a parameter the resource may lack).
type sortCol struct {
	expr       string
	desc, null bool
	typ        string // the cursor value's type: date, number, or text
}

// sortCols returns the keys of q with their joins; the first param key is
// joined INNER in phase 0 (resources that have a value) and left out in
// phase 1 (resources that have none: NOT EXISTS).
func (b *sqlb) sortCols(q *search.Query, phase int) (cols []sortCol, joins []string, phaseCond string) {
	for i, k := range q.SortKeys() {
		switch k.Param {
		case "_id":
			cols = append(cols, sortCol{expr: "h.id", desc: k.Descending, typ: "text"})
			continue
		case "_lastUpdated":
			cols = append(cols, sortCol{expr: "h.last_updated", desc: k.Descending, typ: "date"})
			continue
		}
		ptype := search.SortParam(q.Type, k)
		table := paramTable(ptype)
		bit := "1"
		if k.Descending {
			bit = "2"
		}
		col := map[string]string{"token": "code", "string": "folded", "uri": "exact", "reference": "ref", "number": "value", "quantity": "value"}[ptype]
		if ptype == "date" {
			col = "lo"
			if k.Descending {
				col = "hi"
			}
		}
		s := "s" + strconv.Itoa(i)
		on := fmt.Sprintf("%s.type = h.type AND %s.id = h.id AND %s.param = %s AND %s.sort & %s <> 0", s, s, s, b.arg(k.Param), s, bit)
		if i == 0 {
			if phase == 1 {
				phaseCond = fmt.Sprintf("NOT EXISTS (SELECT 1 FROM %s %s WHERE %s)", table, s, on)
				continue // no value: the key is NULL for every row of this phase
			}
			joins = append(joins, fmt.Sprintf("JOIN %s %s ON %s", table, s, on))
			cols = append(cols, sortCol{expr: s + "." + col, desc: k.Descending, typ: cursorType(ptype)})
			continue
		}
		joins = append(joins, fmt.Sprintf("LEFT JOIN %s %s ON %s", table, s, on))
		cols = append(cols, sortCol{expr: s + "." + col, desc: k.Descending, null: true, typ: cursorType(ptype)})
	}
	return cols, joins, phaseCond
}

func cursorType(ptype string) string {
	switch ptype {
	case "date", "number", "quantity":
		return ptype
	}
	return "text"
}

// hasIDKey reports whether _id is one of the sort keys (then it ends the
// order and no tie-break is added).
func hasIDKey(q *search.Query) bool {
	return slices.ContainsFunc(q.SortKeys(), func(k search.SortKey) bool { return k.Param == "_id" })
}

// phased reports whether the first sort key is a parameter, so that the
// results come in two phases (with a value, without).
func phased(q *search.Query) bool {
	k := q.SortKeys()[0]
	return k.Param != "_id" && k.Param != "_lastUpdated"
}

// cursorArg converts a cursor key to a statement argument of its type.
func (b *sqlb) cursorArg(c search.CursorKey, typ string) string {
	switch typ {
	case "date":
		v, _ := c.Value("date")
		switch {
		case v.Inf < 0:
			return "'-infinity'::timestamptz"
		case v.Inf > 0:
			return "'infinity'::timestamptz"
		}
		return b.arg(v.Time) + "::timestamptz"
	case "number", "quantity":
		return b.arg(c.V) + "::numeric"
	}
	return b.arg(c.V) + "::text"
}

// keyset returns the condition "row comes after (back: before) the
// cursor" over cols, then the id tie-break. keys are the cursor's values
// for cols.
func (b *sqlb) keyset(cols []sortCol, keys []search.CursorKey, id string, tieID, back bool) string {
	if len(cols) == 0 {
		if !tieID {
			return "false" // the cursor's row itself: nothing is strictly after it
		}
		op := ">"
		if back {
			op = "<"
		}
		return "h.id " + op + " " + b.arg(id) + "::text"
	}
	c, k := cols[0], keys[0]
	rest := b.keyset(cols[1:], keys[1:], id, tieID, back)
	if k.Null {
		// NULLs sort last in both directions.
		if back {
			return "(" + c.expr + " IS NOT NULL OR (" + c.expr + " IS NULL AND " + rest + "))"
		}
		return "(" + c.expr + " IS NULL AND " + rest + ")"
	}
	v := b.cursorArg(k, c.typ)
	gt := ">"
	if c.desc != back {
		gt = "<"
	}
	ge := gt + "="
	after := c.expr + " " + gt + " " + v
	if c.null && !back {
		after += " OR " + c.expr + " IS NULL"
	}
	// The redundant bound (expr >= v) lets an index on the key start at the
	// cursor instead of filtering from the beginning.
	bound := c.expr + " " + ge + " " + v
	if c.null && !back {
		bound = "(" + bound + " OR " + c.expr + " IS NULL)"
	}
	return "(" + bound + " AND (" + after + " OR (" + c.expr + " = " + v + " AND " + rest + ")))"
}

// orderBy returns the ORDER BY list of cols (reversed for a back page).
func orderBy(cols []sortCol, tieID, back bool) string {
	var parts []string
	for _, c := range cols {
		desc := c.desc != back
		s := c.expr
		if desc {
			s += " DESC"
		}
		if c.null {
			if back {
				s += " NULLS FIRST"
			} else {
				s += " NULLS LAST"
			}
		}
		parts = append(parts, s)
	}
	if tieID {
		if back {
			parts = append(parts, "h.id DESC")
		} else {
			parts = append(parts, "h.id")
		}
	}
	return strings.Join(parts, ", ")
}

// foundRow is a result row with the sort values its cursor needs.
type foundRow struct {
	res  subscription.Resource
	keys []search.CursorKey
}

// Find runs q and returns the page of count matches after (or before) q's
// cursor; see subscription.Store.Find.
func (s *Store) Find(ctx context.Context, q *search.Query, count int) (subscription.SearchPage, error) {
	page := subscription.SearchPage{Total: -1}
	var cur *search.Cursor
	if q.Cursor != "" {
		c, err := search.DecodeCursor(q.Cursor, q.Type, q.SortKeys())
		if err != nil {
			return page, err
		}
		cur = &c
	}
	err := s.searchTx(ctx, func(ptx pgx.Tx) error {
		if subscription.WantsTotal(q) {
			n, err := s.count(ctx, ptx, q)
			if err != nil {
				return err
			}
			page.Total = n
		}
		if q.Summary == "count" || count <= 0 {
			return nil
		}
		rows, more, err := s.page(ctx, ptx, q, cur, q.Offset+count)
		if err != nil {
			return err
		}
		if q.Offset > 0 {
			rows = rows[min(q.Offset, len(rows)):]
		}
		back := cur != nil && cur.Back
		for _, r := range rows {
			page.Matches = append(page.Matches, r.res)
		}
		if len(rows) > 0 {
			first, last := rows[0], rows[len(rows)-1]
			if more || back {
				page.Next = search.Cursor{Keys: last.keys, ID: last.res.ID}.Encode()
			}
			if (cur != nil && !back) || (back && more) || q.Offset > 0 {
				page.Prev = search.Cursor{Keys: first.keys, ID: first.res.ID, Back: true}.Encode()
			}
		}
		if !subscription.WantsTotal(q) {
			page.Total = subscription.DefaultTotal(q, count, page)
		}
		return nil
	})
	if err != nil {
		if _, ok := errors.AsType[*fhir.ValidationError](err); ok {
			return subscription.SearchPage{}, err
		}
		return subscription.SearchPage{}, fmt.Errorf("search %s: %w", q.Type, translate(err))
	}
	return page, nil
}

// searchSettingsSQL sets the planner for the rest of a search's
// transaction:
//   - plan_cache_mode: pgx prepares each statement text once per
//     connection, and after five runs Postgres may switch a prepared
//     statement to a generic plan, costed without the values. For a
//     search, whose selectivity is all in the values (a patient id against
//     a code shared by a tenth of the rows), that plan can be a thousand
//     times slower; planning each search with its values costs a
//     millisecond or less.
//   - max_parallel_workers_per_gather: a search reads at most a page (a
//     LIMIT of up to a few thousand rows) or counts along an index. Where
//     the planner expects few rows past a cursor it may start two parallel
//     workers for it, new processes that each spend 10-25 ms starting and
//     mapping the shared buffers they touch, for a query that takes 5 ms
//     alone: at 1M Observations a tenth of the pages of a code took 60-80 ms
//     that way (docs/benchmarks.md).
const searchSettingsSQL = `SELECT set_config('plan_cache_mode', 'force_custom_plan', true),
    set_config('max_parallel_workers_per_gather', '0', true)`

// searchTx runs fn in a read-only REPEATABLE READ transaction, one snapshot
// for a search's count, page and includes, planned as searchSettingsSQL
// says. The BEGIN and the settings take one round trip.
func (s *Store) searchTx(ctx context.Context, fn func(ptx pgx.Tx) error) error {
	var b pgx.Batch
	b.BeginTx(pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	b.Queue(searchSettingsSQL)
	br := s.pool.SendBatch(ctx, &b)
	ptx := br.Tx()
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		_ = ptx.Rollback(rctx) // after a commit, only the connection's release
	}()
	_, beginErr := br.Exec()
	_, setErr := br.Exec()
	closeErr := br.Close()
	if err := cmp.Or(beginErr, setErr, closeErr); err != nil {
		return err // the first: a failed BEGIN fails what follows it too
	}
	if err := fn(ptx); err != nil {
		return err
	}
	return ptx.Commit(ctx)
}

// count counts the matches of q.
func (s *Store) count(ctx context.Context, ptx pgx.Tx, q *search.Query) (int, error) {
	sql, args, err := countSQL(q)
	if err != nil {
		return 0, err
	}
	var n int
	err = ptx.QueryRow(ctx, sql, args...).Scan(&n)
	return n, err
}

// countSQL is the statement that counts the matches of q. When q has a
// term whose index rows belong to the searched resources themselves (a
// value or a chain term, not _id, _has, :missing or :not), the count runs
// on that term's rows alone and never joins resource_heads: index rows
// exist only for live heads, so the term's ids are live resources of
// q.Type already, and a count of 100,000 code hits is one index-only range
// scan instead of a hash join with every head of the type.
func countSQL(q *search.Query) (string, []any, error) {
	b := &sqlb{}
	terms := q.Terms()
	drive, from := -1, "resource_heads h"
	var conds []string
	for i, t := range terms {
		code, _, _ := t.Param()
		if t.Has() != nil || code == "_id" || t.Modifier() == "missing" || t.Modifier() == "not" {
			continue
		}
		c, err := b.term(q.Type, t, "h")
		if err != nil {
			return "", nil, err
		}
		inner, ok := strings.CutPrefix(c, "h.id IN (")
		if !ok || !strings.HasSuffix(inner, ")") {
			return "", nil, fmt.Errorf("count %s: unexpected term plan %q", q.Type, c)
		}
		drive = i
		from = fmt.Sprintf("(SELECT DISTINCT %s::text AS type, d.id FROM (%s) d(id)) h", b.arg(q.Type), strings.TrimSuffix(inner, ")"))
		break
	}
	if drive < 0 {
		conds = append(conds, "h.type = "+b.arg(q.Type), "NOT h.deleted")
	}
	for i, t := range terms {
		if i == drive {
			continue
		}
		c, err := b.term(q.Type, t, "h")
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, c)
	}
	w := "true"
	if len(conds) > 0 {
		w = strings.Join(conds, " AND ")
	}
	return "SELECT count(*) FROM " + from + " WHERE " + w, b.args, nil
}

// page reads up to n rows after (before, for a back cursor) cur, in the
// order of the search, and reports whether more follow.
func (s *Store) page(ctx context.Context, ptx pgx.Tx, q *search.Query, cur *search.Cursor, n int) ([]foundRow, bool, error) {
	phases := []int{0}
	if phased(q) {
		phases = []int{0, 1}
	}
	back := cur != nil && cur.Back
	start := 0
	if cur != nil && phased(q) && cur.Keys[0].Null {
		start = 1
	}
	var order []int
	if back {
		for p := start; p >= 0; p-- {
			order = append(order, p)
		}
	} else {
		order = phases[start:]
	}
	var out []foundRow
	for _, ph := range order {
		rows, err := s.phase(ctx, ptx, q, ph, cur, back, n+1-len(out))
		if err != nil {
			return nil, false, err
		}
		out = append(out, rows...)
		cur = nil // later phases start from their beginning
		if len(out) > n {
			break
		}
	}
	more := len(out) > n
	if more {
		out = out[:n]
	}
	if back {
		slices.Reverse(out)
	}
	return out, more, nil
}

// phase reads up to limit rows of one phase after cur (if in this phase).
func (s *Store) phase(ctx context.Context, ptx pgx.Tx, q *search.Query, ph int, cur *search.Cursor, back bool, limit int) ([]foundRow, error) {
	sql, args, cols, err := phaseSQL(q, ph, cur, back, limit)
	if err != nil {
		return nil, err
	}
	rows, err := ptx.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (foundRow, error) {
		r := foundRow{res: subscription.Resource{Type: q.Type}}
		dst := []any{&r.res.ID, &r.res.VersionID, &r.res.LastUpdated, bodyDst(&r.res.Body)}
		vals := make([]any, len(cols))
		for i, c := range cols {
			switch c.typ {
			case "date":
				vals[i] = new(pgtype.Timestamptz)
			default:
				vals[i] = new(pgtype.Text)
			}
			dst = append(dst, vals[i])
		}
		if err := row.Scan(dst...); err != nil {
			return r, err
		}
		r.res = normalise(r.res)
		if ph == 1 {
			r.keys = append(r.keys, search.CursorKey{Null: true})
		}
		for i := range cols {
			r.keys = append(r.keys, cursorKey(vals[i]))
		}
		return r, nil
	})
}

// phaseSQL is the statement of one phase of a page (see phase) with its
// arguments and sort columns.
func phaseSQL(q *search.Query, ph int, cur *search.Cursor, back bool, limit int) (string, []any, []sortCol, error) {
	b := &sqlb{}
	if k := q.SortKeys()[0]; cur != nil && k.Param == "_id" {
		op := ">"
		if k.Descending != back {
			op = "<"
		}
		b.idOp, b.idCursor, b.idAlias = op, cur.Keys[0].V, "h"
	}
	w, err := b.where(q, "h")
	if err != nil {
		return "", nil, nil, err
	}
	cols, joins, phaseCond := b.sortCols(q, ph)
	if phaseCond != "" {
		w += " AND " + phaseCond
	}
	tieID := !hasIDKey(q)
	if cur != nil {
		keys := cur.Keys
		if ph == 1 {
			keys = keys[1:]
		}
		w += " AND " + b.keyset(cols, keys, cur.ID, tieID, back)
	}
	sel := []string{"h.id", "h.version", "h.last_updated", "v.body"}
	for _, c := range cols {
		if c.typ == "number" || c.typ == "quantity" {
			sel = append(sel, c.expr+"::text")
		} else {
			sel = append(sel, c.expr)
		}
	}
	sql := fmt.Sprintf(`SELECT %s FROM resource_heads h %s
JOIN resource_versions v ON v.type = h.type AND v.id = h.id AND v.version = h.version
WHERE %s ORDER BY %s LIMIT %s`, strings.Join(sel, ", "), strings.Join(joins, " "), w, orderBy(cols, tieID, back), b.arg(limit))
	return sql, b.args, cols, nil
}

func cursorKey(v any) search.CursorKey {
	switch x := v.(type) {
	case *pgtype.Timestamptz:
		switch {
		case !x.Valid:
			return search.CursorKey{Null: true}
		case x.InfinityModifier == pgtype.Infinity:
			return search.SortValue{Inf: 1}.Key()
		case x.InfinityModifier == pgtype.NegativeInfinity:
			return search.SortValue{Inf: -1}.Key()
		}
		return search.SortValue{Time: x.Time}.Key()
	case *pgtype.Text:
		if !x.Valid {
			return search.CursorKey{Null: true}
		}
		return search.CursorKey{V: x.String}
	}
	return search.CursorKey{Null: true}
}
