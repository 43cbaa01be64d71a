package cli_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/ops/video"
)

// styleModel is the random-weight TransformerNet of scenarios/styletransfer/testdata/gen_fixtures.py.
func styleModel(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		testenv.Missing(t, "ffmpeg not installed (scripts/setup.sh installs it)")
	}
	p, _ := filepath.Abs("../../nn/testdata/models/style_random_zip.pth")
	if _, err := os.Stat(p); err != nil {
		testenv.Missing(t, "style fixtures absent: run /usr/bin/python3 scenarios/styletransfer/testdata/gen_fixtures.py (scripts/setup.sh does)")
	}
	return p
}

func tinyClip(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=40x32:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=330:sample_rate=22050", "-t", "0.4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
		"-c:a", "aac", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
}

func TestStylizeCommand(t *testing.T) {
	t.Parallel()
	model := styleModel(t)
	dir := t.TempDir()
	tinyClip(t, filepath.Join(dir, "clip.mp4"))
	r := mustRun(t, dir, "stylize", "--model", model, "--input", "clip.mp4", "--output", "styled.mp4", "--crf", "23", "--threads", "1")
	if !strings.Contains(r.stdout, "styled.mp4: 10 frames 40x32 at 25/1 fps, audio true") {
		t.Fatalf("stdout: %s", r.stdout)
	}
	info, err := video.Probe(context.Background(), filepath.Join(dir, "styled.mp4"))
	if err != nil || info.Frames != 10 || !info.HasAudio {
		t.Fatalf("%+v %v", info, err)
	}
	// Bad input files and bad usage: exit 2 with a message naming the file.
	os.WriteFile(filepath.Join(dir, "notes.mp4"), []byte("not a video"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", model, "--input", "notes.mp4", "--output", "x.mp4"}, "notes.mp4: not a video"},
		{[]string{"--model", "clip.mp4", "--input", "clip.mp4", "--output", "x.mp4"}, "model clip.mp4"},
		{[]string{"--model", model, "--input", "clip.mp4"}, "needs --model, --input and --output"},
		{[]string{"--model", model, "--input", "clip.mp4", "--output", "x.mp4", "--crf", "70"}, "crf 70"},
	} {
		r := sluice(t, dir, append([]string{"stylize"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("stylize %v: exit %d, want 2 and %q in:\n%s", tc.args, r.code, tc.want, r.stderr)
		}
	}
}

func TestStylizeJobType(t *testing.T) {
	t.Parallel()
	model := styleModel(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "videos"), 0o755)
	tinyClip(t, filepath.Join(dir, "videos", "a.mp4"))
	writeFile(t, dir, "pipeline.yaml", `name: style
inputs:
  clips: {type: uri_folder, path: ./videos}
jobs:
  stylize:
    type: stylize
    inputs: {video: ${{parent.inputs.clips}}}
    outputs: {styled: {type: uri_folder}}
    model: `+model+`
    content_scale: 1.0
    crf: 20
`)
	r := mustRun(t, dir, "run", "pipeline.yaml")
	rj := showRun(t, dir, runID(t, r))
	if rj.Status != "Finished" || len(rj.Steps) != 1 || len(rj.Steps[0].Outputs) != 1 {
		t.Fatalf("run: %+v", rj)
	}
	out := filepath.Join(rj.Steps[0].Outputs[0].Value, "a.mp4")
	info, err := video.Probe(context.Background(), out)
	if err != nil || info.Frames != 10 || !info.HasAudio {
		t.Fatalf("%s: %+v %v", out, info, err)
	}
	ents, _ := os.ReadDir(rj.Steps[0].Outputs[0].Value)
	if len(ents) != 1 {
		t.Fatalf("output folder holds %d entries, want only a.mp4", len(ents))
	}
}
