// Package spec reads, builds and validates pipeline definitions: the Azure ML v2 YAML subset of
// DESIGN.md §4 and the equivalent Go builder API. Every error carries the file, line and column
// it concerns. The package knows nothing about running pipelines; see package executor.
//
// # Reading
//
// ParseFile and Parse turn a pipeline file into a *Pipeline and validate it; New starts a
// Builder that makes the same Pipeline in code, validated by the same Pipeline.Validate.
// A file looks like this:
//
//	name: score-images                        # default: the file's base name
//	inputs:
//	  images:     {type: uri_folder, path: ./sample/images}
//	  batch_size: {type: integer, default: 16}
//	  label:      {type: string}              # required: no default
//	  threshold:  0.5                         # shorthand: the type follows the value
//	outputs:
//	  final: ${{parent.jobs.score.outputs.predictions}}
//	settings: {default_compute: local, continue_on_step_failure: false, force_rerun: false}
//	jobs:
//	  prep:
//	    type: command
//	    code: ./steps/prep
//	    command: ./prep.sh ${{inputs.raw}} ${{outputs.clean}} --n ${{inputs.n}}
//	    environment_variables: {FOO: bar}
//	    inputs:
//	      raw: ${{parent.inputs.images}}
//	      n: 3
//	      other: {type: uri_folder, path: ./data}
//	    outputs:
//	      clean: {type: uri_folder, name: clean-images}
//	    compute: local                  # local | local-gpu | databricks:NAME | hdinsight:NAME | adla[:NAME]
//	    retry: {max_attempts: 3, delay: 2s}
//	    timeout: 30m
//	  score:
//	    type: score
//	    inputs: {images: ${{parent.jobs.prep.outputs.clean}}}
//	    outputs: {predictions: {type: uri_folder}}
//	    model: ./models/classifier.onnx   # a key registered for the "score" type: Job.Params
//	    batch_size: ${{parent.inputs.batch_size}}
//	    run_after: [prep]
//
// Bindings are written ${{parent.inputs.NAME}} or ${{parent.jobs.JOB.outputs.NAME}} as the whole
// value of a job input, a job-type parameter or a pipeline output; a job output may also feed a
// pipeline output the Azure ML way, `out: ${{parent.outputs.NAME}}`. A command refers to its
// own job's inputs and outputs as ${{inputs.NAME}} and ${{outputs.NAME}}. Spaces inside ${{ }}
// are allowed, and bindings need no quotes even inside {flow} mappings.
//
// Durations (timeout, retry delay) are Go durations ("90s", "1h30m") or numbers of seconds.
// Job types and their specific keys come from RegisterJobType. A job type may also declare
// structured keys (RegisterJobBlock: any YAML value, kept as a *Node with positions in
// Job.Blocks, such as a dataflow job's operator chain) and checks of its own that Validate runs
// (RegisterJobCheck; Job.KeyPos gives the positions for their errors).
//
// # Errors
//
// Every problem found in a file or a builder is reported, not only the first: the error is an
// ErrorList of *Error sorted by position, each printing as "file:line:col: message", and
// errors.Is(err, ErrInvalid) holds for all of them (the CLI maps that to exit code 2). Nothing
// in this package panics on any input. Pipelines built in code have zero positions, printed
// as "<code>", and messages that name the job, input or output concerned.
//
// # Using a pipeline
//
// Resolve applies per-run parameter assignments (`--set k=v`) to the pipeline inputs; Upstream
// and TopoOrder give the dependency graph (bindings plus run_after); Template.Expand and
// JobInput.Value help an executor fill in a command. A Pipeline is not safe for concurrent
// modification; once validated it may be read from many goroutines.
package spec
