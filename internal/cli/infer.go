package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/cpu"
	"github.com/sluice-ml/sluice/nn/npy"
)

// newInferCmd is `sluice infer --model M.onnx --input [NAME=]X.npy ...
// --output [NAME=]Y.npy ...` (DESIGN.md §5): one run of an ONNX model on
// tensors read from and written to NumPy .npy files.
func newInferCmd(e *env) *cobra.Command {
	var model string
	var inputs, outputs []string
	var threads int
	cmd := &cobra.Command{
		Use:   "infer --model M.onnx --input [NAME=]X.npy ... --output [NAME=]Y.npy ...",
		Short: "Run an ONNX model once on .npy tensors and write its outputs as .npy",
		Long: `Runs an ONNX model on the CPU. Each --input is a NumPy .npy file, named
NAME=FILE or given in the order of the model's inputs. Each --output names where
an output goes: FILE alone for a model with one output (or in the order of the
model's outputs), NAME=FILE to pick an output by name.`,
		Args: argsRange(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if model == "" {
				return usagef("infer needs --model M.onnx")
			}
			if len(outputs) == 0 {
				return usagef("infer needs at least one --output Y.npy")
			}
			s, err := openModel(ctx, model, threads)
			if err != nil {
				return err
			}
			defer s.Close()
			feed, err := readInputs(s, inputs)
			if err != nil {
				return err
			}
			dst, err := outputFiles(s, outputs)
			if err != nil {
				return err
			}
			res, err := s.Run(ctx, feed)
			if err != nil {
				if badInput(err) {
					return usageError{fmt.Errorf("%s: %w", model, err)}
				}
				return fmt.Errorf("%s: run: %w", model, err)
			}
			for _, o := range dst {
				t := res[o.name]
				if err := writeNpy(o.path, t); err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%s: output %q %v\n", o.path, o.name, t)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "ONNX model file")
	f.StringArrayVar(&inputs, "input", nil, "input tensor as [NAME=]X.npy (repeatable)")
	f.StringArrayVar(&outputs, "output", nil, "output file as [NAME=]Y.npy (repeatable)")
	f.IntVar(&threads, "threads", runtime.NumCPU(), "worker threads")
	return cmd
}

// badInput reports whether err is the caller's fault: a malformed,
// unsupported or oversized model or tensor, a wrong input shape or type.
func badInput(err error) bool {
	for _, s := range []error{nn.ErrMalformedModel, nn.ErrUnsupportedOp, nn.ErrTooLarge, nn.ErrInputShape,
		nn.ErrBadTensor, nn.ErrShape, npy.ErrFormat, fs.ErrNotExist, fs.ErrPermission} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// openModel opens path on the CPU backend; a missing, unreadable or bad
// file is a usage error naming it.
func openModel(ctx context.Context, path string, threads int) (*cpu.Session, error) {
	if err := checkFile(path, "model"); err != nil {
		return nil, err
	}
	if threads < 1 {
		return nil, usagef("--threads must be at least 1, got %d", threads)
	}
	s, err := cpu.Open(ctx, path, cpu.Options{Threads: threads})
	if err != nil {
		if badInput(err) {
			return nil, usageError{fmt.Errorf("model %s: %w", path, err)}
		}
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	return s, nil
}

// checkFile is a usage error when path is not a readable regular file.
func checkFile(path, what string) error {
	st, err := os.Stat(path)
	if err != nil {
		return usageError{fmt.Errorf("%s %s: %w", what, path, err)}
	}
	if !st.Mode().IsRegular() {
		return usagef("%s %s: not a regular file", what, path)
	}
	return nil
}

// splitName splits "NAME=FILE" into its parts; a bare FILE has no name.
// A name is only recognised when it contains no path separator, so that
// file names with '=' in a directory still work.
func splitName(arg string) (name, file string) {
	if n, f, ok := strings.Cut(arg, "="); ok && n != "" && !strings.ContainsRune(n, filepath.Separator) {
		return n, f
	}
	return "", arg
}

// readInputs reads every --input and maps it to a model input: by name,
// else in the order of the model's inputs not named elsewhere.
func readInputs(s *cpu.Session, args []string) (map[string]*nn.Tensor, error) {
	var names []string
	for _, in := range s.Inputs() {
		if in.Kind != nn.KindTensor {
			return nil, usagef("model input %q is a %s: infer feeds tensors (.npy files) only", in.Name, in.TypeString())
		}
		names = append(names, in.Name)
	}
	feed := map[string]*nn.Tensor{}
	files := map[string]string{}
	var unnamed []string
	for _, a := range args {
		name, file := splitName(a)
		if name == "" {
			unnamed = append(unnamed, file)
			continue
		}
		if !slices.Contains(names, name) {
			return nil, usagef("--input %s: the model has no input %q (inputs: %s)", a, name, strings.Join(names, ", "))
		}
		if _, dup := feed[name]; dup {
			return nil, usagef("--input %s: input %q given twice", a, name)
		}
		t, err := readNpy(file)
		if err != nil {
			return nil, err
		}
		feed[name], files[name] = t, file
	}
	var free []string
	for _, n := range names {
		if _, ok := feed[n]; !ok {
			free = append(free, n)
		}
	}
	if len(unnamed) > len(free) {
		return nil, usagef("%d unnamed --input file(s) but only %d model input(s) left to fill (%s); use NAME=FILE",
			len(unnamed), len(free), strings.Join(free, ", "))
	}
	for i, file := range unnamed {
		t, err := readNpy(file)
		if err != nil {
			return nil, err
		}
		feed[free[i]], files[free[i]] = t, file
	}
	if len(feed) < len(names) {
		var missing []string
		for _, n := range names {
			if _, ok := feed[n]; !ok {
				missing = append(missing, n)
			}
		}
		return nil, usagef("missing --input for model input(s) %s", strings.Join(missing, ", "))
	}
	for _, in := range s.Inputs() {
		t := feed[in.Name]
		ok := t.DType == in.DType && (in.Shape == nil || len(in.Shape) == len(t.Shape))
		for i := range in.Shape {
			ok = ok && (in.Shape[i] < 0 || in.Shape[i] == t.Shape[i])
		}
		if !ok {
			want := tensorInfo{DType: in.DType.String(), Shape: in.Shape, Dims: in.DimParams}
			return nil, usagef("input %s: %v does not fit model input %q, which is %v", files[in.Name], t, in.Name, want)
		}
	}
	return feed, nil
}

func readNpy(path string) (*nn.Tensor, error) {
	if err := checkFile(path, "input"); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, usageError{fmt.Errorf("input %s: %w", path, err)}
	}
	defer f.Close()
	t, err := npy.Read(f, npy.Options{})
	if err != nil {
		return nil, usageError{fmt.Errorf("input %s: %w", path, err)}
	}
	return t, nil
}

type outFile struct{ name, path string }

// outputFiles maps every --output to a model output: by name, else in the
// order of the model's outputs not named elsewhere.
func outputFiles(s *cpu.Session, args []string) ([]outFile, error) {
	var names []string
	for _, o := range s.Outputs() {
		names = append(names, o.Name)
	}
	var res []outFile
	taken := map[string]bool{}
	var unnamed []string
	for _, a := range args {
		name, file := splitName(a)
		if name == "" {
			unnamed = append(unnamed, file)
			continue
		}
		if !slices.Contains(names, name) {
			return nil, usagef("--output %s: the model has no output %q (outputs: %s)", a, name, strings.Join(names, ", "))
		}
		if taken[name] {
			return nil, usagef("--output %s: output %q given twice", a, name)
		}
		taken[name] = true
		res = append(res, outFile{name, file})
	}
	var free []string
	for _, n := range names {
		if !taken[n] {
			free = append(free, n)
		}
	}
	if len(unnamed) > len(free) {
		return nil, usagef("%d unnamed --output file(s) but the model has %d output(s) left (%s); use --output NAME=Y.npy",
			len(unnamed), len(free), strings.Join(free, ", "))
	}
	if len(unnamed) == 1 && len(free) > 1 && len(res) == 0 {
		return nil, usagef("the model has %d outputs (%s): name them with --output NAME=Y.npy", len(names), strings.Join(names, ", "))
	}
	for i, file := range unnamed {
		res = append(res, outFile{free[i], file})
	}
	for _, o := range res {
		if dir := filepath.Dir(o.path); dir != "" {
			if st, err := os.Stat(dir); err != nil || !st.IsDir() {
				return nil, usagef("--output %s: directory %s does not exist", o.path, dir)
			}
		}
	}
	return res, nil
}

// writeNpy writes t to path through a temporary file renamed into place,
// so a failed write never leaves a truncated .npy behind.
func writeNpy(path string, t *nn.Tensor) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := npy.Write(tmp, t); err != nil {
		tmp.Close()
		return fmt.Errorf("output %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("output %s: %w", path, err)
	}
	return nil
}
