package bigquery

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery/googlesql"
)

// Queries that read tables as of a time (FOR SYSTEM_TIME AS OF) use the
// history of history.go as copy and extract jobs do: the translator reads
// such a table through a subquery of the rows whose rowid is at most a
// parameter, and the server binds it to the last rowid of the rows the
// table had at that time, found in the query's own transaction.

// asOfRead is a table that a statement reads as of a time, the time
// evaluated: src is decorated with it, in milliseconds since the epoch.
type asOfRead struct {
	src   tableAt
	param string // the DuckDB parameter that bounds the rowids the statement reads
}

// asOfReads are a statement's reads as of a time.
type asOfReads struct {
	reads []asOfRead
	now   int64 // when the times were checked, in ms: none is later
}

// tables returns the tables read, each once.
func (r asOfReads) tables() []tableKey {
	var keys []tableKey
	for _, rd := range r.reads {
		if !slices.Contains(keys, rd.src.k) {
			keys = append(keys, rd.src.k)
		}
	}
	return keys
}

// evalAsOf evaluates the time of each FOR SYSTEM_TIME AS OF of st, once,
// with the statement's parameters, and checks them as BigQuery does: the
// time is a TIMESTAMP, not NULL and not in the future, and a table read
// twice is read at one time. A view is refused: the emulator keeps the
// history of tables only. Whether the time is within the table's history
// is checked when the statement reads it (asOfTx).
func (s *Server) evalAsOf(ctx context.Context, st *googlesql.Statement, ps *paramSet) (asOfReads, error) {
	var r asOfReads
	times := map[tableKey]int64{}
	for _, a := range st.AsOf {
		k := tableKey{a.Table.Project, a.Table.Dataset, a.Table.Table}
		t, ok := s.cat.table(k)
		if !ok {
			return asOfReads{}, errNotFound("Table %s was not found in location %s", k, s.location)
		}
		if t.Type != "TABLE" {
			return asOfReads{}, errInvalidQuery("FOR SYSTEM_TIME AS OF on %s, which is a %s, is not supported by the emulator: it keeps the history of tables only", k, t.Type)
		}
		us, err := s.evalTime(ctx, a, ps.args())
		if err != nil {
			return asOfReads{}, err
		}
		if prev, ok := times[k]; ok && prev != us {
			return asOfReads{}, errInvalidQuery("Table %s is read at two points in time (FOR SYSTEM_TIME AS OF): a statement reads a table at one point in time", k)
		}
		times[k] = us
		ms := us / 1000
		if us%1000 < 0 {
			ms-- // the millisecond that contains us
		}
		// The clock is read after the evaluation, so that a time computed
		// from CURRENT_TIMESTAMP() is never in the future.
		r.now = max(r.now, nowMillis())
		src := tableAt{k: k, decorated: true, ms: ms}
		if ms > r.now {
			return asOfReads{}, errFuture(src, ms, r.now)
		}
		r.reads = append(r.reads, asOfRead{src: src, param: a.Param})
	}
	return r, nil
}

// evalTime evaluates the time of a FOR SYSTEM_TIME AS OF, in microseconds
// since the epoch; args are the statement's parameters.
func (s *Server) evalTime(ctx context.Context, a googlesql.AsOf, args []any) (int64, error) {
	cols, err := describe(ctx, s.db, "SELECT "+a.Time)
	if err != nil {
		return 0, err
	}
	if cols[0].bqType != "TIMESTAMP" {
		return 0, errInvalidQuery("FOR SYSTEM_TIME AS OF for table %s needs a TIMESTAMP; this expression is of type %s", a.Table, cols[0].bqType)
	}
	var us sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT epoch_us("+a.Time+")", args...).Scan(&us); err != nil {
		return 0, duckError(err)
	}
	if !us.Valid {
		return 0, errInvalidQuery("FOR SYSTEM_TIME AS OF for table %s is NULL", a.Table)
	}
	return us.Int64, nil
}

// lockTables takes the write locks of tables keys, each once, in the order
// of their names, as lockCopy does, so that callers that lock overlapping
// tables cannot deadlock. It returns a release function per table; each
// may be called more than once.
func (s *Server) lockTables(keys ...tableKey) map[tableKey]func() {
	sorted := slices.Clone(keys)
	slices.SortFunc(sorted, func(a, b tableKey) int { return strings.Compare(a.String(), b.String()) })
	unlock := map[tableKey]func(){}
	for _, k := range slices.Compact(sorted) {
		unlock[k] = sync.OnceFunc(s.lockTable(k.project, k.dataset, k.table))
	}
	return unlock
}

// releaseExcept releases the locks of lockTables, except keep's.
func releaseExcept(unlock map[tableKey]func(), keep tableKey) {
	for k, release := range unlock {
		if k != keep {
			release()
		}
	}
}

// asOfTx runs fn in a transaction and commits it; fn gets args, the
// statement's parameters, followed by the bounds of r's reads in the
// transaction's snapshot, so that each table is read as it was at its
// time. A time before the start of a table's history is invalid.
//
// The caller holds the write lock of every table of r (lockTables) and
// release releases those that fn does not write; asOfTx calls it once the
// snapshot has begun, after the clock has passed r.now. As for a copy's
// source (see openSource), this makes the snapshot hold every commit
// recorded at or before the times, and no other, so a time always reads
// the same rows.
func (s *Server) asOfTx(ctx context.Context, r asOfReads, release func(), args []any, fn func(tx *sql.Tx, args []any) error) error {
	defer release()
	if len(r.reads) > 0 {
		waitPast(r.now)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // a no-op once committed
	all := slices.Clone(args)
	for _, rd := range r.reads {
		rows, err := sourceRows(ctx, tx, rd.src, rd.src.ms)
		if err != nil {
			return err
		}
		all = append(all, sql.Named(rd.param, rows.last))
	}
	release()
	if err := fn(tx, all); err != nil {
		return err
	}
	return tx.Commit()
}
