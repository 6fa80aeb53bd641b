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
// DONE, and a job runs to its end even when its client goes away. Writes to one table are serialized; reads run concurrently.
//
// Load jobs read AVRO and CSV files from Cloud Storage through
// Options.Storage (gs:// URIs, at most one * per object name), or the file
// of a media upload to /upload/bigquery/v2/projects/{p}/jobs (multipart, or
// resumable in chunks; spooled to a temporary file). Each file is streamed
// (Avro through goavro, CSV parsed to the schema's types) into a staging
// table with DuckDB's Appender; one transaction then applies the write
// disposition and moves the rows into the destination, so a load lands all
// its files or changes nothing. A CSV load needs a schema, the job's or the
// table's, and fails on the first bad row, naming its line and field.
//
// Copy jobs copy one table into another in one transaction, with the
// source's schema; extract jobs write a table to Avro or CSV files in Cloud
// Storage, streamed a page of rows at a time, split into numbered files at
// a * in the destination URI when a file reaches Options.ExtractFileBytes.
//
// Request bodies are read as BigQuery's JSON front end reads them: a JSON
// number or boolean where the REST reference has a string (a query
// parameter's value, an int64) is taken as that string. Every cell of a row
// has its v member, null for NULL.
//
// Both read a source table as of a time with BigQuery's decorators
// (table@<ms since the epoch>, table@-<ms ago>, table@0), as queries do
// with FOR SYSTEM_TIME AS OF a constant timestamp. DuckDB has no time
// travel, so the emulator keeps a history of every table in _emulator: the
// row count after each commit since the table's creation or last rewrite
// (UPDATE, DELETE, MERGE, WRITE_TRUNCATE, WRITE_TRUNCATE_DATA). Appends only
// add rows at the end, so the table as of a time is its first rows in
// insertion order. A time before the history starts, or in the future, is
// invalid.
//
// NewGRPCServer serves the Storage Write API (BigQueryWrite) for the
// managedwriter client: each table's default stream only, proto rows
// decoded with the writer schema the client sends. Each AppendRows request
// is checked in full (row_errors for rows that break REQUIRED or maxLength)
// and then written with DuckDB's Appender in one transaction under the
// table's lock, so its rows land together or not at all.
//
// Server.SetFaults makes the server fail a chosen fraction of its REST and
// gRPC calls for a while, before any of their work is done (503 or a
// dropped connection for REST, codes.Unavailable for gRPC), so that tests
// can see how clients cope with an unavailable BigQuery.
package bigquery
