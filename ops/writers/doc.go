// Package writers turns Arrow record batches into files: Parquet (snappy, zstd, or none,
// through arrow-go's pqarrow writer), Arrow IPC (file format), CSV with a header, and the
// text output of ParallelRunStep's append_row (one line per item).
//
// Each format is a value implementing dataflow.WriterFactory, so it can be given to
// dataflow.RunPartitioned as it is; NewWriter returns a dataflow.Sink that writes to an
// io.Writer. Write owns its batch (it Releases it); Close flushes what the format keeps
// buffered (the Parquet footer, the IPC footer) and releases the writer's memory, but never
// closes the io.Writer: the caller syncs and commits the file.
package writers
