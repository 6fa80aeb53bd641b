// Package bigquery is a local BigQuery: a server that speaks BigQuery's REST
// API for the calls hiring-pipeline makes, backed by an embedded DuckDB.
//
// It is driven only through cloud.google.com/go/bigquery in tests, and answers
// the way BigQuery does: the same resource shapes, row format (every scalar a
// string, TIMESTAMP as int64 microseconds), job states and error reasons.
// Queries are GoogleSQL, translated to DuckDB by package googlesql; anything
// that package does not understand is refused with invalidQuery rather than
// answered differently.
//
// Storage: each dataset is a DuckDB schema named "project.dataset"; the
// emulator's own metadata (dataset and table resources, jobs) lives in the
// schema _emulator and anonymous query results in _emulator_results, so a
// file-backed server keeps everything across restarts.
//
// Jobs run synchronously: jobs.insert and jobs.query answer when the job is
// DONE. Writes to one table are serialized; reads run concurrently.
//
// Load jobs read AVRO files from Cloud Storage through Options.Storage
// (gs:// URIs, at most one * per object name). Each file is streamed through
// goavro into a staging table with DuckDB's Appender; one transaction then
// applies the write disposition and moves the rows into the destination, so
// a load lands all its files or changes nothing.
//
// NewGRPCServer serves the Storage Write API (BigQueryWrite) for the
// managedwriter client: each table's default stream only, proto rows
// decoded with the writer schema the client sends. Each AppendRows request
// is checked in full (row_errors for rows that break REQUIRED or maxLength)
// and then written with DuckDB's Appender in one transaction under the
// table's lock, so its rows land together or not at all.
package bigquery
