// Package batchscoring is the batch-scoring scenario (the original Azure ML sample scored
// ImageNet images with Inception-v3): every image under a folder or an Azure Blob prefix goes
// through read → decode + preprocess → infer (batched) → top-k and lands, one row per image, in
// Parquet files (or the original's "file: label" text, CSV or Arrow IPC).
//
// It runs on the partitioned dataflow (engine/dataflow): images are grouped into mini-batches
// that are written and committed atomically with a ledger entry per image, so a killed run,
// rerun, skips what was committed and scores every image exactly once. A bad image (truncated,
// empty, not an image, a decompression bomb) becomes an error row naming the file and the cause;
// the run goes on unless it crosses the error thresholds.
//
// Score is the entry point, used by `sluice score` and by the `score` pipeline job type;
// Evaluate reads an output folder back (row counts, errors, and accuracy when images sit in
// folders named after their true label).
package batchscoring
