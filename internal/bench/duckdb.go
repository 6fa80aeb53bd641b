package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// DuckDBFigures are the figures of one run of (d).
type DuckDBFigures struct {
	Seconds float64
	// Loaded is the table's rows.
	Loaded  int64
	Threads int64
}

// duckDBTypes maps the dictionary's types to DuckDB's.
var duckDBTypes = map[dictionary.Type]string{
	dictionary.Integer:   "BIGINT",
	dictionary.String:    "VARCHAR",
	dictionary.Timestamp: "TIMESTAMPTZ",
}

// RunDuckDB is (d), the reference: in a new DuckDB database file in dir, it
// creates t's table with its column types, every column NOT NULL, and loads
// the CSV file at path into it with read_csv, leaving out the records whose
// values do not cast to the types (ignore_errors) or are empty, then
// checkpoints the database to its file. It measures that, from opening the
// database to the checkpoint's end.
func RunDuckDB(ctx context.Context, path string, t *dictionary.Table, dir string) (DuckDBFigures, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return DuckDBFigures{}, err
	}
	dbPath := filepath.Join(dir, "bench.duckdb")
	for _, p := range []string{dbPath, dbPath + ".wal"} {
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return DuckDBFigures{}, err
		}
	}
	var defs, columns []string
	for _, f := range t.Fields {
		typ, ok := duckDBTypes[f.Type]
		if !ok {
			return DuckDBFigures{}, fmt.Errorf("bench: no DuckDB type for column %s of type %s", f.Name, f.Type)
		}
		defs = append(defs, quoteIdent(f.Name)+" "+typ+" NOT NULL")
		columns = append(columns, quoteString(f.Name)+": "+quoteString(typ))
	}
	start := time.Now()
	connector, err := duckdb.NewConnector(dbPath, nil)
	if err != nil {
		return DuckDBFigures{}, fmt.Errorf("bench: duckdb.NewConnector: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return DuckDBFigures{}, fmt.Errorf("bench: duckdb: %w", err)
	}
	defer conn.Close()
	create := "CREATE TABLE " + quoteIdent(t.Name) + " (" + strings.Join(defs, ", ") + ")"
	insert := "INSERT INTO " + quoteIdent(t.Name) + " SELECT * FROM read_csv(" + quoteString(path) +
		", header = false, auto_detect = false, delim = ',', quote = '\"', escape = '\"', ignore_errors = true, columns = {" +
		strings.Join(columns, ", ") + "}) WHERE COLUMNS(*) IS NOT NULL"
	var fig DuckDBFigures
	for _, stmt := range []string{create, insert, "CHECKPOINT"} {
		res, err := conn.ExecContext(ctx, stmt)
		if err != nil {
			return DuckDBFigures{}, fmt.Errorf("bench: duckdb: %s: %w", stmt, err)
		}
		if stmt == insert {
			if fig.Loaded, err = res.RowsAffected(); err != nil {
				return DuckDBFigures{}, fmt.Errorf("bench: duckdb: %w", err)
			}
		}
	}
	fig.Seconds = time.Since(start).Seconds()
	if err := conn.QueryRowContext(ctx, "SELECT current_setting('threads')").Scan(&fig.Threads); err != nil {
		return DuckDBFigures{}, fmt.Errorf("bench: duckdb: %w", err)
	}
	return fig, nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
