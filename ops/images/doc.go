// Package images holds the dataflow operators that turn image items into model input: Read
// fetches each item's bytes from a datastore (a local folder or an Azure Blob prefix) into a
// `bytes` column, and Decode decodes them (ops/decode) and preprocesses them (ops/preprocess)
// straight into a `tensor` column, a fixed-size list of float32 per row.
//
// Both work row by row: an item that cannot be read or decoded gets its `error` set (naming the
// cause; the `path` column names the item) and travels on with nulls in the new columns, so one
// bad file never fails its mini-batch. Rows that arrive failed are passed on untouched.
//
// Ownership follows the dataflow contract: Process takes its input batch and returns batches
// the caller owns.
package images
