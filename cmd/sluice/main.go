package main

import (
	"context"
	"os"

	"github.com/sluice-ml/sluice/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
