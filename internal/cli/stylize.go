package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sluice-ml/sluice/scenarios/styletransfer"
)

// newStylizeCmd is `sluice stylize`: the style-transfer scenario on one video.
func newStylizeCmd(e *env) *cobra.Command {
	var o styletransfer.Options
	var quiet bool
	cmd := &cobra.Command{
		Use:   "stylize --model M.onnx|M.pth --input IN.mp4 --output OUT.mp4",
		Short: "Restyle a video with a fast-neural-style TransformerNet, keeping its frame rate and audio",
		Long: `Decodes the video with ffmpeg, runs every frame through the TransformerNet (a pytorch/examples
.pth state dict or an ONNX export of it), and encodes the frames with libx264 at the source's frame
rate, with the source's audio stream copied untouched. The work is split into segments committed as
they finish (in OUTPUT.parts/); a run that was interrupted continues where it stopped when repeated
with the same arguments. Exit code 2 for bad usage or bad input files.`,
		Args: argsRange(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Model == "" || o.Input == "" || o.Output == "" {
				return usagef("stylize needs --model, --input and --output")
			}
			if !quiet {
				o.Log = e.stderr
			}
			res, err := styletransfer.Run(cmd.Context(), o)
			if err != nil {
				if errors.Is(err, styletransfer.ErrBadInput) {
					return usageError{err}
				}
				return err
			}
			fmt.Fprintf(e.stdout, "%s: %d frames %dx%d at %s fps, audio %v, %d segments (%d reused), %.2f frames/s\n",
				o.Output, res.Frames, res.Width, res.Height, res.FrameRate, res.HasAudio, res.Segments, res.Reused, res.FramesPerSecond())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Model, "model", "", "TransformerNet model: .pth (PyTorch state dict) or .onnx")
	f.StringVar(&o.Input, "input", "", "source video")
	f.StringVar(&o.Output, "output", "", "styled video to write (mp4)")
	f.Float64Var(&o.ContentScale, "content-scale", 1, "downscale frames by this factor before styling")
	f.IntVar(&o.CRF, "crf", 18, "libx264 constant rate factor (0–51, lower is better)")
	f.StringVar(&o.Preset, "preset", "medium", "libx264 preset")
	f.IntVar(&o.SegmentFrames, "segment-frames", 250, "frames per segment (the unit of commit and resume)")
	f.IntVar(&o.Batch, "batch", 1, "frames per network run")
	f.IntVar(&o.Workers, "workers", 1, "batches inferred at once within a segment")
	f.IntVar(&o.Parallel, "parallel", 1, "segments styled at once")
	f.IntVar(&o.Threads, "threads", 0, "threads of one inference (0: all CPUs)")
	f.StringVar(&o.WorkDir, "work-dir", "", "folder for segments and the resume ledger (default OUTPUT.parts)")
	f.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	return cmd
}
