// Package parallel is the `parallel` job type: ParallelRunStep's contract, one command run per
// mini-batch, on the dataflow engine.
//
// For each mini-batch the command gets a file listing the mini-batch's items, one path per
// line (paths of items that already failed are left out), and must print exactly one result
// line per listed item, in the listing's order, on stdout. A line "ERROR: <message>" fails
// that item alone (its row carries the message in `error`); any other line is the item's
// result. A command that exits non-zero, prints the wrong number of lines, or outlives
// run_invocation_timeout fails the mini-batch as a whole: it is run again, up to run_max_try
// times, and then every item of it gets an error row (see package dataflow). The command runs
// in its own process group, killed whole on timeout or cancellation.
//
// [Run] splits the input into mini-batches (by count, bytes or partition keys), runs them
// with [Config.Workers] commands at a time, commits each mini-batch's rows (path, result,
// error) atomically with the configured writer — the text writer gives append_row output —
// and can concatenate the committed text files into one append_row file at the end.
package parallel
