package cli

// Job types run in-process on the local compute target, registered by their packages' init.
import (
	_ "github.com/sluice-ml/sluice/engine/dataflow/jobs" // parallel, dataflow
)
