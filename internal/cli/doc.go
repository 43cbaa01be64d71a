// Package cli implements the sluice command line (DESIGN.md §5). Main runs a command and maps
// its outcome to the exit codes scripts rely on: 0 success, 1 the work failed (a run failed or
// was canceled), 2 bad usage or bad input files.
package cli
