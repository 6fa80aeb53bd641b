package googlesql_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery/googlesql"
)

func opts(dataset string) googlesql.Options {
	return googlesql.Options{
		DefaultProject: "p",
		DefaultDataset: dataset,
		Table: func(r googlesql.TableRef) string {
			return `"` + r.Project + "." + r.Dataset + `"."` + r.Table + `"`
		},
		Param: func(name string) (string, bool) {
			if name == "missing" {
				return "", false
			}
			return "$" + name, true
		},
		Positional: func(i int) (string, bool) {
			if i > 1 {
				return "", false
			}
			return "$pos" + string(rune('1'+i)), true
		},
	}
}

func TestTranslate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
		kind           googlesql.Kind
		tables         []googlesql.TableRef
	}{
		{
			name: "qualified names and params",
			in:   "SELECT id, name FROM `p.hiring.hired_employees` WHERE id = @id AND name <> \"x\"",
			want: `SELECT "id" , "name" FROM "p.hiring"."hired_employees" WHERE "id" = $id AND "name" <> 'x'`,
			kind: googlesql.Select, tables: []googlesql.TableRef{{"p", "hiring", "hired_employees"}},
		},
		{
			name: "IN UNNEST of an array parameter",
			in:   "SELECT id FROM d.t WHERE id NOT IN UNNEST(@ids)",
			want: `SELECT "id" FROM "p.d"."t" WHERE "id" NOT IN (SELECT UNNEST($ids))`,
			kind: googlesql.Select, tables: []googlesql.TableRef{{"p", "d", "t"}},
		},
		{
			name:   "dataset.table and alias path",
			in:     "select e.id from hiring.hired_employees as e join hiring.jobs j on e.job_id = j.id",
			want:   `SELECT "e"."id" FROM "p.hiring"."hired_employees" AS "e" JOIN "p.hiring"."jobs" "j" ON "e"."job_id" = "j"."id"`,
			kind:   googlesql.Select,
			tables: []googlesql.TableRef{{"p", "hiring", "hired_employees"}, {"p", "hiring", "jobs"}},
		},
		{
			name:   "default dataset, comma join, cte",
			in:     "WITH x AS (SELECT 1 AS a) SELECT * FROM x, t1, `other.t2`",
			want:   `WITH "x" AS (SELECT CAST(1 AS BIGINT) AS "a") SELECT * FROM "x" , "p.d"."t1" , "p.other"."t2"`,
			kind:   googlesql.Select,
			tables: []googlesql.TableRef{{"p", "d", "t1"}, {"p", "other", "t2"}},
		},
		{
			name: "ordinals stay ordinals",
			in:   "SELECT a, COUNT(*) FROM d.t GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
			want: `SELECT "a" , count(*) FROM "p.d"."t" GROUP BY 1 ORDER BY 2 DESC , 1 LIMIT CAST(10 AS BIGINT)`,
			kind: googlesql.Select, tables: []googlesql.TableRef{{"p", "d", "t"}},
		},
		{
			name: "functions",
			in:   "SELECT COUNTIF(EXTRACT(QUARTER FROM datetime) = 1), SAFE_CAST(x AS INT64), TIMESTAMP_TRUNC(ts, MONTH), CONCAT(a, 'b'), CURRENT_TIMESTAMP() FROM d.t",
			want: `SELECT count(CASE WHEN extract(quarter FROM "datetime") = CAST(1 AS BIGINT) THEN 1 END) , TRY_CAST("x" AS BIGINT) , CAST(date_trunc('month', "ts") AS TIMESTAMPTZ) , ("a" || 'b') , current_timestamp FROM "p.d"."t"`,
			kind: googlesql.Select, tables: []googlesql.TableRef{{"p", "d", "t"}},
		},
		{
			name: "window and qualify",
			in:   "SELECT * EXCEPT(rn) FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY id ORDER BY ts DESC) AS rn FROM d.t) WHERE rn = 1",
			want: `SELECT * EXCLUDE ("rn") FROM (SELECT * , row_number() OVER (PARTITION BY "id" ORDER BY "ts" DESC) AS "rn" FROM "p.d"."t") WHERE "rn" = CAST(1 AS BIGINT)`,
			kind: googlesql.Select, tables: []googlesql.TableRef{{"p", "d", "t"}},
		},
		{
			name: "typed literals, interval, comments",
			in:   "SELECT TIMESTAMP '2021-01-01 00:00:00+00', DATE '2021-01-01', TIMESTAMP_ADD(ts, INTERVAL 2 DAY) -- c\n # c2\n FROM d.t /* c3 */",
			want: `SELECT CAST('2021-01-01 00:00:00+00' AS TIMESTAMPTZ) , DATE '2021-01-01' , CAST(("ts") + (INTERVAL (2) DAY) AS TIMESTAMPTZ) FROM "p.d"."t"`,
			kind: googlesql.Select, tables: []googlesql.TableRef{{"p", "d", "t"}},
		},
		{
			name: "strings",
			in:   `SELECT 'it\'s', "a'b", 'tab\tnew\nline', r'\d+', '''tri'ple'''`,
			want: "SELECT 'it''s' , 'a''b' , 'tab\tnew\nline' , '\\d+' , 'tri''ple'",
			kind: googlesql.Select,
		},
		{
			name: "positional",
			in:   "SELECT ? + ?",
			want: `SELECT $pos1 + $pos2`,
			kind: googlesql.Select,
		},
		{
			name: "insert",
			in:   "INSERT d.t (id, name) VALUES (1, 'a'), (2, @n)",
			want: `INSERT INTO "p.d"."t" ("id" , "name") VALUES (CAST(1 AS BIGINT) , 'a') , (CAST(2 AS BIGINT) , $n)`,
			kind: googlesql.Insert, tables: []googlesql.TableRef{{"p", "d", "t"}},
		},
		{
			name: "delete without from",
			in:   "DELETE d.t WHERE id > 3;",
			want: `DELETE FROM "p.d"."t" WHERE "id" > CAST(3 AS BIGINT)`,
			kind: googlesql.Delete, tables: []googlesql.TableRef{{"p", "d", "t"}},
		},
		{
			name: "update",
			in:   "UPDATE `p.d.t` SET name = 'x' WHERE TRUE",
			want: `UPDATE "p.d"."t" SET "name" = 'x' WHERE TRUE`,
			kind: googlesql.Update, tables: []googlesql.TableRef{{"p", "d", "t"}},
		},
		{
			name: "merge",
			in:   "MERGE d.t T USING d.s S ON T.id = S.id WHEN MATCHED THEN UPDATE SET name = S.name WHEN NOT MATCHED BY SOURCE THEN DELETE WHEN NOT MATCHED THEN INSERT (id, name) VALUES (S.id, S.name)",
			want: `MERGE INTO "p.d"."t" "T" USING "p.d"."s" "S" ON "T"."id" = "S"."id" WHEN MATCHED THEN UPDATE SET "name" = "S"."name" WHEN NOT MATCHED BY SOURCE THEN DELETE WHEN NOT MATCHED THEN INSERT ("id" , "name") VALUES ("S"."id" , "S"."name")`,
			kind: googlesql.Merge, tables: []googlesql.TableRef{{"p", "d", "t"}, {"p", "d", "s"}},
		},
		{
			name: "dashed project",
			in:   "SELECT 1.5 FROM my-project.d.t",
			want: `SELECT CAST(1.5 AS DOUBLE) FROM "my-project.d"."t"`,
			kind: googlesql.Select, tables: []googlesql.TableRef{{"my-project", "d", "t"}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ds := "d"
			if tc.name == "qualified names and params" {
				ds = ""
			}
			st, err := googlesql.Translate(tc.in, opts(ds))
			if err != nil {
				t.Fatalf("Translate(%q): %v", tc.in, err)
			}
			if st.SQL != tc.want {
				t.Errorf("Translate(%q)\n got %s\nwant %s", tc.in, st.SQL, tc.want)
			}
			if st.Kind != tc.kind {
				t.Errorf("Kind = %s, want %s", st.Kind, tc.kind)
			}
			if diff := cmp.Diff(tc.tables, st.Tables); diff != "" {
				t.Errorf("Tables (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTranslate_AsOf(t *testing.T) {
	t.Parallel()
	asOf := func(table, time, param string) googlesql.AsOf {
		return googlesql.AsOf{Table: googlesql.TableRef{Project: "p", Dataset: "d", Table: table}, Time: time, Param: param}
	}
	cases := []struct {
		name, in, want string
		asOf           []googlesql.AsOf
	}{
		{
			name: "milliseconds parameter",
			in:   "SELECT COUNT(*) FROM d.t FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(@ms)",
			want: `SELECT count(*) FROM (SELECT * FROM "p.d"."t" WHERE rowid <= $asof_0) AS "t"`,
			asOf: []googlesql.AsOf{asOf("t", `CAST(make_timestamp(($ms) * 1000) AS TIMESTAMPTZ)`, "asof_0")},
		},
		{
			name: "alias and literal",
			in:   "SELECT e.id FROM d.t AS e FOR SYSTEM_TIME AS OF TIMESTAMP '2021-07-27 16:02:08+00' WHERE e.id > 1",
			want: `SELECT "e"."id" FROM (SELECT * FROM "p.d"."t" WHERE rowid <= $asof_0) AS "e" WHERE "e"."id" > CAST(1 AS BIGINT)`,
			asOf: []googlesql.AsOf{asOf("t", `CAST('2021-07-27 16:02:08+00' AS TIMESTAMPTZ)`, "asof_0")},
		},
		{
			name: "relative time, then a join",
			in:   "SELECT * FROM d.t a FOR SYSTEM_TIME AS OF TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 MINUTE) JOIN d.u b ON a.id = b.id",
			want: `SELECT * FROM (SELECT * FROM "p.d"."t" WHERE rowid <= $asof_0) AS "a" JOIN "p.d"."u" "b" ON "a"."id" = "b"."id"`,
			asOf: []googlesql.AsOf{asOf("t", `CAST((current_timestamp) - (INTERVAL (1) MINUTE) AS TIMESTAMPTZ)`, "asof_0")},
		},
		{
			name: "string literal and positional parameter",
			in:   "SELECT * FROM d.t FOR SYSTEM_TIME AS OF '2021-07-27 16:02:08 America/Los_Angeles', d.u FOR SYSTEM_TIME AS OF ?",
			want: `SELECT * FROM (SELECT * FROM "p.d"."t" WHERE rowid <= $asof_0) AS "t" , (SELECT * FROM "p.d"."u" WHERE rowid <= $asof_1) AS "u"`,
			asOf: []googlesql.AsOf{
				asOf("t", `CAST('2021-07-27 16:02:08 America/Los_Angeles' AS TIMESTAMPTZ)`, "asof_0"),
				asOf("u", `$pos1`, "asof_1"),
			},
		},
		{
			name: "arithmetic",
			in:   "SELECT 1 FROM d.t FOR SYSTEM_TIME AS OF CURRENT_TIMESTAMP - INTERVAL @n SECOND",
			want: `SELECT CAST(1 AS BIGINT) FROM (SELECT * FROM "p.d"."t" WHERE rowid <= $asof_0) AS "t"`,
			asOf: []googlesql.AsOf{asOf("t", `current_timestamp - (INTERVAL ($n) SECOND)`, "asof_0")},
		},
		{
			name: "DML reading another table",
			in:   "INSERT d.t (id) SELECT id FROM d.u FOR SYSTEM_TIME AS OF @ts",
			want: `INSERT INTO "p.d"."t" ("id") SELECT "id" FROM (SELECT * FROM "p.d"."u" WHERE rowid <= $asof_0) AS "u"`,
			asOf: []googlesql.AsOf{asOf("u", `$ts`, "asof_0")},
		},
		{
			name: "one table twice",
			in:   "SELECT * FROM d.t a FOR SYSTEM_TIME AS OF @ts JOIN d.t b FOR SYSTEM_TIME AS OF @ts USING (id)",
			want: `SELECT * FROM (SELECT * FROM "p.d"."t" WHERE rowid <= $asof_0) AS "a" JOIN (SELECT * FROM "p.d"."t" WHERE rowid <= $asof_1) AS "b" USING ("id")`,
			asOf: []googlesql.AsOf{asOf("t", `$ts`, "asof_0"), asOf("t", `$ts`, "asof_1")},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, err := googlesql.Translate(tc.in, opts("d"))
			if err != nil {
				t.Fatalf("Translate(%q): %v", tc.in, err)
			}
			if st.SQL != tc.want {
				t.Errorf("Translate(%q)\n got %s\nwant %s", tc.in, st.SQL, tc.want)
			}
			if diff := cmp.Diff(tc.asOf, st.AsOf); diff != "" {
				t.Errorf("AsOf (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTranslate_Refused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want string
		unsupported    bool
	}{
		{"unknown function", "SELECT FORMAT_TIMESTAMP('%Y', ts) FROM d.t", "Function FORMAT_TIMESTAMP is not supported", true},
		{"namespaced function", "SELECT SAFE.PARSE_DATE('x', y)", "Function SAFE.PARSE_DATE is not supported", true},
		{"script", "SELECT 1; SELECT 2", "A script", true},
		{"ddl", "CREATE TABLE d.t (a INT64)", "The CREATE statement is not supported", true},
		{"array", "SELECT [1, 2]", "Array and struct syntax", true},
		{"unnest", "SELECT * FROM UNNEST(@a)", "UNNEST is not supported", true},
		{"unnest outside IN", "SELECT UNNEST(@a)", "UNNEST is not supported", true},
		{"system time of a WITH name", "WITH x AS (SELECT 1 AS a) SELECT * FROM x FOR SYSTEM_TIME AS OF @ts", "cannot read x, a WITH clause name", false},
		{"system time of a column", "SELECT * FROM d.t FOR SYSTEM_TIME AS OF ts", "needs a constant expression, without column references or subqueries; found ts", false},
		{"system time of a quoted column", "SELECT * FROM d.t FOR SYSTEM_TIME AS OF TIMESTAMP_MILLIS(`ms`)", "found ms", false},
		{"system time of a subquery", "SELECT * FROM d.t FOR SYSTEM_TIME AS OF (SELECT MAX(ts) FROM d.u)", "found a subquery", false},
		{"system time without a zone", "SELECT * FROM d.t FOR SYSTEM_TIME AS OF TIMESTAMP '2021-01-01 00:00:00'", "without a time zone", true},
		{"system time of a date", "SELECT * FROM d.t FOR SYSTEM_TIME AS OF '2021-01-01'", "without a time zone", true},
		{"system time of another function", "SELECT * FROM d.t FOR SYSTEM_TIME AS OF TIMESTAMP_TRUNC(CURRENT_TIMESTAMP(), DAY)", "Function TIMESTAMP_TRUNC in FOR SYSTEM_TIME AS OF is not supported", true},
		{"system time of a string expression", "SELECT * FROM d.t FOR SYSTEM_TIME AS OF '2021-01-01 ' || '00:00:00+00'", "A string other than a TIMESTAMP literal in FOR SYSTEM_TIME AS OF is not supported", true},
		{"system time of a division", "SELECT * FROM d.t FOR SYSTEM_TIME AS OF TIMESTAMP_SECONDS(@ms / 1000)", "The operator / in FOR SYSTEM_TIME AS OF is not supported", true},
		{"system time by month", "SELECT * FROM d.t FOR SYSTEM_TIME AS OF TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 MONTH)", "found MONTH", false},
		{"system time and now", "SELECT * FROM d.t a JOIN d.t b FOR SYSTEM_TIME AS OF @ts ON a.id = b.id", "Table p:d.t is read both as of a time", false},
		{"system time of a DML target", "DELETE d.t FOR SYSTEM_TIME AS OF @ts WHERE TRUE", "DELETE cannot write table p:d.t FOR SYSTEM_TIME AS OF", false},
		{"system time of what DML writes", "INSERT d.t SELECT * FROM d.t FOR SYSTEM_TIME AS OF @ts", "Table p:d.t is read both as of a time", false},
		{"system time without a time", "SELECT * FROM d.t FOR SYSTEM_TIME AS OF WHERE TRUE", "FOR SYSTEM_TIME AS OF needs a timestamp", false},
		{"system time without AS OF", "SELECT * FROM d.t FOR SYSTEM_TIME @ts", "Expected FOR SYSTEM_TIME AS OF", false},
		{"week trunc", "SELECT TIMESTAMP_TRUNC(ts, WEEK) FROM d.t", "TIMESTAMP_TRUNC to WEEK is not supported", true},
		{"extract week", "SELECT EXTRACT(WEEK FROM ts) FROM d.t", "EXTRACT(WEEK ...) is not supported", true},
		{"bytes literal", "SELECT b'abc'", "BYTES literal", true},
		{"system variable", "SELECT @@project_id", "system variable project_id is not supported", true},
		{"struct", "SELECT STRUCT(1 AS a)", "STRUCT is not supported", true},
		{"missing dataset", "SELECT * FROM t", `Table name "t" missing dataset while no default dataset is set in the request.`, false},
		{"missing param", "SELECT @missing", "Query parameter 'missing' not found", false},
		{"missing positional", "SELECT ?, ?, ?", "Positional query parameter 3 has no value", false},
		{"update without where", "UPDATE d.t SET a = 1", "UPDATE must have a WHERE clause", false},
		{"unbalanced", "SELECT (1", `Unclosed "("`, false},
		{"unclosed string", "SELECT 'abc", "unclosed string literal", false},
		{"empty", "  -- nothing\n", "Unexpected end of script", false},
		{"percent", "SELECT 5 % 2", "use MOD", false},
		{"bad integer", "SELECT 99999999999999999999", "Invalid integer literal", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ds := ""
			st, err := googlesql.Translate(tc.in, opts(ds))
			if err == nil {
				t.Fatalf("Translate(%q) = %q, want an error containing %q", tc.in, st.SQL, tc.want)
			}
			var e *googlesql.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is a %T, want *googlesql.Error", err, err)
			}
			if !strings.Contains(e.Message, tc.want) {
				t.Errorf("error = %q, want it to contain %q", e.Message, tc.want)
			}
			if e.Unsupported != tc.unsupported {
				t.Errorf("Unsupported = %v, want %v", e.Unsupported, tc.unsupported)
			}
		})
	}
}

func FuzzTranslate(f *testing.F) {
	for _, s := range []string{
		"SELECT a, COUNT(*) FROM d.t GROUP BY 1",
		"MERGE d.t T USING d.s S ON T.id = S.id WHEN MATCHED THEN UPDATE SET a = 1",
		"SELECT '''x''' , r\"y\", `a.b`.c, @p, ?, 0x1F, 1e3",
		"SELECT EXTRACT(YEAR FROM ts), CAST(x AS STRING) FROM `p.d.t` WHERE ts >= TIMESTAMP '2021-01-01'",
		"SELECT * FROM d.t AS e FOR SYSTEM_TIME AS OF TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 HOUR), d.u",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		st, err := googlesql.Translate(q, opts("d"))
		if err != nil {
			var e *googlesql.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is a %T, want *googlesql.Error", err, err)
			}
			return
		}
		if st.SQL == "" {
			t.Fatalf("Translate(%q) gave empty SQL", q)
		}
	})
}
