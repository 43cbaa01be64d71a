package batchscoring

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/commitlog"
	"github.com/sluice-ml/sluice/engine/dataflow/ledger"
	"github.com/sluice-ml/sluice/engine/dataflow/partition"
	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/cpu"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/ops/decode"
	"github.com/sluice-ml/sluice/ops/images"
	"github.com/sluice-ml/sluice/ops/infer"
	"github.com/sluice-ml/sluice/ops/preprocess"
	"github.com/sluice-ml/sluice/ops/topk"
	"github.com/sluice-ml/sluice/ops/writers"
	"github.com/sluice-ml/sluice/store/datastore"
)

// ErrConfig is returned (wrapped) for a configuration that cannot run: a missing model, labels
// that do not fit it, preprocessing that does not match its input, an unknown format. The CLI
// maps it to exit code 2.
var ErrConfig = errors.New("batch scoring: bad configuration")

// Config describes one scoring run.
type Config struct {
	Model  string // ONNX file
	Labels string // label file (one per line, in output order); "" names classes by index
	// Input is a local folder or file, or an azblob:// URI (resolved by Resolver).
	Input string
	// Output is the folder that receives part-<id><ext> files: a local folder, or an azblob://
	// URI (resolved by Resolver) — then partitions are written to StateDir/out first and each is
	// uploaded as it commits, with its commit record (package engine/dataflow/commitlog), and the
	// records already there are imported first, so that runs anywhere share the work.
	Output string
	// Preprocess is a preset name (torchvision, inception, inception-tf) or a free spec
	// (ops/preprocess.Parse); default torchvision.
	Preprocess string
	Batch      int    // model batch (default 8)
	TopK       int    // default 5
	Format     string // parquet (default), text, csv, ipc
	Softmax    string // auto (default), on, off
	// MiniBatch is the number of images per committed partition (default 64).
	MiniBatch  int
	Thresholds dataflow.Thresholds
	MaxTries   int // per mini-batch (default 3)
	// Threads is the model's thread count (default: all cores); DecodeWorkers the number of
	// images decoded at once (default: all cores).
	Threads, DecodeWorkers int
	Limits                 decode.Limits
	// StateDir holds the ledger (default Output/.sluice; for an Output URI, a folder under the
	// user's cache named after it).
	StateDir string
	// Shard and Shards: with Shards > 1, only partitions whose index in the input's partition
	// list is Shard modulo Shards are scored (by Shards runs, possibly on as many machines,
	// sharing a Blob Output); the partition list depends only on the input's listing.
	Shard, Shards int
	// By names this run in commit records (default: host name and process id).
	By        string
	Resolver  *datastore.Resolver
	Metrics   *dataflow.Metrics
	Logger    *slog.Logger
	Allocator memory.Allocator
}

// Result sums up a run.
type Result struct {
	dataflow.Result
	Images int // images in the input
	// Scored counts the images this run scored (not those of partitions committed before).
	Scored int64
	// With an Output URI: Elsewhere counts this shard's partitions found committed in the
	// output's records (by another run, machine or shard) and not redone; Published those this
	// run uploaded; Complete is set when every partition of the input is committed there.
	Elsewhere, Published int
	Complete             bool
}

// Schema is the schema of the output: path, label, score, topk_labels, topk_scores, error.
var Schema = arrow.NewSchema(append(append([]arrow.Field{{Name: dataflow.PathColumn, Type: arrow.BinaryTypes.String}},
	topk.Fields()...), arrow.Field{Name: dataflow.ErrorColumn, Type: arrow.BinaryTypes.String, Nullable: true}), nil)

// Writer returns the writer of a format name.
func Writer(format string) (dataflow.WriterFactory, error) {
	switch format {
	case "", "parquet":
		return writers.Parquet{}, nil
	case "text", "txt":
		// The original sample's output: "path: label" per image.
		return writers.Text{Columns: []string{dataflow.PathColumn, topk.LabelColumn}, Separator: ": "}, nil
	case "csv":
		return writers.CSV{}, nil
	case "ipc", "arrow":
		return writers.IPC{}, nil
	}
	return nil, fmt.Errorf("%w: format %q: want parquet, text, csv or ipc", ErrConfig, format)
}

// model is a loaded model with what the plan needs to know about it.
type model struct {
	sess      *cpu.Session
	input     string
	itemShape []int
	output    string
	classes   int
}

// loadModel opens an image classifier; item gives the shape of one input item from the model's
// input (or an error saying why the model does not fit).
func loadModel(ctx context.Context, path string, threads int, item func(graph.ValueInfo) ([]int, error)) (*model, error) {
	sess, err := cpu.Open(ctx, path, cpu.Options{Threads: threads})
	if err != nil {
		return nil, fmt.Errorf("%w: model %s: %w", ErrConfig, path, err)
	}
	ins, outs := sess.Inputs(), sess.Outputs()
	if len(ins) != 1 || len(outs) < 1 {
		sess.Close()
		return nil, fmt.Errorf("%w: model %s has %d inputs and %d outputs; scoring needs one image input", ErrConfig, path, len(ins), len(outs))
	}
	shape, err := item(ins[0])
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("%w: model %s: %w", ErrConfig, path, err)
	}
	m := &model{sess: sess, input: ins[0].Name, itemShape: shape, output: outs[0].Name}
	// The number of classes, from a probe run (output shapes may be symbolic).
	res, err := sess.Run(ctx, map[string]*nn.Tensor{m.input: nn.NewTensor(nn.Float32, append([]int{1}, shape...)...)})
	if err != nil {
		sess.Close()
		return nil, fmt.Errorf("%w: model %s does not run on one %v image: %w", ErrConfig, path, shape, err)
	}
	y := res[m.output]
	if y == nil || y.F32() == nil || y.Len() < 1 {
		sess.Close()
		return nil, fmt.Errorf("%w: model %s: output %q is not float32 scores", ErrConfig, path, m.output)
	}
	m.classes = y.Len()
	return m, nil
}

// dims writes a value's shape with its symbolic dimensions by name.
func dims(v graph.ValueInfo) string {
	parts := make([]string, len(v.Shape))
	for i, d := range v.Shape {
		switch {
		case i < len(v.DimParams) && v.DimParams[i] != "":
			parts[i] = v.DimParams[i]
		case d <= 0:
			parts[i] = "?"
		default:
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// specItem is the item shape the preprocessing makes, checked against the model's input.
func specItem(spec preprocess.Spec) func(graph.ValueInfo) ([]int, error) {
	return func(in graph.ValueInfo) ([]int, error) {
		w, h := spec.OutSize(1, 1)
		item := []int{3, h, w}
		if spec.HWC {
			item = []int{h, w, 3}
		}
		if len(in.Shape) != 4 || !fits(in.Shape[1:], item) {
			return nil, fmt.Errorf("it takes %q of shape %s; the preprocessing makes %v per image (choose --preprocess to match)", in.Name, dims(in), item)
		}
		return item, nil
	}
}

// fits reports whether a model input's item dims (<= 0 when dynamic) take item.
func fits(dims, item []int) bool {
	for i, d := range dims {
		if d > 0 && d != item[i] {
			return false
		}
	}
	return true
}

// Score runs cfg.
func Score(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Model == "" || cfg.Input == "" || cfg.Output == "" {
		return Result{}, fmt.Errorf("%w: model, input and output are required", ErrConfig)
	}
	if cfg.Preprocess == "" {
		cfg.Preprocess = "torchvision"
	}
	spec, err := preprocess.Parse(cfg.Preprocess)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	dec, err := images.NewDecode(spec, cfg.Limits)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	wf, err := Writer(cfg.Format)
	if err != nil {
		return Result{}, err
	}
	// Defaults spelled out, so that the run key is the same whoever fills in the config (the
	// CLI's flags, a pipeline step, a Spark task).
	cfg.Format = strings.TrimPrefix(wf.Ext(), ".")
	if cfg.Softmax == "" {
		cfg.Softmax = topk.SoftmaxAuto
	}
	if cfg.TopK <= 0 {
		cfg.TopK = 5
	}
	cores := runtime.GOMAXPROCS(0)
	if cfg.Threads <= 0 {
		cfg.Threads = cores
	}
	if cfg.DecodeWorkers <= 0 {
		cfg.DecodeWorkers = cores
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 8
	}
	if cfg.MiniBatch <= 0 {
		cfg.MiniBatch = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	var labels []string
	tk := &topk.Op{K: cfg.TopK, Softmax: cfg.Softmax}
	resolver := cfg.Resolver
	if resolver == nil {
		resolver = &datastore.Resolver{}
	}
	remoteOut := datastore.IsURI(cfg.Output)
	stateDir := cfg.StateDir
	if stateDir == "" {
		if remoteOut {
			base, err := os.UserCacheDir()
			if err != nil {
				base = os.TempDir()
			}
			sum := sha256.Sum256([]byte(cfg.Output))
			stateDir = filepath.Join(base, "sluice", "score", hex.EncodeToString(sum[:8]))
		} else {
			stateDir = filepath.Join(cfg.Output, ".sluice")
		}
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return Result{}, err
	}
	// A model or label file given as a URI is downloaded into the state folder first.
	for _, f := range []*string{&cfg.Model, &cfg.Labels} {
		if datastore.IsURI(*f) {
			p, err := fetch(ctx, resolver, *f, filepath.Join(stateDir, "fetched"))
			if err != nil {
				return Result{}, fmt.Errorf("%w: %s: %w", ErrConfig, *f, err)
			}
			*f = p
		}
	}
	if cfg.Labels != "" {
		if labels, err = topk.ReadLabels(cfg.Labels); err != nil {
			return Result{}, fmt.Errorf("%w: labels: %w", ErrConfig, err)
		}
		tk.Labels = labels
	}
	if cfg.Shards > 1 && (cfg.Shard < 0 || cfg.Shard >= cfg.Shards) {
		return Result{}, fmt.Errorf("%w: shard %d/%d: want 0 <= shard < shards", ErrConfig, cfg.Shard, cfg.Shards)
	}
	m, err := loadModel(ctx, cfg.Model, cfg.Threads, specItem(spec))
	if err != nil {
		return Result{}, err
	}
	defer m.sess.Close()
	if err := tk.Check(m.classes); err != nil {
		return Result{}, fmt.Errorf("%w: %s: %w", ErrConfig, cfg.Labels, err)
	}
	loc, err := resolver.Resolve(ctx, cfg.Input)
	if err != nil {
		return Result{}, fmt.Errorf("%w: input %s: %w", ErrConfig, cfg.Input, err)
	}
	if !datastore.IsURI(cfg.Input) {
		if _, err := os.Stat(cfg.Input); err != nil {
			return Result{}, fmt.Errorf("%w: input: %w", ErrConfig, err)
		}
	}
	items, err := List(ctx, loc)
	if err != nil {
		return Result{}, fmt.Errorf("%w: input %s: %w", ErrConfig, cfg.Input, err)
	}
	if len(items) == 0 {
		return Result{}, fmt.Errorf("%w: input %s holds no files", ErrConfig, cfg.Input)
	}
	all, err := partition.ByPath(items, cfg.MiniBatch)
	if err != nil {
		return Result{}, fmt.Errorf("%w: input %s: %w", ErrConfig, cfg.Input, err)
	}
	parts := all
	if cfg.Shards > 1 {
		parts = nil
		for i, p := range all {
			if i%cfg.Shards == cfg.Shard {
				parts = append(parts, p)
			}
		}
	}
	key, err := runKey(cfg, spec, tk, m)
	if err != nil {
		return Result{}, err
	}
	led, err := ledger.Open(ctx, filepath.Join(stateDir, "ledger.db"))
	if err != nil {
		return Result{}, err
	}
	defer led.Close()

	inf := &infer.Op{Session: m.sess, Input: m.input, Output: m.output, ItemShape: m.itemShape, OutElems: m.classes, Batch: cfg.Batch}
	plan := dataflow.Plan{
		Name: "score",
		Stages: []dataflow.Stage{
			{Name: "read", Op: images.FromLocation(loc, cfg.Limits.MaxBytes), Workers: max(2, cfg.DecodeWorkers), Ordered: true},
			{Name: "decode", Op: dec, Workers: cfg.DecodeWorkers, Ordered: true},
			{Name: "infer", Op: inf, Workers: 1},
			{Name: "topk", Op: tk, Workers: 1},
		},
		Schema: Schema,
	}
	opts := dataflow.Options{Allocator: cfg.Allocator, Thresholds: cfg.Thresholds, MaxTries: cfg.MaxTries, Metrics: cfg.Metrics, Logger: cfg.Logger}
	in := dataflow.Partitioned{Partitions: parts, Dir: cfg.Output, Writer: wf, Ledger: led, Key: key, BatchRows: cfg.Batch}
	if !remoteOut {
		// Shards sharing a local folder must not prune each other's partitions.
		in.KeepStale = cfg.Shards > 1
		res, err := dataflow.RunPartitioned(ctx, plan, in, opts)
		return Result{Result: res, Images: len(items), Scored: scored(res.Partitions)}, err
	}
	return scoreToURI(ctx, cfg, resolver, plan, in, opts, all, stateDir, len(items))
}

// scoreToURI runs in (this shard's partitions) into stateDir/out, publishing each partition to
// the output URI with its commit record as it commits; partitions the output's records already
// hold are imported into the local ledger and skipped.
func scoreToURI(ctx context.Context, cfg Config, resolver *datastore.Resolver, plan dataflow.Plan, in dataflow.Partitioned,
	opts dataflow.Options, all []partition.Partition, stateDir string, images int) (Result, error) {
	out, err := resolver.Resolve(ctx, cfg.Output)
	if err != nil {
		return Result{}, fmt.Errorf("%w: output %s: %w", ErrConfig, cfg.Output, err)
	}
	by := cfg.By
	if by == "" {
		host, _ := os.Hostname()
		by = fmt.Sprintf("%s pid %d", host, os.Getpid())
		if cfg.Shards > 1 {
			by = fmt.Sprintf("shard %d/%d on %s", cfg.Shard, cfg.Shards, by)
		}
	}
	listing, err := commitlog.Load(ctx, out, in.Key)
	if err != nil {
		return Result{}, err
	}
	for name, why := range listing.Ignored {
		if why != "another run key" {
			cfg.Logger.Warn("commit record ignored: its partition is redone", "record", name, "why", why)
		}
	}
	fileName := func(id string) string { return "part-" + id + in.Writer.Ext() }
	var todo []partition.Partition
	var elsewhere []dataflow.CommittedPartition
	var counts dataflow.Counts
	for _, p := range in.Partitions {
		r, ok := listing.Records[p.ID]
		if !ok || r.Rows != int64(len(p.Items)) || r.File != fileName(p.ID) {
			todo = append(todo, p)
			continue
		}
		lp, litems := r.Ledger()
		if err := in.Ledger.Commit(ctx, in.Key, lp, litems); err != nil {
			return Result{}, err
		}
		elsewhere = append(elsewhere, dataflow.CommittedPartition{ID: p.ID, File: out.URI + "/" + r.File, Rows: r.Rows,
			FailedItems: r.FailedItems, Failed: r.Failed, Skipped: true})
		counts.Items += r.Rows
		counts.FailedItems += r.FailedItems
		counts.MiniBatches++
		if r.Failed {
			counts.FailedMiniBatches++
		}
	}
	published := map[string]bool{}
	in.Partitions = todo
	in.Dir = filepath.Join(stateDir, "out")
	in.KeepStale = true // the local folder holds only what this run scored
	in.OnCommit = func(ctx context.Context, cp dataflow.CommittedPartition, items []ledger.Item) error {
		rec := commitlog.Record{Key: in.Key, Partition: cp.ID, File: filepath.Base(cp.File), Rows: cp.Rows,
			FailedItems: cp.FailedItems, Failed: cp.Failed, By: by, Items: commitlog.Items(items)}
		if err := commitlog.Publish(ctx, out, cp.File, rec); err != nil {
			return err
		}
		published[cp.ID] = true
		return nil
	}
	res, runErr := dataflow.RunPartitioned(ctx, plan, in, opts)
	// Partitions committed here by an earlier run whose upload did not happen (killed between
	// the two) are published now.
	var pending []dataflow.CommittedPartition
	for _, cp := range res.Partitions {
		if !published[cp.ID] {
			pending = append(pending, cp)
		}
	}
	if len(pending) > 0 && ctx.Err() == nil {
		if err := publishPending(ctx, in, out, pending, by); err != nil && runErr == nil {
			runErr = err
		}
	}
	n := scored(res.Partitions)
	for i := range res.Partitions {
		res.Partitions[i].File = out.URI + "/" + filepath.Base(res.Partitions[i].File)
	}
	res.Partitions = append(res.Partitions, elsewhere...)
	res.Counts.Items += counts.Items
	res.Counts.FailedItems += counts.FailedItems
	res.Counts.MiniBatches += counts.MiniBatches
	res.Counts.FailedMiniBatches += counts.FailedMiniBatches
	result := Result{Result: res, Images: images, Scored: n, Elsewhere: len(elsewhere), Published: len(published) + len(pending)}
	if runErr != nil {
		return result, runErr
	}
	// Once every partition of the input is committed (by whichever runs), what earlier inputs or
	// run keys left in the output is removed.
	final, err := commitlog.Load(ctx, out, in.Key)
	if err != nil {
		return result, err
	}
	keepFiles, keepIDs := map[string]bool{}, map[string]bool{}
	result.Complete = true
	for _, p := range all {
		keepFiles[fileName(p.ID)], keepIDs[p.ID] = true, true
		if _, ok := final.Records[p.ID]; !ok {
			result.Complete = false
		}
	}
	if result.Complete {
		n, err := commitlog.Prune(ctx, out, final, keepFiles, keepIDs)
		if err != nil {
			return result, err
		}
		if n > 0 {
			cfg.Logger.Info("pruned stale files from the output", "output", out.URI, "removed", n)
		}
	}
	return result, nil
}

func scored(ps []dataflow.CommittedPartition) int64 {
	var n int64
	for _, p := range ps {
		if !p.Skipped {
			n += p.Rows
		}
	}
	return n
}

func publishPending(ctx context.Context, in dataflow.Partitioned, out datastore.Location, pending []dataflow.CommittedPartition, by string) error {
	items, err := in.Ledger.Items(ctx, in.Key, false)
	if err != nil {
		return err
	}
	byPart := map[string][]ledger.Item{}
	for _, it := range items {
		byPart[it.Partition] = append(byPart[it.Partition], it)
	}
	for _, cp := range pending {
		rec := commitlog.Record{Key: in.Key, Partition: cp.ID, File: filepath.Base(cp.File), Rows: cp.Rows,
			FailedItems: cp.FailedItems, Failed: cp.Failed, By: by, Items: commitlog.Items(byPart[cp.ID])}
		if err := commitlog.Publish(ctx, out, cp.File, rec); err != nil {
			return err
		}
	}
	return nil
}

// fetch downloads the object uri into dir (once per content: an existing copy of the same size
// is kept) and returns its local path.
func fetch(ctx context.Context, r *datastore.Resolver, uri, dir string) (string, error) {
	loc, err := r.Resolve(ctx, uri)
	if err != nil {
		return "", err
	}
	if err := loc.Probe(ctx); err != nil {
		return "", err
	}
	if !loc.Single {
		return "", fmt.Errorf("not a single object")
	}
	info, err := loc.Store.Stat(ctx, loc.Prefix)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(uri + "\x00" + info.ETag + hex.EncodeToString(info.MD5)))
	dst := filepath.Join(dir, hex.EncodeToString(sum[:8]), path.Base(loc.Prefix))
	if st, err := os.Stat(dst); err == nil && st.Size() == info.Size {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	rc, err := loc.Store.Open(ctx, loc.Prefix)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	tmp := dst + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return dst, os.Rename(tmp, dst)
}

// runKey names what the output is made with: the model's content, the labels, and every
// setting that changes a row. Rows committed under another key are redone.
func runKey(cfg Config, spec preprocess.Spec, tk *topk.Op, m *model) (string, error) {
	h := sha256.New()
	f, err := os.Open(cfg.Model)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("hashing %s: %w", cfg.Model, err)
	}
	fmt.Fprintf(h, "\x00labels=%q\x00spec=%+v\x00k=%d\x00softmax=%q\x00format=%q\x00limits=%+v\x00classes=%d",
		tk.Labels, spec, tk.K, tk.Softmax, cfg.Format, cfg.Limits, m.classes)
	return "score:" + hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// List lists the items of a location, sorted by path, skipping hidden files and folders (a
// name starting with "."). Local files are hashed with SHA-256; a file that cannot be read gets
// a hash from its size and time, so that it reaches the run and fails there as its own row.
// Blob objects take their Content-MD5 (or ETag) as their version.
func List(ctx context.Context, loc datastore.Location) ([]partition.Item, error) {
	var items []partition.Item
	lp, local := loc.Store.(datastore.LocalPather)
	var paths []string
	err := loc.Walk(ctx, func(rel string, in datastore.Info) error {
		if hidden(rel) {
			return nil
		}
		it := partition.Item{Path: rel, Size: in.Size}
		switch {
		case local:
			paths = append(paths, lp.LocalPath(loc.Name(rel)))
			it.Hash = fmt.Sprintf("unreadable:%d:%d", in.Size, in.ModTime.UnixNano())
		case len(in.MD5) > 0:
			it.Hash = "md5:" + hex.EncodeToString(in.MD5)
		default:
			it.Hash = "etag:" + in.ETag
		}
		items = append(items, it)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if local {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(4)
		for i := range items {
			g.Go(func() error {
				if err := gctx.Err(); err != nil {
					return err
				}
				if h, err := partition.HashFile(paths[i]); err == nil {
					items[i].Hash = h
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(items, func(a, b partition.Item) int { return strings.Compare(a.Path, b.Path) })
	return items, nil
}

func hidden(rel string) bool {
	for _, seg := range strings.Split(rel, "/") {
		if strings.HasPrefix(seg, ".") {
			return true
		}
	}
	return false
}
