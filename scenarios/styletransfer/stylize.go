package styletransfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-ml/sluice/engine/dataflow/ledger"
	"github.com/sluice-ml/sluice/ops/video"
)

// Options of a style-transfer run. Model, Input and Output are required.
type Options struct {
	Model  string // .pth or .onnx TransformerNet
	Input  string // the source video
	Output string // the styled video (written atomically; an existing file is replaced)
	// ContentScale s > 1 styles frames downscaled to int(W/s)×int(H/s), as the original's
	// --content-scale; 0 means 1.
	ContentScale float64
	CRF          int    // libx264 CRF (0–51); 0 means 18
	Preset       string // libx264 preset; "" means "medium"
	// SegmentFrames is the frames per segment, the unit of commit and resume (0: 250).
	SegmentFrames int
	Batch         int // frames per network run (0: 1)
	Workers       int // batches inferred at once within a segment (0: 1)
	Parallel      int // segments styled at once (0: 1)
	Threads       int // goroutines of one inference (0: all CPUs)
	// WorkDir holds the segments and the ledger ("": Output + ".parts"); removed after a
	// successful join unless KeepSegments.
	WorkDir      string
	KeepSegments bool
	Log          io.Writer // progress lines (nil: none)
	// Allocator allocates the Arrow batches of frames (nil: memory.DefaultAllocator).
	Allocator memory.Allocator
	// Tap, when set, sees every styled frame (packed RGB24, before encoding) with its index in
	// the video; calls for one segment come in frame order, segments may interleave with
	// Parallel > 1. It must not keep rgb.
	Tap func(frame int64, rgb []byte)
}

// Result describes a finished run.
type Result struct {
	Frames        int64 // frames in the output
	Styled        int64 // frames styled by this run (the rest came from committed segments)
	Segments      int
	Reused        int // segments found committed by an earlier run
	Width, Height int // of the styled frames
	FrameRate     video.Rational
	HasAudio      bool
	ModelFormat   string
	Elapsed       time.Duration
}

// FramesPerSecond is the rate at which this run styled frames (decode, inference, encode, join).
func (r *Result) FramesPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Styled) / r.Elapsed.Seconds()
}

func (o *Options) defaults() error {
	if o.Model == "" || o.Input == "" || o.Output == "" {
		return fmt.Errorf("stylize: %w: model, input and output are required", ErrBadInput)
	}
	if o.ContentScale == 0 {
		o.ContentScale = 1
	}
	if !(o.ContentScale > 0) || math.IsInf(o.ContentScale, 0) {
		return fmt.Errorf("stylize: %w: content scale %v must be a positive number", ErrBadInput, o.ContentScale)
	}
	if o.CRF < 0 || o.CRF > 51 {
		return fmt.Errorf("stylize: %w: crf %d outside 0–51", ErrBadInput, o.CRF)
	}
	if o.CRF == 0 {
		o.CRF = 18
	}
	if o.Preset == "" {
		o.Preset = "medium"
	}
	for _, v := range []*int{&o.SegmentFrames, &o.Batch, &o.Workers, &o.Parallel, &o.Threads} {
		if *v < 0 {
			return fmt.Errorf("stylize: %w: negative count %d", ErrBadInput, *v)
		}
	}
	if o.SegmentFrames == 0 {
		o.SegmentFrames = 250
	}
	o.Batch, o.Workers, o.Parallel = max(o.Batch, 1), max(o.Workers, 1), max(o.Parallel, 1)
	if o.Threads == 0 {
		o.Threads = runtime.GOMAXPROCS(0)
	}
	if o.WorkDir == "" {
		o.WorkDir = o.Output + ".parts"
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Allocator == nil {
		o.Allocator = memory.DefaultAllocator
	}
	return nil
}

// inputErr marks a video error caused by the file as bad input.
func inputErr(err error) error {
	for _, s := range []error{video.ErrNotVideo, video.ErrEmpty, video.ErrTruncated, video.ErrUnsupportedCodec, os.ErrNotExist, os.ErrPermission} {
		if errors.Is(err, s) {
			return fmt.Errorf("%w: %w", ErrBadInput, err)
		}
	}
	return err
}

// segment is one frame range of the video.
type segment struct {
	index        int
	first, count int64
	file         string // within the work folder
}

// Run styles opts.Input into opts.Output; see the package documentation. A run interrupted for
// any reason may be repeated with the same options and continues where it stopped.
func Run(ctx context.Context, opts Options) (*Result, error) {
	start := time.Now()
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if a, b := filepath.Clean(opts.Input), filepath.Clean(opts.Output); a == b {
		return nil, fmt.Errorf("stylize: %w: output %s would replace the input", ErrBadInput, opts.Output)
	}
	info, err := video.Probe(ctx, opts.Input)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, inputErr(err)
	}
	w, h := int(float64(info.Width)/opts.ContentScale), int(float64(info.Height)/opts.ContentScale)
	if w < 8 || h < 8 {
		return nil, fmt.Errorf("video %s: %w: %dx%d frames at content scale %v are %dx%d, smaller than the network's 8x8",
			opts.Input, ErrBadInput, info.Width, info.Height, opts.ContentScale, w, h)
	}
	model, err := LoadModel(ctx, opts.Model, opts.Threads)
	if err != nil {
		return nil, err
	}
	defer model.Close()
	if err := model.CheckSize(w, h); err != nil {
		return nil, err
	}
	res := &Result{Frames: info.Frames, Width: w, Height: h, FrameRate: info.FrameRate, HasAudio: info.HasAudio, ModelFormat: model.Format}

	key, err := runKey(opts, w, h)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("stylize: %w", err)
	}
	led, err := ledger.Open(ctx, filepath.Join(opts.WorkDir, "ledger.db"))
	if err != nil {
		return nil, err
	}
	defer led.Close()
	done, err := led.Partitions(ctx, key)
	if err != nil {
		return nil, err
	}
	var segs, todo []segment
	for i, first := 0, int64(0); first < info.Frames; i, first = i+1, first+int64(opts.SegmentFrames) {
		s := segment{index: i, first: first, count: min(int64(opts.SegmentFrames), info.Frames-first),
			file: fmt.Sprintf("%s-%05d.mp4", key[:12], i)}
		segs = append(segs, s)
		if p, ok := done[segID(i)]; ok && p.File == s.file && p.Rows == s.count && nonEmpty(filepath.Join(opts.WorkDir, s.file)) {
			res.Reused++
			continue
		}
		todo = append(todo, s)
	}
	res.Segments = len(segs)
	fmt.Fprintf(opts.Log, "stylize: %s: %d frames %dx%d at %s fps, audio %v; model %s (%s); %d segments of %d frames, %d committed before\n",
		opts.Input, info.Frames, info.Width, info.Height, info.FrameRate, info.HasAudio, model.Name(), model.Format,
		len(segs), opts.SegmentFrames, res.Reused)

	var styled atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Parallel)
	for _, s := range todo {
		g.Go(func() error {
			if err := styleSegment(gctx, &opts, info, model, w, h, s, &styled); err != nil {
				return err
			}
			if err := led.Commit(gctx, key, ledger.Partition{ID: segID(s.index), File: s.file, Rows: s.count}, nil); err != nil {
				return err
			}
			fmt.Fprintf(opts.Log, "stylize: segment %d/%d committed (frames %d–%d)\n", s.index+1, len(segs), s.first, s.first+s.count-1)
			return nil
		})
	}
	err = g.Wait()
	res.Styled = styled.Load()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	files := make([]string, len(segs))
	for i, s := range segs {
		files[i] = filepath.Join(opts.WorkDir, s.file)
	}
	audio := ""
	if info.HasAudio {
		audio = opts.Input
	}
	if err := video.Join(ctx, files, opts.Output, audio); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	led.Close()
	if !opts.KeepSegments {
		os.RemoveAll(opts.WorkDir)
	}
	res.Elapsed = time.Since(start)
	fmt.Fprintf(opts.Log, "stylize: wrote %s: %d frames (%d styled now, %.2f frames/s)\n", opts.Output, res.Frames, res.Styled, res.FramesPerSecond())
	return res, nil
}

func segID(i int) string { return fmt.Sprintf("seg-%05d", i) }

func nonEmpty(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Size() > 0
}

// runKey fingerprints what decides the segments' content: the input's and the model's bytes and
// the options that change frames or their encoding.
func runKey(o Options, w, h int) (string, error) {
	hs := sha256.New()
	fmt.Fprintf(hs, "stylize v1\n%d %d %d %s %d\n", w, h, o.CRF, o.Preset, o.SegmentFrames)
	for _, p := range []string{o.Input, o.Model} {
		d, err := fileHash(p)
		if err != nil {
			return "", fmt.Errorf("stylize: %w: %w", ErrBadInput, err)
		}
		hs.Write(d)
	}
	return hex.EncodeToString(hs.Sum(nil)), nil
}

func fileHash(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return h.Sum(nil), nil
}
