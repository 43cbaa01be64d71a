// Package remote holds the compute targets that offload steps to a cluster: databricks (Jobs API
// 2.1) and livy (Apache Livy batches, as on HDInsight), on top of the shared HTTP client in rest.
// Both implement engine/compute's Target and Step contracts and the compute.DataURIs capability:
// their steps read and write azblob:// data directly, passed to Spark as wasbs:// URLs. Command
// steps run as they are written; `score` steps scale out over Spark tasks (package sparkdriver).
package remote
