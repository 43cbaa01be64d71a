package video

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"sync"
)

// ReadOptions choose the frames and their size.
type ReadOptions struct {
	First int64 // index of the first frame
	Count int64 // frames to read; 0 reads to the end
	// Width and Height scale the frames (Lanczos); 0 keeps the source size.
	Width, Height int
}

// Reader decodes frames as packed RGB24 (Width*Height*3 bytes each) from an ffmpeg process.
// It is not safe for concurrent use. Close must be called; it ends ffmpeg if it still runs.
type Reader struct {
	info   *Info
	cmd    *exec.Cmd
	out    io.ReadCloser
	stderr *tailBuffer
	width  int
	height int
	want   int64 // frames expected, -1 when unknown
	read   int64
	done   bool
	err    error
	once   sync.Once
}

// NewReader starts decoding info's video.
func NewReader(ctx context.Context, info *Info, opts ReadOptions) (*Reader, error) {
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return nil, ErrNoFFmpeg
	}
	if opts.First < 0 || opts.Count < 0 || opts.First >= info.Frames {
		return nil, fmt.Errorf("video %s: frames [%d, +%d) outside its %d frames", info.Path, opts.First, opts.Count, info.Frames)
	}
	r := &Reader{info: info, width: info.Width, height: info.Height, stderr: &tailBuffer{max: 4096}}
	r.want = info.Frames - opts.First
	if opts.Count > 0 && opts.Count < r.want {
		r.want = opts.Count
	}
	args := []string{"-v", "error", "-nostdin"}
	if t := info.seekTime(opts.First); t > 0 {
		args = append(args, "-ss", strconv.FormatFloat(t, 'f', 6, 64))
	}
	args = append(args, "-i", info.Path, "-map", "0:v:0", "-fps_mode", "passthrough", "-frames:v", strconv.FormatInt(r.want, 10))
	if opts.Width > 0 && opts.Height > 0 && (opts.Width != info.Width || opts.Height != info.Height) {
		r.width, r.height = opts.Width, opts.Height
		args = append(args, "-vf", fmt.Sprintf("scale=%d:%d:flags=lanczos", opts.Width, opts.Height))
	}
	args = append(args, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1")
	r.cmd = exec.CommandContext(ctx, bin, args...)
	setGroup(r.cmd)
	r.cmd.Stderr = r.stderr
	if r.out, err = r.cmd.StdoutPipe(); err != nil {
		return nil, fmt.Errorf("video %s: %w", info.Path, err)
	}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("video %s: starting ffmpeg: %w", info.Path, err)
	}
	return r, nil
}

// Size is the size of the frames Next returns.
func (r *Reader) Size() (width, height int) { return r.width, r.height }

// FrameBytes is the length of one frame.
func (r *Reader) FrameBytes() int { return r.width * r.height * 3 }

// Next fills frame (FrameBytes long) with the next frame. It returns io.EOF after the last one,
// and an error wrapping ErrTruncated when the video ends early or ffmpeg fails.
func (r *Reader) Next(frame []byte) error {
	if r.done {
		if r.err != nil {
			return r.err
		}
		return io.EOF
	}
	if len(frame) != r.FrameBytes() {
		return fmt.Errorf("video: frame buffer of %d bytes, want %d", len(frame), r.FrameBytes())
	}
	n, err := io.ReadFull(r.out, frame)
	if err == nil {
		r.read++
		return nil
	}
	r.done = true
	werr := r.wait()
	if errors.Is(err, io.EOF) && n == 0 && werr == nil && r.read == r.want {
		return io.EOF
	}
	reason := r.stderr.String()
	if reason == "" {
		reason = "the stream ended early"
	}
	r.err = fmt.Errorf("video %s: %w: got %d of %d frames: %s", r.info.Path, ErrTruncated, r.read, r.want, lastLine(reason))
	return r.err
}

func (r *Reader) wait() error {
	var err error
	r.once.Do(func() { err = r.cmd.Wait() })
	return err
}

// Close ends ffmpeg (if it still runs) and releases the pipe. Safe to call more than once.
func (r *Reader) Close() error {
	if r == nil || r.cmd == nil {
		return nil
	}
	if r.cmd.ProcessState == nil && r.cmd.Process != nil {
		_ = r.cmd.Cancel()
	}
	r.out.Close()
	_ = r.wait()
	return nil
}

// tailBuffer keeps the last max bytes written (ffmpeg's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
