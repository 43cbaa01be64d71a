// Package styletransfer is the video style-transfer scenario (DESIGN.md §1): a video is decoded
// by ffmpeg to raw RGB frames over a pipe (no temporary image files), each frame is restyled by
// the fast-neural-style TransformerNet (loaded from a pytorch/examples .pth state dict or from an
// ONNX export of the same network, run by nn/cpu), and the frames are encoded by ffmpeg (libx264,
// yuv420p, a CRF) at the source's frame rate, with the source's audio stream copied untouched.
//
// # Segments and resume
//
// Run splits the video into segments of Options.SegmentFrames frames (exact frame ranges, read
// with accurate seeking). Each segment is styled and encoded on its own into the work folder,
// committed atomically (fsync, rename) and then recorded in a ledger (engine/dataflow/ledger)
// under a run key: a fingerprint of the input's and the model's content and of every option that
// changes the frames. A killed run (even SIGKILL) leaves at most uncommitted segments behind; the
// next Run with the same inputs skips the committed ones and styles only the rest. Segments may
// be styled in parallel (Options.Parallel); within a segment, batches of frames may be inferred
// in parallel (Options.Workers) and are written in frame order whatever finishes first. When
// every segment is there, they are joined (video packets copied, no re-encoding) and the source's
// audio is muxed in once; the work folder is removed after a successful join.
//
// # Frames
//
// Within a segment, frames travel between the decoder, the inference workers and the encoder
// as Arrow record batches (FrameSchema: the frame index and its packed RGB24 pixels), allocated
// from Options.Allocator and released by whichever stage consumes them, on every path.
//
// Frames enter the network as N×3×H×W float32 pixel values in 0–255 (as the original's
// ToTensor().mul(255)); the output is clamped to 0–255 and truncated to bytes, as the original's
// clamp(0, 255).numpy().astype("uint8"). With ContentScale s the frames are first scaled to
// int(W/s)×int(H/s) (ffmpeg's Lanczos; the original used PIL's). When the network's output is
// larger than its input (sizes not multiples of 4) it is cropped to the input's size, so every
// frame of a video has one size; libx264's yuv420p then drops an odd last row or column.
//
// # Errors
//
// Problems with the inputs — not a video, an empty or truncated file, a codec ffmpeg cannot
// decode, a model file that is not a TransformerNet — wrap ErrBadInput (and the cause's own
// sentinel: video.ErrTruncated, transformernet.ErrStateDict, ...) and name the file. No ffmpeg
// process outlives Run: each is killed when Run returns, or with this process.
package styletransfer
