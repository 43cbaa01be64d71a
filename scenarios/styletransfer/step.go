package styletransfer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/spec"
)

// The `stylize` pipeline job type (keys model, content_scale, crf; spec registers them):
//
//	stylize:
//	  type: stylize
//	  inputs:  {video: ${{parent.inputs.clip}}}       # a video file, or a folder of videos
//	  outputs: {styled: {type: uri_folder}}           # or uri_file for one video
//	  model: ./models/mosaic.pth                      # .pth or .onnx
//	  content_scale: 1.0
//	  crf: 18
func init() {
	spec.RegisterJobType("stylize", map[string]spec.Type{
		"model":         spec.TypeURIFile,
		"content_scale": spec.TypeNumber,
		"crf":           spec.TypeInteger,
	})
	compute.RegisterLocalJob("stylize", Prepare)
}

// VideoExts are the file name extensions a folder input is searched for.
var VideoExts = []string{".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}

// Prepare checks a stylize job: one input (a video, or a folder of videos) and one output
// (a folder, or a file for a single video), and a model.
func Prepare(_ context.Context, job *spec.Job) (compute.Step, error) {
	if len(job.InputOrder) != 1 || len(job.OutputOrder) != 1 {
		return nil, fmt.Errorf("stylize job %s: %w: wants one input (the video) and one output, has %d and %d",
			job.Name, ErrBadInput, len(job.InputOrder), len(job.OutputOrder))
	}
	if job.Params["model"] == nil {
		return nil, fmt.Errorf("stylize job %s: %w: no model", job.Name, ErrBadInput)
	}
	return &Step{in: job.InputOrder[0], out: job.OutputOrder[0], outFile: job.Outputs[job.OutputOrder[0]].Type == spec.TypeURIFile}, nil
}

// Step is a prepared stylize job.
type Step struct {
	in, out string
	outFile bool
}

// Run styles the input video(s). Segments committed by an earlier attempt of the same run and
// step are reused.
func (s *Step) Run(ctx context.Context, sc *compute.StepContext) error {
	o := Options{Model: sc.Inputs["model"], Log: sc.Log}
	if v, ok := sc.Inputs["content_scale"]; ok {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return fmt.Errorf("stylize %s: %w: content_scale %q", sc.Step, ErrBadInput, v)
		}
		o.ContentScale = f
	}
	if v, ok := sc.Inputs["crf"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("stylize %s: %w: crf %q", sc.Step, ErrBadInput, v)
		}
		o.CRF = n
	}
	src, dst := sc.Inputs[s.in], sc.Outputs[s.out]
	st, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("stylize %s: %w: %w", sc.Step, ErrBadInput, err)
	}
	type pair struct{ in, out string }
	var todo []pair
	switch {
	case !st.IsDir() && s.outFile:
		todo = []pair{{src, dst}}
	case !st.IsDir():
		todo = []pair{{src, filepath.Join(dst, strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))+".mp4")}}
	case s.outFile:
		return fmt.Errorf("stylize %s: %w: input %s is a folder but output %s is a uri_file", sc.Step, ErrBadInput, s.in, s.out)
	default:
		ents, err := os.ReadDir(src)
		if err != nil {
			return fmt.Errorf("stylize %s: %w", sc.Step, err)
		}
		for _, e := range ents {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if !e.IsDir() && slices.Contains(VideoExts, ext) {
				todo = append(todo, pair{filepath.Join(src, e.Name()), filepath.Join(dst, strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))+".mp4")})
			}
		}
		sort.Slice(todo, func(i, j int) bool { return todo[i].in < todo[j].in })
		if len(todo) == 0 {
			return fmt.Errorf("stylize %s: %w: no video (%s) in %s", sc.Step, ErrBadInput, strings.Join(VideoExts, " "), src)
		}
	}
	for i, p := range todo {
		o := o
		o.Input, o.Output = p.in, p.out
		o.WorkDir = filepath.Join(os.TempDir(), fmt.Sprintf("sluice-stylize-%s-%s-%d", sc.RunID, sc.Step, i))
		if err := os.MkdirAll(filepath.Dir(p.out), 0o755); err != nil {
			return fmt.Errorf("stylize %s: %w", sc.Step, err)
		}
		if _, err := Run(ctx, o); err != nil {
			return fmt.Errorf("stylize %s: %w", sc.Step, err)
		}
	}
	return nil
}
