// Package infer is the dataflow operator that runs a model over a tensor column: the rows of a
// batch that carry a tensor are stacked into model batches of at most Batch items (without a
// copy when they are contiguous), run through an nn.Session, and each item's output is written
// to an output tensor column. Rows that arrive failed, or without a tensor, are passed on with
// a null output. A model that fails on a batch fails the operator call (the dataflow engine
// retries it, then turns its items into error rows): one item cannot make a model fail alone.
package infer
