#!/usr/bin/env bash
# The style-transfer demo: builds sluice and restyles the committed sample clip
# (sample/style/clip.mp4, 4 s of ffmpeg's testsrc2 with a tone) with the committed sample model
# (sample/style/poster.pth, a TransformerNet trained by sample/style/make_style_sample.py), then
# prints ffprobe's summary of the result, out/style-sample.mp4. Extra arguments go to
# `sluice stylize` (e.g. --threads 2).
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/sluice ./cmd/sluice
mkdir -p out
rm -f out/style-sample.mp4
bin/sluice stylize --model sample/style/poster.pth --input sample/style/clip.mp4 --output out/style-sample.mp4 "$@"
echo
ffprobe -v error -hide_banner -show_entries format=duration,size:stream=index,codec_name,width,height,r_frame_rate,nb_frames,sample_rate \
	-of default=noprint_wrappers=1 out/style-sample.mp4
echo "styled video: out/style-sample.mp4 (side by side with the source: ffmpeg -i sample/style/clip.mp4 -i out/style-sample.mp4 -filter_complex hstack out/style-compare.mp4)"
