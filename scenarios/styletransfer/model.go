package styletransfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/cpu"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/nn/models/transformernet"
	"github.com/sluice-ml/sluice/nn/onnx"
)

// Model is a loaded style network. Stylize is safe for concurrent use.
type Model struct {
	Path    string
	Format  string   // "pth" or "onnx"
	Dropped []string // stale keys dropped from a .pth
	sess    *cpu.Session
	in, out string
	inShape []int
}

// CheckSize says whether the model takes w×h frames: an export with a fixed height or width
// takes only that size.
func (m *Model) CheckSize(w, h int) error {
	if s := m.inShape; (s[2] > 0 && s[2] != h) || (s[3] > 0 && s[3] != w) {
		return fmt.Errorf("model %s: %w: it takes %dx%d frames only, the video's are %dx%d (export it with dynamic height and width)",
			m.Path, ErrBadInput, s[3], s[2], w, h)
	}
	return nil
}

// LoadModel loads a TransformerNet from a .pth checkpoint (either torch serialization) or an ONNX
// file; the format is told by the file's first bytes, not its name. threads bounds the
// goroutines of one inference (< 1: all CPUs).
func LoadModel(ctx context.Context, path string, threads int) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w: %w", path, ErrBadInput, err)
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	f.Close()
	head = head[:n]
	m := &Model{Path: path}
	var g *graph.Graph
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte{0x80}):
		// torch.save: a zip archive, or a pickle stream (protocol 2+ starts with PROTO 0x80).
		m.Format = "pth"
		g, m.Dropped, err = transformernet.Load(path)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w: %w", path, ErrBadInput, trimName(err, path))
		}
	default:
		m.Format = "onnx"
		g, err = onnx.Load(ctx, path, onnx.Options{})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("model %s: %w: %w", path, ErrBadInput, trimName(err, path))
		}
	}
	if len(g.Inputs) != 1 || len(g.Outputs) != 1 {
		return nil, fmt.Errorf("model %s: %w: %d inputs and %d outputs, want one image in and one out", path, ErrBadInput, len(g.Inputs), len(g.Outputs))
	}
	if s := g.Inputs[0].Shape; len(s) != 4 || (s[1] != 3 && s[1] != -1) {
		return nil, fmt.Errorf("model %s: %w: input shape %v, want N×3×H×W", path, ErrBadInput, s)
	}
	if s := g.Outputs[0].Shape; s != nil && (len(s) != 4 || (s[1] != 3 && s[1] != -1)) {
		return nil, fmt.Errorf("model %s: %w: output shape %v, want N×3×H×W (an image)", path, ErrBadInput, s)
	}
	m.in, m.out = g.Inputs[0].Name, g.Outputs[0].Name
	m.inShape = g.Inputs[0].Shape
	if m.sess, err = cpu.NewSession(ctx, g, cpu.Options{Threads: threads}); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("model %s: %w: %w", path, ErrBadInput, err)
	}
	return m, nil
}

// trimName keeps errors readable when the cause already names the file.
func trimName(err error, path string) error {
	if strings.HasPrefix(err.Error(), path+": ") {
		return errors.Unwrap(err)
	}
	return err
}

// Close releases the session; idempotent and nil-safe.
func (m *Model) Close() error {
	if m == nil || m.sess == nil {
		return nil
	}
	return m.sess.Close()
}

// Name is the model file's base name.
func (m *Model) Name() string { return filepath.Base(m.Path) }

// Stylize restyles frames (packed RGB24, w×h each) into dst (the same count, w×h×3 bytes each),
// running them through the network as one batch. buf is the caller's reusable scratch (nil:
// fresh buffers); one Scratch must not be used by two calls at once.
func (m *Model) Stylize(ctx context.Context, frames, dst [][]byte, w, h int, buf *Scratch) error {
	if len(frames) == 0 {
		return nil
	}
	if buf == nil {
		buf = &Scratch{}
	}
	n, plane := len(frames), w*h
	if cap(buf.in) < n*3*plane {
		buf.in = make([]float32, n*3*plane)
	}
	in := buf.in[:n*3*plane]
	for i, f := range frames {
		if len(f) != 3*plane {
			return fmt.Errorf("stylize: frame %d has %d bytes, want %d", i, len(f), 3*plane)
		}
		r, g, b := in[(3*i)*plane:(3*i+1)*plane], in[(3*i+1)*plane:(3*i+2)*plane], in[(3*i+2)*plane:(3*i+3)*plane]
		for p := 0; p < plane; p++ {
			r[p], g[p], b[p] = float32(f[3*p]), float32(f[3*p+1]), float32(f[3*p+2])
		}
	}
	x := nn.FromFloat32(in, n, 3, h, w)
	if buf.dst == nil {
		buf.dst = map[string]*nn.Tensor{}
	}
	out, err := m.sess.RunInto(ctx, map[string]*nn.Tensor{m.in: x}, buf.dst)
	if err != nil {
		return err
	}
	y := out[m.out]
	buf.dst[m.out] = y // reused by the next call
	if len(y.Shape) != 4 || y.Shape[0] != n || y.Shape[1] != 3 || y.Shape[2] < h || y.Shape[3] < w {
		return fmt.Errorf("stylize: model %s gave %v for %d frames of %dx%d: %w", m.Name(), y.Shape, n, w, h, nn.ErrShape)
	}
	oh, ow := y.Shape[2], y.Shape[3]
	Y := y.F32()
	for i := range dst {
		d := dst[i][:3*plane]
		for c := 0; c < 3; c++ {
			src := Y[(3*i+c)*oh*ow:]
			for row := 0; row < h; row++ {
				line := src[row*ow : row*ow+w]
				o := d[3*row*w+c:]
				for col, v := range line {
					o[3*col] = toByte(v)
				}
			}
		}
	}
	return nil
}

// toByte is clamp(0, 255) then truncation, as numpy's astype("uint8") after torch's clamp.
func toByte(v float32) byte {
	switch {
	case v >= 255:
		return 255
	case v > 0:
		return byte(v)
	}
	return 0 // also NaN, which clamp passes and astype turns into 0
}

// Scratch is the per-worker buffers of Stylize.
type Scratch struct {
	in  []float32
	dst map[string]*nn.Tensor
}
