// Package bench is Sluice's benchmark harness: it measures inference
// throughput of Sluice and of peer runtimes on the same ONNX files, in one
// run, and reports ratios; and it measures Sluice's convolution kernels
// layer by layer on the shapes of the benchmark models.
//
//   - BenchInfer is the in-process measurement behind `sluice bench infer`
//     (warm-up, timed runs, images/s; InferResult is its JSON form).
//   - MeasureRate is the timing protocol every runtime follows: warm-up
//     runs, then runs until a duration has passed (at least 3), images/s =
//     batch × runs / timed seconds, plus the best single run.
//   - Peers/RunPeer run the committed peer scripts (peers/ort_bench.mjs on
//     onnxruntime-node, peers/torch_bench.py on Debian's PyTorch), which
//     follow the same protocol and print one InferResult as JSON.
//   - ModelLayers/MeasureLayers/WriteLayerTable: per-layer GFLOP/s of the
//     convolution kernels, against peak and against bare OpenBLAS GEMMs.
//   - Main is the command line of cmd/sluicebench (see README.md).
//
// Model files come from gen_models.py (committed; its output is
// git-ignored). Nothing here is used by the engine at run time.
package bench
