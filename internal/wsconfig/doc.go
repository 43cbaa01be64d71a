// Package wsconfig reads the workspace file (sluice-workspace.yaml): the datastores and compute
// targets a workspace may use, and how to authenticate to each. The file never holds a secret:
// credentials are named by environment variable (secret_env, token_env, password_env) or come
// from Azure's DefaultAzureCredential, and are read only when a target or datastore is first
// used, so a missing variable fails only the pipelines that need it.
//
//	datastores:
//	  lake:
//	    type: azure_blob
//	    account: mystorage              # matches azblob://mystorage/...
//	    container: images               # optional: without it, every container of the account
//	    endpoint: http://127.0.0.1:10000/devstoreaccount1   # optional (Azurite, sovereign clouds)
//	    auth: shared_key                # shared_key | sas | connection_string | default | anonymous
//	    secret_env: LAKE_KEY            # the variable holding the key / SAS / connection string
//	    block_size: 8388608             # optional, bytes per block; concurrency: blocks in flight
//	compute:
//	  dbx:                              # compute: databricks:dbx
//	    type: databricks
//	    host: https://adb-1234.5.azuredatabricks.net
//	    auth: pat                       # pat (token_env) | azure_ad (DefaultAzureCredential)
//	    token_env: DATABRICKS_TOKEN
//	    existing_cluster_id: 0123-456789-abcdef   # or new_cluster: {spark_version: ..., node_type_id: ..., num_workers: 2}
//	    upload: dbfs                    # dbfs | workspace
//	    upload_root: /sluice/code
//	    poll_min: 2s
//	    poll_max: 30s
//	  spark:                            # compute: hdinsight:spark
//	    type: hdinsight
//	    url: https://mycluster.azurehdinsight.net/livy
//	    user: admin
//	    password_env: HDI_PASSWORD
//	    code_root: azblob://mystorage/cluster/sluice/code
//	    batch: {driver_memory: 4g, executor_memory: 8g, executor_cores: 2, num_executors: 4, queue: default,
//	            conf: {spark.yarn.maxAppAttempts: "1"}}
//
// A Blob URI whose account has no entry is opened with DefaultAzureCredential at
// https://ACCOUNT.blob.core.windows.net. Unknown keys are errors naming the key and its line;
// keys that would hold a secret's value (key, token, password, sas, connection_string) are refused.
package wsconfig
