package styletransfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/sluice-ml/sluice/ops/video"
)

// batch is frames in flight between the stages of a segment: decoded into in, styled into out.
type batch struct {
	first   int64 // index of in[0] in the video
	n       int
	in, out [][]byte
	done    chan error // the worker's result, read by the writer
}

// styleSegment decodes segment s, styles it and encodes it into the work folder. Three stages
// run at once — the decoder, o.Workers inference workers, and the encoder, which takes the
// batches in frame order whatever order they finish in — over a fixed set of batches, so memory
// is bounded by (o.Workers+2) batches. The segment file appears only when complete.
func styleSegment(ctx context.Context, o *Options, info *video.Info, m *Model, w, h int, s segment, styled *atomic.Int64) (err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wr, err := video.NewWriter(ctx, filepath.Join(o.WorkDir, s.file), video.WriteOptions{
		Width: w, Height: h, FrameRate: info.FrameRate, CRF: o.CRF, Preset: o.Preset})
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			wr.Abort()
		}
	}()

	nb := o.Workers + 2
	free := make(chan *batch, nb)
	for range nb {
		b := &batch{in: make([][]byte, o.Batch), out: make([][]byte, o.Batch), done: make(chan error, 1)}
		for i := range b.in {
			b.in[i], b.out[i] = make([]byte, w*h*3), make([]byte, w*h*3)
		}
		free <- b
	}
	work := make(chan *batch)
	ordered := make(chan *batch, nb)
	g, gctx := errgroup.WithContext(ctx)
	// The decoder ends with the group (a failing stage stops it at once); the encoder lives on
	// until Close or Abort.
	r, err := video.NewReader(gctx, info, video.ReadOptions{First: s.first, Count: s.count, Width: w, Height: h})
	if err != nil {
		return inputErr(err)
	}
	defer r.Close()
	g.Go(func() error { // decoder
		defer close(work)
		defer close(ordered)
		for n := int64(0); n < s.count; {
			var b *batch
			select {
			case b = <-free:
			case <-gctx.Done():
				return gctx.Err()
			}
			b.first, b.n = s.first+n, int(min(int64(o.Batch), s.count-n))
			for i := range b.n {
				if err := r.Next(b.in[i]); err != nil {
					if errors.Is(err, io.EOF) {
						err = fmt.Errorf("video %s: %w: frame %d missing", info.Path, video.ErrTruncated, b.first+int64(i))
					}
					return inputErr(err)
				}
			}
			ordered <- b // never blocks: at most nb batches exist
			select {
			case work <- b:
			case <-gctx.Done():
				return gctx.Err()
			}
			n += int64(b.n)
		}
		return nil
	})
	for range o.Workers {
		g.Go(func() error {
			var sc Scratch
			for b := range work {
				b.done <- m.Stylize(gctx, b.in[:b.n], b.out[:b.n], w, h, &sc)
			}
			return nil
		})
	}
	g.Go(func() error { // encoder, in frame order
		for b := range ordered {
			select {
			case err := <-b.done:
				if err != nil {
					return fmt.Errorf("frames %d–%d: %w", b.first, b.first+int64(b.n)-1, err)
				}
			case <-gctx.Done():
				return gctx.Err()
			}
			for i, f := range b.out[:b.n] {
				if o.Tap != nil {
					o.Tap(b.first+int64(i), f)
				}
				if err := wr.Write(f); err != nil {
					return err
				}
			}
			styled.Add(int64(b.n))
			free <- b
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil && !errors.Is(err, ErrBadInput) {
			return ctx.Err()
		}
		return err
	}
	return wr.Close()
}
