// Package topk turns a column of class scores into labels: for each row, the K best classes by
// score, as `label` and `score` (the best) and `topk_labels` and `topk_scores` (the K best, best
// first). Scores are probabilities: a model's raw logits go through a softmax first (Softmax
// "auto" decides per row: values that are already a distribution are kept). Rows without scores
// (failed items) get nulls. It also reads label files (one label per line, in output order).
package topk
