// Package jobs wires the dataflow engine into pipelines: it registers the `parallel` and
// `dataflow` job types with package spec (their keys and parse-time checks) and with the local
// compute target (package compute). Link it (a blank import) into a program that runs
// pipelines; the CLI does.
//
// # parallel
//
// ParallelRunStep's contract: the command runs once per mini-batch, in the job's code folder,
// with the path of a file listing the mini-batch's items (absolute paths, one per line)
// appended to its command line, or in place of `{minibatch}` when the line has it; it prints
// one result line per item, "ERROR: <message>" failing that item alone (see package parallel).
//
//	jobs:
//	  classify:
//	    type: parallel
//	    code: ./steps
//	    command: ./classify.sh --threshold ${{inputs.threshold}}
//	    inputs:  {images: ${{parent.inputs.images}}, threshold: 0.5}
//	    input_data: images            # which input holds the items (needed with several inputs)
//	    outputs: {results: {type: uri_folder}}
//	    mini_batch_size: "10"          # items per mini-batch, or a size: "10MB"
//	    partition_keys: "{store}/*"    # instead: one mini-batch per key value (path segments)
//	    error_threshold: 5             # failed items tolerated; -1 (default) ignores them
//	    allowed_failed_count: 2        # failed mini-batches tolerated; -1 (default) ignores
//	    allowed_failed_percent: 10     # failed mini-batches, percent of all; -1 (default) ignores
//	    run_max_try: 3                 # tries of a failing mini-batch (default 3)
//	    run_invocation_timeout: 60     # seconds one try may take (default 60; 0: no limit)
//	    process_count_per_node: 2      # commands at once (default: the CPU count;
//	                                   # max_concurrency_per_instance is the same)
//	    append_row_file_name: results.txt   # default parallel_run_step.txt
//	    output_format: text            # text (default), csv, parquet or ipc
//
// The output folder holds one committed file per mini-batch (part-<id>.<ext>, rows `path`,
// `result`, `error`) and, for text output, the append_row file: every item's line
// ("<path> <result>" or "<path> ERROR: <message>"), in input order.
//
// # dataflow
//
// An operator chain from the registry (package registry) over the files of the input folder:
//
//	thumbs:
//	  type: dataflow
//	  inputs: {images: ${{parent.inputs.images}}}
//	  outputs: {table: {type: uri_folder}}
//	  mini_batch_size: "64"
//	  output_format: parquet         # parquet (default, snappy), csv, ipc or text
//	  operators:
//	    - {op: read}
//	    - {op: hash}
//	    - {op: select, columns: [sha256]}
//
// It takes the same keys as parallel except command, append_row_file_name and
// process_count_per_node (workers are per operator).
//
// # Exactly once, resume, thresholds
//
// Both run on dataflow.RunPartitioned: each mini-batch is committed atomically and recorded in a
// ledger (SQLite) keyed by the step's cache key, both kept in the step's state folder in the
// workspace (compute.StepContext.StateDir). A run killed at any moment and started again with
// the same definition, code and data skips the committed mini-batches and redoes the others:
// every item is in the output exactly once. Crossing a threshold fails the step with a message
// naming the threshold and the figures ("error_threshold exceeded: 6 failed items > 5 allowed
// (of 40 items)"), and so the run (`sluice run` exits 1). While it runs, the step reports
// its progress (items/s, ETA, the bottleneck stage) every ProgressEvery to the run's display
// and to its log.
package jobs
