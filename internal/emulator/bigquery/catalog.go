package bigquery

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	bq "google.golang.org/api/bigquery/v2"
)

type datasetKey struct{ project, dataset string }

type tableKey struct{ project, dataset, table string }

func (k tableKey) String() string { return k.project + ":" + k.dataset + "." + k.table }

// catalog holds the dataset and table resources in memory; every change is
// written through to the _emulator schema in the same transaction as the
// DuckDB DDL it describes.
type catalog struct {
	mu       sync.RWMutex
	datasets map[datasetKey]*bq.Dataset
	tables   map[tableKey]*bq.Table
}

// metadataDDL creates the emulator's own schemas and tables.
var metadataDDL = []string{
	`CREATE SCHEMA IF NOT EXISTS _emulator`,
	`CREATE SCHEMA IF NOT EXISTS _emulator_results`,
	`CREATE TABLE IF NOT EXISTS _emulator.datasets (project VARCHAR, dataset VARCHAR, resource VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS _emulator.tables (project VARCHAR, dataset VARCHAR, table_id VARCHAR, resource VARCHAR)`,
	`CREATE TABLE IF NOT EXISTS _emulator.jobs (project VARCHAR, job_id VARCHAR, seq BIGINT, record VARCHAR)`,
	// One row per commit to a table since its creation or last rewrite;
	// see history.go.
	`CREATE TABLE IF NOT EXISTS _emulator.history (project VARCHAR, dataset VARCHAR, table_id VARCHAR, commit_ms BIGINT, row_count BIGINT, kind VARCHAR)`,
}

func (s *Server) initMetadata(ctx context.Context) error {
	for _, stmt := range metadataDDL {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("creating metadata: %w", err)
		}
	}
	s.cat = &catalog{datasets: map[datasetKey]*bq.Dataset{}, tables: map[tableKey]*bq.Table{}}
	if err := loadResources(ctx, s.db, `SELECT project, dataset, resource FROM _emulator.datasets`, func(k []string, res []byte) error {
		var ds bq.Dataset
		if err := json.Unmarshal(res, &ds); err != nil {
			return err
		}
		s.cat.datasets[datasetKey{k[0], k[1]}] = &ds
		return nil
	}); err != nil {
		return fmt.Errorf("loading datasets: %w", err)
	}
	if err := loadResources(ctx, s.db, `SELECT project, dataset, table_id, resource FROM _emulator.tables`, func(k []string, res []byte) error {
		var t bq.Table
		if err := json.Unmarshal(res, &t); err != nil {
			return err
		}
		s.cat.tables[tableKey{k[0], k[1], k[2]}] = &t
		return nil
	}); err != nil {
		return fmt.Errorf("loading tables: %w", err)
	}
	if err := s.initHistory(ctx); err != nil {
		return fmt.Errorf("loading the history of tables: %w", err)
	}
	jobs, err := loadJobs(ctx, s.db)
	if err != nil {
		return fmt.Errorf("loading jobs: %w", err)
	}
	s.jobs = jobs
	return nil
}

// loadResources runs query, whose last column is a JSON resource and the
// others its key, and calls fn for every row.
func loadResources(ctx context.Context, db *sql.DB, query string, fn func(key []string, resource []byte) error) error {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := fn(vals[:len(vals)-1], []byte(vals[len(vals)-1])); err != nil {
			return err
		}
	}
	return rows.Err()
}

// clone deep-copies a resource, so that callers never share the catalog's.
func clone[T any](v *T) *T {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("bigquery emulator: resource does not marshal: %v", err))
	}
	c := new(T)
	if err := json.Unmarshal(data, c); err != nil {
		panic(fmt.Sprintf("bigquery emulator: resource does not unmarshal: %v", err))
	}
	return c
}

func (c *catalog) dataset(project, dataset string) (*bq.Dataset, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ds, ok := c.datasets[datasetKey{project, dataset}]
	if !ok {
		return nil, false
	}
	return clone(ds), true
}

func (c *catalog) table(k tableKey) (*bq.Table, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.tables[k]
	if !ok {
		return nil, false
	}
	return clone(t), true
}

// tablesOf returns the tables of a dataset, sorted by id.
func (c *catalog) tablesOf(project, dataset string) []*bq.Table {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*bq.Table
	for k, t := range c.tables {
		if k.project == project && k.dataset == dataset {
			out = append(out, clone(t))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TableReference.TableId < out[j].TableReference.TableId })
	return out
}

// datasetsOf returns the datasets of a project, sorted by id.
func (c *catalog) datasetsOf(project string) []*bq.Dataset {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []*bq.Dataset
	for k, ds := range c.datasets {
		if k.project == project {
			out = append(out, clone(ds))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DatasetReference.DatasetId < out[j].DatasetReference.DatasetId })
	return out
}

// putDataset writes a dataset resource in tx and, once committed, in memory.
func putDataset(ctx context.Context, tx *sql.Tx, ds *bq.Dataset) error {
	ref := ds.DatasetReference
	data, err := json.Marshal(ds)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM _emulator.datasets WHERE project = ? AND dataset = ?`, ref.ProjectId, ref.DatasetId); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO _emulator.datasets VALUES (?, ?, ?)`, ref.ProjectId, ref.DatasetId, string(data))
	return err
}

// putTable writes a table resource in tx.
func putTable(ctx context.Context, tx *sql.Tx, t *bq.Table) error {
	ref := t.TableReference
	data, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM _emulator.tables WHERE project = ? AND dataset = ? AND table_id = ?`, ref.ProjectId, ref.DatasetId, ref.TableId); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO _emulator.tables VALUES (?, ?, ?, ?)`, ref.ProjectId, ref.DatasetId, ref.TableId, string(data))
	return err
}

func (c *catalog) setTable(t *bq.Table) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := t.TableReference
	c.tables[tableKey{r.ProjectId, r.DatasetId, r.TableId}] = clone(t)
}

func (c *catalog) removeTable(k tableKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tables, k)
}

func (c *catalog) removeDataset(project, dataset string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.datasets, datasetKey{project, dataset})
	for k := range c.tables {
		if k.project == project && k.dataset == dataset {
			delete(c.tables, k)
		}
	}
}

// inTx runs fn in a transaction and commits it.
func (s *Server) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// duckSchema is the DuckDB schema of a dataset.
func duckSchema(project, dataset string) string { return quoteIdent(project + "." + dataset) }

// duckTable is the DuckDB name of a table.
func duckTable(k tableKey) string {
	return duckSchema(k.project, k.dataset) + "." + quoteIdent(k.table)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

var (
	datasetIDPattern = idPattern{regexp.MustCompile(`^[A-Za-z0-9_]+$`)}
	tableIDPattern   = idPattern{regexp.MustCompile(`^[\p{L}\p{M}\p{N}_-]+$`)}
	jobIDPattern     = idPattern{regexp.MustCompile(`^[A-Za-z0-9_-]+$`)}
	projectIDPattern = idPattern{regexp.MustCompile(`^[a-z0-9.:-]+$`)}
)

// idPattern matches resource ids: a character class, at most 1024 bytes.
type idPattern struct{ re *regexp.Regexp }

func (p idPattern) MatchString(s string) bool { return len(s) <= 1024 && p.re.MatchString(s) }

func nowMillis() int64 { return time.Now().UnixMilli() }

// newETag returns a fresh opaque etag.
func newETag() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// checkProject validates the project in a request path.
func checkProject(project string) error {
	if !projectIDPattern.MatchString(project) {
		return errInvalid("Invalid project ID '%s'.", project)
	}
	return nil
}
