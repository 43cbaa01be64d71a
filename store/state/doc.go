// Package state is the workspace: a folder (default ./.sluice) holding an embedded SQLite
// database of runs, step records, dataset versions, lineage, the step-reuse cache and the file
// hash cache, next to the content-addressed data of step outputs and the per-step logs.
//
// Several processes may open one workspace at once (a detached run, `sluice runs show`, a
// server). Each executing run holds an advisory lock file; Open marks any Queued or Running run
// whose lock is free as Interrupted, so a run whose process died is never left Running.
package state
