package dataflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow/ledger"
	"github.com/sluice-ml/sluice/engine/dataflow/partition"
)

// WriterFactory opens the writer of one partition file (package ops/writers has Parquet,
// Arrow IPC, CSV and text). The Sink it returns writes to w and must not close w: the engine
// syncs, closes and renames the file after the Sink's Close.
type WriterFactory interface {
	// Ext is the file name extension, with its dot (".parquet").
	Ext() string
	NewWriter(ctx context.Context, w io.Writer, schema *arrow.Schema, mem memory.Allocator) (Sink, error)
}

// Partitioned describes the input and output of RunPartitioned.
type Partitioned struct {
	Partitions []partition.Partition
	// Dir is the output folder; partition p is committed as Dir/part-<p.ID><Ext>.
	Dir    string
	Writer WriterFactory
	// Ledger records committed partitions and their items; with nil, nothing is skipped.
	Ledger *ledger.Ledger
	// Key names what the output was made with (model, code, parameters): the ledger keeps one
	// set of partitions per key.
	Key string
	// BatchRows caps the rows of the item batches fed to the first stage (0: a whole
	// partition per batch — then a mini-batch is exactly one batch, as in ParallelRunStep).
	BatchRows int
	// KeepStale keeps part-* files of the output folder that are not partitions of this run;
	// by default a successful run removes them, so the folder holds exactly this input's rows.
	KeepStale bool
	// OnCommit, when set, is called in the sink after each partition this run commits (file
	// renamed, ledger recorded) with its items' records; an error fails the run, the partition
	// staying committed here. It publishes partitions elsewhere as they commit (a Blob output).
	OnCommit func(ctx context.Context, p CommittedPartition, items []ledger.Item) error
}

// CommittedPartition is a partition of the output.
type CommittedPartition struct {
	ID          string
	File        string // path of the committed file
	Rows        int64
	FailedItems int64
	Failed      bool // a mini-batch of it failed on every try
	Skipped     bool // committed by an earlier run
}

// partState is a partition in flight.
type partState struct {
	p      *partition.Partition
	failed atomic.Bool // set by the stage that gave up on one of its batches
	// The rest is the sink goroutine's.
	index  map[string]int
	row    []int64
	errs   []string
	seen   int64
	nfail  int64
	w      Sink
	f      *os.File
	tmp    string
	final  string
	closed bool
}

const (
	partPrefix = "part-"
	lockName   = ".sluice-lock"
)

// RunPartitioned runs plan over the partitions of in: each partition's items (as ItemSchema
// batches) go through plan.Stages, and the rows that come out, which must match the items
// one to one (by `path`), are written to that partition's file and committed atomically with
// their ledger records. Partitions the ledger holds as committed, with their file present,
// are skipped and counted as they were. plan.Source and plan.Sink must be nil; plan.Schema is
// required. The output folder is locked for the run (ErrBusy when another run holds it).
// Thresholds are checked as partitions commit; a partition is one mini-batch.
func RunPartitioned(ctx context.Context, plan Plan, in Partitioned, opts Options) (Result, error) {
	if plan.Source != nil || plan.Sink != nil {
		return Result{}, fmt.Errorf("%w: RunPartitioned makes its own source and sink", ErrBadPlan)
	}
	if err := CheckItemSchema(plan.Schema); err != nil {
		return Result{}, err
	}
	if in.Writer == nil || in.Dir == "" {
		return Result{}, fmt.Errorf("%w: RunPartitioned needs an output Dir and a Writer", ErrBadPlan)
	}
	e, err := newEngine(plan, opts)
	if err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(in.Dir, 0o755); err != nil {
		return Result{}, fmt.Errorf("dataflow: output: %w", err)
	}
	unlock, err := lockDir(in.Dir)
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	r := &partRunner{e: e, in: in, open: map[*partState]struct{}{}}
	if err := r.prepare(ctx); err != nil {
		return Result{}, err
	}
	e.tally.total = int64(len(in.Partitions))
	var total, skipped int64
	for _, p := range in.Partitions {
		total += int64(len(p.Items))
	}
	for _, c := range r.done {
		skipped += c.Rows
	}
	e.opts.Metrics.begin(e.metrics(), total, skipped)
	result := func() Result {
		res := e.result()
		res.Skipped = r.skipped
		res.Partitions = r.done
		return res
	}
	// Figures of the skipped partitions count as they did; they may already cross a threshold.
	if err := e.tally.add(r.skippedCounts); err != nil {
		return result(), err
	}
	err = e.run(ctx, r)
	return result(), err
}

type partRunner struct {
	e             *engine
	in            Partitioned
	todo          []*partition.Partition
	done          []CommittedPartition
	skipped       int
	skippedCounts Counts
	open          map[*partState]struct{}
	committed     int
}

func (r *partRunner) fileName(p *partition.Partition) string {
	return partPrefix + p.ID + r.in.Writer.Ext()
}

// prepare removes leftover temporary files and sorts partitions into skipped and to do.
func (r *partRunner) prepare(ctx context.Context) error {
	ents, err := os.ReadDir(r.in.Dir)
	if err != nil {
		return fmt.Errorf("dataflow: output: %w", err)
	}
	for _, de := range ents {
		if n := de.Name(); strings.HasPrefix(n, "."+partPrefix) && strings.HasSuffix(n, ".tmp") {
			if err := os.Remove(filepath.Join(r.in.Dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("dataflow: output: %w", err)
			}
		}
	}
	var committed map[string]ledger.Partition
	if r.in.Ledger != nil {
		if committed, err = r.in.Ledger.Partitions(ctx, r.in.Key); err != nil {
			return err
		}
	}
	seenIDs := map[string]bool{}
	seenPaths := map[string]bool{}
	for i := range r.in.Partitions {
		p := &r.in.Partitions[i]
		if seenIDs[p.ID] {
			return fmt.Errorf("%w: partition %s listed twice", ErrBadPlan, p.ID)
		}
		seenIDs[p.ID] = true
		for _, it := range p.Items {
			if seenPaths[it.Path] {
				return fmt.Errorf("%w: item %q in two partitions", ErrBadPlan, it.Path)
			}
			seenPaths[it.Path] = true
		}
		name := r.fileName(p)
		if c, ok := committed[p.ID]; ok && c.File == name && c.Rows == int64(len(p.Items)) {
			if _, err := os.Stat(filepath.Join(r.in.Dir, name)); err == nil {
				r.skipped++
				r.done = append(r.done, CommittedPartition{ID: p.ID, File: filepath.Join(r.in.Dir, name),
					Rows: c.Rows, FailedItems: c.FailedItems, Failed: c.Failed, Skipped: true})
				d := Counts{Items: c.Rows, FailedItems: c.FailedItems, MiniBatches: 1}
				if c.Failed {
					d.FailedMiniBatches = 1
				}
				r.skippedCounts.Items += d.Items
				r.skippedCounts.FailedItems += d.FailedItems
				r.skippedCounts.MiniBatches += d.MiniBatches
				r.skippedCounts.FailedMiniBatches += d.FailedMiniBatches
				continue
			}
		}
		r.todo = append(r.todo, p)
	}
	return nil
}

func (r *partRunner) produce(ctx context.Context, emit func(envelope) error) error {
	mem := r.e.mem
	for _, p := range r.todo {
		ps := &partState{p: p}
		n := len(p.Items)
		step := r.in.BatchRows
		if step <= 0 || step > n {
			step = max(n, 1)
		}
		for i := 0; i < n; i += step {
			t0 := time.Now()
			paths := make([]string, 0, min(step, n-i))
			for _, it := range p.Items[i:min(i+step, n)] {
				paths = append(paths, it.Path)
			}
			b := NewItemBatch(mem, paths)
			r.e.src.busy.add(int64(time.Since(t0)))
			r.e.src.batchesIn.add(1)
			r.e.src.itemsIn.add(b.NumRows())
			if err := emit(envelope{b: b, part: ps}); err != nil {
				return err
			}
		}
		if n == 0 { // an empty partition: nothing flows, commit an empty file at the end
			r.e.src.batchesIn.add(1)
			if err := emit(envelope{b: NewItemBatch(mem, nil), part: ps}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *partRunner) exhausted(env envelope, rows int64) error {
	env.part.failed.Store(true)
	return nil
}

func (r *partRunner) consume(ctx context.Context, env envelope) error {
	ps, b := env.part, env.b
	if !b.Schema().Equal(r.e.plan.Schema) {
		b.Release()
		return fmt.Errorf("%w: rows reaching the sink have schema %s, the plan says %s", ErrBadPlan, b.Schema(), r.e.plan.Schema)
	}
	if env.failed {
		ps.failed.Store(true)
	}
	if ps.w == nil {
		if err := r.open1(ctx, ps); err != nil {
			b.Release()
			return err
		}
	}
	paths, errs := Paths(b), Errors(b)
	for i := 0; i < int(b.NumRows()); i++ {
		p := paths.Value(i)
		idx, ok := ps.index[p]
		if !ok {
			b.Release()
			return fmt.Errorf("%w: partition %s: row for %q, which is not one of its items", ErrRowMismatch, ps.p.ID, p)
		}
		if ps.row[idx] >= 0 {
			b.Release()
			return fmt.Errorf("%w: partition %s: two rows for %q", ErrRowMismatch, ps.p.ID, p)
		}
		ps.row[idx] = ps.seen + int64(i)
		if errs.IsValid(i) {
			msg := errs.Value(i)
			if msg == "" {
				msg = "error"
			}
			ps.errs[idx] = msg
			ps.nfail++
		}
	}
	ps.seen += b.NumRows()
	if err := ps.w.Write(ctx, b); err != nil {
		return fmt.Errorf("dataflow: partition %s: write: %w", ps.p.ID, err)
	}
	if ps.seen == int64(len(ps.p.Items)) {
		return r.commit(ctx, ps)
	}
	return nil
}

func (r *partRunner) open1(ctx context.Context, ps *partState) error {
	name := r.fileName(ps.p)
	ps.final = filepath.Join(r.in.Dir, name)
	ps.tmp = filepath.Join(r.in.Dir, "."+name+".tmp")
	f, err := os.OpenFile(ps.tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("dataflow: partition %s: %w", ps.p.ID, err)
	}
	ps.f = f
	r.open[ps] = struct{}{}
	w, err := r.in.Writer.NewWriter(ctx, writerOnly{f}, r.e.plan.Schema, r.e.mem)
	if err != nil {
		return fmt.Errorf("dataflow: partition %s: %w", ps.p.ID, err)
	}
	ps.w = w
	ps.index = make(map[string]int, len(ps.p.Items))
	ps.row = make([]int64, len(ps.p.Items))
	ps.errs = make([]string, len(ps.p.Items))
	for i, it := range ps.p.Items {
		ps.index[it.Path] = i
		ps.row[i] = -1
	}
	return nil
}

// writerOnly hides the file's Close (and anything else) from writers.
type writerOnly struct{ w io.Writer }

func (w writerOnly) Write(p []byte) (int, error) { return w.w.Write(p) }

// commit makes a complete partition durable: close the writer, fsync, rename, fsync the
// folder, then record it in the ledger.
func (r *partRunner) commit(ctx context.Context, ps *partState) error {
	ps.closed = true
	fail := func(err error) error {
		return fmt.Errorf("dataflow: partition %s: commit: %w", ps.p.ID, err)
	}
	if err := ps.w.Close(ctx); err != nil {
		return fail(err)
	}
	if err := ps.f.Sync(); err != nil {
		return fail(err)
	}
	if err := ps.f.Close(); err != nil {
		return fail(err)
	}
	ps.f = nil
	if err := os.Rename(ps.tmp, ps.final); err != nil {
		return fail(err)
	}
	delete(r.open, ps)
	if err := syncDir(r.in.Dir); err != nil {
		return fail(err)
	}
	failed := ps.failed.Load()
	items := make([]ledger.Item, len(ps.p.Items))
	for i, it := range ps.p.Items {
		items[i] = ledger.Item{Hash: it.Hash, Path: it.Path, Partition: ps.p.ID, Row: ps.row[i], Error: ps.errs[i]}
	}
	if r.in.Ledger != nil {
		rec := ledger.Partition{ID: ps.p.ID, File: filepath.Base(ps.final), Rows: ps.seen, FailedItems: ps.nfail, Failed: failed}
		if err := r.in.Ledger.Commit(ctx, r.in.Key, rec, items); err != nil {
			return fail(err)
		}
	}
	cp := CommittedPartition{ID: ps.p.ID, File: ps.final, Rows: ps.seen, FailedItems: ps.nfail, Failed: failed}
	if r.in.OnCommit != nil {
		if err := r.in.OnCommit(ctx, cp, items); err != nil {
			return fail(err)
		}
	}
	r.committed++
	r.done = append(r.done, cp)
	d := Counts{Items: ps.seen, FailedItems: ps.nfail, MiniBatches: 1}
	if failed {
		d.FailedMiniBatches = 1
	}
	ps.index, ps.row, ps.errs = nil, nil, nil
	return r.e.tally.add(d)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func (r *partRunner) finish(ctx context.Context) error {
	if r.committed != len(r.todo) {
		for ps := range r.open {
			return fmt.Errorf("%w: partition %s: %d of its %d items reached the sink", ErrRowMismatch, ps.p.ID, ps.seen, len(ps.p.Items))
		}
		return fmt.Errorf("%w: %d of %d partitions produced no rows", ErrRowMismatch, len(r.todo)-r.committed, len(r.todo))
	}
	if err := r.e.tally.final(); err != nil {
		return err
	}
	if r.in.KeepStale {
		return nil
	}
	return r.prune(ctx)
}

// prune removes part-* files, and ledger records, of partitions that are not in this run.
func (r *partRunner) prune(ctx context.Context) error {
	keep := map[string]bool{}
	for _, p := range r.in.Partitions {
		keep[r.fileName(&p)] = true
	}
	ents, err := os.ReadDir(r.in.Dir)
	if err != nil {
		return fmt.Errorf("dataflow: output: %w", err)
	}
	ext := r.in.Writer.Ext()
	for _, de := range ents {
		n := de.Name()
		if !strings.HasPrefix(n, partPrefix) || !strings.HasSuffix(n, ext) || keep[n] || !de.Type().IsRegular() {
			continue
		}
		if err := os.Remove(filepath.Join(r.in.Dir, n)); err != nil {
			return fmt.Errorf("dataflow: output: prune: %w", err)
		}
	}
	if r.in.Ledger == nil {
		return nil
	}
	committed, err := r.in.Ledger.Partitions(ctx, r.in.Key)
	if err != nil {
		return err
	}
	for id := range committed {
		p := partition.Partition{ID: id}
		if !keep[r.fileName(&p)] {
			if err := r.in.Ledger.Forget(ctx, r.in.Key, id); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *partRunner) abort(ctx context.Context) {
	for ps := range r.open {
		if ps.w != nil && !ps.closed {
			_ = ps.w.Close(ctx)
		}
		if ps.f != nil {
			_ = ps.f.Close()
		}
		_ = os.Remove(ps.tmp)
	}
	r.open = nil
}
