// Package dataflow is Sluice's in-process, partitioned dataflow engine on Arrow record batches
// (github.com/apache/arrow-go/v18): the engine behind the `score`, `stylize`, `dataflow` and
// `parallel` job types (DESIGN.md §1 "Partitioned parallel run", §3, §6).
//
// # Contracts
//
// A [Plan] is a [Source], a chain of [Stage]s (each wrapping an [Operator]) and a [Sink].
// Batches move between them through bounded queues counted in batches and in bytes, so a slow
// stage slows everything upstream of it and memory stays bounded by the queues, not by the
// data set. Ownership follows Arrow: whoever receives a batch owns it and must Release it
// exactly once; a borrower that keeps a batch past the call Retains it. In particular
// [Operator.Process] owns its input (it may return it, as is, in its output — that hands the
// reference on) and the engine owns nothing it has handed over.
//
// The allocator travels in the context ([WithAllocator], [Allocator]); [Run] puts
// [Options.Allocator] there before any Source, Operator or Sink call.
//
// # Items and per-item errors
//
// The rows of a dataflow are items: every batch carries a `path` column (utf8: which input the
// row stands for) and an `error` column (utf8, null when the item is fine), plus payload
// columns. An operator fails one item by setting that row's `error` (see [SetRowErrors]),
// never by failing the batch; rows that arrive with an error are passed on untouched by every
// later operator ([RowFailed] tells them apart). Per-item errors are counted against
// [Thresholds.ErrorThreshold] and never stop a batch.
//
// # Mini-batches, retries, timeouts, thresholds
//
// A mini-batch is the unit of retry and of failure counting: in [RunPartitioned] a partition,
// in [Run] one batch from the Source. An operator call that panics, returns an error, or
// outlives [Options.InvocationTimeout] (run_invocation_timeout) is retried on the same input up
// to [Options.MaxTries] (run_max_try) times; once the tries are exhausted each item of the
// failed input becomes an error row (when the output schema is known) and the mini-batch counts
// as failed against [Thresholds.AllowedFailedCount] and [Thresholds.AllowedFailedPercent].
// A panicking operator never takes the process down. An error wrapped with [Fatal] is not
// retried: it stops the run. Crossing a threshold stops the run with a [*ThresholdError]
// (errors.Is(err, [ErrThresholdExceeded])) naming the threshold and the figures.
//
// # Partitions, commit and resume
//
// [RunPartitioned] runs a plan over a list of partitions (package partition splits an input
// by count, bytes or path keys). Each partition's rows are written by a [WriterFactory]
// (package ops/writers: Parquet, Arrow IPC, CSV, text) to a temporary file in the output
// folder that is fsynced and renamed to part-<id><ext> when the partition is complete, then
// recorded in the ledger (package ledger, SQLite) item by item, keyed by content hash. A rerun
// after a crash (SIGKILL at any moment included) skips committed partitions and redoes the
// others, so every input item appears in the output exactly once.
//
// # Metrics
//
// Every stage (the source as "read", the sink as "write") counts items and batches in and out,
// busy time and queue waits; [Metrics.Snapshot] turns them into items/s, an ETA and the
// bottleneck ("decode-bound": the stage whose workers are busiest) for a progress display.
package dataflow
