// Command sluicebench runs Sluice's benchmark harness; see bench/README.md.
package main

import (
	"os"

	"github.com/sluice-ml/sluice/bench"
)

func main() { os.Exit(bench.Main(os.Args[1:], os.Stdout, os.Stderr)) }
