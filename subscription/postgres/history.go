package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/fhirbell/fhirbell/subscription"
)

// Versions returns a page of type- or system-level history; see
// subscription.Store.Versions. The statement walks
// resource_versions_history (or resource_versions_type_history) backwards
// from the cursor and stops after count+1 rows; the version before each
// one (its predecessor's deletion flag, and for a deletion the body it
// deleted) is one primary-key probe per row, and so is the _at test of
// the version after it.
func (s *Store) Versions(ctx context.Context, q subscription.HistoryQuery, count int) (subscription.HistoryPage, error) {
	var cur *subscription.HistoryCursor
	if q.Cursor != "" {
		c, err := subscription.DecodeHistoryCursor(q.Cursor, q.Type)
		if err != nil {
			return subscription.HistoryPage{}, err
		}
		cur = &c
	}
	if count <= 0 {
		return subscription.HistoryPage{}, nil
	}
	sql, args := historySQL(q, cur, count+1)
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return subscription.HistoryPage{}, translate(err)
	}
	vs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (subscription.HistoryVersion, error) {
		var v subscription.HistoryVersion
		err := row.Scan(&v.Type, &v.ID, &v.VersionID, &v.LastUpdated, &v.Deleted, bodyDst(&v.Body), &v.Recreated, &v.Was)
		v.Resource = normalise(v.Resource)
		return v, err
	})
	if err != nil {
		return subscription.HistoryPage{}, translate(err)
	}
	var page subscription.HistoryPage
	if len(vs) > count {
		vs = vs[:count]
		page.Next = subscription.CursorOf(vs[count-1].Resource).Encode()
	}
	page.Versions = vs
	return page, nil
}

// historySQL builds the statement of a history page of at most limit
// rows. The keyset of a type-level history leaves the type out, so that
// the row comparison matches resource_versions_type_history's columns
// after its equality on type, and the planner uses it as an index bound.
func historySQL(q subscription.HistoryQuery, cur *subscription.HistoryCursor, limit int) (string, []any) {
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	order := "v.last_updated DESC, v.type DESC, v.id DESC, v.version DESC"
	if q.Type != "" {
		where = append(where, "v.type = "+arg(q.Type))
		order = "v.last_updated DESC, v.id DESC, v.version DESC"
	}
	if !q.Since.IsZero() {
		where = append(where, "v.last_updated >= "+arg(q.Since))
	}
	if !q.AtHi.IsZero() {
		where = append(where, "v.last_updated < "+arg(q.AtHi),
			fmt.Sprintf(`NOT EXISTS (SELECT 1 FROM resource_versions n
  WHERE n.type = v.type AND n.id = v.id AND n.version = v.version + 1 AND n.last_updated <= %s)`, arg(q.AtLo)))
	}
	if cur != nil {
		if q.Type != "" {
			where = append(where, fmt.Sprintf("(v.last_updated, v.id, v.version) < (%s, %s, %s)",
				arg(cur.At), arg(cur.ID), arg(cur.Version)))
		} else {
			where = append(where, fmt.Sprintf("(v.last_updated, v.type, v.id, v.version) < (%s, %s, %s, %s)",
				arg(cur.At), arg(cur.Type), arg(cur.ID), arg(cur.Version)))
		}
	}
	cond := "true"
	if len(where) > 0 {
		cond = strings.Join(where, "\n  AND ")
	}
	return fmt.Sprintf(`
SELECT v.type, v.id, v.version, v.last_updated, v.deleted, v.body,
       coalesce(p.deleted, false), CASE WHEN v.deleted THEN p.body END
FROM resource_versions v
LEFT JOIN resource_versions p ON p.type = v.type AND p.id = v.id AND p.version = v.version - 1
WHERE %s
ORDER BY %s
LIMIT %s`, cond, order, arg(limit)), args
}
