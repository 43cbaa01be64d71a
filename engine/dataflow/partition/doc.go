// Package partition lists the items of an input and splits them into partitions (the
// mini-batches of a partitioned run): by item count, by bytes, or by partition keys read from
// path segments, like ParallelRunStep's mini_batch_size and partition_keys.
//
// A partition's ID is derived from its items' paths and content hashes only, so listing and
// splitting the same input again gives the same IDs: that is what lets a rerun recognise the
// partitions it already committed. Splitting keeps the order of the items it is given;
// ListDir returns items sorted by path.
package partition
