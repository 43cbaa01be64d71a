package styletransfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-ml/sluice/ops/video"
)

// job is one batch of frames between the stages of a segment.
type job struct {
	first int64
	n     int
	in    arrow.RecordBatch // decoded frames, released by whoever consumes the job
	done  chan result       // exactly one result per job, buffered
}

type result struct {
	out arrow.RecordBatch // styled frames, owned by the receiver
	err error
}

// styleSegment decodes segment s, styles it and encodes it into the work folder. Three stages
// run at once, joined by channels of Arrow record batches (FrameSchema): the decoder, o.Workers
// inference workers, and the encoder, which takes the batches in frame order whatever order
// they finish in. At most o.Workers+2 batches are in flight, so memory is bounded whatever the
// video's length. Every batch is released on every path (tests check with a checked
// allocator). The segment file appears only when complete.
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
	schema, fb := FrameSchema(w, h), w*h*3
	work := make(chan *job)
	ordered := make(chan *job, o.Workers+1)
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
			first, k := s.first+n, int(min(int64(o.Batch), s.count-n))
			rec, rgb := newFrameBatch(o.Allocator, schema, first, k)
			for i := range k {
				if err := r.Next(rgb[i*fb : (i+1)*fb]); err != nil {
					rec.Release()
					if errors.Is(err, io.EOF) {
						err = fmt.Errorf("video %s: %w: frame %d missing", info.Path, video.ErrTruncated, first+int64(i))
					}
					return inputErr(err)
				}
			}
			j := &job{first: first, n: k, in: rec, done: make(chan result, 1)}
			select {
			case ordered <- j:
			case <-gctx.Done():
				rec.Release()
				return gctx.Err()
			}
			select {
			case work <- j:
			case <-gctx.Done():
				rec.Release()
				j.done <- result{err: gctx.Err()}
				return gctx.Err()
			}
			n += int64(k)
		}
		return nil
	})
	for range o.Workers {
		g.Go(func() error {
			var sc Scratch
			for j := range work {
				out, _ := newFrameBatch(o.Allocator, schema, j.first, j.n)
				err := m.Stylize(gctx, frames(j.in), frames(out), w, h, &sc)
				j.in.Release()
				if err != nil {
					out.Release()
					out = nil
				}
				j.done <- result{out, err}
			}
			return nil
		})
	}
	g.Go(func() error { // encoder, in frame order
		for j := range ordered {
			// Every job gets exactly one result (from its worker, or from the decoder when it
			// could not hand the job over), and a cancelled worker returns at once.
			res := <-j.done
			if res.err != nil {
				return fmt.Errorf("frames %d–%d: %w", j.first, j.first+int64(j.n)-1, res.err)
			}
			err := encode(wr, o.Tap, j.first, res.out)
			res.out.Release()
			if err != nil {
				return err
			}
			styled.Add(int64(j.n))
		}
		return nil
	})
	err = g.Wait()
	drain(ordered)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ErrBadInput) {
			return ctx.Err()
		}
		return err
	}
	return wr.Close()
}

func encode(wr *video.Writer, tap func(int64, []byte), first int64, rec arrow.RecordBatch) error {
	for i, f := range frames(rec) {
		if tap != nil {
			tap(first+int64(i), f)
		}
		if err := wr.Write(f); err != nil {
			return err
		}
	}
	return nil
}

// drain releases the results of jobs the encoder did not take (after a failure). Every stage
// has ended, so each job's result is already there.
func drain(ordered chan *job) {
	for j := range ordered {
		if res := <-j.done; res.out != nil {
			res.out.Release()
		}
	}
}
