package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"cloud.google.com/go/bigquery"
	functions "cloud.google.com/go/functions/apiv2"
	"cloud.google.com/go/functions/apiv2/functionspb"
	scheduler "cloud.google.com/go/scheduler/apiv1"
	"cloud.google.com/go/scheduler/apiv1/schedulerpb"
	"cloud.google.com/go/storage"
	"golang.org/x/oauth2"
	"google.golang.org/api/idtoken"
	"google.golang.org/api/impersonate"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	hiringpipeline "github.com/hiring-pipeline/hiring-pipeline"
	"github.com/hiring-pipeline/hiring-pipeline/internal/backup"
	"github.com/hiring-pipeline/hiring-pipeline/internal/clients"
	"github.com/hiring-pipeline/hiring-pipeline/internal/config"
	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
	"github.com/hiring-pipeline/hiring-pipeline/internal/ingest"
	"github.com/hiring-pipeline/hiring-pipeline/internal/metrics"
	"github.com/hiring-pipeline/hiring-pipeline/internal/warehouse"
)

// smokeCmd checks a deployment on Google Cloud: every function is deployed
// and ACTIVE, every HTTP function answers, a CSV file dropped in the
// landing bucket reaches ingest_log through the Eventarc trigger, and the
// backup schedule writes a backup. No data row is written: the dropped
// file's only row is invalid.
type smokeCmd struct {
	Project                   string        `help:"Google Cloud project of the deployment." required:""`
	Region                    string        `help:"Region of the functions, e.g. europe-west1." required:""`
	Prefix                    string        `help:"Prefix of the functions' names, <prefix>-<function>." default:"hiring"`
	ImpersonateServiceAccount string        `help:"Call the functions as this service account, with ID tokens minted by impersonating it (you need roles/iam.serviceAccountTokenCreator on it)." placeholder:"EMAIL"`
	Token                     string        `help:"Bearer token sent as is to every function. A Google ID token has one audience, so it passes one function's check only; default: an ID token per function from the application default credentials."`
	Year                      int           `help:"Year of the metrics call." default:"2021"`
	Timeout                   time.Duration `help:"How long each call may take, a cold start included." default:"60s"`
	JSON                      bool          `name:"json" help:"Print the results as one JSON document."`
	SkipWrites                bool          `help:"Leave out the two checks that write: the CSV file dropped in the landing bucket, and the run of the backup schedule."`
	Wait                      time.Duration `help:"How long to wait for the dropped file's ingest_log row, and for the scheduled backup's manifest." default:"5m"`
	Dataset                   string        `help:"BigQuery dataset of the deployment." default:"hiring"`
	LandingBucket             string        `help:"Landing bucket; default <project>-<prefix>-landing." placeholder:"BUCKET"`
	BackupBucket              string        `help:"Backup bucket; default <project>-<prefix>-backups." placeholder:"BUCKET"`
	FunctionsEndpoint         string        `help:"For tests: host:port of a Cloud Functions API to use instead of Google's, over plaintext gRPC without credentials." placeholder:"HOST:PORT" hidden:""`
	SchedulerEndpoint         string        `help:"For tests: host:port of a Cloud Scheduler API, over plaintext gRPC without credentials." placeholder:"HOST:PORT" hidden:""`
	StorageEndpoint           string        `help:"For tests: host:port of a Cloud Storage emulator, without credentials." placeholder:"HOST:PORT" hidden:""`
	BigQueryEndpoint          string        `name:"bigquery-endpoint" help:"For tests: URL of a BigQuery emulator, without credentials." placeholder:"URL" hidden:""`
	Poll                      time.Duration `help:"How often the writing checks look for their result." default:"5s" hidden:""`
}

// AfterApply checks the flags before any request. It is not Validate
// because kong validates before it reports missing required flags, which
// would then be reported as empty.
func (c *smokeCmd) AfterApply() error {
	switch {
	case strings.TrimSpace(c.Project) == "":
		return errors.New("--project must not be empty")
	case strings.TrimSpace(c.Region) == "":
		return errors.New("--region must not be empty")
	case c.Prefix == "":
		return errors.New("--prefix must not be empty")
	case c.Token != "" && c.ImpersonateServiceAccount != "":
		return errors.New("--token and --impersonate-service-account cannot be used together")
	case c.Year < metrics.MinYear || c.Year > metrics.MaxYear:
		return fmt.Errorf("--year must be from %d to %d, got %d", metrics.MinYear, metrics.MaxYear, c.Year)
	case c.Timeout <= 0:
		return fmt.Errorf("--timeout must be positive, got %s", c.Timeout)
	case c.Wait <= 0:
		return fmt.Errorf("--wait must be positive, got %s", c.Wait)
	case c.Poll <= 0:
		return fmt.Errorf("--poll must be positive, got %s", c.Poll)
	}
	if c.LandingBucket == "" {
		c.LandingBucket = c.Project + "-" + c.Prefix + "-landing"
	}
	if c.BackupBucket == "" {
		c.BackupBucket = c.Project + "-" + c.Prefix + "-backups"
	}
	return nil
}

// Results of a check.
const (
	smokeOK   = "ok"
	smokeFail = "fail"
	smokeSkip = "skip"
)

// smokeCheck is the outcome of one check.
type smokeCheck struct {
	// Result is ok, fail or skip.
	Result string `json:"result"`
	// Function is the deployed name, <prefix>-<function>.
	Function string `json:"function"`
	// Check is "deployed" or the request sent: "METHOD /path".
	Check string `json:"check"`
	// State is the function's state, for a deployment check of a listed
	// function.
	State string `json:"state,omitempty"`
	// URL is the function's URL, for a deployment check.
	URL string `json:"url,omitempty"`
	// HTTPStatus is the status of the answer, for a call that got one.
	HTTPStatus int `json:"http_status,omitempty"`
	// MS is how long the call took, in milliseconds.
	MS int64 `json:"ms"`
	// Detail says what the check saw, or why it failed or was skipped.
	Detail string `json:"detail,omitempty"`
}

// smokeReport is what smoke prints.
type smokeReport struct {
	Project string       `json:"project"`
	Region  string       `json:"region"`
	Prefix  string       `json:"prefix"`
	Checks  []smokeCheck `json:"checks"`
	OK      int          `json:"ok"`
	Failed  int          `json:"failed"`
	Skipped int          `json:"skipped"`
}

// smokeCalls holds the calls made to each HTTP function, by the name of its
// Definition. None of them adds a data row: insert-rows gets a row it must
// refuse, restore-table a dry run.
var smokeCalls = map[string]func(ctx context.Context, t smokeTarget, year int) []smokeCheck{
	"metrics": func(ctx context.Context, t smokeTarget, year int) []smokeCheck {
		return []smokeCheck{t.departmentsAboveMean(ctx, year), t.openAPI(ctx)}
	},
	"insert-rows": func(ctx context.Context, t smokeTarget, _ int) []smokeCheck {
		return []smokeCheck{t.refuseInvalidRow(ctx)}
	},
	"restore-table": func(ctx context.Context, t smokeTarget, _ int) []smokeCheck {
		return t.restoreDryRun(ctx)
	},
	"backup-tables": func(ctx context.Context, t smokeTarget, _ int) []smokeCheck {
		return []smokeCheck{t.openAPI(ctx)}
	},
}

// Run lists the functions, calls the HTTP ones and prints one line per
// check. It fails when a check failed.
func (c *smokeCmd) Run(ctx context.Context, con *console) error {
	parent := "projects/" + c.Project + "/locations/" + c.Region
	listed, err := c.list(ctx, con, parent)
	if err != nil {
		return err
	}
	rep := smokeReport{Project: c.Project, Region: c.Region, Prefix: c.Prefix}
	targets := map[string]smokeTarget{}
	for _, d := range hiringpipeline.Functions {
		name := c.Prefix + "-" + d.Name
		check := deployedCheck(name, parent, listed[name], d.HTTP != nil)
		rep.Checks = append(rep.Checks, check)
		if d.HTTP != nil && check.Result == smokeOK {
			targets[d.Name] = smokeTarget{name: name, url: check.URL, timeout: c.Timeout, con: con}
		}
	}
	// Every token is minted before the first call, so that credentials
	// unable to mint one stop the run with their own error instead of
	// failing every check alike.
	for _, d := range hiringpipeline.Functions {
		t, ok := targets[d.Name]
		if !ok {
			continue
		}
		if t.token, err = c.mint(ctx, t.url); err != nil {
			return err
		}
		targets[d.Name] = t
	}
	for _, d := range hiringpipeline.Functions {
		calls, ok := smokeCalls[d.Name]
		if !ok {
			continue
		}
		t, ok := targets[d.Name]
		if !ok {
			rep.Checks = append(rep.Checks, smokeCheck{Result: smokeSkip, Function: c.Prefix + "-" + d.Name, Check: "calls",
				Detail: "not called: the function is not deployed and ACTIVE"})
			continue
		}
		rep.Checks = append(rep.Checks, calls(ctx, t, c.Year)...)
	}
	if !c.SkipWrites {
		checks, err := c.writes(ctx, con)
		if err != nil {
			return err
		}
		rep.Checks = append(rep.Checks, checks...)
	}
	var failed []string
	for _, ch := range rep.Checks {
		switch ch.Result {
		case smokeOK:
			rep.OK++
		case smokeSkip:
			rep.Skipped++
		default:
			rep.Failed++
			failed = append(failed, ch.Function+" "+ch.Check)
		}
	}
	if c.JSON {
		err = printJSON(con.Stdout, rep)
	} else {
		err = printSmoke(con, parent, rep)
	}
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d checks failed: %s", len(failed), len(rep.Checks), strings.Join(failed, "; "))
	}
	return nil
}

// list returns the functions of parent by their id, the last segment of
// their resource name: <prefix>-<function>.
func (c *smokeCmd) list(ctx context.Context, con *console, parent string) (map[string]*functionspb.Function, error) {
	var opts []option.ClientOption
	if c.FunctionsEndpoint != "" {
		opts = append(opts, option.WithEndpoint(c.FunctionsEndpoint), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	client, err := functions.NewFunctionClient(ctx, opts...)
	if err != nil {
		return nil, withHint(fmt.Errorf("functions.NewFunctionClient: %w", err),
			"sign in with `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS")
	}
	defer client.Close()
	fmt.Fprintf(con.Stderr, "listing the functions of %s\n", parent)
	out := map[string]*functionspb.Function{}
	it := client.ListFunctions(ctx, &functionspb.ListFunctionsRequest{Parent: parent})
	for {
		f, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, listError(parent, err)
		}
		out[path.Base(f.GetName())] = f
	}
	if r, ok := it.Response.(*functionspb.ListFunctionsResponse); ok && len(r.GetUnreachable()) > 0 {
		return nil, withHint(fmt.Errorf("listing the functions of %s: unreachable: %s", parent, strings.Join(r.GetUnreachable(), ", ")),
			"the listing is incomplete; try again later")
	}
	return out, nil
}

// listError explains a failed ListFunctions call.
func listError(parent string, err error) error {
	err = fmt.Errorf("listing the functions of %s: %w", parent, err)
	switch status.Code(err) {
	case codes.PermissionDenied:
		return withHint(err, "the caller needs roles/cloudfunctions.viewer on the project, and the project needs the Cloud Functions API enabled")
	case codes.Unauthenticated:
		return withHint(err, "sign in with `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS")
	case codes.InvalidArgument, codes.NotFound:
		return withHint(err, "check --project and --region")
	}
	return err
}

// deployedCheck checks that a function is listed and ACTIVE and, for an
// HTTP function, has a URL.
func deployedCheck(name, parent string, f *functionspb.Function, isHTTP bool) smokeCheck {
	ch := smokeCheck{Result: smokeFail, Function: name, Check: "deployed"}
	if f == nil {
		ch.Detail = "no function " + name + " in " + parent
		return ch
	}
	ch.State = f.GetState().String()
	// The cloudfunctions.net URL first: it is one of the audiences the
	// function accepts (HIRING_AUTH_AUDIENCE), while ServiceConfig.Uri may
	// be the hash-based run.app URL, which is not.
	ch.URL = f.GetUrl()
	if ch.URL == "" {
		ch.URL = f.GetServiceConfig().GetUri()
	}
	switch {
	case f.GetState() != functionspb.Function_ACTIVE:
		msgs := []string{"state " + ch.State + ", want ACTIVE"}
		for _, m := range f.GetStateMessages() {
			msgs = append(msgs, m.GetType()+": "+m.GetMessage())
		}
		ch.Detail = strings.Join(msgs, "; ")
	case isHTTP && ch.URL == "":
		ch.Detail = "ACTIVE but without a URL"
	default:
		ch.Result = smokeOK
	}
	return ch
}

// mint returns the bearer token for a function whose URL is audience.
func (c *smokeCmd) mint(ctx context.Context, audience string) (string, error) {
	if c.Token != "" {
		return c.Token, nil
	}
	var ts oauth2.TokenSource
	var err error
	if c.ImpersonateServiceAccount != "" {
		ts, err = impersonate.IDTokenSource(ctx, impersonate.IDTokenConfig{
			Audience: audience, TargetPrincipal: c.ImpersonateServiceAccount,
			// The functions map the email claim to roles.
			IncludeEmail: true,
		})
	} else {
		ts, err = idtoken.NewTokenSource(ctx, audience)
	}
	var tok *oauth2.Token
	if err == nil {
		tok, err = ts.Token()
	}
	switch {
	case err == nil:
		return tok.AccessToken, nil
	case c.ImpersonateServiceAccount != "":
		return "", withHint(fmt.Errorf("an ID token for %s as %s: %w", audience, c.ImpersonateServiceAccount, err),
			"you need roles/iam.serviceAccountTokenCreator on "+c.ImpersonateServiceAccount+", and the IAM Service Account Credentials API enabled in its project")
	}
	return "", withHint(fmt.Errorf("the application default credentials cannot mint an ID token for %s: %w", audience, err),
		"user credentials (gcloud auth application-default login) cannot mint ID tokens: pass --impersonate-service-account EMAIL "+
			"of a service account with a role on the functions, or --token")
}

// maxAnswerBytes bounds the answers read; the OpenAPI documents are the
// largest.
const maxAnswerBytes = 8 << 20

// smokeTarget is a deployed HTTP function and the token to call it with.
type smokeTarget struct {
	// name is the deployed name.
	name string
	// url is the function's URL, the token's audience.
	url     string
	token   string
	timeout time.Duration
	con     *console
}

// call sends a request and checks its answer: the status is want, then
// verify accepts the body and says what it saw.
func (t smokeTarget) call(ctx context.Context, method, path string, body []byte, header http.Header, want int, verify func([]byte) (string, error)) smokeCheck {
	ch := smokeCheck{Result: smokeFail, Function: t.name, Check: method + " " + path}
	fmt.Fprintf(t.con.Stderr, "%s: %s\n", t.name, ch.Check)
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	var payload io.Reader
	if body != nil {
		payload = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(t.url, "/")+path, payload)
	if err != nil {
		ch.Detail = err.Error()
		return ch
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+t.token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ch.MS = time.Since(start).Milliseconds()
		ch.Detail = err.Error()
		return ch
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	ch.MS = time.Since(start).Milliseconds()
	ch.HTTPStatus = resp.StatusCode
	switch {
	case err != nil:
		ch.Detail = "reading the answer: " + err.Error()
	case resp.StatusCode != want:
		ch.Detail = fmt.Sprintf("want %d, got %s", want, answerSummary(resp.Status, data))
	default:
		if ch.Detail, err = verify(data); err != nil {
			ch.Detail = err.Error()
		} else {
			ch.Result = smokeOK
		}
	}
	return ch
}

// answerSummary describes an unexpected answer: its problem code and detail,
// or the start of its body.
func answerSummary(status string, data []byte) string {
	var p httpapi.Problem
	if json.Unmarshal(data, &p) == nil && p.Code != "" {
		return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail)
	}
	text := strings.Join(strings.Fields(string(data)), " ")
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	if text == "" {
		return status
	}
	return status + ": " + text
}

// decodeJSON decodes an answer, naming what it should have been.
func decodeJSON(data []byte, what string, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("the answer is not %s: %w", what, err)
	}
	return nil
}

// departmentsAboveMean reads a metric: a JSON answer with rows.
func (t smokeTarget) departmentsAboveMean(ctx context.Context, year int) smokeCheck {
	return t.call(ctx, http.MethodGet, "/departments-above-mean?year="+strconv.Itoa(year), nil, nil, http.StatusOK, func(data []byte) (string, error) {
		var res struct {
			Year int                      `json:"year"`
			Rows *[]metrics.DepartmentRow `json:"rows"`
		}
		if err := decodeJSON(data, "departments above the mean", &res); err != nil {
			return "", err
		}
		if res.Rows == nil {
			return "", errors.New("the answer has no rows")
		}
		if res.Year != year {
			return "", fmt.Errorf("the answer is for year %d, want %d", res.Year, year)
		}
		return fmt.Sprintf("%d departments above the mean in %d", len(*res.Rows), year), nil
	})
}

// openAPI reads the function's OpenAPI document.
func (t smokeTarget) openAPI(ctx context.Context) smokeCheck {
	return t.call(ctx, http.MethodGet, "/openapi.json", nil, nil, http.StatusOK, func(data []byte) (string, error) {
		var doc struct {
			OpenAPI string `json:"openapi"`
			Info    struct {
				Title string `json:"title"`
			} `json:"info"`
		}
		if err := decodeJSON(data, "an OpenAPI document", &doc); err != nil {
			return "", err
		}
		if doc.OpenAPI == "" {
			return "", errors.New("the answer is not an OpenAPI document: no openapi member")
		}
		return fmt.Sprintf("OpenAPI %s, %s", doc.OpenAPI, doc.Info.Title), nil
	})
}

// refuseInvalidRow sends one invalid row with atomic=true, which insert-rows
// must refuse whole: the row goes to rejected_rows, nothing to jobs.
func (t smokeTarget) refuseInvalidRow(ctx context.Context) smokeCheck {
	body := []byte(`{"rows":[{"id":0,"job":"hiring smoke: an invalid row"}]}`)
	header := http.Header{
		"Content-Type": {"application/json"},
		// A new key per run, so that the row is validated again rather than
		// answered from a kept answer.
		"Idempotency-Key": {"hiring-smoke-" + strconv.FormatInt(time.Now().UnixNano(), 36)},
	}
	return t.call(ctx, http.MethodPost, "/tables/jobs/rows?atomic=true", body, header, http.StatusUnprocessableEntity, func(data []byte) (string, error) {
		var p httpapi.Problem
		if err := decodeJSON(data, "a problem detail", &p); err != nil {
			return "", err
		}
		if p.Code != "invalid_rows" {
			return "", fmt.Errorf("want problem invalid_rows, got %q: %s", p.Code, p.Detail)
		}
		return "refused as it should be: " + p.Detail, nil
	})
}

// restoreDryRun lists the backups of departments and, when there is one,
// verifies the latest with a dry run.
func (t smokeTarget) restoreDryRun(ctx context.Context) []smokeCheck {
	const table = "departments"
	var backups []backup.Summary
	list := t.call(ctx, http.MethodGet, "/backups?table="+table, nil, nil, http.StatusOK, func(data []byte) (string, error) {
		var res struct {
			Backups *[]backup.Summary `json:"backups"`
		}
		if err := decodeJSON(data, "a list of backups", &res); err != nil {
			return "", err
		}
		if res.Backups == nil {
			return "", errors.New("the answer has no backups")
		}
		// A corrupt backup is listed too, and latest skips it.
		backups = slices.DeleteFunc(*res.Backups, func(s backup.Summary) bool { return s.Status != backup.StatusComplete })
		if len(backups) == 0 {
			return "no complete backup of " + table, nil
		}
		return fmt.Sprintf("%d complete backup(s) of %s, the latest %s", len(backups), table, backups[0].BackupID), nil
	})
	dry := smokeCheck{Result: smokeSkip, Function: t.name, Check: "POST /restore"}
	switch {
	case list.Result != smokeOK:
		dry.Detail = "not called: the backups could not be listed"
	case len(backups) == 0:
		dry.Detail = "not called: no backup of " + table + " to verify; `hiring backup` or the scheduled backup makes one"
	default:
		body, err := json.Marshal(backup.RestoreRequest{Table: table, BackupID: "latest", DryRun: true})
		if err != nil {
			dry.Result, dry.Detail = smokeFail, err.Error()
			break
		}
		header := http.Header{"Content-Type": {"application/json"}}
		dry = t.call(ctx, http.MethodPost, "/restore", body, header, http.StatusOK, func(data []byte) (string, error) {
			var res backup.RestoreResult
			if err := decodeJSON(data, "a restore result", &res); err != nil {
				return "", err
			}
			if !res.DryRun {
				return "", fmt.Errorf("the answer is not a dry run: %d rows loaded into %s", res.RowsLoaded, res.Target)
			}
			return fmt.Sprintf("dry run: backup %s of %s is restorable, %d rows in %d files", res.BackupID, res.Table, res.Rows, res.Files), nil
		})
	}
	return []smokeCheck{list, dry}
}

// printSmoke prints one line per check and a summary.
func printSmoke(con *console, parent string, rep smokeReport) error {
	tw := tabwriter.NewWriter(con.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "result\tfunction\tcheck\tstatus\tms\tdetail")
	for _, ch := range rep.Checks {
		result := ch.Result
		if result == smokeFail {
			result = "FAIL"
		}
		st, ms, detail := "-", "-", ch.Detail
		switch {
		case ch.Check == "deployed":
			if ch.State != "" {
				st = ch.State
			}
			if ch.URL != "" {
				detail = strings.TrimSpace(ch.URL + " " + detail)
			}
		case ch.Result != smokeSkip:
			ms = strconv.FormatInt(ch.MS, 10)
			if ch.HTTPStatus != 0 {
				st = strconv.Itoa(ch.HTTPStatus)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", result, ch.Function, ch.Check, st, ms, detail)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(con.Stdout, "%s, prefix %s: %d checks, %d ok, %d failed, %d skipped\n",
		parent, rep.Prefix, len(rep.Checks), rep.OK, rep.Failed, rep.Skipped)
	return err
}

// writes runs the two checks that write: a CSV file dropped in the landing
// bucket must reach ingest_log through the Eventarc trigger and load-csv,
// and the backup schedule, run once, must write a new backup. It returns an
// error only when a client cannot be made.
func (c *smokeCmd) writes(ctx context.Context, con *console) ([]smokeCheck, error) {
	gcs, err := clients.Storage(ctx, c.StorageEndpoint)
	if err != nil {
		return nil, withHint(err, "sign in with `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS")
	}
	defer gcs.Close()
	bq, err := clients.BigQuery(ctx, config.Google{Project: c.Project, Dataset: c.Dataset, BigQueryEndpoint: c.BigQueryEndpoint})
	if err != nil {
		return nil, withHint(err, "sign in with `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS")
	}
	defer bq.Close()
	var opts []option.ClientOption
	if c.SchedulerEndpoint != "" {
		opts = append(opts, option.WithEndpoint(c.SchedulerEndpoint), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	sched, err := scheduler.NewCloudSchedulerClient(ctx, opts...)
	if err != nil {
		return nil, withHint(fmt.Errorf("scheduler.NewCloudSchedulerClient: %w", err),
			"sign in with `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS")
	}
	defer sched.Close()
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	return []smokeCheck{c.dropFile(ctx, con, gcs, bq, run), c.runBackupSchedule(ctx, con, gcs, sched)}, nil
}

// smokeCSV is the file smoke drops: one department whose id, 0, is invalid,
// so that load-csv records the file REJECTED and its row in rejected_rows,
// and no data table gets a row.
const smokeCSV = "id,department\n0,hiring smoke: an invalid department\n"

// dropFile uploads smokeCSV as departments/hiring-smoke-<run>.csv, waits
// for its ingest_log row, then deletes the object.
func (c *smokeCmd) dropFile(ctx context.Context, con *console, gcs *storage.Client, bq *bigquery.Client, run string) (ch smokeCheck) {
	loadCSV := c.Prefix + "-load-csv"
	name := "departments/hiring-smoke-" + run + ".csv"
	ch = smokeCheck{Result: smokeFail, Function: loadCSV, Check: "drop gs://" + c.LandingBucket + "/" + name}
	fmt.Fprintf(con.Stderr, "%s: %s\n", loadCSV, ch.Check)
	start := time.Now()
	defer func() { ch.MS = time.Since(start).Milliseconds() }()
	obj := gcs.Bucket(c.LandingBucket).Object(name)
	w := obj.If(storage.Conditions{DoesNotExist: true}).NewWriter(ctx)
	w.ContentType = "text/csv"
	if _, err := io.WriteString(w, smokeCSV); err != nil {
		_ = w.Close()
		ch.Detail = "uploading: " + err.Error()
		return ch
	}
	if err := w.Close(); err != nil {
		ch.Detail = "uploading: " + err.Error()
		return ch
	}
	got, err := c.ingestLogRow(ctx, bq, c.LandingBucket, name, w.Attrs().Generation)
	// The object is removed whatever happened: the landing bucket keeps it
	// as a noncurrent version for landing_noncurrent_days.
	cleanup := ""
	if derr := obj.Delete(ctx); derr != nil {
		cleanup = "; deleting it: " + derr.Error()
	}
	switch {
	case err != nil:
		ch.Detail = err.Error() + cleanup
	case got.Outcome != string(ingest.Rejected) || got.RowsRejected != 1 || got.RowsLoaded != 0:
		ch.Detail = fmt.Sprintf("ingest_log: %s, %d rows loaded, %d rejected, want REJECTED with its 1 invalid row rejected: %s%s",
			got.Outcome, got.RowsLoaded, got.RowsRejected, got.Message.StringVal, cleanup)
	case cleanup != "":
		ch.Detail = "ingest_log: REJECTED as it should be" + cleanup
	default:
		ch.Result = smokeOK
		ch.Detail = fmt.Sprintf("ingest_log: REJECTED as it should be, 1 row in rejected_rows, after %s; object deleted", time.Since(start).Round(time.Second))
	}
	return ch
}

// ingestRow is what dropFile reads of an ingest_log row.
type ingestRow struct {
	Outcome      string              `bigquery:"outcome"`
	Message      bigquery.NullString `bigquery:"message"`
	RowsLoaded   int64               `bigquery:"rows_loaded"`
	RowsRejected int64               `bigquery:"rows_rejected"`
}

// ingestLogRow polls ingest_log for the row of one object generation until
// --wait has passed.
func (c *smokeCmd) ingestLogRow(ctx context.Context, bq *bigquery.Client, bucket, name string, generation int64) (ingestRow, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Wait)
	defer cancel()
	q := bq.Query(fmt.Sprintf("SELECT outcome, message, rows_loaded, rows_rejected FROM `%s.%s` WHERE bucket = @bucket AND object = @object AND generation = @generation LIMIT 1",
		c.Dataset, warehouse.IngestLog))
	q.Parameters = []bigquery.QueryParameter{{Name: "bucket", Value: bucket}, {Name: "object", Value: name}, {Name: "generation", Value: generation}}
	for {
		it, err := q.Read(ctx)
		if err == nil {
			var row ingestRow
			switch err = it.Next(&row); {
			case err == nil:
				return row, nil
			case errors.Is(err, iterator.Done):
				err = nil
			}
		}
		if err != nil && ctx.Err() == nil {
			return ingestRow{}, fmt.Errorf("reading %s.%s: %w", c.Dataset, warehouse.IngestLog, err)
		}
		select {
		case <-ctx.Done():
			return ingestRow{}, fmt.Errorf("no %s row for the file after %s: check the Eventarc trigger and load-csv's logs", warehouse.IngestLog, c.Wait)
		case <-time.After(c.Poll):
		}
	}
}

// runBackupSchedule runs the backup-tables scheduler job once and waits for
// a backup that was not there before, whose manifest must list every
// table.
func (c *smokeCmd) runBackupSchedule(ctx context.Context, con *console, gcs *storage.Client, sched *scheduler.CloudSchedulerClient) (ch smokeCheck) {
	job := "projects/" + c.Project + "/locations/" + c.Region + "/jobs/" + c.Prefix + "-backup-tables"
	ch = smokeCheck{Result: smokeFail, Function: c.Prefix + "-backup-tables", Check: "run " + job}
	fmt.Fprintf(con.Stderr, "%s: %s\n", ch.Function, ch.Check)
	start := time.Now()
	defer func() { ch.MS = time.Since(start).Milliseconds() }()
	bucket := gcs.Bucket(c.BackupBucket)
	before, err := backupFolders(ctx, bucket)
	if err != nil {
		ch.Detail = err.Error()
		return ch
	}
	if _, err := sched.RunJob(ctx, &schedulerpb.RunJobRequest{Name: job}); err != nil {
		ch.Detail = fmt.Sprintf("running the job: %v", err)
		return ch
	}
	ctx, cancel := context.WithTimeout(ctx, c.Wait)
	defer cancel()
	for {
		m, err := newManifest(ctx, bucket, before)
		switch {
		case err != nil && ctx.Err() == nil:
			ch.Detail = err.Error()
			return ch
		case m != nil:
			return manifestCheck(ch, m, start)
		}
		select {
		case <-ctx.Done():
			ch.Detail = fmt.Sprintf("no new backup manifest in gs://%s after %s: check the job's last attempt in Cloud Scheduler and backup-tables' logs", c.BackupBucket, c.Wait)
			return ch
		case <-time.After(c.Poll):
		}
	}
}

// manifestCheck checks a new backup's manifest: every dictionary table,
// each with its files.
func manifestCheck(ch smokeCheck, m *backup.Manifest, start time.Time) smokeCheck {
	var rows int64
	var missing []string
	for _, name := range dictionary.Default().Names() {
		i := slices.IndexFunc(m.Tables, func(t backup.TableBackup) bool { return t.Table == name })
		if i < 0 || len(m.Tables[i].Files) == 0 {
			missing = append(missing, name)
			continue
		}
		rows += m.Tables[i].Rows
	}
	if len(missing) > 0 {
		ch.Detail = fmt.Sprintf("backup %s: no files for %s", m.BackupID, strings.Join(missing, ", "))
		return ch
	}
	ch.Result = smokeOK
	ch.Detail = fmt.Sprintf("backup %s: %d tables, %d rows, after %s; kept until backup_retention_days", m.BackupID, len(m.Tables), rows, time.Since(start).Round(time.Second))
	return ch
}

// backupFolders lists the top-level folders of the backup bucket: one per
// backup id.
func backupFolders(ctx context.Context, bucket *storage.BucketHandle) (map[string]bool, error) {
	out := map[string]bool{}
	it := bucket.Objects(ctx, &storage.Query{Delimiter: "/"})
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("listing the backups: %w", err)
		}
		if a.Prefix != "" {
			out[a.Prefix] = true
		}
	}
}

// newManifest returns the manifest of a backup folder that is not in
// before, once one has its manifest, or nil.
func newManifest(ctx context.Context, bucket *storage.BucketHandle, before map[string]bool) (*backup.Manifest, error) {
	now, err := backupFolders(ctx, bucket)
	if err != nil {
		return nil, err
	}
	for _, folder := range slices.Sorted(maps.Keys(now)) {
		if before[folder] {
			continue
		}
		r, err := bucket.Object(folder + backup.ManifestName).NewReader(ctx)
		if errors.Is(err, storage.ErrObjectNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s%s: %w", folder, backup.ManifestName, err)
		}
		var m backup.Manifest
		err = json.NewDecoder(io.LimitReader(r, maxAnswerBytes)).Decode(&m)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("%s%s is not a manifest: %w", folder, backup.ManifestName, err)
		}
		return &m, nil
	}
	return nil, nil
}
