//go:build unix

package cpu

import "syscall"

// processCPU returns the CPU seconds the process has used: benchmarks
// report GFLOP per CPU-second too, which is steadier than wall time on a
// shared machine.
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
