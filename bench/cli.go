package bench

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sluice-ml/sluice/nn/kernels"
)

// Main is the harness's command line (cmd/sluicebench): it returns the
// process exit code (0 fine, 1 a run failed, 2 bad usage).
//
//	layers [-model all|NAME] [-batch 8] [-threads 2] [-time 1s]
//	models [-models DIR] [-batch 1,8] [-threads 2] [-seconds 5] [-peers ort,torch]
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: sluicebench layers|models [flags]")
		return 2
	}
	switch args[0] {
	case "layers":
		return layersCmd(args[1:], stdout, stderr)
	case "models":
		return modelsCmd(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "sluicebench: unknown command %q (layers, models)\n", args[0])
	return 2
}

func layersCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("layers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", "all", "model name or all ("+strings.Join(Models, ", ")+")")
	batch := fs.Int("batch", 8, "batch size")
	threads := fs.Int("threads", 2, "worker threads")
	minTime := fs.Duration("time", time.Second, "measuring time per layer")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	kernels.SetThreads(*threads)
	ms := Models
	if *model != "all" {
		ms = []string{*model}
	}
	fmt.Fprintf(stdout, "kernels backend: %s; threads %d; batch %d; peak %.0f GFLOP/s at %d threads\n\n",
		kernels.Backend(), *threads, *batch, PeakGFLOPs*float64(*threads)/2, *threads)
	for _, m := range ms {
		rs, err := MeasureLayers(m, *batch, *minTime)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 2
		}
		fmt.Fprintf(stdout, "== %s ==\n", m)
		WriteLayerTable(stdout, m, *threads, rs)
	}
	return 0
}
