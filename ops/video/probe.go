package video

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Rational is a frame rate such as 25/1 or 30000/1001.
type Rational struct{ Num, Den int64 }

// Float is the rate in frames per second.
func (r Rational) Float() float64 {
	if r.Den == 0 {
		return 0
	}
	return float64(r.Num) / float64(r.Den)
}

func (r Rational) String() string { return fmt.Sprintf("%d/%d", r.Num, r.Den) }

// ParseRational reads "25/1", "30000/1001" or "25".
func ParseRational(s string) (Rational, error) {
	n, d, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		d = "1"
	}
	num, err1 := strconv.ParseInt(n, 10, 64)
	den, err2 := strconv.ParseInt(d, 10, 64)
	if err1 != nil || err2 != nil || num <= 0 || den <= 0 {
		return Rational{}, fmt.Errorf("frame rate %q", s)
	}
	return Rational{num, den}, nil
}

// Info describes a video file.
type Info struct {
	Path       string
	Width      int
	Height     int
	FrameRate  Rational // the video stream's r_frame_rate
	Frames     int64    // frame count (from the container, or counted by decoding)
	Duration   time.Duration
	StartTime  float64 // seconds, of the video stream
	VideoCodec string
	HasAudio   bool
	AudioCodec string
}

type probeStream struct {
	CodecType    string `json:"codec_type"`
	CodecName    string `json:"codec_name"`
	CodecTag     string `json:"codec_tag_string"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	RFrameRate   string `json:"r_frame_rate"`
	NbFrames     string `json:"nb_frames"`
	NbReadFrames string `json:"nb_read_frames"`
	StartTime    string `json:"start_time"`
	Duration     string `json:"duration"`
	Disposition  struct {
		AttachedPic int `json:"attached_pic"`
	} `json:"disposition"`
}

type probeOut struct {
	Streams []probeStream `json:"streams"`
	Format  struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// Probe describes the video at path with ffprobe. When the container does not state the frame
// count, it is counted by decoding (-count_frames).
func Probe(ctx context.Context, path string) (*Info, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("video %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("video %s: %w: it is a folder", path, ErrNotVideo)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("video %s: %w: the file has 0 bytes", path, ErrEmpty)
	}
	out, err := ffprobe(ctx, path, false)
	if err != nil {
		return nil, err
	}
	info := &Info{Path: path}
	found := false
	for _, s := range out.Streams {
		switch {
		case s.CodecType == "video" && s.Disposition.AttachedPic == 0 && !found:
			found = true
			if s.CodecName == "" {
				return nil, fmt.Errorf("video %s: %w: ffmpeg has no decoder for codec tag %q", path, ErrUnsupportedCodec, s.CodecTag)
			}
			info.VideoCodec, info.Width, info.Height = s.CodecName, s.Width, s.Height
			if info.FrameRate, err = ParseRational(s.RFrameRate); err != nil {
				return nil, fmt.Errorf("video %s: %w: %v", path, ErrNotVideo, err)
			}
			info.Frames, _ = strconv.ParseInt(s.NbFrames, 10, 64)
			info.StartTime, _ = strconv.ParseFloat(s.StartTime, 64)
			if d, err := strconv.ParseFloat(s.Duration, 64); err == nil {
				info.Duration = time.Duration(d * float64(time.Second))
			}
		case s.CodecType == "audio" && !info.HasAudio:
			info.HasAudio, info.AudioCodec = true, s.CodecName
		}
	}
	if !found {
		return nil, fmt.Errorf("video %s: %w: no video stream", path, ErrNotVideo)
	}
	if info.Width <= 0 || info.Height <= 0 {
		return nil, fmt.Errorf("video %s: %w: frame size %dx%d", path, ErrTruncated, info.Width, info.Height)
	}
	if info.Duration == 0 {
		if d, err := strconv.ParseFloat(out.Format.Duration, 64); err == nil {
			info.Duration = time.Duration(d * float64(time.Second))
		}
	}
	if info.Frames <= 0 {
		counted, err := ffprobe(ctx, path, true)
		if err != nil {
			return nil, err
		}
		for _, s := range counted.Streams {
			if s.CodecType == "video" {
				info.Frames, _ = strconv.ParseInt(s.NbReadFrames, 10, 64)
				break
			}
		}
	}
	if info.Frames <= 0 {
		return nil, fmt.Errorf("video %s: %w: no frames", path, ErrEmpty)
	}
	if info.Duration == 0 {
		info.Duration = time.Duration(float64(info.Frames) / info.FrameRate.Float() * float64(time.Second))
	}
	return info, nil
}

func ffprobe(ctx context.Context, path string, count bool) (*probeOut, error) {
	bin, err := exec.LookPath("ffprobe")
	if err != nil {
		return nil, ErrNoFFmpeg
	}
	args := []string{"-v", "error", "-print_format", "json", "-show_streams", "-show_format"}
	if count {
		args = append(args, "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=codec_type,nb_read_frames")
	}
	args = append(args, "--", path)
	cmd := exec.CommandContext(ctx, bin, args...)
	setGroup(cmd)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := strings.TrimSpace(stderr.String())
		kind := ErrNotVideo
		if looksLikeVideo(path) {
			kind = ErrTruncated // a container's signature, then unreadable
		}
		return nil, fmt.Errorf("video %s: %w: %s", path, kind, lastLine(msg))
	}
	var out probeOut
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return nil, fmt.Errorf("video %s: ffprobe output: %w", path, err)
	}
	return &out, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	if s == "" {
		return "ffmpeg gave no reason"
	}
	return s
}

// seekTime is where to seek so that the first frame kept is frame n (half a frame of margin
// against rounding of timestamps).
func (i *Info) seekTime(n int64) float64 {
	if n <= 0 {
		return 0
	}
	return i.StartTime + (float64(n)-0.5)/i.FrameRate.Float()
}

// looksLikeVideo sniffs the common container signatures: ISO BMFF (mp4, mov), RIFF AVI, Matroska/WebM.
func looksLikeVideo(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [12]byte
	n, _ := f.Read(b[:])
	switch {
	case n >= 8 && string(b[4:8]) == "ftyp":
		return true
	case n >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "AVI ":
		return true
	case n >= 4 && b[0] == 0x1a && b[1] == 0x45 && b[2] == 0xdf && b[3] == 0xa3:
		return true
	}
	return false
}
