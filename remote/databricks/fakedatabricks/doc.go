// Package fakedatabricks is an in-process Databricks workspace for tests: an httptest server that
// speaks the parts of the Jobs API 2.1 (runs/submit, runs/get, runs/get-output, runs/cancel),
// DBFS (create, add-block, close, get-status, and put with JSON contents or a multipart posted
// file) and workspace files (mkdirs, import, get-status) that Sluice uses, with
// their request checks, state machine and error bodies ({"error_code": ..., "message": ...}),
// bearer-token authentication (401 without a token, 403 with a wrong one), and injectable faults:
// 429 with Retry-After, 5xx, and responses lost after the request took effect.
//
// With Execute, spark_python_tasks really run (package fakespark): the python_file and the DBFS
// and workspace files are written under a folder standing for the /dbfs and /Workspace FUSE
// mounts, the task's parameters are rewritten to it, and the driver runs with the cluster's
// environment plus new_cluster.spark_env_vars; the run is RUNNING until the driver exits,
// TERMINATED with SUCCESS or FAILED after (runs/get-output: stdout as logs, the last stderr line
// as error, stderr as error_trace); runs/cancel kills it.
package fakedatabricks
