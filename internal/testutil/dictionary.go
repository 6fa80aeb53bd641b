package testutil

import (
	"testing"
	"testing/fstest"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// Table returns the table called name of a dictionary of that one table,
// whose schema is schemaJSON (BigQuery's JSON schema format): for tests that
// need a table the default dictionary does not have, such as one of NULLABLE
// fields.
func Table(tb testing.TB, name, schemaJSON string) *dictionary.Table {
	tb.Helper()
	d, err := dictionary.Load(fstest.MapFS{name + ".json": {Data: []byte(schemaJSON)}})
	if err != nil {
		tb.Fatal(err)
	}
	t, ok := d.Table(name)
	if !ok {
		tb.Fatalf("no table %s in its own dictionary", name)
	}
	return t
}
