package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"cloud.google.com/go/functions/apiv2/functionspb"
	"cloud.google.com/go/scheduler/apiv1/schedulerpb"
	"cloud.google.com/go/storage"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	hiringpipeline "github.com/hiring-pipeline/hiring-pipeline"
	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
	"github.com/hiring-pipeline/hiring-pipeline/internal/testutil"
)

// fakeFunctions is an in-process Cloud Functions API whose ListFunctions
// answers the functions of a parent in pages of at most two.
type fakeFunctions struct {
	functionspb.UnimplementedFunctionServiceServer
	// byParent is written before the server starts and only read after.
	byParent map[string][]*functionspb.Function
}

func (f *fakeFunctions) ListFunctions(_ context.Context, req *functionspb.ListFunctionsRequest) (*functionspb.ListFunctionsResponse, error) {
	all, ok := f.byParent[req.GetParent()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "location %s not found", req.GetParent())
	}
	size := 2
	if n := int(req.GetPageSize()); n > 0 && n < size {
		size = n
	}
	start := 0
	if tok := req.GetPageToken(); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(all) {
			return nil, status.Errorf(codes.InvalidArgument, "invalid page token %q", tok)
		}
		start = n
	}
	end := min(start+size, len(all))
	resp := &functionspb.ListFunctionsResponse{Functions: all[start:end]}
	if end < len(all) {
		resp.NextPageToken = strconv.Itoa(end)
	}
	return resp, nil
}

// startFakeFunctions serves fake on a free port and returns its host:port.
func startFakeFunctions(t *testing.T, fake *fakeFunctions) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	functionspb.RegisterFunctionServiceServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// unreachable is a URL that no call may use: nothing listens on port 1.
const unreachable = "http://127.0.0.1:1/not-this-one/"

// deployment lists the functions of project in region r as Terraform
// deploys them, each with the stack's function as its URL and an
// unreachable service URI, as the hash-based run.app URI that the function
// does not accept as an audience. A function of another prefix comes
// first, so that a listing read past its first page is needed; change
// edits or, returning nil, drops a function.
func deployment(project string, cfg stack.Config, change func(name string, f *functionspb.Function) *functionspb.Function) []*functionspb.Function {
	parent := "projects/" + project + "/locations/r/functions/"
	out := []*functionspb.Function{{
		Name: parent + "staging-metrics", State: functionspb.Function_ACTIVE,
		Url: unreachable, ServiceConfig: &functionspb.ServiceConfig{Uri: unreachable},
	}}
	for _, d := range hiringpipeline.Functions {
		f := &functionspb.Function{
			Name: parent + "hiring-" + d.Name, State: functionspb.Function_ACTIVE,
			Url: cfg.Functions[d.Name], ServiceConfig: &functionspb.ServiceConfig{Uri: unreachable},
		}
		if change != nil {
			f = change(d.Name, f)
		}
		if f != nil {
			out = append(out, f)
		}
	}
	return out
}

// smokeLine is what a test compares of a check.
type smokeLine struct {
	Result, Function, Check, State string
	HTTPStatus                     int
}

func smokeLines(t *testing.T, stdout string) []smokeLine {
	t.Helper()
	var rep smokeReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("--json printed no report: %v\n%s", err, stdout)
	}
	var out []smokeLine
	for _, c := range rep.Checks {
		out = append(out, smokeLine{c.Result, c.Function, c.Check, c.State, c.HTTPStatus})
	}
	return out
}

// deployedLines are the deployment checks of five ACTIVE functions.
var deployedLines = []smokeLine{
	{"ok", "hiring-load-csv", "deployed", "ACTIVE", 0},
	{"ok", "hiring-insert-rows", "deployed", "ACTIVE", 0},
	{"ok", "hiring-backup-tables", "deployed", "ACTIVE", 0},
	{"ok", "hiring-restore-table", "deployed", "ACTIVE", 0},
	{"ok", "hiring-metrics", "deployed", "ACTIVE", 0},
}

func TestSmoke(t *testing.T) {
	t.Parallel()
	st, err := stack.Start(context.Background(), stack.Options{Auth: true, Functions: hiringpipeline.Functions})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	cfg := st.Config()
	admin := cfg.Auth.Tokens["admin"]
	hiring := func(t *testing.T, args ...string) (int, string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	files := []string{testutil.ChallengePath(t, "departments.csv"), testutil.ChallengePath(t, "jobs.csv"), testutil.ChallengePath(t, "hired_employees.csv")}
	if code, _, stderr := hiring(t, append([]string{"load", "--stack", cfg.URL}, files...)...); code != 0 {
		t.Fatalf("load: exit %d: %s", code, stderr)
	}
	fake := &fakeFunctions{byParent: map[string][]*functionspb.Function{}}
	for _, project := range []string{"all", "wrong-token"} {
		fake.byParent["projects/"+project+"/locations/r"] = deployment(project, cfg, nil)
	}
	// Without a cloudfunctions.net URL, the service URI is the one to call.
	fake.byParent["projects/no-backup/locations/r"] = deployment("no-backup", cfg, func(name string, f *functionspb.Function) *functionspb.Function {
		f.ServiceConfig.Uri, f.Url = f.Url, ""
		return f
	})
	fake.byParent["projects/missing/locations/r"] = deployment("missing", cfg, func(name string, f *functionspb.Function) *functionspb.Function {
		if name == "restore-table" {
			return nil
		}
		return f
	})
	fake.byParent["projects/failed/locations/r"] = deployment("failed", cfg, func(name string, f *functionspb.Function) *functionspb.Function {
		if name == "metrics" {
			f.State = functionspb.Function_FAILED
			f.StateMessages = []*functionspb.StateMessage{{Severity: functionspb.StateMessage_ERROR, Type: "RevisionFailed", Message: "the container did not start"}}
		}
		return f
	})
	endpoint := startFakeFunctions(t, fake)
	smoke := func(t *testing.T, project, token string, extra ...string) (int, string, string) {
		t.Helper()
		args := append([]string{"smoke", "--project", project, "--region", "r", "--token", token, "--functions-endpoint", endpoint, "--skip-writes"}, extra...)
		return hiring(t, args...)
	}

	// Before any backup: the dry run has nothing to verify.
	t.Run("no backup", func(t *testing.T) {
		code, out, stderr := smoke(t, "no-backup", admin, "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s\n%s", code, stderr, out)
		}
		want := append(append([]smokeLine{}, deployedLines...),
			smokeLine{"ok", "hiring-insert-rows", "POST /tables/jobs/rows?atomic=true", "", 422},
			smokeLine{"ok", "hiring-backup-tables", "GET /openapi.json", "", 200},
			smokeLine{"ok", "hiring-restore-table", "GET /backups?table=departments", "", 200},
			smokeLine{"skip", "hiring-restore-table", "POST /restore", "", 0},
			smokeLine{"ok", "hiring-metrics", "GET /departments-above-mean?year=2021", "", 200},
			smokeLine{"ok", "hiring-metrics", "GET /openapi.json", "", 200},
		)
		if diff := cmp.Diff(want, smokeLines(t, out)); diff != "" {
			t.Errorf("checks (-want +got):\n%s", diff)
		}
		if !strings.Contains(out, "no backup of departments to verify") {
			t.Errorf("the skipped dry run does not say why:\n%s", out)
		}
	})

	if code, _, stderr := hiring(t, "backup", "--stack", cfg.URL); code != 0 {
		t.Fatalf("backup: exit %d: %s", code, stderr)
	}

	t.Run("all pass", func(t *testing.T) {
		t.Parallel()
		code, out, stderr := smoke(t, "all", admin)
		if code != 0 {
			t.Fatalf("exit %d: %s\n%s", code, stderr, out)
		}
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		want := []string{
			`^result +function +check +status +ms +detail$`,
			`^ok +hiring-load-csv +deployed +ACTIVE +- +` + regexp.QuoteMeta(cfg.Functions["load-csv"]) + `$`,
			`^ok +hiring-insert-rows +deployed +ACTIVE +- +` + regexp.QuoteMeta(cfg.Functions["insert-rows"]) + `$`,
			`^ok +hiring-backup-tables +deployed +ACTIVE +- +` + regexp.QuoteMeta(cfg.Functions["backup-tables"]) + `$`,
			`^ok +hiring-restore-table +deployed +ACTIVE +- +` + regexp.QuoteMeta(cfg.Functions["restore-table"]) + `$`,
			`^ok +hiring-metrics +deployed +ACTIVE +- +` + regexp.QuoteMeta(cfg.Functions["metrics"]) + `$`,
			`^ok +hiring-insert-rows +POST /tables/jobs/rows\?atomic=true +422 +\d+ +refused as it should be: 1 of 1 rows are invalid and atomic=true: nothing was inserted$`,
			`^ok +hiring-backup-tables +GET /openapi.json +200 +\d+ +OpenAPI 3\.0\.3, `,
			`^ok +hiring-restore-table +GET /backups\?table=departments +200 +\d+ +1 complete backup\(s\) of departments, the latest \S+$`,
			`^ok +hiring-restore-table +POST /restore +200 +\d+ +dry run: backup \S+ of departments is restorable, 12 rows in \d+ files$`,
			`^ok +hiring-metrics +GET /departments-above-mean\?year=2021 +200 +\d+ +7 departments above the mean in 2021$`,
			`^ok +hiring-metrics +GET /openapi.json +200 +\d+ +OpenAPI 3\.0\.3, `,
			`^projects/all/locations/r, prefix hiring: 11 checks, 11 ok, 0 failed, 0 skipped$`,
		}
		if len(lines) != len(want) {
			t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out)
		}
		for i, re := range want {
			if !regexp.MustCompile(re).MatchString(lines[i]) {
				t.Errorf("line %d %q does not match %s", i+1, lines[i], re)
			}
		}
		if strings.Contains(out+stderr, admin) {
			t.Errorf("the token is printed:\n%s\n%s", out, stderr)
		}
	})
	t.Run("missing function", func(t *testing.T) {
		t.Parallel()
		code, out, stderr := smoke(t, "missing", admin, "--json")
		if code != 1 || !strings.Contains(stderr, "1 of 10 checks failed: hiring-restore-table deployed") {
			t.Errorf("exit %d, want 1 naming hiring-restore-table: %s", code, stderr)
		}
		want := []smokeLine{
			deployedLines[0], deployedLines[1], deployedLines[2],
			{"fail", "hiring-restore-table", "deployed", "", 0},
			deployedLines[4],
			{"ok", "hiring-insert-rows", "POST /tables/jobs/rows?atomic=true", "", 422},
			{"ok", "hiring-backup-tables", "GET /openapi.json", "", 200},
			{"skip", "hiring-restore-table", "calls", "", 0},
			{"ok", "hiring-metrics", "GET /departments-above-mean?year=2021", "", 200},
			{"ok", "hiring-metrics", "GET /openapi.json", "", 200},
		}
		if diff := cmp.Diff(want, smokeLines(t, out)); diff != "" {
			t.Errorf("checks (-want +got):\n%s", diff)
		}
		if !strings.Contains(out, "no function hiring-restore-table in projects/missing/locations/r") {
			t.Errorf("the missing function's check does not say so:\n%s", out)
		}
	})
	t.Run("failed function", func(t *testing.T) {
		t.Parallel()
		code, out, stderr := smoke(t, "failed", admin)
		if code != 1 || !strings.Contains(stderr, "1 of 10 checks failed: hiring-metrics deployed") {
			t.Errorf("exit %d, want 1 naming hiring-metrics: %s", code, stderr)
		}
		re := regexp.MustCompile(`(?m)^FAIL +hiring-metrics +deployed +FAILED +- +\S+ state FAILED, want ACTIVE; RevisionFailed: the container did not start$`)
		if !re.MatchString(out) || !regexp.MustCompile(`(?m)^skip +hiring-metrics +calls +- +- +not called`).MatchString(out) {
			t.Errorf("the FAILED function is not reported as such:\n%s", out)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		t.Parallel()
		code, out, stderr := smoke(t, "wrong-token", "wrong-token-wrong", "--json")
		if code != 1 || !strings.Contains(stderr, "3 of 11 checks failed") {
			t.Errorf("exit %d, want 1 with 3 failed checks: %s", code, stderr)
		}
		// The OpenAPI documents are public; every other call is refused.
		want := append(append([]smokeLine{}, deployedLines...),
			smokeLine{"fail", "hiring-insert-rows", "POST /tables/jobs/rows?atomic=true", "", 401},
			smokeLine{"ok", "hiring-backup-tables", "GET /openapi.json", "", 200},
			smokeLine{"fail", "hiring-restore-table", "GET /backups?table=departments", "", 401},
			smokeLine{"skip", "hiring-restore-table", "POST /restore", "", 0},
			smokeLine{"fail", "hiring-metrics", "GET /departments-above-mean?year=2021", "", 401},
			smokeLine{"ok", "hiring-metrics", "GET /openapi.json", "", 200},
		)
		if diff := cmp.Diff(want, smokeLines(t, out)); diff != "" {
			t.Errorf("checks (-want +got):\n%s", diff)
		}
		if !strings.Contains(out, "want 200, got 401 unauthenticated: the bearer token is not valid") {
			t.Errorf("the refusal is not explained:\n%s", out)
		}
	})
	t.Run("unknown region", func(t *testing.T) {
		t.Parallel()
		code, out, stderr := smoke(t, "nowhere", admin)
		if code != 1 || !strings.Contains(stderr, "listing the functions of projects/nowhere/locations/r") ||
			!strings.Contains(stderr, "hint: check --project and --region") || out != "" {
			t.Errorf("exit %d, stdout %q, stderr %s", code, out, stderr)
		}
	})
	t.Run("flags", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"smoke", "--region", "r"}, "missing flags: --project=STRING"},
			{[]string{"smoke", "--project", "p", "--region", "r", "--token", "t", "--impersonate-service-account", "sa@p.iam.gserviceaccount.com"}, "--token and --impersonate-service-account cannot be used together"},
			{[]string{"smoke", "--project", "p", "--region", "r", "--year", "0"}, "--year must be from 1 to 9998, got 0"},
			{[]string{"smoke", "--project", "p", "--region", " "}, "--region must not be empty"},
			{[]string{"smoke", "--project", "p", "--region", "r", "--wait", "0s"}, "--wait must be positive, got 0s"},
		} {
			if code, _, stderr := hiring(t, c.args...); code != 2 || !strings.Contains(stderr, c.want) {
				t.Errorf("%v: exit %d, want 2 with %q: %s", c.args, code, c.want, stderr)
			}
		}
	})
}

// TestSmokeCalls_everyHTTPFunction checks that smoke calls every HTTP
// function and no event function.
func TestSmokeCalls_everyHTTPFunction(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, d := range hiringpipeline.Functions {
		names[d.Name] = true
		if _, ok := smokeCalls[d.Name]; ok != (d.HTTP != nil) {
			t.Errorf("%s: has calls %v, is HTTP %v", d.Name, ok, d.HTTP != nil)
		}
	}
	for name := range smokeCalls {
		if !names[name] {
			t.Errorf("smoke calls %s, which is not a function", name)
		}
	}
}

// fakeScheduler is an in-process Cloud Scheduler API whose RunJob runs the
// one job it knows as Cloud Scheduler would: a POST of {} to the
// function's URL with a bearer token. Unlike Cloud Scheduler, it answers
// after the job's target, with the target's failure if any.
type fakeScheduler struct {
	schedulerpb.UnimplementedCloudSchedulerServer
	job, url, token string
}

func (f *fakeScheduler) RunJob(ctx context.Context, req *schedulerpb.RunJobRequest) (*schedulerpb.Job, error) {
	if req.GetName() != f.job {
		return nil, status.Errorf(codes.NotFound, "job %s not found", req.GetName())
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, strings.NewReader("{}"))
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	resp.Body.Close()
	// Cloud Scheduler counts any 2xx as a success.
	if resp.StatusCode/100 != 2 {
		return nil, status.Errorf(codes.Internal, "the job's target answered %s", resp.Status)
	}
	return &schedulerpb.Job{Name: f.job}, nil
}

// TestSmokeWrites runs smoke's writing checks against the local stack: the
// dropped file reaches ingest_log through the stack's trigger, and the
// backup job, run through a Cloud Scheduler API, writes a backup.
func TestSmokeWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := stack.Start(ctx, stack.Options{Auth: true, Functions: hiringpipeline.Functions})
	if err != nil {
		t.Fatalf("stack.Start: %v", err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	cfg := st.Config()
	admin := cfg.Auth.Tokens["admin"]

	fake := &fakeFunctions{byParent: map[string][]*functionspb.Function{"projects/" + cfg.Project + "/locations/r": deployment(cfg.Project, cfg, nil)}}
	functionsEndpoint := startFakeFunctions(t, fake)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	schedulerpb.RegisterCloudSchedulerServer(srv, &fakeScheduler{
		job: "projects/" + cfg.Project + "/locations/r/jobs/hiring-backup-tables", url: cfg.Functions["backup-tables"], token: admin,
	})
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	smoke := func(t *testing.T, extra ...string) (int, string, string) {
		t.Helper()
		args := append([]string{"smoke", "--project", cfg.Project, "--region", "r", "--token", admin, "--json",
			"--functions-endpoint", functionsEndpoint, "--scheduler-endpoint", lis.Addr().String(),
			"--storage-endpoint", cfg.StorageEmulatorHost, "--bigquery-endpoint", cfg.BigQueryEndpoint,
			"--dataset", cfg.Dataset, "--backup-bucket", cfg.Buckets.Backups, "--poll", "100ms"}, extra...)
		var stdout, stderr bytes.Buffer
		code := run(ctx, args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	writeChecks := func(t *testing.T, out string) []smokeCheck {
		t.Helper()
		var rep smokeReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("--json printed no report: %v\n%s", err, out)
		}
		if len(rep.Checks) < 2 {
			t.Fatalf("%d checks:\n%s", len(rep.Checks), out)
		}
		return rep.Checks[len(rep.Checks)-2:]
	}
	gcs, err := clients.Storage(ctx, cfg.StorageEmulatorHost)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gcs.Close() })

	code, out, stderr := smoke(t, "--landing-bucket", cfg.Buckets.Landing, "--wait", "2m")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, stderr, out)
	}
	checks := writeChecks(t, out)
	drop, backupRun := checks[0], checks[1]
	if drop.Result != smokeOK || drop.Function != "hiring-load-csv" || !regexp.MustCompile(`^drop gs://`+regexp.QuoteMeta(cfg.Buckets.Landing)+`/departments/hiring-smoke-\w+\.csv$`).MatchString(drop.Check) ||
		!strings.HasPrefix(drop.Detail, "ingest_log: REJECTED as it should be, 1 row in rejected_rows") {
		t.Errorf("the dropped file's check: %+v", drop)
	}
	object := strings.TrimPrefix(drop.Check, "drop gs://"+cfg.Buckets.Landing+"/")
	if _, err := gcs.Bucket(cfg.Buckets.Landing).Object(object).Attrs(ctx); !errors.Is(err, storage.ErrObjectNotExist) {
		t.Errorf("the dropped file %s is still there: %v", object, err)
	}
	if backupRun.Result != smokeOK || backupRun.Check != "run projects/"+cfg.Project+"/locations/r/jobs/hiring-backup-tables" ||
		!regexp.MustCompile(`^backup \S+: 3 tables, \d+ rows, after `).MatchString(backupRun.Detail) {
		t.Errorf("the backup schedule's check: %+v", backupRun)
	}

	// A bucket without a trigger never gets its ingest_log row, and a
	// bucket that does not exist cannot hold a backup: both fail, named.
	code, out, stderr = smoke(t, "--landing-bucket", cfg.Buckets.Staging, "--wait", "1s", "--backup-bucket", "no-such-bucket")
	if code != 1 || !strings.Contains(stderr, "2 of 13 checks failed") {
		t.Errorf("exit %d, want 1 with 2 failed checks: %s", code, stderr)
	}
	checks = writeChecks(t, out)
	if checks[0].Result != smokeFail || !strings.HasPrefix(checks[0].Detail, "no ingest_log row for the file after 1s") {
		t.Errorf("a file without its ingest_log row: %+v", checks[0])
	}
	if checks[1].Result != smokeFail || !strings.HasPrefix(checks[1].Detail, "listing the backups:") {
		t.Errorf("a missing backup bucket: %+v", checks[1])
	}
}
