// Package databricks is the `databricks:NAME` compute target: a command step runs as a one-time
// run of the Databricks Jobs API 2.1 (POST /api/2.1/jobs/runs/submit).
//
// The step's command is split into words (package argv). `python FILE.py ARGS...` or
// `FILE.py ARGS...` becomes a spark_python_task; `spark-submit ARGS...` a spark_submit_task.
// The job's code folder is uploaded first — to DBFS (streaming create/add-block/close) or to
// workspace files (/api/2.0/workspace/import) — under Config.UploadRoot/RUN/STEP/attempt-N, and
// file names in the command that exist in the code folder are replaced by their uploaded paths.
// Data inputs and outputs must be azblob:// URIs (outputs need `path:`); they are passed to Spark
// as wasbs://CONTAINER@ACCOUNT.blob.core.windows.net/PATH.
//
// The submit carries an idempotency_token derived from run, step and attempt, so it is retried
// freely (throttling, 5xx, lost responses) without ever starting a second run. The run is polled
// with runs/get (backoff with jitter, reset on every state change) and its life_cycle_state /
// result_state mapped to the step's outcome: TERMINATED+SUCCESS is success; any other result,
// SKIPPED or INTERNAL_ERROR is a failure whose message quotes state_message and the task's
// error. runs/get-output's logs, error and error_trace are copied into the step log. When the
// step's context ends (cancel, timeout, a sibling's failure) the run is canceled with runs/cancel;
// if that happens while a submit is still being retried, the run is found by its unique run_name
// among the active one-time runs (runs/list) and canceled.
//
// A `score` step is scaled out instead (package sparkdriver): the driver, the step's files and the
// sluice binary (once per build, under UploadRoot/bin/ID) are uploaded, and a spark_python_task
// runs the driver, whose N tasks run `sluice score --shard i/N` reading the files through the
// /dbfs (or /Workspace) FUSE mount.
//
// Credentials: a personal access token, or an Azure AD token for the Databricks resource
// (DefaultAzureCredential), sent as a bearer token; never logged.
package databricks
