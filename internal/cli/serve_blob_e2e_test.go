package cli_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-ml/sluice/internal/azuritetest"
	"github.com/sluice-ml/sluice/remote/databricks"
	"github.com/sluice-ml/sluice/remote/databricks/fakedatabricks"
	"github.com/sluice-ml/sluice/store/azureblob"
	"github.com/sluice-ml/sluice/store/datastore"
)

// offloadYAML runs a step on Databricks (the workspace file's compute target dbx) over Blob data.
const offloadYAML = `name: offload
inputs:
  data: {type: uri_folder}
jobs:
  on_databricks:
    type: command
    compute: databricks:dbx
    code: ./spark
    command: python job.py --in ${{inputs.data}} --out ${{outputs.out}}
    inputs: {data: ${{parent.inputs.data}}}
    outputs: {out: {type: uri_folder, path: azblob://sluicetest/srvout/dbx}}
`

// blobCopyYAML reads a Blob file (staged locally by the engine) and writes an upper-cased copy
// to a Blob folder.
const blobCopyYAML = `name: blobcopy
inputs:
  file: {type: uri_file}
jobs:
  copy:
    type: command
    command: tr a-z A-Z < ${{inputs.f}} > ${{outputs.o}}/upper.txt && echo "copy:$(basename ${{inputs.f}})" >> "$MARKS"
    inputs: {f: ${{parent.inputs.file}}}
    outputs: {o: {type: uri_folder, path: azblob://sluicetest/srvout/upper}}
`

// `sluice serve` with a workspace file naming two Azurite containers as datastores and a
// Databricks target (a fake): a published pipeline reads and writes Blob data through the API,
// another runs its step on the Databricks target; parameters and outputs outside the
// datastores are refused; a Blob-prefix trigger starts one run per new or changed blob with its
// URI bound, including blobs uploaded while the server was SIGKILLed, and none twice.
func TestServeRunsBlobPipelinesAndBlobTriggersOnAzurite(t *testing.T) {
	t.Parallel()
	az := azuritetest.Shared(t)
	const token = "dapi-serve-TOKEN-5e1d"
	dbx := fakedatabricks.New(token, func(databricks.SubmitRequest) fakedatabricks.Behavior {
		return fakedatabricks.Behavior{Logs: "dbx says hi"}
	})
	defer dbx.Close()
	dir := t.TempDir()
	writeFile(t, dir, "spark/job.py", "print('spark job')\n")
	writeFile(t, dir, "sluice-workspace.yaml", `compute:
  dbx:
    type: databricks
    host: `+dbx.URL+`
    token_env: SERVE_DBX_TOKEN
    existing_cluster_id: 0123-456789-abcdef
    poll_min: 5ms
    poll_max: 20ms
datastores:
  inbound:
    type: azure_blob
    account: sluicetest
    container: srvin
    endpoint: `+az.Endpoint+`
    auth: shared_key
    secret_env: SLUICE_TEST_BLOB_KEY
  outbound:
    type: azure_blob
    account: sluicetest
    container: srvout
    endpoint: `+az.Endpoint+`
    auth: shared_key
    secret_env: SLUICE_TEST_BLOB_KEY
`)
	env := []string{"SLUICE_TEST_BLOB_KEY=" + az.Key, "SERVE_DBX_TOKEN=" + token}
	open := func(container string) datastore.Datastore {
		s, err := azureblob.New(context.Background(), azureblob.Config{Account: azuritetest.Account, Container: container,
			Endpoint: az.Endpoint, Auth: azureblob.AuthSharedKey, Secret: az.Key})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	in, out := open("srvin"), open("srvout")
	putBlob := func(name, body string) {
		t.Helper()
		w, err := in.Create(context.Background(), name, datastore.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	r := mustRun(t, dir, "tokens", "create", "--name", "blob")
	tok := strings.TrimSpace(r.stdout[strings.LastIndex(strings.TrimSpace(r.stdout), "\n")+1:])
	srv := startServe(t, dir, tok, env...)

	if code := srv.call("POST", "/api/v1/pipelines", map[string]any{"name": "blobcopy", "version": "1", "yaml": blobCopyYAML}, nil); code != 201 {
		t.Fatalf("publish: %d\n%s", code, srv.logs)
	}
	// Writing outside the workspace's datastores is refused at publish time.
	outside := strings.ReplaceAll(strings.ReplaceAll(blobCopyYAML, "srvout/upper", "private/upper"), "name: blobcopy", "name: leak")
	if code := srv.call("POST", "/api/v1/pipelines", map[string]any{"name": "leak", "yaml": outside}, nil); code != 403 {
		t.Fatalf("publish writing to an undeclared container: %d, want 403", code)
	}

	// A run through the API reads a blob and writes one.
	putBlob("hello.txt", "hello blob\n")
	var sub struct{ ID string }
	if code := srv.call("POST", "/api/v1/pipelines/blobcopy/runs",
		map[string]any{"parameters": map[string]any{"file": "azblob://sluicetest/srvin/hello.txt"}}, &sub); code != 201 {
		t.Fatalf("submit: %d", code)
	}
	var run struct{ Status, Message string }
	waitFor(t, "the Blob run to end", func() bool {
		srv.call("GET", "/api/v1/runs/"+sub.ID, nil, &run)
		return run.Status == "Finished" || run.Status == "Failed" || run.Status == "Canceled"
	})
	if run.Status != "Finished" {
		t.Fatalf("Blob run %s: %s\nserver log:\n%s", run.Status, run.Message, srv.logs)
	}
	if got := blobText(t, out, "upper/upper.txt"); got != "HELLO BLOB\n" {
		t.Fatalf("output blob %q", got)
	}
	if m := marks(t, dir); !slices.Equal(m, []string{"copy:hello.txt"}) {
		t.Fatalf("marks %v", m)
	}
	// A step on the workspace file's Databricks target, over the Blob folder.
	if code := srv.call("POST", "/api/v1/pipelines", map[string]any{"name": "offload", "yaml": offloadYAML}, nil); code != 201 {
		t.Fatalf("publish offload: %d", code)
	}
	if code := srv.call("POST", "/api/v1/pipelines/offload/runs",
		map[string]any{"parameters": map[string]any{"data": "azblob://sluicetest/srvin"}}, &sub); code != 201 {
		t.Fatalf("submit offload: %d", code)
	}
	waitFor(t, "the Databricks run to end", func() bool {
		srv.call("GET", "/api/v1/runs/"+sub.ID, nil, &run)
		return run.Status == "Finished" || run.Status == "Failed" || run.Status == "Canceled"
	})
	if run.Status != "Finished" {
		t.Fatalf("Databricks run %s: %s\nserver log:\n%s", run.Status, run.Message, srv.logs)
	}
	if runs := dbx.Runs(); len(runs) != 1 {
		t.Fatalf("databricks runs: %+v", runs)
	}
	if l := stepLog(t, dir, sub.ID, "on_databricks"); !strings.Contains(l, "databricks | dbx says hi") {
		t.Fatalf("databricks log:\n%s", l)
	}
	grepSecret(t, dir+"/.sluice", token)

	for _, p := range []string{"azblob://sluicetest/private/x.txt", "azblob://elsewhere1/srvin/x.txt", "azblob://sluicetest/srvin/../private/x"} {
		if code := srv.call("POST", "/api/v1/pipelines/blobcopy/runs", map[string]any{"parameters": map[string]any{"file": p}}, nil); code != 403 {
			t.Fatalf("submit with file %s: %d, want 403", p, code)
		}
	}

	// A trigger on a Blob prefix of a datastore (one outside them is refused).
	if code := srv.call("POST", "/api/v1/schedules", map[string]any{"pipeline": "blobcopy",
		"watch_path": "azblob://sluicetest/private/drop", "parameter": "file"}, nil); code != 403 {
		t.Fatalf("schedule on an undeclared container: %d, want 403", code)
	}
	if code := srv.call("POST", "/api/v1/schedules", map[string]any{"pipeline": "blobcopy",
		"watch_path": "azblob://sluicetest/srvin/drop", "parameter": "file"}, nil); code != 201 {
		t.Fatalf("schedule: %d\n%s", code, srv.logs)
	}
	// triggered returns "file@status" of every run a blob started, sorted.
	triggered := func() []string {
		var list struct{ Runs []struct{ ID string } }
		srv.call("GET", "/api/v1/runs?pipeline=blobcopy", nil, &list)
		var got []string
		for _, r := range list.Runs {
			var run struct {
				Status     string
				Parameters map[string]string
			}
			srv.call("GET", "/api/v1/runs/"+r.ID, nil, &run)
			if f := run.Parameters["file"]; strings.HasPrefix(f, "azblob://sluicetest/srvin/drop/") {
				got = append(got, strings.TrimPrefix(f, "azblob://sluicetest/srvin/drop/")+"@"+run.Status)
			}
		}
		sort.Strings(got)
		return got
	}
	allEnded := func(want int) func() bool {
		return func() bool {
			got := triggered()
			for _, g := range got {
				if !strings.HasSuffix(g, "@Finished") && !strings.HasSuffix(g, "@Failed") {
					return false
				}
			}
			return len(got) >= want
		}
	}
	putBlob("drop/one.txt", "one\n")
	waitFor(t, "the first blob's run", allEnded(1))
	if got := fmt.Sprint(triggered()); got != "[one.txt@Finished]" {
		t.Fatalf("after one blob: %s\nserver log:\n%s", got, srv.logs)
	}

	// SIGKILL; meanwhile a new blob arrives and the first one changes.
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.cmd.Wait()
	putBlob("drop/two.txt", "two\n")
	putBlob("drop/one.txt", "one, changed\n")
	srv = startServe(t, dir, tok, env...)
	waitFor(t, "the blobs that arrived meanwhile", allEnded(3))
	if got := fmt.Sprint(triggered()); got != "[one.txt@Finished one.txt@Finished two.txt@Finished]" {
		t.Fatalf("after the restart: %s\nserver log:\n%s", got, srv.logs)
	}
	// One more blob: once its run has ended, the scans since have fired nothing twice.
	putBlob("drop/three.txt", "three\n")
	waitFor(t, "the last blob's run", allEnded(4))
	if got := fmt.Sprint(triggered()); got != "[one.txt@Finished one.txt@Finished three.txt@Finished two.txt@Finished]" {
		t.Fatalf("at the end: %s\nserver log:\n%s", got, srv.logs)
	}
	if m := marks(t, dir); !slices.Equal(m, []string{"copy:one.txt", "copy:one.txt", "copy:three.txt", "copy:two.txt"}) {
		t.Fatalf("steps executed: %v", m)
	}
	if got := blobText(t, out, "upper/upper.txt"); got != "THREE\n" {
		t.Fatalf("output blob after the triggers %q", got)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, srv.logs)
	}
}
