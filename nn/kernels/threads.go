package kernels

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets the number of workers every kernel of this package uses
// (n < 1 means runtime.GOMAXPROCS(0)). It is safe to call at any time; calls
// already running keep the count they started with.
func SetThreads(n int) {
	if n < 1 {
		n = runtime.GOMAXPROCS(0)
	}
	threads.Store(int32(n))
}

// Threads returns the number of workers kernels use.
func Threads() int { return int(threads.Load()) }

// resolveThreads maps a per-call thread count to the one used: t < 1
// means Threads().
func resolveThreads(t int) int {
	if t < 1 {
		return Threads()
	}
	return t
}

// parallelFor runs fn(worker, i) for every i in [0, n) on up to t workers;
// worker is in [0, workers) and identifies the goroutine, so fn may use
// per-worker scratch. The calling goroutine is worker 0. A panic in any
// worker is re-raised in the caller after all workers stop.
func parallelFor(t, n int, fn func(worker, i int)) {
	w := min(t, n)
	if w <= 1 {
		for i := range n {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	var pmu sync.Mutex
	var perr any
	run := func(worker int) {
		defer func() {
			if r := recover(); r != nil {
				pmu.Lock()
				if perr == nil {
					perr = r
				}
				pmu.Unlock()
				next.Store(int64(n)) // stop handing out work
			}
		}()
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			fn(worker, i)
		}
	}
	wg.Add(w - 1)
	for k := 1; k < w; k++ {
		go func() { defer wg.Done(); run(k) }()
	}
	run(0)
	wg.Wait()
	if perr != nil {
		panic(perr)
	}
}

// Scratch buffers come from one sync.Pool per power-of-two size class, so
// nested requests of different sizes (phase planes, a GEMM's packed
// panel, a wide output chunk) each find a buffer of their class: the hot
// path allocates nothing once warm.
var scratchPools [48]sync.Pool

func getScratch(n int) *[]float32 {
	cl := bits.Len(uint(max(n, 1) - 1))
	if v, ok := scratchPools[cl].Get().(*[]float32); ok {
		*v = (*v)[:n]
		return v
	}
	s := make([]float32, n, 1<<cl)
	return &s
}

func putScratch(s *[]float32) {
	cl := bits.Len(uint(max(cap(*s), 1) - 1))
	if 1<<cl != cap(*s) {
		return // not from getScratch
	}
	scratchPools[cl].Put(s)
}
