package video

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-ml/sluice/internal/testenv"
)

var (
	clipOnce sync.Once
	clipDir  string
	clipErr  error
)

// clip renders a 3 s 160x120 test video at 25 fps with a 440 Hz AAC track, once per test binary.
func clip(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		testenv.Missing(t, "ffmpeg not installed (scripts/setup.sh installs it)")
	}
	clipOnce.Do(func() {
		clipDir, clipErr = os.MkdirTemp("", "sluice-video-")
		if clipErr != nil {
			return
		}
		out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
			"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "3", "-c:v", "libx264", "-g", "12",
			"-pix_fmt", "yuv420p", "-c:a", "aac", filepath.Join(clipDir, "clip.mp4")).CombinedOutput()
		if err != nil {
			clipErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	if clipErr != nil {
		t.Fatal(clipErr)
	}
	return filepath.Join(clipDir, "clip.mp4")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if clipDir != "" {
		os.RemoveAll(clipDir)
	}
	os.Exit(code)
}

func readAll(t *testing.T, info *Info, opts ReadOptions) [][]byte {
	t.Helper()
	r, err := NewReader(context.Background(), info, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var frames [][]byte
	for {
		f := make([]byte, r.FrameBytes())
		err := r.Next(f)
		if err == io.EOF {
			return frames
		}
		if err != nil {
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

func TestProbeAndExactFrameRanges(t *testing.T) {
	path := clip(t)
	info, err := Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Width != 160 || info.Height != 120 || info.Frames != 75 || info.FrameRate != (Rational{25, 1}) ||
		!info.HasAudio || info.AudioCodec != "aac" {
		t.Fatalf("%+v", info)
	}
	all := readAll(t, info, ReadOptions{})
	if len(all) != 75 {
		t.Fatalf("%d frames", len(all))
	}
	// A range read from the middle (seeking, not decoding from the start) gives exactly those frames.
	part := readAll(t, info, ReadOptions{First: 31, Count: 20})
	if len(part) != 20 {
		t.Fatalf("range gave %d frames", len(part))
	}
	for i := range part {
		if !bytes.Equal(part[i], all[31+i]) {
			t.Fatalf("frame %d of the range differs from frame %d", i, 31+i)
		}
	}
	tail := readAll(t, info, ReadOptions{First: 70, Count: 100})
	if len(tail) != 5 || !bytes.Equal(tail[4], all[74]) {
		t.Fatalf("tail: %d frames", len(tail))
	}
	small := readAll(t, info, ReadOptions{Width: 80, Height: 60, Count: 2})
	if len(small) != 2 || len(small[0]) != 80*60*3 {
		t.Fatal("scaled read")
	}
}

func TestWriteKeepsRateCountAndAudioBitForBit(t *testing.T) {
	path := clip(t)
	ctx := context.Background()
	info, err := Probe(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	frames := readAll(t, info, ReadOptions{})
	dir := t.TempDir()
	// Whole, and as three segments joined.
	whole := filepath.Join(dir, "whole.mp4")
	w, err := NewWriter(ctx, whole, WriteOptions{Width: 160, Height: 120, FrameRate: info.FrameRate, CRF: 12, AudioFrom: path})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := w.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var segs []string
	for i, rng := range [][2]int{{0, 25}, {25, 50}, {50, 75}} {
		seg := filepath.Join(dir, fmt.Sprintf("seg%d.mp4", i))
		sw, err := NewWriter(ctx, seg, WriteOptions{Width: 160, Height: 120, FrameRate: info.FrameRate, CRF: 12})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames[rng[0]:rng[1]] {
			sw.Write(f)
		}
		if err := sw.Close(); err != nil {
			t.Fatal(err)
		}
		segs = append(segs, seg)
	}
	joined := filepath.Join(dir, "joined.mp4")
	if err := Join(ctx, segs, joined, path); err != nil {
		t.Fatal(err)
	}
	srcAudio, err := AudioPacketHashes(ctx, path)
	if err != nil || len(srcAudio) < 100 {
		t.Fatalf("source audio: %d packets, %v", len(srcAudio), err)
	}
	for _, out := range []string{whole, joined} {
		oi, err := Probe(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		if oi.Frames != 75 || oi.FrameRate != info.FrameRate || oi.Width != 160 {
			t.Fatalf("%s: %+v", out, oi)
		}
		if d := oi.Duration - info.Duration; d > 50e6 || d < -50e6 {
			t.Fatalf("%s: duration %v, source %v", out, oi.Duration, info.Duration)
		}
		got, err := AudioPacketHashes(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got, ",") != strings.Join(srcAudio, ",") {
			t.Fatalf("%s: audio packets differ (%d vs %d)", out, len(got), len(srcAudio))
		}
		// No glitch at the seams: every frame close to its source.
		dec := readAll(t, oi, ReadOptions{})
		for i := range dec {
			if p := psnr(dec[i], frames[i]); p < 30 {
				t.Fatalf("%s: frame %d PSNR %.1f dB", out, i, p)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "whole.partial.mp4")); !os.IsNotExist(err) {
		t.Fatal("partial file left behind")
	}
	// A source without audio gives an output without audio.
	silent := filepath.Join(dir, "silent.mp4")
	w, _ = NewWriter(ctx, silent, WriteOptions{Width: 160, Height: 120, FrameRate: info.FrameRate, AudioFrom: segs[0]})
	w.Write(frames[0])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if si, err := Probe(ctx, silent); err != nil || si.HasAudio {
		t.Fatalf("silent: %+v %v", si, err)
	}
}

func TestBadInputs(t *testing.T) {
	path := clip(t)
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	src, _ := os.ReadFile(path)
	// An AVI whose codec tag nobody decodes.
	mj := filepath.Join(dir, "mj.avi")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", path, "-t", "0.5", "-an", "-c:v", "mjpeg", mj).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	mjb, _ := os.ReadFile(mj)
	cases := []struct {
		name string
		path string
		want error
	}{
		{"text", write("notes.mp4", []byte("this is not a video\n")), ErrNotVideo},
		{"zero length", write("empty.mp4", nil), ErrEmpty},
		{"truncated", write("cut.mp4", src[:len(src)/2]), ErrTruncated},
		{"unsupported codec", write("odd.avi", bytes.ReplaceAll(mjb, []byte("MJPG"), []byte("ZQXV"))), ErrUnsupportedCodec},
		{"audio only", write("sine.m4a", nil), nil},
		{"folder", dir, ErrNotVideo},
	}
	// A file with only audio.
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-i", path, "-vn", "-c:a", "copy", cases[4].path).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	cases[4].want = ErrNotVideo
	for _, tc := range cases {
		_, err := Probe(ctx, tc.path)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		} else if !strings.Contains(err.Error(), tc.path) {
			t.Errorf("%s: error does not name the file: %v", tc.name, err)
		}
	}
	// A stream cut short after its header reads as truncated.
	info, err := Probe(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	short := *info
	short.Frames = 500 // the container claims more than there is
	r, err := NewReader(ctx, &short, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, r.FrameBytes())
	var n int
	for err = r.Next(buf); err == nil; err = r.Next(buf) {
		n++
	}
	r.Close()
	if !errors.Is(err, ErrTruncated) || n != 75 {
		t.Fatalf("after %d frames: %v", n, err)
	}
}

func children(t *testing.T) []string {
	t.Helper()
	me := fmt.Sprint(os.Getpid())
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == me && strings.Contains(s[:i], "ffmpeg") {
			out = append(out, s[:i+1])
		}
	}
	return out
}

func TestEarlyCloseAndCancelLeaveNoFFmpeg(t *testing.T) {
	path := clip(t)
	info, err := Probe(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(context.Background(), info, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, r.FrameBytes())
	if err := r.Next(buf); err != nil {
		t.Fatal(err)
	}
	r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	w, err := NewWriter(ctx, filepath.Join(t.TempDir(), "x.mp4"), WriteOptions{Width: 160, Height: 120, FrameRate: Rational{25, 1}})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(buf)
	cancel()
	w.Abort()
	if c := children(t); len(c) > 0 {
		t.Fatalf("ffmpeg processes left: %v", c)
	}
}
