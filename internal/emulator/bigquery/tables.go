package bigquery

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"slices"
	"strings"

	bq "google.golang.org/api/bigquery/v2"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery/googlesql"
)

// tableKeyOf returns the table named by a request path.
func tableKeyOf(r *http.Request) tableKey {
	return tableKey{r.PathValue("projectId"), r.PathValue("datasetId"), r.PathValue("tableId")}
}

// insertTable is tables.insert, for tables and views.
func (s *Server) insertTable(r *http.Request) (any, error) {
	project, dataset := r.PathValue("projectId"), r.PathValue("datasetId")
	var t bq.Table
	if _, err := decodeBody(r, &t); err != nil {
		return nil, err
	}
	if t.TableReference == nil || t.TableReference.TableId == "" {
		return nil, errInvalid("Required parameter is missing: tableReference.tableId")
	}
	ref := t.TableReference
	if ref.ProjectId == "" {
		ref.ProjectId = project
	}
	if ref.DatasetId == "" {
		ref.DatasetId = dataset
	}
	if ref.ProjectId != project || ref.DatasetId != dataset {
		return nil, errInvalid("The table reference %s:%s.%s does not match the request's dataset %s:%s", ref.ProjectId, ref.DatasetId, ref.TableId, project, dataset)
	}
	if !tableIDPattern.MatchString(ref.TableId) {
		return nil, errInvalid("Invalid table ID \"%s\".", ref.TableId)
	}
	k := tableKey{project, dataset, ref.TableId}
	ds, ok := s.cat.dataset(project, dataset)
	if !ok {
		return nil, errNotFound("Dataset %s:%s", project, dataset)
	}
	unlock := s.lockTable(k.project, k.dataset, k.table)
	defer unlock()
	if _, ok := s.cat.table(k); ok {
		return nil, errDuplicate("Table %s", k)
	}
	var ddl string
	if t.View != nil && t.View.Query != "" {
		if t.View.UseLegacySql {
			return nil, errInvalid("Legacy SQL views are not supported by the emulator")
		}
		st, err := s.translateView(t.View.Query, project)
		if err != nil {
			return nil, err
		}
		if st.Kind != googlesql.Select {
			return nil, errInvalidQuery("A view query must be a SELECT statement")
		}
		ddl = "CREATE VIEW " + duckTable(k) + " AS " + st.SQL
		schema, err := querySchema(r.Context(), s.db, st.SQL)
		if err != nil {
			return nil, err
		}
		t.Schema = schema
		t.Type = "VIEW"
		t.View.ForceSendFields = append(t.View.ForceSendFields, "UseLegacySql")
	} else {
		if err := normalizeSchema(t.Schema); err != nil {
			return nil, err
		}
		if err := checkLayout(&t); err != nil {
			return nil, err
		}
		ddl = "CREATE TABLE " + duckTable(k) + " (" + columnsDDL(t.Schema) + ")"
		t.Type = "TABLE"
	}
	now := nowMillis()
	t.Kind = "bigquery#table"
	t.Id = k.project + ":" + k.dataset + "." + k.table
	t.SelfLink = "/bigquery/v2/projects/" + project + "/datasets/" + dataset + "/tables/" + ref.TableId
	t.Etag = newETag()
	t.CreationTime = now
	t.LastModifiedTime = uint64(now)
	t.Location = ds.Location
	err := s.inTx(r.Context(), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(r.Context(), ddl); err != nil {
			return err
		}
		if err := putTable(r.Context(), tx, &t); err != nil {
			return err
		}
		if t.Type != "TABLE" {
			return nil
		}
		return recordWrite(r.Context(), tx, k, rewritten("CREATE TABLE"))
	})
	if err != nil {
		return nil, duckError(err)
	}
	s.cat.setTable(&t)
	return s.withStats(r.Context(), &t)
}

// checkLayout validates time partitioning and clustering against the schema.
func checkLayout(t *bq.Table) error {
	field := func(name string) *bq.TableFieldSchema {
		for _, f := range t.Schema.Fields {
			if strings.EqualFold(f.Name, name) {
				return f
			}
		}
		return nil
	}
	if p := t.TimePartitioning; p != nil {
		if p.Type == "" {
			p.Type = "DAY"
		}
		if !slices.Contains([]string{"HOUR", "DAY", "MONTH", "YEAR"}, p.Type) {
			return errInvalid("Invalid time partitioning type %s", p.Type)
		}
		if p.Field != "" {
			f := field(p.Field)
			if f == nil {
				return errInvalid("The field specified for partitioning cannot be found in the schema: %s", p.Field)
			}
			if !slices.Contains([]string{"TIMESTAMP", "DATE", "DATETIME"}, f.Type) {
				return errInvalid("Partitioning field %s has type %s; it must be TIMESTAMP, DATE or DATETIME", f.Name, f.Type)
			}
		}
	}
	if c := t.Clustering; c != nil {
		if len(c.Fields) == 0 || len(c.Fields) > 4 {
			return errInvalid("Clustering needs between 1 and 4 fields, got %d", len(c.Fields))
		}
		for _, name := range c.Fields {
			f := field(name)
			if f == nil {
				return errInvalid("The field specified for clustering cannot be found in the schema: %s", name)
			}
			if slices.Contains([]string{"FLOAT", "BYTES"}, f.Type) {
				return errInvalid("Clustering field %s has type %s, which cannot be clustered", f.Name, f.Type)
			}
		}
	}
	return nil
}

// querySchema returns the result schema of a query, every field NULLABLE.
func querySchema(ctx context.Context, q querier, query string) (*bq.TableSchema, error) {
	cols, err := describe(ctx, q, query)
	if err != nil {
		return nil, err
	}
	schema := &bq.TableSchema{}
	for _, c := range cols {
		schema.Fields = append(schema.Fields, &bq.TableFieldSchema{Name: c.name, Type: c.bqType, Mode: "NULLABLE"})
	}
	return schema, nil
}

// withStats adds the row count of a table to its resource.
func (s *Server) withStats(ctx context.Context, t *bq.Table) (*bq.Table, error) {
	if t.Type != "TABLE" {
		return t, nil
	}
	r := t.TableReference
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+duckTable(tableKey{r.ProjectId, r.DatasetId, r.TableId})).Scan(&n); err != nil {
		return nil, duckError(err)
	}
	t.NumRows = uint64(n)
	t.ForceSendFields = append(t.ForceSendFields, "NumRows")
	return t, nil
}

// getTable is tables.get.
func (s *Server) getTable(r *http.Request) (any, error) {
	k := tableKeyOf(r)
	t, ok := s.cat.table(k)
	if !ok {
		return nil, errNotFound("Table %s", k)
	}
	return s.withStats(r.Context(), t)
}

// listTables is tables.list.
func (s *Server) listTables(r *http.Request) (any, error) {
	project, dataset := r.PathValue("projectId"), r.PathValue("datasetId")
	if _, ok := s.cat.dataset(project, dataset); !ok {
		return nil, errNotFound("Dataset %s:%s", project, dataset)
	}
	all := s.cat.tablesOf(project, dataset)
	start, end, next, err := pageBounds(r, len(all), 50)
	if err != nil {
		return nil, err
	}
	list := &bq.TableList{Kind: "bigquery#tableList", NextPageToken: next, TotalItems: int64(len(all))}
	for _, t := range all[start:end] {
		item := &bq.TableListTables{
			Kind:             "bigquery#table",
			Id:               t.Id,
			TableReference:   t.TableReference,
			Type:             t.Type,
			TimePartitioning: t.TimePartitioning,
			Clustering:       t.Clustering,
			CreationTime:     t.CreationTime,
			Labels:           t.Labels,
			FriendlyName:     t.FriendlyName,
		}
		if t.View != nil {
			item.View = &bq.TableListTablesView{UseLegacySql: t.View.UseLegacySql, ForceSendFields: []string{"UseLegacySql"}}
		}
		list.Tables = append(list.Tables, item)
	}
	return list, nil
}

// patchTable is tables.patch (and tables.update): description, friendly
// name, labels, expiration, clustering, the view query, and schema changes
// BigQuery allows (new NULLABLE fields at the end, REQUIRED relaxed to
// NULLABLE, new descriptions).
func (s *Server) patchTable(r *http.Request) (any, error) {
	k := tableKeyOf(r)
	var patch bq.Table
	if _, err := decodeBody(r, &patch); err != nil {
		return nil, err
	}
	unlock := s.lockTable(k.project, k.dataset, k.table)
	defer unlock()
	t, ok := s.cat.table(k)
	if !ok {
		return nil, errNotFound("Table %s", k)
	}
	if m := r.Header.Get("If-Match"); m != "" && m != t.Etag {
		return nil, newError(http.StatusPreconditionFailed, "conditionNotMet", "Precondition check failed.")
	}
	if patch.Description != "" {
		t.Description = patch.Description
	}
	if patch.FriendlyName != "" {
		t.FriendlyName = patch.FriendlyName
	}
	if patch.Labels != nil {
		t.Labels = patch.Labels
	}
	if patch.ExpirationTime != 0 {
		t.ExpirationTime = patch.ExpirationTime
	}
	var stmts []string
	if patch.View != nil && patch.View.Query != "" {
		if t.Type != "VIEW" {
			return nil, errInvalid("Table %s is not a view", k)
		}
		st, err := s.translateView(patch.View.Query, k.project)
		if err != nil {
			return nil, err
		}
		schema, err := querySchema(r.Context(), s.db, st.SQL)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, "CREATE OR REPLACE VIEW "+duckTable(k)+" AS "+st.SQL)
		t.View.Query = patch.View.Query
		t.Schema = schema
	}
	if patch.Schema != nil && t.Type == "TABLE" {
		alter, err := schemaChanges(k, t.Schema, patch.Schema)
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, alter...)
		t.Schema = patch.Schema
	}
	if patch.TimePartitioning != nil {
		if t.TimePartitioning == nil || patch.TimePartitioning.Field != t.TimePartitioning.Field ||
			(patch.TimePartitioning.Type != "" && patch.TimePartitioning.Type != t.TimePartitioning.Type) {
			return nil, errInvalid("Cannot change partitioning spec for table %s", k)
		}
		t.TimePartitioning.ExpirationMs = patch.TimePartitioning.ExpirationMs
	}
	if patch.Clustering != nil {
		t.Clustering = patch.Clustering
		if err := checkLayout(t); err != nil {
			return nil, err
		}
	}
	t.Etag = newETag()
	t.LastModifiedTime = uint64(nowMillis())
	err := s.inTx(r.Context(), func(tx *sql.Tx) error {
		for _, stmt := range stmts {
			if _, err := tx.ExecContext(r.Context(), stmt); err != nil {
				return err
			}
		}
		return putTable(r.Context(), tx, t)
	})
	if err != nil {
		return nil, duckError(err)
	}
	s.cat.setTable(t)
	return s.withStats(r.Context(), t)
}

// schemaChanges checks a new schema against the current one and returns the
// ALTER statements that apply it.
func schemaChanges(k tableKey, cur, next *bq.TableSchema) ([]string, error) {
	if err := normalizeSchema(next); err != nil {
		return nil, err
	}
	if len(next.Fields) < len(cur.Fields) {
		return nil, errInvalid("Provided Schema does not match Table %s. Field %s is missing in new schema", k, cur.Fields[len(next.Fields)].Name)
	}
	var stmts []string
	for i, f := range next.Fields {
		if i >= len(cur.Fields) {
			if f.Mode == "REQUIRED" {
				return nil, errInvalid("Provided Schema does not match Table %s. Cannot add required field %s", k, f.Name)
			}
			stmts = append(stmts, "ALTER TABLE "+duckTable(k)+" ADD COLUMN "+columnDDL(f))
			continue
		}
		old := cur.Fields[i]
		switch {
		case !strings.EqualFold(old.Name, f.Name):
			return nil, errInvalid("Provided Schema does not match Table %s. Field %s is missing in new schema", k, old.Name)
		case old.Type != f.Type:
			return nil, errInvalid("Provided Schema does not match Table %s. Field %s has changed type from %s to %s", k, f.Name, old.Type, f.Type)
		case old.MaxLength != f.MaxLength:
			return nil, errInvalid("Field %s: changing maxLength is not supported by the emulator", f.Name)
		case old.Mode == "NULLABLE" && f.Mode == "REQUIRED":
			return nil, errInvalid("Provided Schema does not match Table %s. Field %s has changed mode from NULLABLE to REQUIRED", k, f.Name)
		case old.Mode == "REQUIRED" && f.Mode == "NULLABLE":
			stmts = append(stmts, "ALTER TABLE "+duckTable(k)+" ALTER COLUMN "+quoteIdent(f.Name)+" DROP NOT NULL")
		}
	}
	return stmts, nil
}

// deleteTable is tables.delete.
func (s *Server) deleteTable(r *http.Request) (any, error) {
	k := tableKeyOf(r)
	unlock := s.lockTable(k.project, k.dataset, k.table)
	defer unlock()
	t, ok := s.cat.table(k)
	if !ok {
		return nil, errNotFound("Table %s", k)
	}
	kind := "TABLE"
	if t.Type == "VIEW" {
		kind = "VIEW"
	}
	err := s.inTx(r.Context(), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(r.Context(), fmt.Sprintf("DROP %s %s", kind, duckTable(k))); err != nil {
			return err
		}
		if _, err := tx.ExecContext(r.Context(), `DELETE FROM _emulator.tables WHERE project = ? AND dataset = ? AND table_id = ?`, k.project, k.dataset, k.table); err != nil {
			return err
		}
		return forgetHistory(r.Context(), tx, k)
	})
	if err != nil {
		return nil, duckError(err)
	}
	s.cat.removeTable(k)
	return nil, nil
}

// translateView translates the query of a view in project. The query may
// not read tables as of a time: a DuckDB view cannot bind the parameters
// that such a read needs.
func (s *Server) translateView(query, project string) (*googlesql.Statement, error) {
	st, err := s.translate(query, project, "", nil)
	if err != nil {
		return nil, err
	}
	if len(st.AsOf) > 0 {
		return nil, errInvalidQuery("FOR SYSTEM_TIME AS OF in a view is not supported by the emulator")
	}
	return st, nil
}
