// Package executor runs pipelines: it records a run in the workspace, builds the DAG from data
// bindings and run_after, and runs independent steps in parallel (bounded) and dependent ones in
// order. Each step is first looked up in the reuse cache by its cache key — its definition,
// bound parameter values, the content hash of its code folder and the content versions of its
// inputs — and reused without starting anything when found. Otherwise it runs on its compute
// target with retries, backoff and a timeout; its outputs are then hashed, moved into the
// workspace's content-addressed store and registered as dataset versions with their lineage.
//
// Cancellation (the context, or a cancel request recorded in the workspace) terminates the
// running steps and records the run as Canceled. A failing step either stops the run (its
// running siblings are canceled) or, with continue_on_step_failure, only the steps downstream
// of it.
//
// Data may also live behind URIs (azblob://, resolved by Options.Data): such inputs are versioned
// from their listings and downloaded for steps that only read local files; an output with a
// `path:` is uploaded there (or written there directly by steps with compute.DataURIs), versioned
// from its listing and reused only while that listing is unchanged.
package executor
