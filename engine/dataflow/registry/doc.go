// Package registry names dataflow operators for pipeline files: the `operators:` chain of a
// `dataflow` job is a list of operator names and options, and this package turns it into the
// stages of a dataflow.Plan.
//
//	operators:
//	  - {op: read, workers: 2}                 # path → bytes
//	  - op: command                            # one process per mini-batch (package parallel)
//	    run: ./classify.sh {minibatch}
//	  - {op: select, columns: [path, result, error]}
//
// Every operator accepts the common keys `op` (its registered name, required), `name` (the
// stage's name in metrics and in the bottleneck, "infer" giving "infer-bound"; default the op
// name), `workers`, `ordered`, `queue_batches` and `queue_bytes` ("64MB"); the other keys are
// the operator's own options. Options are decoded with typed accessors (Options.String, Int,
// Bool, Float, Size, Duration, Strings, and Input for an option naming one of the job's inputs,
// such as a model file: {op: infer, model: weights} with inputs: {weights: {type: uri_file,
// path: ./m.onnx}}, so that the model is versioned and in the step's cache key); a key the factory never asked for, a value of the
// wrong type, or a missing required key is an error naming the operator, its position in the
// chain, the key and the file:line:col of the value.
//
// # Operators registered here
//
//   - read: reads each item's file (relative to the job's input folder) into a `bytes` column
//     (binary); a missing or unreadable file fails that item alone. Options: max_bytes (a
//     size, default 1GB: larger files fail their item).
//   - command: runs a command line per batch with the ParallelRunStep protocol of package
//     parallel (a listing file of absolute paths in, one result line per item out,
//     "ERROR: msg" fails an item); the output is `path`, `result`, `error`. Options: run (the
//     command line, for /bin/sh in the job's code folder; `{minibatch}` stands for the listing
//     file's path, which is otherwise appended), max_output (a size, default 64MB).
//   - hash: adds `sha256` (hex of the `bytes` column). Options: column (default "bytes").
//   - select: keeps the named columns (`path` and `error` always stay). Options: columns.
//
// # Adding operators
//
// A package that implements operators registers a Factory per name in an init function:
//
//	func init() {
//		registry.Register("decode", func(env *registry.Env, in *arrow.Schema, o *registry.Options) (dataflow.Stage, *arrow.Schema, error) {
//			size := o.Int("max_pixels", 50_000_000)    // read every option before returning
//			if err := o.Err(); err != nil {
//				return dataflow.Stage{}, nil, err
//			}
//			if len(in.FieldIndices("bytes")) == 0 {
//				return dataflow.Stage{}, nil, o.Errorf("", "needs a bytes column (put a read operator before it)")
//			}
//			out := ...                                   // the output schema: `path`, `error`, nullable payload
//			return dataflow.Stage{Op: newDecoder(size), Workers: runtime.NumCPU()}, out, nil
//		})
//	}
//
// The factory gets the schema of the batches it will receive and returns the stage and the
// schema of the batches it emits; Build chains them from dataflow.ItemSchema and returns the
// plan's output schema. The common keys, given in the file, override the stage's Workers,
// Ordered and queue settings and its Name. Any program that links the package (a blank import
// in the CLI) can then use the operator in pipeline files; Check reports an unknown op name
// when the pipeline is parsed, Build reports option errors when the step starts.
package registry
