// Package sparkdriver is the scale-out of dataflow steps on Spark: a `score` step with compute
// databricks:NAME or hdinsight:NAME runs as one Spark job whose driver (sluice_driver.py, embedded
// here) parallelizes range(N) into N tasks, each running the sluice binary — shipped with the job —
// as `sluice score ... --shard i/N`. The tasks read the images from Blob and publish each committed
// partition to the Blob output with its commit record (engine/dataflow/commitlog), so they need no
// coordination, and a run started on the cluster and finished on a laptop (or the reverse) never
// redoes a committed partition.
//
// ScoreJob turns a step's context into a Job: the shards, the binary, the files to ship (the model
// and labels when they are local files, and a workspace file listing the Blob datastores — names of
// environment variables, never a secret) and sluice's arguments, where @file:NAME stands for a
// shipped file. The compute targets upload the files (DBFS or workspace files on Databricks, the
// cluster's storage for Livy) and pass Job.DriverArgs to the driver.
package sparkdriver
