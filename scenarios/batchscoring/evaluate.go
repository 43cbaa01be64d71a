package batchscoring

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/ops/topk"
)

// Eval sums up an output folder of Parquet files.
type Eval struct {
	Files  int
	Rows   int
	Errors int // rows with an error
	// Labelled counts the scored rows whose image sits in a folder (its name taken as the true
	// label, the ImageFolder layout); Top1 and TopK count those whose label, or one of whose
	// top-k labels, is that name.
	Labelled, Top1, TopK int
	// Failed lists the failed rows' paths with their errors, sorted by path.
	Failed []Failure
	// Labels maps each row's path to its label ("" for a failed row); Duplicates lists the
	// paths found in more than one row (none, in a sound output).
	Labels     map[string]string
	Duplicates []string
}

// Failure is an error row.
type Failure struct{ Path, Error string }

// Accuracy is Top1 / Labelled (0 when nothing is labelled).
func (e Eval) Accuracy() float64 {
	if e.Labelled == 0 {
		return 0
	}
	return float64(e.Top1) / float64(e.Labelled)
}

// TopKAccuracy is TopK / Labelled.
func (e Eval) TopKAccuracy() float64 {
	if e.Labelled == 0 {
		return 0
	}
	return float64(e.TopK) / float64(e.Labelled)
}

// String is the summary line of the CLI.
func (e Eval) String() string {
	s := fmt.Sprintf("%d rows in %d files, %d errors", e.Rows, e.Files, e.Errors)
	if len(e.Duplicates) > 0 {
		s += fmt.Sprintf(", %d duplicated paths", len(e.Duplicates))
	}
	if e.Labelled > 0 {
		s += fmt.Sprintf("; accuracy %.1f%% top-1 (%d/%d), %.1f%% top-k", 100*e.Accuracy(), e.Top1, e.Labelled, 100*e.TopKAccuracy())
	}
	return s
}

// Evaluate reads the part-*.parquet files of dir.
func Evaluate(ctx context.Context, dir string) (Eval, error) {
	files, err := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	if err != nil {
		return Eval{}, err
	}
	sort.Strings(files)
	e := Eval{Labels: map[string]string{}}
	for _, f := range files {
		if err := e.add(ctx, f); err != nil {
			return e, fmt.Errorf("%s: %w", f, err)
		}
		e.Files++
	}
	sort.Slice(e.Failed, func(i, j int) bool { return e.Failed[i].Path < e.Failed[j].Path })
	return e, nil
}

func (e *Eval) add(ctx context.Context, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return err
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	tbl, err := fr.ReadTable(ctx)
	if err != nil {
		return err
	}
	defer tbl.Release()
	tr := array.NewTableReader(tbl, 4096)
	defer tr.Release()
	for tr.Next() {
		if err := e.batch(tr.RecordBatch()); err != nil {
			return err
		}
	}
	return tr.Err()
}

func (e *Eval) batch(b arrow.RecordBatch) error {
	col := func(name string) (arrow.Array, error) {
		idx := b.Schema().FieldIndices(name)
		if len(idx) == 0 {
			return nil, fmt.Errorf("no %q column", name)
		}
		return b.Column(idx[0]), nil
	}
	paths := dataflow.Paths(b)
	errs := dataflow.Errors(b)
	lc, err := col(topk.LabelColumn)
	if err != nil {
		return err
	}
	tc, err := col(topk.TopLabelsColumn)
	if err != nil {
		return err
	}
	labels, ok1 := lc.(*array.String)
	top, ok2 := tc.(*array.List)
	if paths == nil || errs == nil || !ok1 || !ok2 {
		return fmt.Errorf("not a scoring output: %s", b.Schema())
	}
	topv, ok := top.ListValues().(*array.String)
	if !ok {
		return fmt.Errorf("not a scoring output: %s", b.Schema())
	}
	for i := 0; i < int(b.NumRows()); i++ {
		e.Rows++
		p := paths.Value(i)
		if _, dup := e.Labels[p]; dup {
			e.Duplicates = append(e.Duplicates, p)
		}
		if labels.IsValid(i) {
			e.Labels[p] = labels.Value(i)
		} else {
			e.Labels[p] = ""
		}
		if errs.IsValid(i) {
			e.Errors++
			e.Failed = append(e.Failed, Failure{Path: p, Error: errs.Value(i)})
			continue
		}
		dir := path.Dir(p)
		if dir == "." {
			continue
		}
		truth := path.Base(dir)
		e.Labelled++
		if labels.IsValid(i) && labels.Value(i) == truth {
			e.Top1++
		}
		start, end := top.ValueOffsets(i)
		for j := start; j < end; j++ {
			if topv.Value(int(j)) == truth {
				e.TopK++
				break
			}
		}
	}
	return nil
}
