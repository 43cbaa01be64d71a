package batchscoring

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow"
)

const (
	sampleModel  = "../../sample/classifier.onnx"
	sampleLabels = "../../sample/labels.txt"
	sampleImages = "../../sample/images"
	samplePrep   = "size=64,mean=0.5:0.5:0.5,std=0.25:0.25:0.25"
)

func sampleConfig(t *testing.T, input string) (Config, *memory.CheckedAllocator) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return Config{
		Model: sampleModel, Labels: sampleLabels, Input: input, Output: filepath.Join(t.TempDir(), "out"),
		Preprocess: samplePrep, Batch: 8, MiniBatch: 32, Threads: 2, DecodeWorkers: 2,
		Thresholds: dataflow.IgnoreFailures, Allocator: mem,
	}, mem
}

// TestScoreSample scores the shipped sample: every image gets a row, and the labels are right
// (a channel-order or normalization mistake would show as a collapse of the accuracy).
func TestScoreSample(t *testing.T) {
	cfg, _ := sampleConfig(t, sampleImages)
	res, err := Score(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Images != 300 || res.Items != 300 || res.FailedItems != 0 {
		t.Fatalf("images %d items %d failed %d, want 300/300/0", res.Images, res.Items, res.FailedItems)
	}
	ev, err := Evaluate(context.Background(), cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(ev)
	if ev.Rows != 300 || ev.Errors != 0 || ev.Labelled != 300 || ev.Accuracy() < 0.9 || ev.TopKAccuracy() < ev.Accuracy() {
		t.Fatalf("evaluation %v: want 300 rows, no error, accuracy ≥ 90%%", ev)
	}
	// The output does not depend on the degree of parallelism: same files, byte for byte.
	cfg2, _ := sampleConfig(t, sampleImages)
	cfg2.DecodeWorkers, cfg2.Threads = 1, 1
	if _, err := Score(context.Background(), cfg2); err != nil {
		t.Fatal(err)
	}
	if a, b := dirDigest(t, cfg.Output), dirDigest(t, cfg2.Output); a != b {
		t.Fatalf("outputs differ with 2 and 1 workers:\n%s\n%s", a, b)
	}
	// A rerun finds everything committed and scores nothing again.
	res, err = Score(context.Background(), cfg)
	if err != nil || res.Skipped != len(res.Partitions) || res.Skipped == 0 {
		t.Fatalf("rerun: skipped %d of %d partitions, err %v", res.Skipped, len(res.Partitions), err)
	}
}

// brokenSet writes good images (copies of the sample's) and broken files of every kind.
func brokenSet(t *testing.T, good, perKind int) (dir string, broken map[string]string) {
	t.Helper()
	dir = t.TempDir()
	var srcs []string
	filepath.WalkDir(sampleImages, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			srcs = append(srcs, p)
		}
		return nil
	})
	if len(srcs) == 0 {
		t.Fatal("no sample images")
	}
	for i := 0; i < good; i++ {
		src := srcs[i%len(srcs)]
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		cls := filepath.Base(filepath.Dir(src))
		os.MkdirAll(filepath.Join(dir, cls), 0o755)
		if err := os.WriteFile(filepath.Join(dir, cls, fmt.Sprintf("%04d.jpg", i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	jpeg, _ := os.ReadFile(srcs[0])
	// A PNG header claiming 60000×60000 pixels: a decompression bomb.
	var bomb bytes.Buffer
	png.Encode(&bomb, image.NewGray(image.Rect(0, 0, 1, 1)))
	b := bomb.Bytes()
	b[16], b[17], b[18], b[19] = 0, 0, 0xea, 0x60
	b[20], b[21], b[22], b[23] = 0, 0, 0xea, 0x60
	binary.BigEndian.PutUint32(b[29:33], crc32.ChecksumIEEE(b[12:29])) // a valid IHDR chunk
	kinds := map[string]struct {
		data  []byte
		cause string
	}{
		"truncated.jpg": {jpeg[:len(jpeg)/3], "corrupt or truncated"},
		"empty.jpg":     {nil, "empty file"},
		"random.jpg":    {bytes.Repeat([]byte{0x13, 0x37, 0xc0, 0xde}, 300), "not a supported image"},
		"bomb.png":      {b, "pixels (limit"},
		"notes.txt":     {[]byte("this is not an image\n"), "not a supported image"},
	}
	broken = map[string]string{}
	os.MkdirAll(filepath.Join(dir, "broken"), 0o755)
	for i := 0; i < perKind; i++ {
		for name, k := range kinds {
			rel := fmt.Sprintf("broken/%02d-%s", i, name)
			if err := os.WriteFile(filepath.Join(dir, rel), k.data, 0o644); err != nil {
				t.Fatal(err)
			}
			broken[rel] = k.cause
		}
	}
	return dir, broken
}

// TestBrokenFiles: bad files become error rows naming the file and the cause, the good ones are
// scored, and the error threshold stops the run with a message naming it.
func TestBrokenFiles(t *testing.T) {
	good, perKind := 500, 10
	if testing.Short() {
		good, perKind = 60, 3
	}
	dir, broken := brokenSet(t, good, perKind)
	cfg, _ := sampleConfig(t, dir)
	res, err := Score(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != int64(good+len(broken)) || res.FailedItems != int64(len(broken)) {
		t.Fatalf("items %d failed %d, want %d and %d", res.Items, res.FailedItems, good+len(broken), len(broken))
	}
	ev, err := Evaluate(context.Background(), cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Rows != good+len(broken) || ev.Errors != len(broken) || ev.Labelled != good {
		t.Fatalf("evaluation %v", ev)
	}
	for _, f := range ev.Failed {
		cause, ok := broken[f.Path]
		if !ok {
			t.Errorf("%s failed but is a good image: %s", f.Path, f.Error)
			continue
		}
		if !strings.Contains(f.Error, cause) {
			t.Errorf("%s: error %q does not name the cause %q", f.Path, f.Error, cause)
		}
	}

	cfg2, _ := sampleConfig(t, dir)
	cfg2.Thresholds = dataflow.Thresholds{ErrorThreshold: 10, AllowedFailedCount: -1, AllowedFailedPercent: -1}
	_, err = Score(context.Background(), cfg2)
	if !errors.Is(err, dataflow.ErrThresholdExceeded) || !strings.Contains(err.Error(), "error_threshold") {
		t.Fatalf("threshold 10 with %d bad files: err %v, want error_threshold exceeded", len(broken), err)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	wrongLabels := filepath.Join(dir, "labels.txt")
	os.WriteFile(wrongLabels, []byte("a\nb\n"), 0o644)
	for name, mod := range map[string]func(*Config){
		"no model":          func(c *Config) { c.Model = filepath.Join(dir, "missing.onnx") },
		"bad preprocess":    func(c *Config) { c.Preprocess = "size=abc" },
		"wrong input size":  func(c *Config) { c.Preprocess = "torchvision" },
		"labels mismatch":   func(c *Config) { c.Labels = wrongLabels },
		"unknown format":    func(c *Config) { c.Format = "xlsx" },
		"variable size":     func(c *Config) { c.Preprocess = "resize=64" },
		"model not an onnx": func(c *Config) { c.Model = sampleLabels },
	} {
		t.Run(name, func(t *testing.T) {
			cfg, _ := sampleConfig(t, sampleImages)
			mod(&cfg)
			if _, err := Score(context.Background(), cfg); !errors.Is(err, ErrConfig) {
				t.Fatalf("err %v, want ErrConfig", err)
			}
		})
	}
}

// dirDigest lists the part files of dir with the SHA-256 of each.
func dirDigest(t *testing.T, dir string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "part-*"))
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %x\n", filepath.Base(f), sha256.Sum256(data))
	}
	return b.String()
}

// TestGrownFolderScoresOnlyNewImages: after images are added (and one changed), a rerun scores
// the partitions holding them, not the whole folder; the output still has each image once.
func TestGrownFolderScoresOnlyNewImages(t *testing.T) {
	dir, _ := brokenSet(t, 300, 0)
	cfg, _ := sampleConfig(t, dir)
	cfg.MiniBatch = 16
	if _, err := Score(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	squares, _ := filepath.Glob(filepath.Join(dir, "square", "*.jpg"))
	circles, _ := filepath.Glob(filepath.Join(dir, "circle", "*.jpg"))
	src, _ := os.ReadFile(squares[0])
	for _, name := range []string{"square/0001b.jpg", "square/0001c.jpg"} {
		os.WriteFile(filepath.Join(dir, name), src, 0o644)
	}
	os.WriteFile(circles[len(circles)/2], src, 0o644) // changed content
	res, err := Score(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var redone int64
	for _, p := range res.Partitions {
		if !p.Skipped {
			redone += p.Rows
		}
	}
	if res.Items != 302 || redone == 0 || redone > 302/4 {
		t.Fatalf("rerun over 302 images (2 new, 1 changed) scored %d of them again (items %d)", redone, res.Items)
	}
	ev, err := Evaluate(context.Background(), cfg.Output)
	if err != nil || ev.Rows != 302 || len(ev.Labels) != 302 || len(ev.Duplicates) != 0 {
		t.Fatalf("after the rerun: %v, err %v", ev, err)
	}
	t.Logf("scored %d of 302 images again", redone)
}
