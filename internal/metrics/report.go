package metrics

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
)

//go:embed report.html
var reportHTML string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"f1": func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"f2": func(v float64) string { return fmt.Sprintf("%.2f", v) },
	// barEnd is where a row's bars end, for its value label.
	"barEnd": func(r barRow) float64 {
		end := chartLabelWidth
		for _, s := range r.Segments {
			end = s.X + s.Width
		}
		return end
	},
}).Parse(reportHTML))

// Chart geometry, in SVG user units.
const (
	chartLabelWidth = 210.0
	chartBarWidth   = 560.0
	chartRowHeight  = 26.0
	chartTop        = 40.0
	chartBottom     = 50.0
)

// quarterColors tell the quarters apart, with enough contrast to print.
var quarterColors = [4]string{"#1b4f72", "#2e86c1", "#85c1e9", "#d4e6f1"}

// segment is a drawn rectangle.
type segment struct {
	X, Width float64
	Color    string
	Label    string
}

// barRow is one labelled row of a bar chart.
type barRow struct {
	Label     string
	Y         float64
	Segments  []segment
	Total     int64
	AboveMean bool
}

// axisTick is a tick of a chart's value axis.
type axisTick struct {
	X     float64
	Label string
}

// chart is a horizontal bar chart.
type chart struct {
	Height, BarHeight float64
	Rows              []barRow
	Ticks             []axisTick
	AxisY             float64
	MeanX             float64
}

// reportData is what the report template draws.
type reportData struct {
	Year         int
	Years        []int
	Hires        int64
	Quarters     [4]int64
	Rows         []QuarterRow
	Departments  Departments
	AboveMean    []DepartmentRow
	Quarter      chart
	Hired        chart
	Colors       [4]string
	QuarterNames [4]string
	Generated    string
}

// Report renders the report of a year: one self-contained HTML page. Its
// three queries run at once.
func (s *Service) Report(ctx context.Context, year int) ([]byte, error) {
	var (
		rows  []QuarterRow
		deps  Departments
		years []int
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { rows, err = s.HiresByQuarter(gctx, year); return err })
	g.Go(func() (err error) { deps, err = s.Departments(gctx, year); return err })
	g.Go(func() (err error) { years, err = s.Years(gctx); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if !slices.Contains(years, year) {
		years = append(years, year)
		slices.Sort(years)
	}
	d := reportData{Year: year, Years: years, Rows: rows, Departments: deps, AboveMean: deps.AboveMean(),
		Colors: quarterColors, QuarterNames: [4]string{"Q1", "Q2", "Q3", "Q4"}, Generated: time.Now().UTC().Format(time.RFC3339)}
	for _, r := range rows {
		for i, n := range [4]int64{r.Q1, r.Q2, r.Q3, r.Q4} {
			d.Quarters[i] += n
		}
	}
	d.Hires = d.Quarters[0] + d.Quarters[1] + d.Quarters[2] + d.Quarters[3]
	d.Quarter = quarterChart(rows)
	d.Hired = hiredChart(deps)
	var buf bytes.Buffer
	if err := reportTemplate.Execute(&buf, d); err != nil {
		return nil, fmt.Errorf("render the report: %w", err)
	}
	return buf.Bytes(), nil
}

// quarterChart stacks each department's hires by quarter.
func quarterChart(rows []QuarterRow) chart {
	byDept := map[string]*[4]int64{}
	var names []string
	for _, r := range rows {
		q, ok := byDept[r.Department]
		if !ok {
			q = &[4]int64{}
			byDept[r.Department] = q
			names = append(names, r.Department)
		}
		for i, n := range [4]int64{r.Q1, r.Q2, r.Q3, r.Q4} {
			q[i] += n
		}
	}
	var top int64
	for _, q := range byDept {
		top = max(top, q[0]+q[1]+q[2]+q[3])
	}
	c := newChart(len(names), top)
	scale := c.scale(top)
	for i, name := range names {
		q := byDept[name]
		row := barRow{Label: name, Y: chartTop + float64(i)*chartRowHeight}
		x := chartLabelWidth
		for j, n := range q {
			w := float64(n) * scale
			row.Segments = append(row.Segments, segment{X: x, Width: w, Color: quarterColors[j], Label: fmt.Sprintf("Q%d: %d", j+1, n)})
			x += w
			row.Total += n
		}
		c.Rows = append(c.Rows, row)
	}
	return c
}

// hiredChart draws every department's hires with the mean as a line.
func hiredChart(d Departments) chart {
	var top int64
	for _, r := range d.All {
		top = max(top, r.Hired)
	}
	c := newChart(len(d.All), top)
	scale := c.scale(top)
	for i, r := range d.All {
		c.Rows = append(c.Rows, barRow{
			Label: r.Department, Y: chartTop + float64(i)*chartRowHeight, Total: r.Hired, AboveMean: r.AboveMean,
			Segments: []segment{{X: chartLabelWidth, Width: float64(r.Hired) * scale, Label: fmt.Sprintf("%d hires", r.Hired)}},
		})
	}
	c.MeanX = chartLabelWidth + d.Mean*scale
	return c
}

// newChart lays out a chart of rows bars whose longest is top hires.
func newChart(rows int, top int64) chart {
	c := chart{Height: chartTop + float64(rows)*chartRowHeight + chartBottom, BarHeight: chartRowHeight - 8}
	c.AxisY = chartTop + float64(rows)*chartRowHeight
	step := tickStep(top)
	for v := int64(0); v <= max(top, step); v += step {
		c.Ticks = append(c.Ticks, axisTick{X: chartLabelWidth + float64(v)*c.scale(top), Label: fmt.Sprint(v)})
	}
	return c
}

// scale is SVG units per hire.
func (c chart) scale(top int64) float64 {
	if top == 0 {
		return 0
	}
	return chartBarWidth / float64(top)
}

// tickStep picks a round step giving about five ticks.
func tickStep(top int64) int64 {
	step := int64(1)
	for top/step > 5 {
		switch {
		case top/(step*2) <= 5:
			return step * 2
		case top/(step*5) <= 5:
			return step * 5
		}
		step *= 10
	}
	return step
}

func (s *Service) report(r *http.Request) (any, error) {
	y, err := year(r)
	if err != nil {
		return nil, err
	}
	page, err := s.Report(r.Context(), y)
	if err != nil {
		return nil, unavailable("the report", err)
	}
	return httpapi.Answer{Status: http.StatusOK, ContentType: "text/html; charset=utf-8", Body: page, Header: http.Header{
		"Content-Security-Policy": {"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; form-action 'self'"},
	}}, nil
}
