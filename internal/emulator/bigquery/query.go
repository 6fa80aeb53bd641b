package bigquery

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/duckdb/duckdb-go/v2"
	bq "google.golang.org/api/bigquery/v2"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery/googlesql"
)

// translate translates a GoogleSQL statement and checks that every table it
// names exists, answering notFound as BigQuery does otherwise.
func (s *Server) translate(query, project, dataset string, ps *paramSet) (*googlesql.Statement, error) {
	if ps == nil {
		ps = &paramSet{named: map[string]boundParam{}, used: map[string]bool{}}
	}
	st, err := googlesql.Translate(query, googlesql.Options{
		DefaultProject: project,
		DefaultDataset: dataset,
		Table: func(r googlesql.TableRef) string {
			return duckTable(tableKey{r.Project, r.Dataset, r.Table})
		},
		Param:      ps.param,
		Positional: ps.positionalParam,
	})
	if err != nil {
		var ge *googlesql.Error
		if errors.As(err, &ge) {
			return nil, errInvalidQuery("%s", ge.Message)
		}
		return nil, err
	}
	for _, ref := range st.Tables {
		if _, ok := s.cat.dataset(ref.Project, ref.Dataset); !ok {
			return nil, errNotFound("Dataset %s:%s was not found in location %s", ref.Project, ref.Dataset, s.location)
		}
		if _, ok := s.cat.table(tableKey{ref.Project, ref.Dataset, ref.Table}); !ok {
			return nil, errNotFound("Table %s was not found in location %s", ref, s.location)
		}
	}
	return st, nil
}

// runQuery runs a query job: a SELECT into an anonymous or a destination
// table, or a DML statement.
func (s *Server) runQuery(ctx context.Context, rec *jobRecord, qp queryParams) error {
	cfg := rec.Job.Configuration.Query
	if cfg.UseLegacySql == nil || *cfg.UseLegacySql {
		return errInvalidQuery("Legacy SQL is not supported by the emulator; set useLegacySql to false")
	}
	ps, err := parseParams(qp.ParameterMode, qp.QueryParameters)
	if err != nil {
		return err
	}
	project, dataset := rec.Job.JobReference.ProjectId, ""
	if d := cfg.DefaultDataset; d != nil {
		dataset = d.DatasetId
		if d.ProjectId != "" {
			project = d.ProjectId
		}
	}
	st, err := s.translate(cfg.Query, project, dataset, ps)
	if err != nil {
		return err
	}
	reads, err := s.evalAsOf(ctx, st, ps)
	if err != nil {
		return err
	}
	stats := &bq.JobStatistics2{StatementType: string(st.Kind), ForceSendFields: []string{"CacheHit", "TotalBytesProcessed"}}
	rec.Job.Statistics.Query = stats
	rec.Job.Statistics.ForceSendFields = []string{"TotalBytesProcessed"}
	if st.Kind == googlesql.Select {
		return s.runSelect(ctx, rec, st, ps, reads)
	}
	if cfg.DestinationTable != nil {
		return errInvalidQuery("Cannot set destination table in jobs with DML statements")
	}
	return s.runDML(ctx, rec, st, ps, reads)
}

// resultCol is a column of a query result.
type resultCol struct {
	name string // BigQuery's name for it
	duckColumn
}

// querier is what describe needs from a database.
type querier interface {
	Conn(ctx context.Context) (*sql.Conn, error)
}

// describe prepares query and returns its result columns, named as BigQuery
// names them (f0_, f1_, ... for expressions without an alias).
func describe(ctx context.Context, db querier, query string) ([]resultCol, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var names []string
	var types []duckdb.Type
	err = conn.Raw(func(dc any) error {
		prep, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return errors.New("the DuckDB driver cannot prepare statements")
		}
		stmt, err := prep.PrepareContext(ctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		ds, ok := stmt.(*duckdb.Stmt)
		if !ok {
			return errors.New("unexpected DuckDB statement type")
		}
		n, err := ds.ColumnCount()
		if err != nil {
			return err
		}
		for i := range n {
			name, err := ds.ColumnName(i)
			if err != nil {
				return err
			}
			t, err := ds.ColumnType(i)
			if err != nil {
				return err
			}
			names = append(names, name)
			types = append(types, t)
		}
		return nil
	})
	if err != nil {
		return nil, duckError(err)
	}
	cols := make([]resultCol, len(names))
	seen := map[string]bool{}
	anonymous := 0
	for i, name := range names {
		c, ok := resultColumn(types[i])
		if !ok {
			return nil, errInvalidQuery("Result column %d (%s) has a type the emulator cannot return: ARRAY, STRUCT, INTERVAL and other non-scalar results are not supported", i+1, name)
		}
		if !fieldNamePattern.MatchString(name) || generatedNames[strings.ToLower(name)] {
			name = fmt.Sprintf("f%d_", anonymous)
			anonymous++
		}
		if seen[strings.ToLower(name)] {
			return nil, errInvalidQuery("Duplicate column names in the result are not supported. Found duplicate(s): %s", name)
		}
		seen[strings.ToLower(name)] = true
		cols[i] = resultCol{name: name, duckColumn: c}
	}
	return cols, nil
}

// generatedNames are names DuckDB gives to expressions that BigQuery leaves
// anonymous.
var generatedNames = map[string]bool{"current_timestamp": true, "current_date": true, "null": true, "true": true, "false": true}

// projection wraps a translated SELECT so that its columns get BigQuery's
// names and storage types, whatever DuckDB named them.
func projection(query string, cols []resultCol) string {
	inner := make([]string, len(cols))
	outer := make([]string, len(cols))
	for i, c := range cols {
		inner[i] = fmt.Sprintf(`"c%d"`, i)
		outer[i] = fmt.Sprintf(`CAST("c%d" AS %s) AS %s`, i, c.duckType, quoteIdent(c.name))
	}
	return "SELECT " + strings.Join(outer, ", ") + " FROM (" + query + ") AS _q(" + strings.Join(inner, ", ") + ")"
}

func schemaOf(cols []resultCol) *bq.TableSchema {
	s := &bq.TableSchema{}
	for _, c := range cols {
		s.Fields = append(s.Fields, &bq.TableFieldSchema{Name: c.name, Type: c.bqType, Mode: "NULLABLE"})
	}
	return s
}

func namesOf(s *bq.TableSchema) []string {
	names := make([]string, len(s.Fields))
	for i, f := range s.Fields {
		names[i] = f.Name
	}
	return names
}

// runSelect runs a SELECT, which reads tables as of reads, and stores its
// rows.
func (s *Server) runSelect(ctx context.Context, rec *jobRecord, st *googlesql.Statement, ps *paramSet, reads asOfReads) error {
	cols, err := describe(ctx, s.db, st.SQL)
	if err != nil {
		return err
	}
	rec.Job.Statistics.Query.Schema = schemaOf(cols)
	body := projection(st.SQL, cols)
	cfg := rec.Job.Configuration.Query
	if cfg.DestinationTable == nil {
		ref := rec.Job.JobReference
		table := "_emulator_results." + quoteIdent(ref.ProjectId+":"+ref.JobId)
		unlock := s.lockTables(reads.tables()...)
		err := s.asOfTx(ctx, reads, func() { releaseExcept(unlock, tableKey{}) }, ps.args(), func(tx *sql.Tx, args []any) error {
			_, err := tx.ExecContext(ctx, "CREATE TABLE "+table+" AS "+body, args...)
			return err
		})
		if err != nil {
			return duckError(err)
		}
		rec.Result = &resultSet{Table: table, Columns: namesOf(schemaOf(cols)), Schema: schemaOf(cols), Anonymous: true}
		return nil
	}
	return s.writeDestination(ctx, rec, cfg, cols, body, ps.args(), reads)
}

// writeDestination writes a SELECT's rows to its destination table, with the
// create and write dispositions of BigQuery; the SELECT reads tables as of
// reads.
func (s *Server) writeDestination(ctx context.Context, rec *jobRecord, cfg *bq.JobConfigurationQuery, cols []resultCol, body string, args []any, reads asOfReads) error {
	d := cfg.DestinationTable
	if d.ProjectId == "" {
		d.ProjectId = rec.Job.JobReference.ProjectId
	}
	k := tableKey{d.ProjectId, d.DatasetId, d.TableId}
	ds, ok := s.cat.dataset(k.project, k.dataset)
	if !ok {
		return errNotFound("Dataset %s:%s", k.project, k.dataset)
	}
	if !tableIDPattern.MatchString(k.table) {
		return errInvalid("Invalid table ID \"%s\".", k.table)
	}
	unlock := s.lockTables(append(reads.tables(), k)...)
	defer releaseExcept(unlock, tableKey{})
	cur, exists := s.cat.table(k)
	if exists && cur.Type != "TABLE" {
		return errInvalid("Cannot write query results to %s, which is a %s", k, cur.Type)
	}
	if cfg.CreateDisposition == "" {
		cfg.CreateDisposition = "CREATE_IF_NEEDED"
	}
	if cfg.WriteDisposition == "" {
		cfg.WriteDisposition = "WRITE_EMPTY"
	}
	if !exists && cfg.CreateDisposition == "CREATE_NEVER" {
		return errNotFound("Table %s", k)
	}
	now := nowMillis()
	t := cur
	if !exists {
		t = &bq.Table{
			Kind:             "bigquery#table",
			Id:               k.project + ":" + k.dataset + "." + k.table,
			SelfLink:         "/bigquery/v2/projects/" + k.project + "/datasets/" + k.dataset + "/tables/" + k.table,
			TableReference:   &bq.TableReference{ProjectId: k.project, DatasetId: k.dataset, TableId: k.table},
			Type:             "TABLE",
			CreationTime:     now,
			Location:         ds.Location,
			TimePartitioning: cfg.TimePartitioning,
			Clustering:       cfg.Clustering,
		}
	}
	var stmts []string
	bodyAt := 0 // the statement that runs the query, with its parameters
	w := appended("query " + cfg.WriteDisposition)
	switch {
	case !exists:
		t.Schema = schemaOf(cols)
		if err := checkLayout(t); err != nil {
			return err
		}
		stmts = []string{"CREATE TABLE " + duckTable(k) + " AS " + body}
		w = rewritten("query creating the table")
	case cfg.WriteDisposition == "WRITE_TRUNCATE":
		t.Schema = schemaOf(cols)
		// The query may read the table it replaces: build the new table
		// first, then swap it in, in the same transaction.
		tmp := tableKey{k.project, k.dataset, k.table + "__emulator_truncate"}
		stmts = []string{"CREATE TABLE " + duckTable(tmp) + " AS " + body, "DROP TABLE " + duckTable(k),
			"ALTER TABLE " + duckTable(tmp) + " RENAME TO " + quoteIdent(k.table)}
		bodyAt = 0
		w = rewritten("query WRITE_TRUNCATE")
	case cfg.WriteDisposition == "WRITE_APPEND" || cfg.WriteDisposition == "WRITE_EMPTY":
		if cfg.WriteDisposition == "WRITE_EMPTY" {
			var n int64
			if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+duckTable(k)).Scan(&n); err != nil {
				return duckError(err)
			}
			if n > 0 {
				return errDuplicate("Table %s", k)
			}
		}
		if err := appendable(k, t.Schema, cols); err != nil {
			return err
		}
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = quoteIdent(c.name)
		}
		stmts = []string{"INSERT INTO " + duckTable(k) + " (" + strings.Join(names, ", ") + ") " + body}
	default:
		return errInvalid("Invalid value for writeDisposition: %s", cfg.WriteDisposition)
	}
	t.Etag = newETag()
	t.LastModifiedTime = uint64(now)
	err := s.asOfTx(ctx, reads, func() { releaseExcept(unlock, k) }, args, func(tx *sql.Tx, args []any) error {
		for i, stmt := range stmts {
			var a []any
			if i == bodyAt {
				a = args
			}
			if _, err := tx.ExecContext(ctx, stmt, a...); err != nil {
				return err
			}
		}
		if err := putTable(ctx, tx, t); err != nil {
			return err
		}
		return recordWrite(ctx, tx, k, w)
	})
	if err != nil {
		return duckError(err)
	}
	s.cat.setTable(t)
	rec.Result = &resultSet{Table: duckTable(k), Columns: namesOf(t.Schema), Schema: t.Schema}
	return nil
}

// appendable checks that query columns can be appended to a table: each
// exists in it with the same type.
func appendable(k tableKey, schema *bq.TableSchema, cols []resultCol) error {
	for _, c := range cols {
		var f *bq.TableFieldSchema
		for _, tf := range schema.Fields {
			if strings.EqualFold(tf.Name, c.name) {
				f = tf
			}
		}
		if f == nil {
			return errInvalid("Provided Schema does not match Table %s. Cannot add fields (field: %s)", k, c.name)
		}
		if f.Type != c.bqType {
			return errInvalid("Provided Schema does not match Table %s. Field %s has changed type from %s to %s", k, f.Name, f.Type, c.bqType)
		}
	}
	return nil
}

// runDML runs an INSERT, UPDATE, DELETE or MERGE with its target locked;
// the statement reads tables as of reads.
func (s *Server) runDML(ctx context.Context, rec *jobRecord, st *googlesql.Statement, ps *paramSet, reads asOfReads) error {
	k := tableKey{st.Target.Project, st.Target.Dataset, st.Target.Table}
	unlock := s.lockTables(append(reads.tables(), k)...)
	defer releaseExcept(unlock, tableKey{})
	t, ok := s.cat.table(k)
	if !ok {
		return errNotFound("Table %s was not found in location %s", k, s.location)
	}
	if t.Type != "TABLE" {
		return errInvalidQuery("Cannot modify %s, which is a %s", k, t.Type)
	}
	t.Etag = newETag()
	t.LastModifiedTime = uint64(nowMillis())
	// Only an INSERT leaves the existing rows as they were.
	w := rewritten(string(st.Kind))
	if st.Kind == googlesql.Insert {
		w = appended(string(st.Kind))
	}
	var n int64
	err := s.asOfTx(ctx, reads, func() { releaseExcept(unlock, k) }, ps.args(), func(tx *sql.Tx, args []any) error {
		res, err := tx.ExecContext(ctx, st.SQL, args...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if err := putTable(ctx, tx, t); err != nil {
			return err
		}
		return recordWrite(ctx, tx, k, w)
	})
	if err != nil {
		return duckError(err)
	}
	s.cat.setTable(t)
	stats := rec.Job.Statistics.Query
	stats.NumDmlAffectedRows = n
	stats.ForceSendFields = append(stats.ForceSendFields, "NumDmlAffectedRows")
	dml := &bq.DmlStatistics{ForceSendFields: []string{"InsertedRowCount", "UpdatedRowCount", "DeletedRowCount"}}
	switch st.Kind {
	case googlesql.Insert:
		dml.InsertedRowCount = n
		stats.DmlStats = dml
	case googlesql.Update:
		dml.UpdatedRowCount = n
		stats.DmlStats = dml
	case googlesql.Delete:
		dml.DeletedRowCount = n
		stats.DmlStats = dml
	}
	rec.Result = &resultSet{}
	return nil
}

// dryRun validates a query job without running it or recording it, and
// answers with its schema and statement type.
func (s *Server) dryRun(ctx context.Context, job *bq.Job, qp queryParams) (*bq.Job, error) {
	cfg := job.Configuration.Query
	if cfg == nil {
		return nil, errInvalid("The emulator supports dry runs of query jobs only")
	}
	if cfg.UseLegacySql == nil || *cfg.UseLegacySql {
		return nil, errInvalidQuery("Legacy SQL is not supported by the emulator; set useLegacySql to false")
	}
	ps, err := parseParams(qp.ParameterMode, qp.QueryParameters)
	if err != nil {
		return nil, err
	}
	project, dataset := job.JobReference.ProjectId, ""
	if d := cfg.DefaultDataset; d != nil {
		dataset = d.DatasetId
		if d.ProjectId != "" {
			project = d.ProjectId
		}
	}
	st, err := s.translate(cfg.Query, project, dataset, ps)
	if err != nil {
		return nil, err
	}
	if _, err := s.evalAsOf(ctx, st, ps); err != nil {
		return nil, err
	}
	stats := &bq.JobStatistics2{StatementType: string(st.Kind), ForceSendFields: []string{"TotalBytesProcessed"}}
	if st.Kind == googlesql.Select {
		cols, err := describe(ctx, s.db, st.SQL)
		if err != nil {
			return nil, err
		}
		stats.Schema = schemaOf(cols)
	}
	job.Kind = "bigquery#job"
	job.Configuration.JobType = "QUERY"
	job.Status = &bq.JobStatus{State: "DONE"}
	job.Statistics = &bq.JobStatistics{CreationTime: nowMillis(), Query: stats}
	return job, nil
}

var (
	notNullMessage = regexp.MustCompile(`NOT NULL constraint failed: .*\.([^.]+)$`)
	checkMessage   = regexp.MustCompile(`length\("?([^")]+)"?\) <= (\d+)`)
)

// duckError turns a DuckDB error into BigQuery's: invalidQuery with DuckDB's
// message, rephrased for the constraints that stand for REQUIRED and
// maxLength.
func duckError(err error) error {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var de *duckdb.Error
	if !errors.As(err, &de) {
		return err
	}
	msg := de.Msg
	switch de.Type {
	case duckdb.ErrorTypeConstraint:
		if m := notNullMessage.FindStringSubmatch(msg); m != nil {
			return errInvalidQuery("Required field %s cannot be null", m[1])
		}
		if m := checkMessage.FindStringSubmatch(msg); m != nil {
			return errInvalidQuery("Field %s: STRING(%s) has maximum length %s but got a longer value", m[1], m[2], m[2])
		}
	case duckdb.ErrorTypeCatalog:
		if strings.Contains(msg, "already exists") {
			return errDuplicate("%s", msg)
		}
	case duckdb.ErrorTypeTransaction:
		return newError(500, "backendError", "%s", msg)
	}
	return errInvalidQuery("%s", msg)
}
