// Package compute holds the step and compute-target contracts (DESIGN.md §3) and the targets
// that run in this process's machine: `local` runs command steps as processes. A target turns a
// job of a pipeline into a Step; the executor calls Step.Run once per attempt with the step's
// resolved inputs and fresh output folders. Remote targets (Databricks, HDInsight) implement the
// same contract in package remote. Other packages add in-process job types to the local target
// with RegisterLocalJob (transfer does). A step that reads and writes data URIs (azblob://)
// itself says so with the optional DataURIs capability; other steps only ever see local paths.
package compute
