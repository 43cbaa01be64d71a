// Package runner executes the runs a server accepted: a durable queue (the workspace's Queued
// runs owned by the server) drained by a bounded pool of workers, each executing one run at a
// time with the same engine and workspace file as `sluice run` (executor.Execute with the compute
// targets and datastore resolver of Config.Targets and Config.Data).
//
// The queue's truth is the workspace: a run is recorded Queued before anyone is told about it,
// Start reloads every Queued run of the owner, and a run whose server died while executing it is
// requeued by state.Open. So a crash loses no accepted run; at worst a run executes again from
// the start, its finished steps reused from the cache.
package runner
