// Package tensorcol stores tensors in Arrow columns, one tensor per row, as a fixed-size list of
// float32 (the row's values in the model's layout, CHW for images). Builder fills such a column
// in place, so an operator writes its results straight into the Arrow buffer; Values reads one
// back without copying. The `path`/`error` conventions of the dataflow apply: a row without a
// tensor is null.
package tensorcol
