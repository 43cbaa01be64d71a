package cli_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluice-ml/sluice/internal/azuritetest"
	"github.com/sluice-ml/sluice/remote/databricks"
	"github.com/sluice-ml/sluice/remote/databricks/fakedatabricks"
	"github.com/sluice-ml/sluice/remote/livy"
	"github.com/sluice-ml/sluice/remote/livy/fakelivy"
	"github.com/sluice-ml/sluice/store/azureblob"
	"github.com/sluice-ml/sluice/store/datastore"
)

// Steps offloaded to Databricks and HDInsight (fakes) from `sluice run`, reading and writing Blob
// (Azurite): the remote error reaches the run's message and the step log; the token, password
// and storage key reach no file of the workspace.
func TestRemoteStepsThroughCLI(t *testing.T) {
	t.Parallel()
	az := azuritetest.Shared(t)
	const token, password = "dapi-e2e-TOKEN-7f3a9c", "hdi-e2e-PASSWORD-91bd"
	var fail atomic.Bool
	dbx := fakedatabricks.New(token, func(req databricks.SubmitRequest) fakedatabricks.Behavior {
		if fail.Load() {
			return fakedatabricks.Behavior{Result: databricks.ResultFailed, StateMessage: "Workload failed",
				Error: "AnalysisException: Path does not exist: wasbs://e2e2@sluicetest.blob.core.windows.net/missing"}
		}
		return fakedatabricks.Behavior{Logs: "dbx says hi"}
	})
	defer dbx.Close()
	hdi := fakelivy.New("admin", password, func(livy.BatchRequest) fakelivy.Behavior {
		return fakelivy.Behavior{Log: []string{"livy says hi"}}
	})
	defer hdi.Close()

	store, err := azureblob.New(context.Background(), azureblob.Config{Account: azuritetest.Account, Container: "e2e2",
		Endpoint: az.Endpoint, Auth: azureblob.AuthSharedKey, Secret: az.Key})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := store.Create(context.Background(), "in/part-0.csv", datastore.CreateOptions{})
	w.Write([]byte("a,b\n1,2\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	writeFile(t, dir, "sluice-workspace.yaml", `datastores:
  test: {type: azure_blob, account: sluicetest, endpoint: `+az.Endpoint+`, auth: connection_string, secret_env: E2E_BLOB}
compute:
  dbx:
    type: databricks
    host: `+dbx.URL+`
    token_env: E2E_DBX_TOKEN
    new_cluster: {spark_version: 15.4.x-scala2.12, node_type_id: Standard_DS3_v2, num_workers: 2}
    poll_min: 5ms
    poll_max: 20ms
  spark:
    type: hdinsight
    url: `+hdi.URL+`
    user: admin
    password_env: E2E_HDI_PASSWORD
    code_root: azblob://sluicetest/cluster/code
    poll_min: 5ms
    poll_max: 20ms
    batch: {executor_memory: 4g, num_executors: 2}
`)
	writeFile(t, dir, "pipeline.yaml", `name: offload
inputs:
  data: {type: uri_folder, path: azblob://sluicetest/e2e2/in}
jobs:
  on_databricks:
    type: command
    compute: databricks:dbx
    code: ./spark
    command: python job.py --in ${{inputs.data}} --out ${{outputs.out}}
    inputs: {data: ${{parent.inputs.data}}}
    outputs: {out: {type: uri_folder, path: azblob://sluicetest/e2e2/dbx}}
  on_hdinsight:
    type: command
    compute: hdinsight:spark
    code: ./spark
    command: spark-submit --conf spark.executor.instances=2 job.py ${{inputs.data}} ${{outputs.out}}
    inputs: {data: ${{parent.inputs.data}}}
    outputs: {out: {type: uri_folder, path: azblob://sluicetest/e2e2/hdi}}
`)
	writeFile(t, dir, "spark/job.py", "print('spark job')\n")
	env := []string{"E2E_BLOB=" + az.ConnectionString(), "E2E_DBX_TOKEN=" + token, "E2E_HDI_PASSWORD=" + password}

	r := sluiceEnv(t, dir, env, "run", "pipeline.yaml")
	id := runID(t, r)
	st := statuses(showRun(t, dir, id))
	if st["on_databricks"] != "Finished" || st["on_hdinsight"] != "Finished" {
		t.Fatalf("statuses %v", st)
	}
	if l := stepLog(t, dir, id, "on_databricks"); !strings.Contains(l, "databricks | dbx says hi") || !strings.Contains(l, "TERMINATED SUCCESS") {
		t.Fatalf("databricks log:\n%s", l)
	}
	if l := stepLog(t, dir, id, "on_hdinsight"); !strings.Contains(l, "livy | livy says hi") {
		t.Fatalf("livy log:\n%s", l)
	}
	if b := hdi.Batches(); len(b) != 1 || b[0].Request.Conf["spark.executor.instances"] != "2" || b[0].Request.ExecutorMemory != "4g" ||
		b[0].Request.File != "wasbs://cluster@sluicetest.blob.core.windows.net/code/"+id+"/on_hdinsight/attempt-1/job.py" {
		t.Fatalf("livy batches %+v", b)
	}
	if runs := dbx.Runs(); len(runs) != 1 || runs[0].Request.Tasks[0].NewCluster["num_workers"] != float64(2) {
		t.Fatalf("databricks runs %+v", runs)
	}

	// A failing remote run: exit 1, the remote error in the run's message and in the step log.
	fail.Store(true)
	writeFile(t, dir, "spark/job.py", "print('spark job v2')\n")
	c := command(dir, "run", "pipeline.yaml")
	c.Env = append(c.Env, env...)
	out, _ := c.CombinedOutput()
	if c.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "AnalysisException: Path does not exist") {
		t.Fatalf("failing run: exit %d\n%s", c.ProcessState.ExitCode(), out)
	}
	for _, secret := range []string{token, password, az.Key} {
		if strings.Contains(string(out)+r.stdout+r.stderr, secret) {
			t.Fatal("a secret in command output")
		}
		grepSecret(t, dir+"/.sluice", secret)
	}
}
