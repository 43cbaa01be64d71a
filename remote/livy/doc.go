// Package livy is the `hdinsight:NAME` compute target: a command step runs as an Apache Livy batch
// (POST /batches), the REST front of Spark on HDInsight (https://CLUSTER.azurehdinsight.net/livy).
//
// The command is split into words (package argv): `python FILE.py ARGS...` / `FILE.py ARGS...`
// runs a PySpark file; `spark-submit [OPTIONS] FILE ARGS...` maps spark-submit's options to the
// batch's fields (--class → className, --jars, --py-files, --files, --conf k=v, --driver-memory,
// --driver-cores, --executor-memory, --executor-cores, --num-executors, --queue, --name); the
// target's configuration supplies defaults for all of them. When Config.CodeRoot is an azblob://
// URI, the step's code folder is uploaded there first (the cluster's storage) and file names in
// the command are replaced by their wasbs:// URLs. Data inputs and outputs are azblob:// URIs
// passed as wasbs:// URLs.
//
// Livy has no idempotency key, so a submit is never retried blindly: every batch gets a unique
// name, and when a submit's answer is lost (or is a 5xx) the target lists the batches and adopts
// the one with that name before trying again. States: not_started, starting, recovering, idle,
// running, busy, shutting_down go on; success ends the step well; dead, killed and error fail it,
// quoting the last lines of the batch log. The log (GET /batches/{id}/log) is copied into the step
// log as it grows. Cancelling the step deletes the batch (DELETE /batches/{id}), which kills the
// YARN application. A `score` step is scaled out instead (package sparkdriver): the driver, the
// step's files and the sluice binary (once per build, under code_root/bin/ID) go to code_root, and
// the batch runs the driver with them as `files`. Requests carry HTTP Basic credentials and X-Requested-By (Livy's CSRF guard).
package livy
