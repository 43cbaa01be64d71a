// Package server assembles `sluice serve`: the workspace, the durable run queue and its workers
// (runner), published pipelines (catalog), schedules, the REST API, the web view and Prometheus
// metrics, behind one HTTP(S) listener.
//
// Config.Targets, Config.Data and Config.Datastores carry the workspace file (internal/cli reads
// it as `sluice run` does): runs use its compute targets and datastores, Blob-prefix triggers
// scan through its resolver, and its datastores are data roots (see package catalog).
//
// Lifecycle: New opens nothing but wires the parts on an open workspace; Serve starts the
// workers (resuming the queued runs), the scheduler (recovering fires claimed before a crash)
// and the listener, and on ctx's end shuts down in two stages: stop accepting and drain the
// requests, then let the executing runs end within the grace period (after it they are canceled
// and put back in the queue).
//
// Step progress: the server's event observer keeps the latest progress report of each running
// dataflow step (in memory, dropped when the step or run ends) for the run JSON (api.Config.
// Progress) and the gauges sluice_step_items_per_second and sluice_step_items_done.
package server
