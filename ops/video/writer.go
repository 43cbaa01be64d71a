package video

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// WriteOptions describe the encoded video.
type WriteOptions struct {
	Width, Height int
	FrameRate     Rational
	CRF           int    // libx264 constant rate factor (0–51); 0 means 18
	Preset        string // libx264 preset; "" means "medium"
	// AudioFrom, when set, is a file whose first audio stream is copied into the output untouched.
	// A source without audio gives an output without audio.
	AudioFrom string
}

// Writer encodes RGB24 frames into a video file. The file appears at its path only when Close
// succeeds (written to a temporary name, then renamed); Abort discards it.
type Writer struct {
	path   string
	tmp    string
	cmd    *exec.Cmd
	in     io.WriteCloser
	stderr *tailBuffer
	frame  int
	frames int64
	closed bool
}

// NewWriter starts an ffmpeg encoder writing to path.
func NewWriter(ctx context.Context, path string, opts WriteOptions) (*Writer, error) {
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, ErrNoFFmpeg
	}
	if opts.Width <= 0 || opts.Height <= 0 || opts.FrameRate.Num <= 0 || opts.FrameRate.Den <= 0 {
		return nil, fmt.Errorf("video writer: size %dx%d at %s", opts.Width, opts.Height, opts.FrameRate)
	}
	crf := opts.CRF
	if crf == 0 {
		crf = 18
	}
	if crf < 0 || crf > 51 {
		return nil, fmt.Errorf("video writer: crf %d outside 0–51", crf)
	}
	preset := opts.Preset
	if preset == "" {
		preset = "medium"
	}
	ext := filepath.Ext(path)
	w := &Writer{path: path, tmp: strings.TrimSuffix(path, ext) + ".partial" + ext, stderr: &tailBuffer{max: 4096},
		frame: opts.Width * opts.Height * 3}
	args := []string{"-v", "error", "-nostdin", "-y",
		"-f", "rawvideo", "-pix_fmt", "rgb24", "-s", fmt.Sprintf("%dx%d", opts.Width, opts.Height),
		"-framerate", opts.FrameRate.String(), "-i", "pipe:0"}
	if opts.AudioFrom != "" {
		args = append(args, "-i", opts.AudioFrom, "-map", "0:v:0", "-map", "1:a:0?", "-c:a", "copy")
	}
	args = append(args, "-c:v", "libx264", "-preset", preset, "-crf", strconv.Itoa(crf), "-pix_fmt", "yuv420p",
		// yuv420p needs even sizes: drop the odd last row/column rather than invent one.
		"-vf", "crop=trunc(iw/2)*2:trunc(ih/2)*2", "-fps_mode", "passthrough", "-movflags", "+faststart", w.tmp)
	w.cmd = exec.CommandContext(ctx, bin, args...)
	setGroup(w.cmd)
	w.cmd.Stderr = w.stderr
	if w.in, err = w.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("video writer: %w", err)
	}
	if err := w.cmd.Start(); err != nil {
		return nil, fmt.Errorf("video writer: starting ffmpeg: %w", err)
	}
	return w, nil
}

// Write encodes one frame of Width*Height*3 bytes.
func (w *Writer) Write(frame []byte) error {
	if len(frame) != w.frame {
		return fmt.Errorf("video writer: frame of %d bytes, want %d", len(frame), w.frame)
	}
	if _, err := w.in.Write(frame); err != nil {
		return fmt.Errorf("video writer %s: %w (%s)", w.path, err, lastLine(w.stderr.String()))
	}
	w.frames++
	return nil
}

// Close finishes the file and moves it into place.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	w.in.Close()
	if err := w.cmd.Wait(); err != nil {
		os.Remove(w.tmp)
		return fmt.Errorf("video writer %s: ffmpeg: %w: %s", w.path, err, lastLine(w.stderr.String()))
	}
	if err := syncFile(w.tmp); err != nil {
		return err
	}
	if err := os.Rename(w.tmp, w.path); err != nil {
		return fmt.Errorf("video writer: %w", err)
	}
	return nil
}

// Abort stops the encoder and removes the partial file. Safe after Close.
func (w *Writer) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	_ = w.cmd.Cancel()
	w.in.Close()
	_ = w.cmd.Wait()
	os.Remove(w.tmp)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("video writer: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("video writer: %w", err)
	}
	return nil
}

// Join concatenates segment files (same size, codec and rate, as Writers make them) into out,
// copying the video packets and muxing the first audio stream of audioFrom (if any) untouched.
func Join(ctx context.Context, segments []string, out, audioFrom string) error {
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return ErrNoFFmpeg
	}
	if len(segments) == 0 {
		return fmt.Errorf("video join: no segments")
	}
	list, err := os.CreateTemp(filepath.Dir(out), ".segments-*.txt")
	if err != nil {
		return fmt.Errorf("video join: %w", err)
	}
	defer os.Remove(list.Name())
	for _, s := range segments {
		abs, err := filepath.Abs(s)
		if err != nil {
			return fmt.Errorf("video join: %w", err)
		}
		fmt.Fprintf(list, "file '%s'\n", strings.ReplaceAll(abs, "'", `'\''`))
	}
	if err := list.Close(); err != nil {
		return fmt.Errorf("video join: %w", err)
	}
	ext := filepath.Ext(out)
	tmp := strings.TrimSuffix(out, ext) + ".partial" + ext
	args := []string{"-v", "error", "-nostdin", "-y", "-f", "concat", "-safe", "0", "-i", list.Name()}
	if audioFrom != "" {
		args = append(args, "-i", audioFrom, "-map", "0:v:0", "-map", "1:a:0?")
	}
	args = append(args, "-c", "copy", "-movflags", "+faststart", tmp)
	cmd := exec.CommandContext(ctx, bin, args...)
	setGroup(cmd)
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("video join: ffmpeg: %w: %s", err, lastLine(stderr.String()))
	}
	if err := syncFile(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("video join: %w", err)
	}
	return nil
}

// AudioPacketHashes returns the MD5 of every packet of the first audio stream (ffmpeg's framemd5
// muxer over a stream copy): equal lists mean the audio was carried over bit for bit.
func AudioPacketHashes(ctx context.Context, path string) ([]string, error) {
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, ErrNoFFmpeg
	}
	cmd := exec.CommandContext(ctx, bin, "-v", "error", "-nostdin", "-i", path, "-map", "0:a:0", "-c", "copy", "-f", "framemd5", "-")
	setGroup(cmd)
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("audio packets of %s: %w: %s", path, err, lastLine(stderr.String()))
	}
	var hashes []string
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		hashes = append(hashes, strings.TrimSpace(f[len(f)-1]))
	}
	return hashes, nil
}
