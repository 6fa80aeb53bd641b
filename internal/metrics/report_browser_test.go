package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds the browser: $CHROMIUM, or chromium on the PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("Chromium is required in CI: .ci/run installs Debian's chromium package")
	}
	t.Skip("Chromium is not installed (apt-get install chromium); CI runs this test")
	return ""
}

// artifactDir is where tests leave files to look at: $HIRING_ARTIFACTS, or
// out/artifacts at the repository's root.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HIRING_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "out", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReport_Browser opens the report of 2021 in headless Chromium and checks
// what it draws and how its table and year selector behave.
func TestReport_Browser(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	e := challenge(t)

	_, _, body := e.get(t, "/hires-by-quarter?year=2021")
	var q quarters
	if err := json.Unmarshal(body, &q); err != nil {
		t.Fatal(err)
	}
	support := 0
	for _, r := range q.Rows {
		if strings.Contains(strings.ToLower(r.Department+" "+r.Job), "support") {
			support++
		}
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1200, 1600))
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	steps := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("driving the report: %v", err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	eval := func(js string) float64 {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[float64](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}

	steps(chromedp.Navigate(e.url+"/report?year=2021"), chromedp.WaitVisible(chromedp.CSS("#department-chart")))
	above := eval(`document.querySelectorAll("#department-chart rect.bar.above-mean").length`)
	meanHeight := eval(`document.getElementById("mean-line") ? document.getElementById("mean-line").getBBox().height : 0`)
	statement := text("#mean-statement")
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	steps(chromedp.SendKeys(chromedp.CSS("#table-search"), "Support"))
	visible := eval(`document.querySelectorAll("#hires-table tbody tr:not([hidden])").length`)
	count := text("#row-count")
	steps(chromedp.Click(chromedp.CSS(`#hires-table th button[data-col="2"]`)), chromedp.Click(chromedp.CSS(`#hires-table th button[data-col="2"]`)))
	firstQ1 := text(`#hires-table tbody tr:not([hidden]) td:nth-child(3)`)
	// Choosing a year fires the selector's change event, which loads that
	// year's report.
	steps(chromedp.SetValue(chromedp.CSS("#year"), "2022"), chromedp.WaitVisible(chromedp.Search(`//h1[text()="Hiring report 2022"]`)))
	total2022 := text("#total-hires")

	path := filepath.Join(artifactDir(t), "report-2021.jpg")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(shot))

	if above != 7 {
		t.Errorf("%v bars marked above the mean, want 7", above)
	}
	if meanHeight <= 0 {
		t.Error("no visible mean line")
	}
	if !strings.Contains(statement, "136.92") || !strings.Contains(statement, "1643 hires over 12 departments") {
		t.Errorf("the mean is not stated: %q", statement)
	}
	if int(visible) != support || count != fmt.Sprintf("%d of %d rows", support, len(q.Rows)) {
		t.Errorf("after searching Support: %v rows shown, counter %q; want %d of %d", visible, count, support, len(q.Rows))
	}
	maxQ1 := int64(0)
	for _, r := range q.Rows {
		if strings.Contains(strings.ToLower(r.Department+" "+r.Job), "support") && r.Q1 > maxQ1 {
			maxQ1 = r.Q1
		}
	}
	if firstQ1 != strconv.FormatInt(maxQ1, 10) {
		t.Errorf("sorted by Q1 descending, the first row has Q1 %s, want %d", firstQ1, maxQ1)
	}
	if total2022 != "286" {
		t.Errorf("the year selector shows %s hires for 2022, want 286", total2022)
	}
}
