package gen

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
)

// fileGen generates the rows of one table's file.
type fileGen struct {
	opts    Options
	table   *dictionary.Table
	rows    int64
	rng     *rand.Rand
	values  []valueFunc
	defects []defect
	used    []int // per defect, how many rows it made invalid
	fields  [][]byte
	summary FileSummary
}

func newFileGen(opts Options, t *dictionary.Table, rows int64) (*fileGen, error) {
	g := &fileGen{
		opts:    opts,
		table:   t,
		rows:    rows,
		rng:     rand.New(rand.NewPCG(uint64(opts.Seed), stream(t.Name))),
		defects: defectsFor(t),
		fields:  make([][]byte, len(t.Fields)),
		summary: FileSummary{
			Table:         t.Name,
			Path:          filepath.Join(opts.Dir, t.Name+".csv"),
			Rows:          rows,
			InvalidByRule: make(map[dictionary.Rule]int64, len(dictionary.Rules)),
		},
	}
	g.used = make([]int, len(g.defects))
	for _, f := range t.Fields {
		v, ok := columnValues[t.Name+"."+f.Name]
		if !ok {
			return nil, fmt.Errorf("no generator of values for column %s.%s", t.Name, f.Name)
		}
		g.values = append(g.values, v)
	}
	for _, r := range dictionary.Rules {
		g.summary.InvalidByRule[r] = 0
	}
	return g, nil
}

// stream derives a file's random stream from its table name, so that each
// file has its own sequence and the number of rows of one file does not
// change the others.
func stream(table string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(table))
	return h.Sum64()
}

// write writes the rows and counts them in g.summary.
func (g *fileGen) write(ctx context.Context, w *bufio.Writer) error {
	for id := int64(1); id <= g.rows; id++ {
		if id%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("stopped after %d rows: %w", id-1, err)
			}
		}
		row := g.fields
		for i, value := range g.values {
			row[i] = value(g, id, row[i][:0])
		}
		if g.rng.Float64() < g.opts.InvalidRatio {
			row = g.corrupt(row)
		} else {
			g.summary.Valid++
		}
		for i, field := range row {
			if i > 0 {
				w.WriteByte(',')
			}
			w.Write(field)
		}
		// bufio.Writer errors are sticky: checking the last write of a row
		// catches any error of the row, such as a full disk.
		if _, err := w.WriteString("\r\n"); err != nil {
			return err
		}
		if g.opts.Progress != nil && id%ProgressEvery == 0 {
			g.opts.Progress(Progress{File: filepath.Base(g.summary.Path), Written: id, Total: g.rows})
		}
	}
	return nil
}

// corrupt gives a valid row one defect, the next one in turn.
func (g *fileGen) corrupt(row [][]byte) [][]byte {
	k := int(g.summary.Invalid % int64(len(g.defects)))
	d := g.defects[k]
	column := d.columns[g.rng.IntN(len(d.columns))]
	variant := g.used[k] % d.variants
	g.used[k]++
	g.summary.Invalid++
	g.summary.InvalidByRule[d.rule]++
	return d.apply(g, row, column, variant)
}

// writeFile writes a file through a temporary file in the same folder, so
// that path holds either its old content or the complete new one.
func writeFile(path string, write func(*bufio.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := write(w); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
