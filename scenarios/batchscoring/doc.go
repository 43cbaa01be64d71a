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
// An output that is a data URI (azblob://...) is written partition by partition with commit
// records next to the files (package engine/dataflow/commitlog), which every run writing that
// output imports first; with Config.Shard/Shards a run takes only its share of the partitions.
// That is how a `score` step scales out over Spark tasks (package remote/sparkdriver), and how a
// run started on a cluster is finished on this machine, or the reverse, without redoing work.
//
// Score is the entry point, used by `sluice score` and by the `score` pipeline job type;
// Evaluate reads an output folder back (row counts, errors, and accuracy when images sit in
// folders named after their true label).
package batchscoring
