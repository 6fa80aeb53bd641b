// Package bqcli_test runs Google's bq command-line tool against the local
// BigQuery and Cloud Storage emulators: an independent client, driven by
// BigQuery's discovery document, judges the emulator.
package bqcli_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/storage"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	emulator "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/bigquery"
	gcsemu "github.com/hiring-pipeline/hiring-pipeline/internal/emulator/gcs"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

const (
	project = "bq-conformance"
	bucket  = "bq-files"
)

// cli runs bq against one emulator, with a configuration folder and a home
// of its own, so that nothing is read from or written to the user's.
type cli struct {
	bq   string
	env  []string
	base []string // the flags that point bq at the emulator
	dir  string   // the working folder, which holds the local files
}

// discoveryFile finds bq's discovery document in the SDK that gcloud
// names.
func discoveryFile(t *testing.T) string {
	t.Helper()
	testutil.Tool(t, "bq")
	gcloud := testutil.Tool(t, "gcloud")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gcloud, "info", "--format=value(installation.sdk_root)")
	cmd.Env = isolated(t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gcloud info: %v", err)
	}
	discovery := filepath.Join(strings.TrimSpace(string(out)), "platform", "bq", "discovery_next", "bigquery.json")
	if _, err := os.Stat(discovery); err != nil {
		t.Fatalf("bq's discovery document: %v", err)
	}
	return discovery
}

// isolated is an environment whose home and gcloud configuration are in
// the folder home.
func isolated(home string) []string {
	return []string{"HOME=" + home, "CLOUDSDK_CONFIG=" + filepath.Join(home, "gcloud"), "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
}

func newCLI(t *testing.T, url, discovery string) *cli {
	t.Helper()
	return &cli{
		bq:   testutil.Tool(t, "bq"),
		env:  isolated(t.TempDir()),
		base: []string{"--api", url, "--project_id", project, "--oauth_access_token=unused", "--discovery_file", discovery, "--headless"},
		dir:  t.TempDir(),
	}
}

// run runs bq with the flags that point it at the emulator, then args,
// and returns its exit code and its output, stdout then stderr.
func (c *cli) run(t *testing.T, args []string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bq, append(append([]string{}, c.base...), args...)...)
	cmd.Env = c.env
	cmd.Dir = c.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String() + stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String() + stderr.String()
	}
	t.Fatalf("bq %s: %v", strings.Join(args, " "), err)
	return 0, ""
}

// stack is the emulators bq talks to, and Go clients of them that check
// what bq did.
type stack struct {
	url     string
	bq      *bigquery.Client
	storage *storage.Client
}

// newStack starts Cloud Storage with a bucket, and BigQuery with the
// project's dataset provisioned as the local stack provisions it (raw
// tables, reader views, system tables).
func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	gs, err := gcsemu.Start(ctx, gcsemu.Options{})
	if err != nil {
		t.Fatalf("gcs.Start: %v", err)
	}
	t.Cleanup(func() { _ = gs.Close(context.Background()) })
	if err := gs.CreateBucket(ctx, bucket); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	sc, err := gs.Client(ctx)
	if err != nil {
		t.Fatalf("gcs Client: %v", err)
	}
	t.Cleanup(func() { _ = sc.Close() })
	srv, err := emulator.New(ctx, emulator.Options{Storage: sc})
	if err != nil {
		t.Fatalf("emulator.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	client, err := bigquery.NewClient(ctx, project, option.WithEndpoint(hs.URL), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("bigquery.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = client.Close(); hs.Close(); _ = srv.Close() })
	if err := warehouse.Provision(ctx, client, "hiring", dictionary.Default()); err != nil {
		t.Fatalf("Provision: %v", err)
	}
	return &stack{url: hs.URL, bq: client, storage: sc}
}

// rows reads every row of a query through the Go client.
func (s *stack) rows(t *testing.T, sql string) [][]bigquery.Value {
	t.Helper()
	it, err := s.bq.Query(sql).Read(context.Background())
	if err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	var out [][]bigquery.Value
	for {
		var row []bigquery.Value
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			return out
		}
		if err != nil {
			t.Fatalf("query %q: %v", sql, err)
		}
		out = append(out, row)
	}
}

// object reads gs://bucket/name.
func (s *stack) object(t *testing.T, name string) []byte {
	t.Helper()
	r, err := s.storage.Bucket(bucket).Object(name).NewReader(context.Background())
	if err != nil {
		t.Fatalf("read gs://%s/%s: %v", bucket, name, err)
	}
	defer r.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		t.Fatalf("read gs://%s/%s: %v", bucket, name, err)
	}
	return buf.Bytes()
}

// invocation is one run of bq: its arguments after the flags that point it
// at the emulator, the exit code it must end with, patterns (regular
// expressions) its output must match, and a check of its effect through the
// Go clients.
type invocation struct {
	args  []string
	code  int
	out   []string
	check func(t *testing.T, s *stack)
}

// people is what scratch.people holds after the INSERT and the UPDATE.
var people = [][]bigquery.Value{
	{int64(1), "Ana", time.Date(2021, 1, 5, 10, 0, 0, 0, time.UTC), int64(1)},
	{int64(2), "Bo", time.Date(2021, 2, 7, 9, 30, 0, 0, time.UTC), int64(2)},
	{int64(3), "Cy", time.Date(2021, 3, 9, 8, 15, 0, 0, time.UTC), int64(1)},
}

const peopleQuery = "SELECT id, name, hired, dept FROM scratch.%s ORDER BY id"

func peopleIn(table string) func(t *testing.T, s *stack) {
	return func(t *testing.T, s *stack) {
		if diff := cmp.Diff(people, s.rows(t, strings.Replace(peopleQuery, "%s", table, 1))); diff != "" {
			t.Errorf("scratch.%s (-want +got):\n%s", table, diff)
		}
	}
}

// groups are the conformance list: each group runs in order, as later
// invocations read what earlier ones made; the groups touch different
// tables and run in parallel.
var groups = []struct {
	name        string
	invocations []invocation
}{
	// What the local stack provisions, and a load into it from a local
	// file.
	{"hiring", []invocation{
		{args: []string{"ls"}, out: []string{`(?m)^\s+hiring\s*$`}},
		{args: []string{"ls", "hiring"}, out: []string{
			`hired_employees_raw\s+TABLE\s+MONTH \(field: datetime\)\s+department_id, job_id`,
			`(?m)^\s+jobs\s+VIEW`,
			`rejected_rows\s+TABLE\s+DAY \(field: rejected_at, expirationMs: 7776000000\)\s+table_name, rule`,
		}},
		{args: []string{"show", "hiring"}, out: []string{`Dataset bq-conformance:hiring`, `Last modified`}},
		{args: []string{"show", "hiring.hired_employees_raw"}, out: []string{
			`Table bq-conformance:hiring.hired_employees_raw`,
			`\|- datetime: timestamp \(required\)`,
			`\|- name: string\(255\) \(required\)`,
			`MONTH \(field: datetime\)`,
		}},
		// bq shows a view as a Table of Type VIEW, with its query under --view.
		{args: []string{"show", "hiring.jobs"}, out: []string{`Table bq-conformance:hiring.jobs`, `\|- id: integer\s+VIEW`, `\|- job: string`}},
		// bq prints nothing for a table without rows, as against BigQuery: its
		// pretty table formatter prints nothing when it has no rows. The
		// hiring tables are empty until something is loaded.
		{args: []string{"head", "-n", "3", "hiring.jobs_raw"}, out: []string{`^$`}},
		{args: []string{"--format=json", "head", "-n", "3", "hiring.jobs_raw"}, out: []string{`^\[\]\n$`}},

		{args: []string{"load", "--source_format=CSV", "--skip_leading_rows=1", "--job_id=load-jobs-raw",
			"hiring.jobs_raw", "jobs.csv"}, out: []string{`^\r?Upload complete\.\n$`},
			check: func(t *testing.T, s *stack) {
				want := [][]bigquery.Value{{int64(3), "Recruiter"}}
				if diff := cmp.Diff(want, s.rows(t, "SELECT COUNT(*), MAX(job) FROM hiring.jobs")); diff != "" {
					t.Errorf("hiring.jobs (-want +got):\n%s", diff)
				}
			}},
		{args: []string{"head", "-n", "3", "hiring.jobs_raw"}, out: []string{
			`\|\s+1\s+\|\s+Data Engineer\s+\|\s+file:jobs.csv\s+\|\s+2021-07-27 16:02:08\s+\|\s+1\s+\|`,
			`\|\s+3\s+\|\s+Recruiter\s+\|`,
		}},
		{args: []string{"show", "-j", "load-jobs-raw"}, out: []string{`Job bq-conformance:load-jobs-raw`, `load\s+SUCCESS`}},
	}},
	// A dataset, a table and a view of its own: queries, loads and
	// extracts, copies and removals, and errors on them.
	{"scratch", []invocation{
		// Making a dataset, a partitioned and clustered table, and a view.
		{args: []string{"mk", "--dataset", "scratch"}, out: []string{`Dataset 'bq-conformance:scratch' successfully created\.`}},
		{args: []string{"mk", "--table", "--schema=id:INTEGER,name:STRING,hired:TIMESTAMP,dept:INTEGER",
			"--time_partitioning_field=hired", "--time_partitioning_type=MONTH", "--clustering_fields=dept", "scratch.people"},
			out: []string{`Table 'bq-conformance:scratch.people' successfully created\.`},
			check: func(t *testing.T, s *stack) {
				md, err := s.bq.Dataset("scratch").Table("people").Metadata(context.Background())
				if err != nil {
					t.Fatalf("Metadata: %v", err)
				}
				if tp := md.TimePartitioning; tp == nil || tp.Field != "hired" || tp.Type != bigquery.MonthPartitioningType {
					t.Errorf("time partitioning %+v, want MONTH on hired", tp)
				}
				if c := md.Clustering; c == nil || !cmp.Equal(c.Fields, []string{"dept"}) {
					t.Errorf("clustering %+v, want [dept]", c)
				}
			}},
		{args: []string{"mk", "--view=SELECT id, name FROM scratch.people WHERE dept = 1", "scratch.dept1"},
			out: []string{`View 'bq-conformance:scratch.dept1' successfully created\.`}},
		{args: []string{"show", "--format=prettyjson", "scratch.people"}, out: []string{
			`"clustering": \{\s+"fields": \[\s+"dept"\s+\]`,
			`"timePartitioning": \{\s+"field": "hired",\s+"type": "MONTH"`,
		}},
		{args: []string{"show", "--view", "scratch.dept1"}, out: []string{`Query`, `SELECT id, name FROM scratch.people WHERE dept = 1`}},
		{args: []string{"ls", "scratch"}, out: []string{`dept1\s+VIEW`, `people\s+TABLE\s+MONTH \(field: hired\)\s+dept`}},

		// Queries: DML, named parameters of every scalar type, a destination.
		{args: []string{"query", "--nouse_legacy_sql",
			"INSERT INTO scratch.people (id, name, hired, dept) VALUES (1, 'Ana', TIMESTAMP '2021-01-05 10:00:00 UTC', 1), " +
				"(2, 'Bo', TIMESTAMP '2021-02-07 09:30:00 UTC', 2), (3, NULL, TIMESTAMP '2021-03-09 08:15:00 UTC', 1)"},
			out: []string{`Number of affected rows: 3`}},
		{args: []string{"query", "--nouse_legacy_sql", "--parameter=id:INT64:3", "--parameter=name::Cy",
			"UPDATE scratch.people SET name = @name WHERE id = @id"},
			out: []string{`Number of affected rows: 1`}, check: peopleIn("people")},
		{args: []string{"query", "--nouse_legacy_sql", "--format=csv",
			"--parameter=ids:ARRAY<INT64>:[1, 3]", "--parameter=since:TIMESTAMP:2021-01-01 00:00:00",
			"--parameter=day:DATE:2021-03-09", "--parameter=factor:FLOAT64:1.5", "--parameter=flag:BOOL:true",
			"--parameter=name:STRING:Ana", "--parameter=min:INT64:1",
			"SELECT id, name = @name AS is_ana, dept * @factor AS scaled, CAST(hired AS DATE) = @day AS on_day, @flag AS flag " +
				"FROM scratch.people WHERE id IN UNNEST(@ids) AND hired >= @since AND id >= @min ORDER BY id"},
			out: []string{`^id,is_ana,scaled,on_day,flag\n1,true,1.5,false,true\n3,false,1.5,true,true\n$`}},
		// bq sends an empty ARRAY as {"value": {}}.
		{args: []string{"query", "--nouse_legacy_sql", "--format=csv", "--parameter=none:ARRAY<INT64>:[]",
			"SELECT COUNT(*) AS n FROM scratch.people WHERE id IN UNNEST(@none)"}, out: []string{`^n\n0\n$`}},
		{args: []string{"query", "--nouse_legacy_sql", "--format=csv", "--destination_table=scratch.per_dept",
			"SELECT dept, COUNT(*) AS n FROM scratch.people GROUP BY dept ORDER BY dept"},
			out: []string{`^dept,n\n1,2\n2,1\n$`},
			check: func(t *testing.T, s *stack) {
				want := [][]bigquery.Value{{int64(1), int64(2)}, {int64(2), int64(1)}}
				if diff := cmp.Diff(want, s.rows(t, "SELECT dept, n FROM scratch.per_dept ORDER BY dept")); diff != "" {
					t.Errorf("scratch.per_dept (-want +got):\n%s", diff)
				}
			}},
		{args: []string{"query", "--nouse_legacy_sql", "--format=json", "SELECT id, CAST(NULL AS STRING) AS nothing FROM scratch.dept1 ORDER BY id"},
			out: []string{`^\[\{"id":"1"(,"nothing":null)?\},\{"id":"3"(,"nothing":null)?\}\]\n$`}},
		{args: []string{"head", "-n", "2", "scratch.people"}, out: []string{
			`\|\s+id\s+\|\s+name\s+\|\s+hired\s+\|\s+dept\s+\|`,
			`\|\s+1\s+\|\s+Ana\s+\|\s+2021-01-05 10:00:00\s+\|\s+1\s+\|`,
			`\|\s+2\s+\|\s+Bo\s+\|\s+2021-02-07 09:30:00\s+\|\s+2\s+\|`,
		}},

		// Loads of local files: a media upload, resumable (bq's default) and
		// multipart.
		{args: []string{"--noenable_resumable_uploads", "load", "--source_format=CSV", "scratch.from_file", "people.csv",
			"id:INTEGER,name:STRING,hired:TIMESTAMP,dept:INTEGER"}, out: []string{`^$`}, check: peopleIn("from_file")},
		{args: []string{"load", "--source_format=CSV", "scratch.bad_file", "bad.csv", "id:INTEGER,name:STRING"}, code: 1,
			out: []string{`BigQuery error in load operation: Error processing job '[^']+': Error while reading data, error message: ` +
				`Could not parse 'two' as INTEGER for field id \(position 0\) on line 2`}},

		// Extracts to Cloud Storage, and loads from it.
		{args: []string{"extract", "--destination_format=AVRO", "--use_avro_logical_types", "scratch.people", "gs://" + bucket + "/people.avro"},
			out: []string{`^$`}, check: func(t *testing.T, s *stack) {
				if data := s.object(t, "people.avro"); !bytes.HasPrefix(data, []byte("Obj\x01")) {
					t.Errorf("people.avro starts with %q, not Avro's magic", data[:min(4, len(data))])
				}
			}},
		{args: []string{"extract", "--destination_format=CSV", "scratch.people", "gs://" + bucket + "/people.csv"},
			out: []string{`^$`}, check: func(t *testing.T, s *stack) {
				want := "id,name,hired,dept\n1,Ana,2021-01-05 10:00:00 UTC,1\n2,Bo,2021-02-07 09:30:00 UTC,2\n3,Cy,2021-03-09 08:15:00 UTC,1\n"
				if got := string(s.object(t, "people.csv")); got != want {
					t.Errorf("people.csv:\n%s\nwant:\n%s", got, want)
				}
			}},
		{args: []string{"load", "--source_format=AVRO", "--use_avro_logical_types", "scratch.from_avro", "gs://" + bucket + "/people.avro"},
			out: []string{`^$`}, check: peopleIn("from_avro")},
		{args: []string{"load", "--source_format=CSV", "--skip_leading_rows=1", "scratch.from_csv", "gs://" + bucket + "/people.csv",
			"id:INTEGER,name:STRING,hired:TIMESTAMP,dept:INTEGER"}, out: []string{`^$`}, check: peopleIn("from_csv")},

		// Copies and removals.
		{args: []string{"cp", "scratch.people", "scratch.people_copy"},
			out:   []string{`Table 'bq-conformance:scratch.people' successfully copied to 'bq-conformance:scratch.people_copy'`},
			check: peopleIn("people_copy")},
		{args: []string{"rm", "-f", "-t", "scratch.people_copy"}, out: []string{`^$`},
			check: func(t *testing.T, s *stack) {
				_, err := s.bq.Dataset("scratch").Table("people_copy").Metadata(context.Background())
				var ge *googleapi.Error
				if !errors.As(err, &ge) || ge.Code != 404 {
					t.Errorf("scratch.people_copy after rm: %v, want 404", err)
				}
			}},

		// Errors carry BigQuery's reason in the API log that --apilog prints.
		{args: []string{"--apilog=-", "show", "scratch.people_copy"}, code: 2, out: []string{
			`BigQuery error in show operation: Not found: Table bq-conformance:scratch.people_copy`, `"reason": ?"notFound"`}},
	}},
	// Errors of queries and jobs.
	{"errors", []invocation{
		{args: []string{"--apilog=-", "query", "--nouse_legacy_sql", "SELECT * FROM hiring.nope"}, code: 2, out: []string{
			`BigQuery error in query operation: Error processing job '[^']+': Not found: Table bq-conformance:hiring.nope`, `"reason": ?"notFound"`}},
		{args: []string{"--apilog=-", "query", "--nouse_legacy_sql", "SELEC 1"}, code: 1, out: []string{
			`Error in query string: Error processing job '[^']+': Syntax error`, `"reason": ?"invalidQuery"`}},
		{args: []string{"query", "--nouse_legacy_sql", "--job_id=once", "--format=csv", "SELECT 1 AS one"}, out: []string{`^one\n1\n$`}},
		{args: []string{"--apilog=-", "query", "--nouse_legacy_sql", "--job_id=once", "SELECT 1 AS one"}, code: 2, out: []string{
			`BigQuery error in query operation: Already Exists: Job bq-conformance:US.once`, `"reason": ?"duplicate"`}},
		{args: []string{"show", "-j", "once"}, out: []string{`Job bq-conformance:once`, `query\s+SUCCESS`}},
		{args: []string{"ls", "-j"}, out: []string{`once\s+query\s+SUCCESS`}},
	}},
}

// files are the local files the loads read, in bq's working folder.
var files = map[string]string{
	"jobs.csv": "id,job,_ingestion_id,_ingested_at,_ordinal\n" +
		"1,Data Engineer,file:jobs.csv,2021-07-27 16:02:08 UTC,1\n" +
		"2,Analyst,file:jobs.csv,2021-07-27 16:02:08 UTC,2\n" +
		"3,Recruiter,file:jobs.csv,2021-07-27 16:02:08 UTC,3\n",
	"people.csv": "1,Ana,2021-01-05 10:00:00 UTC,1\n2,Bo,2021-02-07T09:30:00Z,2\n3,Cy,2021-03-09 08:15:00,1\n",
	"bad.csv":    "1,one\ntwo,2\n",
}

// tail is the end of an output, enough to see what went wrong: with
// --apilog, bq logs the whole discovery document first.
func tail(out string) string {
	const n = 3000
	if len(out) <= n {
		return out
	}
	return "..." + out[len(out)-n:]
}

// TestBQ runs every group of the list against one stack.
func TestBQ(t *testing.T) {
	s := newStack(t)
	discovery := discoveryFile(t)
	total := 0
	for _, g := range groups {
		total += len(g.invocations)
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(t, s.url, discovery)
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(c.dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for i, inv := range g.invocations {
				c.check(t, s, i+1, inv)
			}
		})
	}
	if total < 30 {
		t.Errorf("%d bq invocations; the conformance list needs at least 30", total)
	}
}

// check runs one invocation and checks its exit code, output and effect.
func (c *cli) check(t *testing.T, s *stack, n int, inv invocation) {
	t.Helper()
	line := "bq " + strings.Join(inv.args, " ")
	code, out := c.run(t, inv.args)
	t.Logf("%2d. %s: exit %d", n, line, code)
	if code != inv.code {
		t.Errorf("%s: exit code %d, want %d; output:\n%s", line, code, inv.code, tail(out))
	}
	// bq wraps its messages at 80 columns, breaking lines at spaces and
	// after hyphens.
	flat := strings.NewReplacer("-\n", "-", "\n", " ").Replace(out)
	for _, p := range inv.out {
		re := regexp.MustCompile(p)
		if !re.MatchString(out) && !re.MatchString(flat) {
			t.Errorf("%s: output does not match %s:\n%s", line, p, tail(out))
		}
	}
	if inv.check != nil && code == inv.code {
		inv.check(t, s)
	}
}
