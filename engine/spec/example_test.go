package spec_test

import (
	"fmt"
	"time"

	"github.com/sluice-ml/sluice/engine/spec"
)

// A pipeline built in code is checked exactly as a pipeline file is.
func Example() {
	p, err := spec.New("score-images").
		Input("images", spec.TypeURIFolder, spec.Path("./sample/images")).
		Input("batch_size", spec.TypeInteger, spec.Int(16)).
		Job(spec.Command("prep", "./prep.sh ${{inputs.raw}} ${{outputs.clean}}").
			Code("./steps/prep").
			In("raw", spec.FromInput("images")).
			Out("clean", spec.TypeURIFolder).
			Retry(3, time.Second).
			Timeout(time.Minute)).
		Job(spec.NewJob("score", "score").
			In("images", spec.FromJob("prep", "clean")).
			Out("predictions", spec.TypeURIFolder).
			Param("model", spec.File("./models/classifier.onnx")).
			Param("batch_size", spec.FromInput("batch_size"))).
		Job(spec.Command("notify", "echo done").After("score")).
		Output("final", spec.FromJob("score", "predictions")).
		Build(".")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p.TopoOrder())
	fmt.Println(p.Upstream("score"))
	vals, err := p.Resolve(map[string]string{"batch_size": "32"})
	fmt.Println(vals["batch_size"], vals["images"], err)

	// Mistakes are reported together, each naming what it concerns.
	_, err = spec.New("broken").
		Job(spec.Command("a", "cat ${{inputs.x}}").In("x", spec.FromJob("b", "out"))).
		Job(spec.NewJob("b", "score").Out("out", spec.TypeURIFolder).After("a")).
		Build(".")
	fmt.Println(err)
	// Output:
	// [prep score notify]
	// [prep]
	// 32 ./sample/images <nil>
	// <code>: cycle: a -> b -> a
}

// Parse reads pipeline files; errors carry the file, line and column.
func ExampleParse() {
	_, err := spec.Parse("pipeline.yaml", []byte(`
name: p
jobs:
  a:
    type: command
    command: echo ${{inputs.message}}
    retry: {max_attempts: three}
`))
	fmt.Println(err)
	// Output:
	// pipeline.yaml:6:19: job "a": command: unknown input "message" in ${{inputs.message}} (inputs: none)
	// pipeline.yaml:7:27: job "a": retry: max_attempts: "three" is not an integer
}
