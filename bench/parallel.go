package bench

import (
	"sync"
	"sync/atomic"

	"github.com/sluice-ml/sluice/nn/kernels"
)

// parallelImages runs f(i) for i in [0, n) on kernels.Threads() goroutines.
func parallelImages(n int, f func(i int)) {
	t := min(kernels.Threads(), n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range t {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}
