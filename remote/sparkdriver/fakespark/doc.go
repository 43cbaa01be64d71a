// Package fakespark runs PySpark driver programs on this machine, for the in-repo fakes of
// Databricks (remote/databricks/fakedatabricks) and Livy (remote/livy/fakelivy): a submitted
// spark_python_task or batch really executes instead of following a script. The driver runs under
// python3 with a stand-in `pyspark` module (embedded here: SparkSession, SparkContext.parallelize,
// RDD.map/collect, SparkFiles) whose tasks run as threads of the driver process, so a scale-out
// driver (remote/sparkdriver's sluice_driver.py) runs its real code: every task copies the shipped
// sluice binary and runs it on its shard.
//
// Cluster holds what a real cluster would: its environment (where Blob credentials come from),
// spark.task.maxFailures, and injected faults (executors lost for chosen tasks: Lose).
package fakespark
