package styletransfer

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sluice-ml/sluice/internal/testenv"
)

// BenchmarkStylizeVsPyTorch styles the same clip with Sluice (in process) and with the PyTorch +
// ffmpeg peer (bench/peers/torch_stylize.py), one after the other in each iteration, both with 2
// threads, same resolution, CRF and preset, and reports both rates and their ratio:
//
//	go test ./scenarios/styletransfer -run '^$' -bench StylizeVsPyTorch -benchtime 1x
//
// The clip (testsrc2 with a sine track, 25 fps) is STYLE_BENCH_SIZE (default 160x120) for
// STYLE_BENCH_SECONDS (default 4) seconds.
func BenchmarkStylizeVsPyTorch(b *testing.B) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		testenv.Missing(b, "ffmpeg not installed")
	}
	if _, err := os.Stat(filepath.Join(fixtureDir, ".style-complete")); err != nil {
		testenv.Missing(b, "style fixtures absent: run /usr/bin/python3 scenarios/styletransfer/testdata/gen_fixtures.py")
	}
	mp, _ := filepath.Abs(filepath.Join(fixtureDir, "style_random_legacy.pth"))
	size, secs := os.Getenv("STYLE_BENCH_SIZE"), os.Getenv("STYLE_BENCH_SECONDS")
	if size == "" {
		size = "160x120"
	}
	if secs == "" {
		secs = "4"
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "clip.mp4")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", secs, "-c:v", "libx264", "-pix_fmt", "yuv420p",
		"-c:a", "aac", src).CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v: %s", err, out)
	}
	var sluiceFPS, peerFPS float64
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), Options{Model: mp, Input: src, Output: filepath.Join(dir, "sluice.mp4"), Threads: 2})
		if err != nil {
			b.Fatal(err)
		}
		sluiceFPS += res.FramesPerSecond()
		out, err := exec.Command("/usr/bin/python3", "../../bench/peers/torch_stylize.py", "--model", mp, "--input", src,
			"--output", filepath.Join(dir, "peer.mp4"), "--threads", "2", "--json").Output()
		if err != nil {
			b.Fatalf("peer: %v", err)
		}
		var peer struct {
			FramesPerS float64 `json:"frames_per_s"`
			Frames     int64   `json:"frames"`
		}
		if err := json.Unmarshal(out, &peer); err != nil {
			b.Fatalf("peer output %q: %v", out, err)
		}
		if peer.Frames != res.Frames {
			b.Fatalf("peer styled %d frames, Sluice %d", peer.Frames, res.Frames)
		}
		peerFPS += peer.FramesPerS
		b.Logf("run %d (%s, %s s): Sluice %.3f frames/s, PyTorch+ffmpeg %.3f frames/s, ratio %.2f",
			i+1, size, secs, res.FramesPerSecond(), peer.FramesPerS, res.FramesPerSecond()/peer.FramesPerS)
	}
	b.ReportMetric(sluiceFPS/float64(b.N), "sluice-frames/s")
	b.ReportMetric(peerFPS/float64(b.N), "peer-frames/s")
	b.ReportMetric(sluiceFPS/peerFPS, "ratio")
}
