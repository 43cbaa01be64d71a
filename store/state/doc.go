// Package state is the workspace: a folder (default ./.sluice) holding an embedded SQLite
// database of runs, step records, dataset versions, lineage, the step-reuse cache and the file
// hash cache, next to the content-addressed data of step outputs and the per-step logs.
//
// Several processes may open one workspace at once (a detached run, `sluice runs show`, a
// server). Each executing run holds an advisory lock file; Open marks any Queued or Running run
// whose lock is free as Interrupted, so a run whose process died is never left Running. Runs
// owned by a server (Run.Owner) are its durable queue instead: Open leaves them Queued, and puts
// an owned Running run whose lock is free back to Queued (Requeue) for the server to run again.
//
// The tables of `sluice serve` (server.go) hold published pipelines and their immutable versions,
// API tokens (SHA-256 only, compared in constant time), schedules, and the fires of schedules,
// claimed before their runs are recorded so that each fire starts exactly one run.
package state
