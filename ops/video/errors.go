package video

import "errors"

// Sentinel errors; every error of the package that concerns the input wraps one of them.
var (
	ErrNoFFmpeg         = errors.New("ffmpeg is not installed (apt-get install ffmpeg)")
	ErrNotVideo         = errors.New("not a video")
	ErrEmpty            = errors.New("empty video")
	ErrUnsupportedCodec = errors.New("unsupported codec")
	ErrTruncated        = errors.New("truncated or corrupt video")
)
