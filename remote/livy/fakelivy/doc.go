// Package fakelivy is an in-process Apache Livy server for tests: the batch endpoints (POST
// /batches, GET /batches, GET /batches/{id}, /state, /log, DELETE /batches/{id}) with Livy's
// request checks, state machine (starting → running → success | dead | killed), log paging and
// error bodies ({"msg": ...}), HTTP Basic authentication, the X-Requested-By CSRF guard, and
// injectable faults: 429 with Retry-After, 5xx, and responses lost after the batch was created.
//
// With Execute, batches whose file is a Python program really run (package fakespark): the file
// and the batch's `files` are fetched (from the cluster's storage, through the given function)
// into a SparkFiles folder, and the driver runs with the cluster's environment plus the conf's
// spark.executorEnv.* and spark.yarn.appMasterEnv.* variables; the batch is running until the
// driver exits, then success or dead, its log holding the driver's stdout and stderr as Livy
// shows them; DELETE kills it.
package fakelivy
