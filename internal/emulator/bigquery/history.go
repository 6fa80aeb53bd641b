package bigquery

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	bq "google.golang.org/api/bigquery/v2"
)

// Time travel. DuckDB keeps no history of a table, so the emulator keeps
// one per table in _emulator.history, written in the transaction of each
// write it describes: one point per commit, (commit time in milliseconds,
// the table's row count after the commit, what the write was).
//
// An append (DML INSERT, a load or a query or a copy with WRITE_APPEND or
// WRITE_EMPTY, a Storage Write API append) adds a point. A write that may
// change or remove existing rows (UPDATE, DELETE, MERGE, WRITE_TRUNCATE,
// WRITE_TRUNCATE_DATA, a table created or created again) replaces the
// history with its own point: the history starts there.
//
// Within one history the table only grows at its end, so the table as of a
// time T is its first N rows in insertion order, N being the count of the
// last point at or before T. DuckDB numbers a table's rows by rowid in
// insertion order. Rowids are not stable: a checkpoint after a DELETE
// renumbers the rows that remain (in the same order). So the history keeps
// counts, never rowids, and a read resolves N to a rowid in its own
// snapshot: the rows appended after T are the last (count - N) rows, whose
// rowids are contiguous at the end, so the first N rows are those whose
// rowid is at most max(rowid) - (count - N).

// write is what a committed write did to a table's rows, for its history.
type write struct {
	// kind names the write in the history and in errors, e.g. "INSERT" or
	// "load WRITE_TRUNCATE_DATA".
	kind string
	// rewrite is true when existing rows may have changed or gone; the
	// table's history then starts again at this commit.
	rewrite bool
}

// appended is a write that adds rows at the end of a table and changes no
// other row.
func appended(kind string) write { return write{kind: kind} }

// rewritten is a write that may change or remove existing rows.
func rewritten(kind string) write { return write{kind: kind, rewrite: true} }

// recordWrite records in tx, the transaction of a write to table k, that
// the write commits now. It must run after the statements that change the
// table's rows, since it counts them; the caller commits tx shortly after,
// and holds the table's write lock from before recordWrite until the commit
// is over, so that no read of the table's past starts between the two
// (see openSource).
func recordWrite(ctx context.Context, tx *sql.Tx, k tableKey, w write) error {
	if w.rewrite {
		if err := forgetHistory(ctx, tx, k); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO _emulator.history SELECT ?, ?, ?, ?, count(*), ? FROM `+duckTable(k),
		k.project, k.dataset, k.table, nowMillis(), w.kind)
	if err != nil {
		return fmt.Errorf("record the history of %s: %w", k, err)
	}
	return nil
}

// forgetHistory deletes the history of table k in tx.
func forgetHistory(ctx context.Context, tx *sql.Tx, k tableKey) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM _emulator.history WHERE project = ? AND dataset = ? AND table_id = ?`, k.project, k.dataset, k.table)
	if err != nil {
		return fmt.Errorf("forget the history of %s: %w", k, err)
	}
	return nil
}

// initHistory runs when the server opens its database, once the catalog is
// loaded. It deletes the history of tables that no longer exist, which a
// deleted dataset leaves behind, and starts now the history of each table
// that has none: a table of a database written by an emulator that kept no
// history, whose past cannot be read but whose future can.
func (s *Server) initHistory(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM _emulator.history h WHERE NOT EXISTS (
		SELECT 1 FROM _emulator.tables t WHERE t.project = h.project AND t.dataset = h.dataset AND t.table_id = h.table_id)`)
	if err != nil {
		return err
	}
	kept, err := tablesWithHistory(ctx, s.db)
	if err != nil {
		return err
	}
	start := rewritten("the emulator's start, without an earlier history")
	for k, t := range s.cat.tables {
		if t.Type != "TABLE" || kept[k] {
			continue
		}
		if err := s.inTx(ctx, func(tx *sql.Tx) error { return recordWrite(ctx, tx, k, start) }); err != nil {
			return err
		}
	}
	return nil
}

// tablesWithHistory returns the tables that have a history.
func tablesWithHistory(ctx context.Context, db *sql.DB) (map[tableKey]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT project, dataset, table_id FROM _emulator.history`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	kept := map[tableKey]bool{}
	for rows.Next() {
		var k tableKey
		if err := rows.Scan(&k.project, &k.dataset, &k.table); err != nil {
			return nil, err
		}
		kept[k] = true
	}
	return kept, rows.Err()
}

// tableAt is a table that a copy or extract job reads, named by a table
// reference whose id may carry a time decorator, as BigQuery's do:
// t@<ms> is t as of that time in milliseconds since the epoch, t@-<ms> as
// of that long ago, t@0 as of the oldest time the history keeps.
type tableAt struct {
	k         tableKey
	decorated bool
	ms        int64 // the decorator's value: absolute if > 0, relative if < 0
	oldest    bool  // the decorator @0: the oldest time the history keeps
}

func (t tableAt) String() string {
	if !t.decorated {
		return t.k.String()
	}
	return t.k.String() + "@" + strconv.FormatInt(t.ms, 10)
}

// parseTableAt reads a source table reference; project is the job's, for a
// reference without one. A malformed decorator, or a range decorator
// (t@<ms>-<ms>), is invalid.
func parseTableAt(ref *bq.TableReference, project string) (tableAt, error) {
	if ref.ProjectId == "" {
		ref.ProjectId = project
	}
	id, decorator, decorated := strings.Cut(ref.TableId, "@")
	if !tableIDPattern.MatchString(id) {
		return tableAt{}, errInvalid("Invalid table ID \"%s\".", ref.TableId)
	}
	t := tableAt{k: tableKey{ref.ProjectId, ref.DatasetId, id}, decorated: decorated}
	if !decorated {
		return t, nil
	}
	if strings.Contains(strings.TrimPrefix(decorator, "-"), "-") {
		return tableAt{}, errInvalid("Invalid table decorator in %s: range decorators (@<time>-<time>) are not supported by the emulator; it reads a table as of one time", ref.TableId)
	}
	ms, err := strconv.ParseInt(decorator, 10, 64)
	if err != nil || strings.HasPrefix(decorator, "+") {
		return tableAt{}, errInvalid("Invalid table decorator in %s: it must be @<milliseconds since the epoch>, @-<milliseconds ago> or @0", ref.TableId)
	}
	t.ms = ms
	t.oldest = ms == 0
	return t, nil
}

// rowRange is the rows of a source table that a job reads, in the
// snapshot of the job's transaction: those whose rowid is between first and
// last, both included. first > last when there is none.
type rowRange struct{ first, last int64 }

// filter is the SQL condition that selects the range's rows.
func (r rowRange) filter() string {
	return fmt.Sprintf("rowid BETWEEN %d AND %d", r.first, r.last)
}

// openSource begins a transaction on the database and returns it with the
// rows of table t (the resource of src.k) that a job reads in its snapshot:
// all of them, or, for a decorated source, the rows as of the decorator's
// time. The caller commits or rolls back the transaction.
//
// For a decorated source, the caller holds the source's write lock and
// releaseSource releases it; openSource releases it as soon as the snapshot
// has begun, and the caller may call it again. Holding the lock means that
// no write to the source is between recording its commit time and
// committing, so the snapshot holds every commit recorded until it begins;
// and it begins after the clock has passed the decorator's time, so every
// commit it misses is recorded after that time. Reading the same time again
// gives the same rows.
//
// A time in the future, or before the start of the table's history, is
// invalid, as BigQuery answers a time it cannot read.
func (s *Server) openSource(ctx context.Context, src tableAt, t *bq.Table, releaseSource func()) (*sql.Tx, rowRange, error) {
	defer releaseSource()
	at := src.ms
	if src.decorated {
		now := nowMillis()
		if at < 0 {
			at += now
		}
		if at > now {
			return nil, rowRange{}, errFuture(src, at, now)
		}
		waitPast(now)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, rowRange{}, fmt.Errorf("read %s: %w", t.Id, err)
	}
	r, err := sourceRows(ctx, tx, src, at)
	if err != nil {
		_ = tx.Rollback()
		return nil, rowRange{}, err
	}
	return tx, r, nil
}

// errFuture is the answer to reading table src as of a time at that is
// later than now, all in milliseconds since the epoch.
func errFuture(src tableAt, at, now int64) error {
	return errInvalid("Invalid snapshot time %d for table %s: it is in the future (now is %d)", at, src, now)
}

// waitPast returns once the clock has passed ms, in milliseconds since the
// epoch.
func waitPast(ms int64) {
	for nowMillis() <= ms {
		time.Sleep(100 * time.Microsecond)
	}
}

// sourceRows returns the rows of src that tx sees: all of them, or for a
// decorated source the rows as of at, the decorator's time resolved by
// openSource.
func sourceRows(ctx context.Context, tx *sql.Tx, src tableAt, at int64) (rowRange, error) {
	n := int64(-1) // rows as of at; -1 for all
	if src.decorated {
		rows, err := rowsAsOf(ctx, tx, src, at)
		if err != nil {
			return rowRange{}, err
		}
		n = rows
	}
	var first, last sql.NullInt64
	var count int64
	err := tx.QueryRowContext(ctx, "SELECT min(rowid), max(rowid), count(*) FROM "+duckTable(src.k)).Scan(&first, &last, &count)
	if err != nil {
		return rowRange{}, fmt.Errorf("read %s: %w", src.k, err)
	}
	if !first.Valid {
		return rowRange{first: 0, last: -1}, nil
	}
	r := rowRange{first: first.Int64, last: last.Int64}
	if n >= 0 {
		r.last -= count - n
	}
	return r, nil
}

// rowsAsOf returns, from the history in tx, how many rows table src.k had at
// time at, or at the start of its history for the decorator @0.
func rowsAsOf(ctx context.Context, tx *sql.Tx, src tableAt, at int64) (int64, error) {
	k := src.k
	var start int64
	var kind string
	err := tx.QueryRowContext(ctx, `SELECT commit_ms, kind FROM _emulator.history
		WHERE project = ? AND dataset = ? AND table_id = ? ORDER BY commit_ms, row_count LIMIT 1`,
		k.project, k.dataset, k.table).Scan(&start, &kind)
	if err != nil {
		return 0, fmt.Errorf("read the history of %s: %w", k, err)
	}
	if src.oldest {
		at = start
	}
	if at < start {
		return 0, errInvalid("Invalid snapshot time %d for table %s. Cannot read before %d: the emulator keeps a table's history from its creation or its last rewrite (UPDATE, DELETE, MERGE, WRITE_TRUNCATE, WRITE_TRUNCATE_DATA), and this table's starts with %s at %d",
			at, src, start, kind, start)
	}
	var n int64
	err = tx.QueryRowContext(ctx, `SELECT row_count FROM _emulator.history
		WHERE project = ? AND dataset = ? AND table_id = ? AND commit_ms <= ? ORDER BY commit_ms DESC, row_count DESC LIMIT 1`,
		k.project, k.dataset, k.table, at).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("read the history of %s: %w", k, err)
	}
	return n, nil
}

// sourceTable returns the resource of the table that a copy or extract job
// reads: notFound if it or its dataset does not exist, invalid if it is a
// view.
func (s *Server) sourceTable(src tableAt, job string) (*bq.Table, error) {
	if _, ok := s.cat.dataset(src.k.project, src.k.dataset); !ok {
		return nil, errNotFound("Dataset %s:%s", src.k.project, src.k.dataset)
	}
	t, ok := s.cat.table(src.k)
	if !ok {
		return nil, errNotFound("Table %s was not found in location %s", src.k, s.location)
	}
	if t.Type != "TABLE" {
		return nil, errInvalid("Cannot %s %s, which is a %s: %s jobs read tables only", job, src.k, t.Type, job)
	}
	return t, nil
}
