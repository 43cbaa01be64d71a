package cli_test

import (
	"bytes"
	"errors"
	"os/exec"
	"slices"
	"syscall"
	"testing"

	"github.com/sluice-ml/sluice/remote/databricks"
	"github.com/sluice-ml/sluice/remote/databricks/fakedatabricks"
	"github.com/sluice-ml/sluice/remote/livy"
	"github.com/sluice-ml/sluice/remote/livy/fakelivy"
)

// SIGTERM to `sluice run` cancels the remote runs it started: the fakes record runs/cancel and
// DELETE /batches. No Blob server is needed: the steps never finish.
func TestSIGTERMCancelsRemoteRuns(t *testing.T) {
	t.Parallel()
	const token, password = "dapi-cancel-TOKEN-55aa", "hdi-cancel-PASSWORD-66bb"
	dbx := fakedatabricks.New(token, func(databricks.SubmitRequest) fakedatabricks.Behavior {
		return fakedatabricks.Behavior{Never: true}
	})
	defer dbx.Close()
	hdi := fakelivy.New("admin", password, func(livy.BatchRequest) fakelivy.Behavior { return fakelivy.Behavior{Never: true} })
	defer hdi.Close()
	dir := t.TempDir()
	writeFile(t, dir, "ws.yaml", `compute:
  dbx: {type: databricks, host: `+dbx.URL+`, token_env: C_TOKEN, existing_cluster_id: c1, poll_min: 10ms, poll_max: 50ms}
  spark: {type: hdinsight, url: `+hdi.URL+`, user: admin, password_env: C_PASSWORD, poll_min: 10ms, poll_max: 50ms}
`)
	writeFile(t, dir, "p.yaml", `name: forever
inputs:
  n: {type: integer, default: 3}
jobs:
  a:
    type: command
    compute: databricks:dbx
    command: python dbfs:/jobs/loop.py --n ${{inputs.n}}
    inputs: {n: ${{parent.inputs.n}}}
    outputs: {out: {type: uri_folder, path: azblob://acct1/cont/a}}
  b:
    type: command
    compute: hdinsight:spark
    command: python wasbs://jobs@acct1.blob.core.windows.net/loop.py ${{inputs.n}}
    inputs: {n: ${{parent.inputs.n}}}
    outputs: {out: {type: uri_folder, path: azblob://acct1/cont/b}}
`)
	c := command(dir, "--workspace-file", "ws.yaml", "run", "p.yaml")
	c.Env = append(c.Env, "C_TOKEN="+token, "C_PASSWORD="+password)
	var errb bytes.Buffer
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both remote runs to be running", func() bool {
		r, b := dbx.Runs(), hdi.Batches()
		return len(r) == 1 && r[0].Gets >= 3 && len(b) == 1 && b[0].Reads >= 3
	})
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := c.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v\n%s", err, errb.String())
	}
	if got := dbx.Cancels(); !slices.Equal(got, []int64{dbx.Runs()[0].ID}) {
		t.Fatalf("databricks cancels %v", got)
	}
	if got := hdi.Deletes(); !slices.Equal(got, []int64{0}) {
		t.Fatalf("livy deletes %v", got)
	}
	rj := showRun(t, dir, runID(t, result{stderr: errb.String()}))
	if st := statuses(rj); rj.Status != "Canceled" || st["a"] != "Canceled" || st["b"] != "Canceled" {
		t.Fatalf("%s %v", rj.Status, st)
	}
	grepSecret(t, dir+"/.sluice", token)
	grepSecret(t, dir+"/.sluice", password)
}
