package styletransfer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow/ledger"
	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/npy"
	"github.com/sluice-ml/sluice/ops/video"
)

// The style fixtures come from testdata/gen_fixtures.py (scripts/setup.sh runs it).
const fixtureDir = "../../nn/testdata/models"

// childVar makes the test binary a stylize process (for the SIGKILL test): its value is the
// Options as JSON; every styled frame is slowed down so that the parent can kill it mid-run.
const childVar = "STYLIZE_TEST_CHILD"

func TestMain(m *testing.M) {
	if v := os.Getenv(childVar); v != "" {
		var c childOptions
		if err := json.Unmarshal([]byte(v), &c); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		o := Options{Model: c.Model, Input: c.Input, Output: c.Output, SegmentFrames: c.SegmentFrames, Threads: c.Threads,
			Tap: func(int64, []byte) { time.Sleep(40 * time.Millisecond) }}
		if _, err := Run(context.Background(), o); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childOptions is what the child process gets of the Options.
type childOptions struct {
	Model, Input, Output string
	SegmentFrames        int
	Threads              int
}

func model(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(fixtureDir, ".style-complete")); err != nil {
		testenv.Missing(t, "style fixtures absent: run /usr/bin/python3 scenarios/styletransfer/testdata/gen_fixtures.py (scripts/setup.sh does)")
	}
	p, err := filepath.Abs(filepath.Join(fixtureDir, "style_random_legacy.pth"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func needFFmpeg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		testenv.Missing(t, "ffmpeg not installed (scripts/setup.sh installs it)")
	}
}

// render makes a test clip with ffmpeg's lavfi sources.
func render(t *testing.T, path string, size string, rate, seconds int, audio bool) {
	t.Helper()
	// Temporal noise makes every frame unlike its neighbours (see the seam check).
	args := []string{"-v", "error", "-y", "-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=%d,noise=alls=30:allf=t", size, rate)}
	if audio {
		args = append(args, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-c:a", "aac")
	}
	args = append(args, "-t", fmt.Sprint(seconds), "-c:v", "libx264", "-g", fmt.Sprint(2*rate), "-pix_fmt", "yuv420p", path)
	if out, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
}

func decodeAll(t *testing.T, path string, w, h int) [][]byte {
	t.Helper()
	info, err := video.Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := video.NewReader(context.Background(), info, video.ReadOptions{Width: w, Height: h})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var frames [][]byte
	for {
		f := make([]byte, r.FrameBytes())
		if err := r.Next(f); err == io.EOF {
			return frames
		} else if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
}

func psnr(a, b []byte) float64 {
	var se float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(len(a))))
}

// lumaPSNR compares the luma of two RGB24 frames (yuv420p keeps luma at full resolution).
func lumaPSNR(a, b []byte) float64 {
	ya, yb := make([]byte, len(a)/3), make([]byte, len(b)/3)
	for i := range ya {
		ya[i] = byte((299*int(a[3*i]) + 587*int(a[3*i+1]) + 114*int(a[3*i+2]) + 500) / 1000)
		yb[i] = byte((299*int(b[3*i]) + 587*int(b[3*i+1]) + 114*int(b[3*i+2]) + 500) / 1000)
	}
	return psnr(ya, yb)
}

// ffmpegs lists running ffmpeg processes whose command line mentions dir.
func ffmpegs(dir string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, []byte(dir)) {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
		if strings.HasSuffix(args[0], "ffmpeg") || strings.HasSuffix(args[0], "ffprobe") {
			out = append(out, e.Name()+": "+strings.Join(args, " "))
		}
	}
	return out
}

func noFFmpegLeft(t *testing.T, dir string) {
	t.Helper()
	var left []string
	for range 50 { // a killed process takes a moment to go
		if left = ffmpegs(dir); len(left) == 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("ffmpeg processes left behind: %v", left)
}

// A 10 s clip at 24 fps with audio: the styled video keeps frame count, rate and duration, its
// audio is the source's bit for bit, and its frames (before encoding) match PyTorch's
// TransformerNet on the same decoded frames at PSNR ≥ 40 dB.
func TestStylizeKeepsTimingAudioAndMatchesPyTorch(t *testing.T) {
	needFFmpeg(t)
	mp := model(t)
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		testenv.Missing(t, "Debian python3 with python3-torch absent (scripts/setup.sh)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "clip.mp4")
	render(t, src, "64x48", 24, 10, true)
	out := filepath.Join(dir, "styled.mp4")
	check := []int64{0, 37, 99, 100, 171, 200, 239} // across the three segments and their seams
	var mu sync.Mutex
	got := map[int64][]byte{}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	res, err := Run(ctx, Options{Model: mp, Input: src, Output: out, ContentScale: 2, SegmentFrames: 100, Threads: 1, Allocator: mem,
		Tap: func(i int64, rgb []byte) {
			mu.Lock()
			got[i] = bytes.Clone(rgb)
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Segments != 3 || res.Styled != 240 || res.Width != 32 || res.Height != 24 {
		t.Fatalf("result %+v", res)
	}
	if _, err := os.Stat(out + ".parts"); !os.IsNotExist(err) {
		t.Errorf("work folder left after success: %v", err)
	}
	in, err := video.Probe(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	o, err := video.Probe(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if d := o.Frames - in.Frames; d < -1 || d > 1 {
		t.Errorf("frames %d, source %d", o.Frames, in.Frames)
	}
	if o.FrameRate != in.FrameRate || o.FrameRate != (video.Rational{Num: 24, Den: 1}) {
		t.Errorf("frame rate %s, source %s", o.FrameRate, in.FrameRate)
	}
	frame := time.Second / 24
	if d := o.Duration - in.Duration; d < -frame || d > frame {
		t.Errorf("duration %v, source %v", o.Duration, in.Duration)
	}
	if o.Width != 32 || o.Height != 24 || !o.HasAudio {
		t.Errorf("output %+v", o)
	}
	ha, err := video.AudioPacketHashes(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := video.AudioPacketHashes(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(ha) < 400 || !slices.Equal(ha, hb) {
		t.Errorf("audio packets differ: %d in the source, %d in the output", len(ha), len(hb))
	}

	// Encoded frame i is styled frame i, not a neighbour: nothing shifted or doubled at the seams.
	enc := decodeAll(t, out, 0, 0)
	if len(enc) != 240 || len(got) != 240 {
		t.Fatalf("%d frames decoded, %d styled, want 240", len(enc), len(got))
	}
	for _, i := range []int64{1, 98, 99, 100, 101, 198, 199, 200, 201, 238} {
		p, prev, next := lumaPSNR(enc[i], got[i]), lumaPSNR(enc[i], got[i-1]), lumaPSNR(enc[i], got[i+1])
		if p < 28 || p < prev+6 || p < next+6 { // measured: ~34 dB to itself, ~20 to neighbours
			t.Errorf("encoded frame %d: luma PSNR %.1f dB to styled frame %d, %.1f to %d, %.1f to %d", i, p, i, prev, i-1, next, i+1)
		}
	}

	// PyTorch on the same frames, decoded and scaled as Run reads them.
	all := decodeAll(t, src, 32, 24)
	x := nn.NewTensor(nn.Uint8, len(check), 24, 32, 3)
	xb := x.Data.([]uint8)
	for k, i := range check {
		copy(xb[k*32*24*3:], all[i])
	}
	inPath, refPath := filepath.Join(dir, "in.npy"), filepath.Join(dir, "ref.npy")
	f, err := os.Create(inPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := npy.Write(f, x); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cmd := exec.Command("/usr/bin/python3", "testdata/torch_reference.py", mp, inPath, refPath)
	if b, err := cmd.CombinedOutput(); err != nil {
		if bytes.Contains(b, []byte("No module named 'torch'")) {
			testenv.Missing(t, "python3-torch absent (scripts/setup.sh installs it)")
		}
		t.Fatalf("torch_reference.py: %v: %s", err, b)
	}
	rf, err := os.Open(refPath)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := npy.Read(rf, npy.Options{})
	rf.Close()
	if err != nil {
		t.Fatal(err)
	}
	rb := ref.Data.([]uint8)
	for k, i := range check {
		p := psnr(got[i], rb[k*32*24*3:(k+1)*32*24*3])
		t.Logf("frame %d: PSNR %.1f dB against PyTorch", i, p)
		if p < 40 {
			t.Errorf("frame %d: PSNR %.1f dB against PyTorch, want ≥ 40", i, p)
		}
	}
}

// SIGKILL during a three-segment run, then a rerun: the output's frames are identical to an
// uninterrupted run's, the rerun styles only what was not committed, and no ffmpeg survives.
// The clip has no audio track, and neither has the output.
func TestSIGKILLThenRerunGivesTheSameFrames(t *testing.T) {
	needFFmpeg(t)
	mp := model(t)
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "silent.mp4")
	render(t, src, "48x32", 25, 1, false)
	base := Options{Model: mp, Input: src, SegmentFrames: 9, Threads: 1}

	// Uninterrupted, with parallel segments and workers: order must not depend on them.
	whole := base
	whole.Output, whole.Parallel, whole.Workers = filepath.Join(dir, "whole.mp4"), 2, 2
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	whole.Allocator = mem
	if _, err := Run(ctx, whole); err != nil {
		t.Fatal(err)
	}
	mem.AssertSize(t, 0)

	killed := base
	killed.Output = filepath.Join(dir, "killed.mp4")
	if err := killed.defaults(); err != nil {
		t.Fatal(err)
	}
	key, err := runKey(killed, 48, 32)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(childOptions{killed.Model, killed.Input, killed.Output, killed.SegmentFrames, killed.Threads})
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childVar+"="+string(js))
	var stderr bytes.Buffer
	child.Stderr = &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()
	committed := 0
	deadline := time.Now().Add(2 * time.Minute)
	for committed == 0 && time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("the child ended before it was killed: %v\n%s", err, stderr.String())
		case <-time.After(25 * time.Millisecond):
		}
		committed = countCommitted(ctx, t, filepath.Join(killed.WorkDir, "ledger.db"), key)
	}
	if committed == 0 {
		t.Fatalf("no segment committed in time\n%s", stderr.String())
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	noFFmpegLeft(t, dir)
	if committed = countCommitted(ctx, t, filepath.Join(killed.WorkDir, "ledger.db"), key); committed >= 3 {
		t.Fatalf("the child finished all %d segments before the kill", committed)
	}
	if _, err := os.Stat(killed.Output); err == nil {
		t.Fatal("the killed run left an output")
	}

	res, err := Run(ctx, killed)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reused < committed || res.Styled > 25-9*int64(committed) {
		t.Errorf("rerun reused %d segments and styled %d frames; %d were committed", res.Reused, res.Styled, committed)
	}
	a, b := decodeAll(t, whole.Output, 0, 0), decodeAll(t, killed.Output, 0, 0)
	if len(a) != 25 || len(b) != 25 {
		t.Fatalf("frames: uninterrupted %d, resumed %d, want 25", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("frame %d differs between the uninterrupted and the resumed run", i)
		}
	}
	info, err := video.Probe(ctx, killed.Output)
	if err != nil {
		t.Fatal(err)
	}
	if info.HasAudio || info.FrameRate != (video.Rational{Num: 25, Den: 1}) {
		t.Errorf("output %+v, want 25 fps without audio", info)
	}
	noFFmpegLeft(t, dir)
}

func countCommitted(ctx context.Context, t *testing.T, db, key string) int {
	if _, err := os.Stat(db); err != nil {
		return 0
	}
	l, err := ledger.Open(ctx, db)
	if err != nil {
		return 0
	}
	defer l.Close()
	p, err := l.Partitions(ctx, key)
	if err != nil {
		return 0
	}
	return len(p)
}

// Cancelling mid-run (batches in flight in every stage) returns ctx.Err(), releases every Arrow
// batch, leaves no output, no partial segment and no ffmpeg; a rerun then finishes.
func TestCancelMidRunReleasesEverything(t *testing.T) {
	needFFmpeg(t)
	mp := model(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "clip.mp4")
	render(t, src, "48x32", 25, 1, true)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o := Options{Model: mp, Input: src, Output: filepath.Join(dir, "out.mp4"), SegmentFrames: 10, Batch: 2, Workers: 2,
		Parallel: 2, Threads: 1, Allocator: mem, Tap: func(i int64, _ []byte) {
			if i == 13 {
				cancel()
			}
		}}
	if _, err := Run(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	mem.AssertSize(t, 0)
	noFFmpegLeft(t, dir)
	if _, err := os.Stat(o.Output); !os.IsNotExist(err) {
		t.Fatalf("output after cancel: %v", err)
	}
	partial, _ := filepath.Glob(filepath.Join(o.Output+".parts", "*.partial.*"))
	if len(partial) > 0 {
		t.Fatalf("partial segments left: %v", partial)
	}
	o.Tap = nil
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != 25 || res.Segments != 3 || res.Styled > 25 {
		t.Fatalf("rerun: %+v", res)
	}
	mem.AssertSize(t, 0)
}

// Bad inputs are errors wrapping ErrBadInput and the video package's cause, naming the file;
// no ffmpeg is left running.
func TestBadInputs(t *testing.T) {
	needFFmpeg(t)
	mp := model(t)
	ctx := context.Background()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.mp4")
	render(t, good, "48x32", 25, 2, true)
	src, _ := os.ReadFile(good)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mj := filepath.Join(dir, "mj.avi")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", good, "-t", "0.5", "-an", "-c:v", "mjpeg", mj).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	mjb, _ := os.ReadFile(mj)
	cases := []struct {
		name, input, model string
		want               error
	}{
		{"not a video", write("notes.mp4", []byte("this is not a video\n")), mp, video.ErrNotVideo},
		{"zero length", write("empty.mp4", nil), mp, video.ErrEmpty},
		{"truncated", write("cut.mp4", src[:len(src)/2]), mp, video.ErrTruncated},
		{"unsupported codec", write("odd.avi", bytes.ReplaceAll(mjb, []byte("MJPG"), []byte("ZQXV"))), mp, video.ErrUnsupportedCodec},
		{"missing", filepath.Join(dir, "nope.mp4"), mp, os.ErrNotExist},
		{"model not a model", good, write("model.pth", []byte("\x80\x02garbage")), nil},
		{"model of another net", good, filepath.Join(fixtureDir, "squeezenet1_1_op13.onnx"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(ctx, Options{Model: tc.model, Input: tc.input, Output: filepath.Join(dir, "out-"+strings.ReplaceAll(tc.name, " ", "-")+".mp4"), Threads: 1})
			if !errors.Is(err, ErrBadInput) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("got %v, want ErrBadInput wrapping %v", err, tc.want)
			}
			named := tc.input
			if tc.want == nil {
				named = tc.model
			}
			if !strings.Contains(err.Error(), named) {
				t.Fatalf("error %q does not name %s", err, named)
			}
			t.Logf("%v", err)
		})
	}
	noFFmpegLeft(t, dir)
}
