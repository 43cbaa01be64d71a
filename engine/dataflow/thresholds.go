package dataflow

import "sync"

// Thresholds are the ParallelRunStep failure limits. Each is -1 for "ignore"; the zero value
// tolerates no failure at all. A run stops as soon as a count goes above its limit.
type Thresholds struct {
	// ErrorThreshold is how many failed items (rows with an `error`) are tolerated.
	ErrorThreshold int64
	// AllowedFailedCount is how many failed mini-batches are tolerated.
	AllowedFailedCount int64
	// AllowedFailedPercent is the tolerated percentage of failed mini-batches, of all
	// mini-batches of the run (in Run, where that total is only known at the end, it is
	// checked at the end).
	AllowedFailedPercent float64
}

// IgnoreFailures is the Thresholds that never stops a run.
var IgnoreFailures = Thresholds{ErrorThreshold: -1, AllowedFailedCount: -1, AllowedFailedPercent: -1}

// Counts are the figures thresholds are checked against.
type Counts struct {
	Items             int64 // items that reached the output
	FailedItems       int64 // of which with an error
	MiniBatches       int64 // mini-batches done (in RunPartitioned: partitions committed)
	FailedMiniBatches int64 // of which failed as a whole on every try
}

// tally keeps the counts of a run and checks them against the thresholds.
type tally struct {
	mu    sync.Mutex
	th    Thresholds
	c     Counts
	total int64 // planned mini-batches; 0 when unknown
}

func (t *tally) add(d Counts) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.c.Items += d.Items
	t.c.FailedItems += d.FailedItems
	t.c.MiniBatches += d.MiniBatches
	t.c.FailedMiniBatches += d.FailedMiniBatches
	return t.check(false)
}

func (t *tally) counts() Counts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.c
}

// final checks everything, the percentage against the batches seen when no total was planned.
func (t *tally) final() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.check(true)
}

func (t *tally) check(final bool) error {
	if th := t.th.ErrorThreshold; th >= 0 && t.c.FailedItems > th {
		return &ThresholdError{Name: "error_threshold", Limit: float64(th), Failed: t.c.FailedItems, Total: t.c.Items, Unit: "items"}
	}
	total := t.total
	if total == 0 || total < t.c.MiniBatches {
		total = t.c.MiniBatches
	}
	if th := t.th.AllowedFailedCount; th >= 0 && t.c.FailedMiniBatches > th {
		return &ThresholdError{Name: "allowed_failed_count", Limit: float64(th), Failed: t.c.FailedMiniBatches, Total: total, Unit: "mini-batches"}
	}
	if th := t.th.AllowedFailedPercent; th >= 0 && (final || t.total > 0) && total > 0 &&
		100*float64(t.c.FailedMiniBatches) > th*float64(total) {
		return &ThresholdError{Name: "allowed_failed_percent", Limit: th, Failed: t.c.FailedMiniBatches, Total: total, Unit: "mini-batches"}
	}
	return nil
}
