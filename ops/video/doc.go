// Package video streams video frames in and out of ffmpeg without temporary image files:
// Probe describes a file (size, frame rate, frame count, audio), a Reader decodes a frame range to
// packed RGB24 frames over a pipe, and a Writer encodes frames (libx264, yuv420p, a CRF) at a given
// frame rate, optionally muxing the audio of a source file untouched (stream copy). Join
// concatenates segments encoded separately and muxes the source's audio once.
//
// Every ffmpeg process is started in its own process group and is killed when the context ends or
// the Reader/Writer is closed early; none is ever left behind. Bad inputs — not a video, an empty
// file, a truncated file, a codec ffmpeg cannot decode — are errors wrapping the sentinels in
// errors.go, with ffmpeg's own words attached.
package video
