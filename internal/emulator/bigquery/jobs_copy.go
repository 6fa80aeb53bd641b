package bigquery

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"

	bq "google.golang.org/api/bigquery/v2"
)

// runCopy runs a copy job (configuration.copy): one source table, maybe as
// of a time (a decorator, see history.go), into a destination table, with
// BigQuery's dispositions (defaults CREATE_IF_NEEDED and WRITE_EMPTY). The
// destination gets the source's schema (modes, descriptions, maxLength) and,
// when the copy creates it, the source's partitioning and clustering;
// WRITE_TRUNCATE keeps the destination's own. One transaction, under the
// destination's write lock, reads the source and writes the destination's
// rows, resource and history: a failed copy changes nothing.
func (s *Server) runCopy(ctx context.Context, rec *jobRecord) error {
	job := rec.Job
	stats := &bq.JobStatistics5{ForceSendFields: []string{"CopiedRows", "CopiedLogicalBytes"}}
	job.Statistics.Copy = stats
	src, dst, err := s.checkCopy(job)
	if err != nil {
		return err
	}
	cfg := job.Configuration.Copy
	unlockDst, unlockSrc := s.lockCopy(src, dst)
	defer unlockDst()
	defer unlockSrc()
	from, err := s.sourceTable(src, "copy")
	if err != nil {
		return err
	}
	cur, exists := s.cat.table(dst)
	if exists && cur.Type != "TABLE" {
		return errInvalid("Cannot copy into %s, which is a %s", dst, cur.Type)
	}
	if !exists && cfg.CreateDisposition == "CREATE_NEVER" {
		return errNotFound("Table %s", dst)
	}
	tx, rows, err := s.openSource(ctx, src, from, unlockSrc)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // a no-op once committed
	target, err := s.planCopy(ctx, tx, dst, cur, from, cfg.WriteDisposition)
	if err != nil {
		return err
	}
	for _, stmt := range target.ddl {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return loadDuckError(err)
		}
	}
	srcCols := make([]string, len(from.Schema.Fields))
	dstCols := make([]string, len(from.Schema.Fields))
	for i, f := range from.Schema.Fields {
		srcCols[i] = quoteIdent(f.Name)
		dstCols[i] = quoteIdent(fieldNamed(target.table.Schema, f.Name).Name)
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO "+duckTable(dst)+" ("+strings.Join(dstCols, ", ")+") SELECT "+
		strings.Join(srcCols, ", ")+" FROM "+duckTable(src.k)+" WHERE "+rows.filter())
	if err != nil {
		return loadDuckError(err)
	}
	copied, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("copy into %s: %w", dst, err)
	}
	var size int64
	if err := tx.QueryRowContext(ctx, "SELECT "+logicalBytes(from.Schema)+" FROM "+duckTable(src.k)+" WHERE "+rows.filter()).Scan(&size); err != nil {
		return fmt.Errorf("copy into %s: %w", dst, err)
	}
	t := target.table
	t.Etag = newETag()
	t.LastModifiedTime = uint64(nowMillis())
	if err := putTable(ctx, tx, t); err != nil {
		return fmt.Errorf("copy into %s: %w", dst, err)
	}
	if err := recordWrite(ctx, tx, dst, target.write); err != nil {
		return fmt.Errorf("copy into %s: %w", dst, err)
	}
	if err := tx.Commit(); err != nil {
		return loadDuckError(err)
	}
	s.cat.setTable(t)
	stats.CopiedRows = copied
	stats.CopiedLogicalBytes = size
	return nil
}

// checkCopy validates a copy job's configuration, fills in BigQuery's
// defaults, and returns its source and destination.
func (s *Server) checkCopy(job *bq.Job) (tableAt, tableKey, error) {
	cfg := job.Configuration.Copy
	project := job.JobReference.ProjectId
	switch cfg.OperationType {
	case "", "COPY":
	case "SNAPSHOT", "CLONE", "RESTORE":
		return tableAt{}, tableKey{}, errInvalid("Operation type %s is not supported by the emulator; it runs copy jobs of type COPY only", cfg.OperationType)
	default:
		return tableAt{}, tableKey{}, errInvalid("Invalid value for operationType: %s", cfg.OperationType)
	}
	if cfg.CreateDisposition == "" {
		cfg.CreateDisposition = "CREATE_IF_NEEDED"
	}
	if cfg.WriteDisposition == "" {
		cfg.WriteDisposition = "WRITE_EMPTY"
	}
	if !slices.Contains([]string{"WRITE_TRUNCATE", "WRITE_APPEND", "WRITE_EMPTY"}, cfg.WriteDisposition) {
		return tableAt{}, tableKey{}, errInvalid("Invalid value for writeDisposition: %s", cfg.WriteDisposition)
	}
	if !slices.Contains([]string{"CREATE_IF_NEEDED", "CREATE_NEVER"}, cfg.CreateDisposition) {
		return tableAt{}, tableKey{}, errInvalid("Invalid value for createDisposition: %s", cfg.CreateDisposition)
	}
	refs := cfg.SourceTables
	if len(refs) == 0 && cfg.SourceTable != nil {
		refs = []*bq.TableReference{cfg.SourceTable}
	}
	switch {
	case len(refs) == 0 || refs[0] == nil || refs[0].DatasetId == "" || refs[0].TableId == "":
		return tableAt{}, tableKey{}, errInvalid("Required parameter is missing: configuration.copy.sourceTables")
	case len(refs) > 1:
		return tableAt{}, tableKey{}, errInvalid("The emulator copies one source table per job; this job has %d", len(refs))
	}
	src, err := parseTableAt(refs[0], project)
	if err != nil {
		return tableAt{}, tableKey{}, err
	}
	d := cfg.DestinationTable
	if d == nil || d.DatasetId == "" || d.TableId == "" {
		return tableAt{}, tableKey{}, errInvalid("Required parameter is missing: configuration.copy.destinationTable")
	}
	if d.ProjectId == "" {
		d.ProjectId = project
	}
	dst := tableKey{d.ProjectId, d.DatasetId, d.TableId}
	if !tableIDPattern.MatchString(dst.table) {
		return tableAt{}, tableKey{}, errInvalid("Invalid table ID \"%s\".", dst.table)
	}
	if _, ok := s.cat.dataset(dst.project, dst.dataset); !ok {
		return tableAt{}, tableKey{}, errNotFound("Dataset %s:%s", dst.project, dst.dataset)
	}
	if src.k == dst {
		return tableAt{}, tableKey{}, errInvalid("The emulator cannot copy table %s onto itself; copy it to another table", dst)
	}
	return src, dst, nil
}

// lockCopy takes the write locks of a copy: the destination's, for the whole
// copy, and for a decorated source the source's too, until the copy's
// snapshot has begun (see openSource). Two tables are locked in the order
// of their keys, so that copies between the same two tables cannot
// deadlock. Each unlock function may be called more than once.
func (s *Server) lockCopy(src tableAt, dst tableKey) (unlockDst, unlockSrc func()) {
	lock := func(k tableKey) func() { return sync.OnceFunc(s.lockTable(k.project, k.dataset, k.table)) }
	if !src.decorated {
		return lock(dst), func() {}
	}
	if src.k.String() < dst.String() {
		unlockSrc = lock(src.k)
		return lock(dst), unlockSrc
	}
	unlockDst = lock(dst)
	return unlockDst, lock(src.k)
}

// copyPlan is what a copy does to its destination.
type copyPlan struct {
	table *bq.Table // the destination's resource after the copy
	ddl   []string  // statements that run before the rows are inserted
	write write     // what the copy is, for the destination's history
}

// planCopy applies the write disposition, in tx, to the destination dst
// (cur, nil when it does not exist) of a copy from the table from.
func (s *Server) planCopy(ctx context.Context, tx *sql.Tx, dst tableKey, cur, from *bq.Table, disposition string) (*copyPlan, error) {
	create := "CREATE TABLE " + duckTable(dst) + " (" + columnsDDL(from.Schema) + ")"
	if cur == nil {
		ds, ok := s.cat.dataset(dst.project, dst.dataset)
		if !ok {
			return nil, errNotFound("Dataset %s:%s", dst.project, dst.dataset)
		}
		t := &bq.Table{
			Kind:           "bigquery#table",
			Id:             dst.project + ":" + dst.dataset + "." + dst.table,
			SelfLink:       "/bigquery/v2/projects/" + dst.project + "/datasets/" + dst.dataset + "/tables/" + dst.table,
			TableReference: &bq.TableReference{ProjectId: dst.project, DatasetId: dst.dataset, TableId: dst.table},
			Type:           "TABLE",
			CreationTime:   nowMillis(),
			Location:       ds.Location,
			Schema:         clone(from.Schema),
		}
		if from.TimePartitioning != nil {
			t.TimePartitioning = clone(from.TimePartitioning)
		}
		if from.Clustering != nil {
			t.Clustering = clone(from.Clustering)
		}
		return &copyPlan{table: t, ddl: []string{create}, write: rewritten("copy creating the table")}, nil
	}
	switch disposition {
	case "WRITE_TRUNCATE":
		cur.Schema = clone(from.Schema)
		if err := checkLayout(cur); err != nil {
			return nil, err
		}
		return &copyPlan{table: cur, ddl: []string{"DROP TABLE " + duckTable(dst), create}, write: rewritten("copy WRITE_TRUNCATE")}, nil
	case "WRITE_EMPTY":
		var n int64
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM "+duckTable(dst)).Scan(&n); err != nil {
			return nil, fmt.Errorf("copy into %s: %w", dst, err)
		}
		if n > 0 {
			return nil, errDuplicate("Table %s", dst)
		}
	}
	if err := matchSchema(dst, cur.Schema, from.Schema); err != nil {
		return nil, err
	}
	return &copyPlan{table: cur, write: appended("copy " + disposition)}, nil
}

// logicalBytes is an SQL aggregate over a table's rows: their logical size
// as BigQuery counts it, and as a load counts its outputBytes. A number,
// timestamp, date or time takes 8 bytes, a NUMERIC 16, a boolean 1, a
// string or bytes value 2 plus its length in bytes, a NULL nothing.
func logicalBytes(schema *bq.TableSchema) string {
	terms := []string{"0"}
	for _, f := range schema.Fields {
		col := quoteIdent(f.Name)
		switch f.Type {
		case "STRING":
			terms = append(terms, fmt.Sprintf("2 * count(%s) + coalesce(sum(strlen(%s)), 0)", col, col))
		case "BYTES":
			terms = append(terms, fmt.Sprintf("2 * count(%s) + coalesce(sum(octet_length(%s)), 0)", col, col))
		case "BOOLEAN":
			terms = append(terms, fmt.Sprintf("count(%s)", col))
		case "NUMERIC":
			terms = append(terms, fmt.Sprintf("16 * count(%s)", col))
		default:
			terms = append(terms, fmt.Sprintf("8 * count(%s)", col))
		}
	}
	return "CAST(" + strings.Join(terms, " + ") + " AS BIGINT)"
}
