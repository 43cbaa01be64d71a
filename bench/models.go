package bench

import (
	"fmt"
	"io"
)

func modelsCmd(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sluicebench models: not wired yet")
	return 2
}
