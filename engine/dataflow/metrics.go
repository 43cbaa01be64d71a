package dataflow

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type int64Counter struct{ v atomic.Int64 }

func (c *int64Counter) add(n int64) { c.v.Add(n) }
func (c *int64Counter) load() int64 { return c.v.Load() }

// stageMetrics are the live counters of one stage. Busy is the time spent inside the stage's
// own code (Source.Next, Operator.Process, Sink.Write) summed over its workers; WaitIn the time
// its workers waited for input; WaitOut the time they were blocked by a full queue downstream.
type stageMetrics struct {
	name                  string
	workers               int
	batchesIn, batchesOut int64Counter
	itemsIn, itemsOut     int64Counter
	busy, waitIn, waitOut int64Counter
	retries, failed       int64Counter
}

// StageStats is a snapshot of one stage's counters.
type StageStats struct {
	Name       string
	Workers    int
	BatchesIn  int64
	BatchesOut int64
	ItemsIn    int64
	ItemsOut   int64
	Busy       time.Duration // summed over workers
	WaitIn     time.Duration // waiting for input (starved)
	WaitOut    time.Duration // blocked on a full queue downstream (backpressure)
	Retries    int64         // operator calls retried
	Failed     int64         // inputs that failed on every try
	// Utilization is Busy / (Workers × elapsed): 1 means every worker was busy all the time.
	Utilization float64
}

// Snapshot is the state of a run for a progress display.
type Snapshot struct {
	Elapsed     time.Duration
	Stages      []StageStats // source ("read") first, sink ("write") last
	ItemsDone   int64        // items that reached the sink (in RunPartitioned: including skipped partitions)
	ItemsTotal  int64        // 0 when unknown
	ItemsPerSec float64      // items written per second of this run
	ETA         time.Duration
	// Bottleneck is "<stage>-bound" for the stage with the highest utilization
	// ("decode-bound", "infer-bound", "write-bound"); "" before any work.
	Bottleneck string
}

// Metrics collects the counters of a run. Create one with NewMetrics, pass it in Options and
// call Snapshot from any goroutine while the run goes on. A Metrics serves one run.
type Metrics struct {
	mu      sync.Mutex
	start   time.Time
	end     time.Time
	stages  []*stageMetrics
	skipped int64 // items of partitions skipped because already committed
	total   int64
}

// NewMetrics returns an empty Metrics.
func NewMetrics() *Metrics { return &Metrics{} }

func (m *Metrics) begin(stages []*stageMetrics, total, skipped int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.start, m.end = time.Now(), time.Time{}
	m.stages = stages
	m.total = total
	m.skipped = skipped
}

func (m *Metrics) finish() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.end = time.Now()
}

// Snapshot returns the current figures.
func (m *Metrics) Snapshot() Snapshot {
	m.mu.Lock()
	start, end, stages, total, skipped := m.start, m.end, m.stages, m.total, m.skipped
	m.mu.Unlock()
	var s Snapshot
	if start.IsZero() {
		return s
	}
	if end.IsZero() {
		end = time.Now()
	}
	s.Elapsed = end.Sub(start)
	s.ItemsTotal = total
	best := -1.0
	for _, st := range stages {
		ss := StageStats{
			Name: st.name, Workers: st.workers,
			BatchesIn: st.batchesIn.load(), BatchesOut: st.batchesOut.load(),
			ItemsIn: st.itemsIn.load(), ItemsOut: st.itemsOut.load(),
			Busy: time.Duration(st.busy.load()), WaitIn: time.Duration(st.waitIn.load()),
			WaitOut: time.Duration(st.waitOut.load()),
			Retries: st.retries.load(), Failed: st.failed.load(),
		}
		if s.Elapsed > 0 && ss.Workers > 0 {
			ss.Utilization = float64(ss.Busy) / (float64(ss.Workers) * float64(s.Elapsed))
		}
		if ss.Busy > 0 && ss.Utilization > best {
			best = ss.Utilization
			s.Bottleneck = ss.Name + "-bound"
		}
		s.Stages = append(s.Stages, ss)
	}
	if n := len(s.Stages); n > 0 {
		done := s.Stages[n-1].ItemsIn
		s.ItemsDone = done + skipped
		if sec := s.Elapsed.Seconds(); sec > 0 {
			s.ItemsPerSec = float64(done) / sec
		}
		if total > 0 && s.ItemsPerSec > 0 && s.ItemsDone < total {
			s.ETA = time.Duration(float64(total-s.ItemsDone) / s.ItemsPerSec * float64(time.Second))
		}
	}
	return s
}

// String renders the snapshot as one progress line:
// "1200/20000 items  850.3 items/s  ETA 22s  decode-bound".
func (s Snapshot) String() string {
	var b strings.Builder
	if s.ItemsTotal > 0 {
		fmt.Fprintf(&b, "%d/%d items", s.ItemsDone, s.ItemsTotal)
	} else {
		fmt.Fprintf(&b, "%d items", s.ItemsDone)
	}
	fmt.Fprintf(&b, "  %.1f items/s", s.ItemsPerSec)
	if s.ETA > 0 {
		fmt.Fprintf(&b, "  ETA %s", s.ETA.Round(time.Second))
	}
	if s.Bottleneck != "" {
		b.WriteString("  " + s.Bottleneck)
	}
	return b.String()
}
