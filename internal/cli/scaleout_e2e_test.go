package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/engine/dataflow/commitlog"
	"github.com/sluice-ml/sluice/internal/azuritetest"
	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/remote/databricks/fakedatabricks"
	"github.com/sluice-ml/sluice/remote/livy/fakelivy"
	"github.com/sluice-ml/sluice/remote/sparkdriver/fakespark"
	"github.com/sluice-ml/sluice/scenarios/batchscoring"
	"github.com/sluice-ml/sluice/store/azureblob"
	"github.com/sluice-ml/sluice/store/datastore"
)

// scaleOut is the set-up shared by the scale-out tests: 30 images on Azurite, a fake Databricks
// and a fake Livy whose submitted drivers really run (package fakespark: sluice_driver.py under
// python3 with a stand-in pyspark, every task running the shipped sluice binary — this test
// binary, which is the CLI when SLUICE_E2E_EXEC=1 — on its shard).
type scaleOut struct {
	dir     string
	az      *azuritetest.Server
	store   *azureblob.Store
	cluster *fakespark.Cluster
	dbx     *fakedatabricks.Server
	hdi     *fakelivy.Server
	env     []string
}

const (
	soToken    = "dapi-scaleout-TOKEN-5e1d"
	soPassword = "hdi-scaleout-PASSWORD-c0a2"
	soImages   = "azblob://sluicetest/scaleout/images"
)

func newScaleOut(t *testing.T) *scaleOut {
	t.Helper()
	az := azuritetest.Shared(t)
	cluster := &fakespark.Cluster{}
	if err := cluster.Available(); err != nil {
		testenv.Missing(t, "python3 (runs the Spark driver in the fake clusters)")
	}
	s := &scaleOut{dir: t.TempDir(), az: az, cluster: cluster}
	// The clusters' environment: the storage credential (as spark_env_vars / executorEnv would
	// give it) and what makes the shipped test binary behave as sluice.
	cluster.Env = []string{"SO_BLOB=" + az.ConnectionString(), "SLUICE_E2E_EXEC=1"}
	var err error
	s.store, err = azureblob.New(context.Background(), azureblob.Config{Account: azuritetest.Account, Container: "scaleout",
		Endpoint: az.Endpoint, Auth: azureblob.AuthConnectionString, Secret: az.ConnectionString()})
	if err != nil {
		t.Fatal(err)
	}
	s.dbx = fakedatabricks.New(soToken, nil)
	s.dbx.Execute(cluster)
	t.Cleanup(s.dbx.Close)
	s.hdi = fakelivy.New("admin", soPassword, nil)
	s.hdi.Execute(cluster, func(ctx context.Context, url string) ([]byte, error) { return s.fetch(ctx, url) })
	t.Cleanup(s.hdi.Close)

	images := imageSet(t, s.dir, 30)
	err = filepath.WalkDir(images, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(images, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		w, err := s.store.Create(context.Background(), "images/"+filepath.ToSlash(rel), datastore.CreateOptions{})
		if err != nil {
			return err
		}
		w.Write(b)
		return w.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, s.dir, "sluice-workspace.yaml", `datastores:
  test: {type: azure_blob, account: sluicetest, endpoint: `+az.Endpoint+`, auth: connection_string, secret_env: SO_BLOB}
compute:
  dbx:
    type: databricks
    host: `+s.dbx.URL+`
    token_env: SO_DBX_TOKEN
    new_cluster: {spark_version: 15.4.x-scala2.12, node_type_id: Standard_DS3_v2, num_workers: 3}
    poll_min: 20ms
    poll_max: 200ms
  spark:
    type: hdinsight
    url: `+s.hdi.URL+`
    user: admin
    password_env: SO_HDI_PASSWORD
    code_root: azblob://sluicetest/cluster/code
    poll_min: 20ms
    poll_max: 200ms
`)
	s.env = []string{"SO_BLOB=" + az.ConnectionString(), "SO_DBX_TOKEN=" + soToken, "SO_HDI_PASSWORD=" + soPassword}
	return s
}

// fetch reads a wasbs:// URL of the fake HDInsight cluster's storage (Azurite).
func (s *scaleOut) fetch(ctx context.Context, url string) ([]byte, error) {
	rest, _ := strings.CutPrefix(url, "wasbs://")
	container, rest, _ := strings.Cut(rest, "@")
	_, name, _ := strings.Cut(rest, "/")
	st, err := azureblob.New(ctx, azureblob.Config{Account: azuritetest.Account, Container: container,
		Endpoint: s.az.Endpoint, Auth: azureblob.AuthConnectionString, Secret: s.az.ConnectionString()})
	if err != nil {
		return nil, err
	}
	rc, err := st.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// run writes a pipeline scoring the images into out on compute and runs it.
func (s *scaleOut) run(t *testing.T, name, compute, out string, wantCode int) (string, result) {
	t.Helper()
	writeFile(t, s.dir, name+".yaml", `name: `+name+`
jobs:
  score:
    type: score
    compute: `+compute+`
    inputs: {images: {type: uri_folder, path: `+soImages+`}}
    outputs: {predictions: {type: uri_folder, path: azblob://sluicetest/scaleout/`+out+`}}
    model: `+repoFile(t, "sample/classifier.onnx")+`
    labels: `+repoFile(t, "sample/labels.txt")+`
    preprocess: `+samplePrep+`
    mini_batch_size: 4
    shards: 3
`)
	c := command(s.dir, "run", name+".yaml")
	c.Env = append(c.Env, s.env...)
	var stdout, stderr strings.Builder
	c.Stdout, c.Stderr = &stdout, &stderr
	c.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), code: c.ProcessState.ExitCode()}
	if r.code != wantCode {
		t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", name, r.code, wantCode, r.stdout, r.stderr)
	}
	return runID(t, r), r
}

// records reads the commit records of an output, by partition id.
func (s *scaleOut) records(t *testing.T, out string) map[string]commitlog.Record {
	t.Helper()
	recs := map[string]commitlog.Record{}
	err := s.store.List(context.Background(), out+"/"+commitlog.Dir+"/", func(in datastore.Info) error {
		rc, err := s.store.Open(context.Background(), in.Name)
		if err != nil {
			return err
		}
		defer rc.Close()
		var r commitlog.Record
		if err := json.NewDecoder(rc).Decode(&r); err != nil {
			return err
		}
		recs[r.Partition] = r
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// predictions downloads an output's part files and evaluates them; digests maps each file name
// to its MD5.
func (s *scaleOut) predictions(t *testing.T, out string) (batchscoring.Eval, map[string]string) {
	t.Helper()
	local := filepath.Join(t.TempDir(), out)
	os.MkdirAll(local, 0o755)
	digests := map[string]string{}
	err := s.store.List(context.Background(), out+"/part-", func(in datastore.Info) error {
		digests[in.Name[len(out)+1:]] = string(in.MD5)
		rc, err := s.store.Open(context.Background(), in.Name)
		if err != nil {
			return err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(local, in.Name[len(out)+1:]), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := batchscoring.Evaluate(context.Background(), local)
	if err != nil {
		t.Fatal(err)
	}
	return ev, digests
}

// committedBy sums up records: partition ids whose committer contains mark, and their rows.
func committedBy(recs map[string]commitlog.Record, mark string) ([]string, int64) {
	var ids []string
	var rows int64
	for id, r := range recs {
		if strings.Contains(r.By, mark) {
			ids = append(ids, id)
			rows += r.Rows
		}
	}
	sort.Strings(ids)
	return ids, rows
}

func keys(m map[string]commitlog.Record) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// checkComplete asserts an output holds every image exactly once, predicted as in want.
func (s *scaleOut) checkComplete(t *testing.T, out string, want batchscoring.Eval) {
	t.Helper()
	ev, _ := s.predictions(t, out)
	if ev.Rows != 30 || len(ev.Duplicates) != 0 || ev.Errors != 0 {
		t.Fatalf("%s: %v", out, ev)
	}
	for p, l := range want.Labels {
		if ev.Labels[p] != l {
			t.Fatalf("%s: %s labelled %q, the local run says %q", out, p, ev.Labels[p], l)
		}
	}
	if recs := s.records(t, out); len(recs) != ev.Files {
		t.Fatalf("%s: %d records for %d files", out, len(recs), ev.Files)
	}
}

// A score step on Databricks and on HDInsight runs its partitions as 3 Spark tasks, each running
// the shipped sluice binary on its shard, reading the images from Blob and committing Parquet and
// commit records to Blob; the predictions are those of a local run, file for file. A remote run
// that fails after some partitions is finished by a local run (and the reverse) without scoring
// any committed partition again.
func TestScaleOutScoring(t *testing.T) {
	t.Parallel()
	s := newScaleOut(t)

	// The reference: the same step on this machine.
	idLocal, _ := s.run(t, "local", "local", "local", 0)
	want, wantFiles := s.predictions(t, "local")
	if want.Rows != 30 || len(wantFiles) < 4 {
		t.Fatalf("local run: %v, %d files", want, len(wantFiles))
	}
	if l := stepLog(t, s.dir, idLocal, "score"); !strings.Contains(l, "published by this run, 0 committed by other runs") {
		t.Fatalf("local log:\n%s", l)
	}

	t.Run("databricks", func(t *testing.T) {
		id, _ := s.run(t, "dbx", "databricks:dbx", "dbx", 0)
		s.checkComplete(t, "dbx", want)
		if _, got := s.predictions(t, "dbx"); !mapsEqual(got, wantFiles) {
			t.Fatalf("Databricks files %v, local %v", got, wantFiles)
		}
		recs := s.records(t, "dbx")
		for shard := range 3 {
			if ids, _ := committedBy(recs, fmt.Sprintf("shard %d/3", shard)); len(ids) == 0 {
				t.Fatalf("shard %d committed nothing: %+v", shard, recs)
			}
		}
		runs := s.dbx.Runs()
		last := runs[len(runs)-1].Request.Tasks[0].SparkPythonTask
		if last == nil || !strings.HasSuffix(last.PythonFile, "/sluice_driver.py") || !slices.Contains(last.Parameters, "--shards") {
			t.Fatalf("submitted task %+v", runs[len(runs)-1].Request.Tasks[0])
		}
		l := stepLog(t, s.dir, id, "score")
		for _, w := range []string{"scale-out of score in 3 shards", "TERMINATED SUCCESS", "databricks | sluice: all 3 shards succeeded",
			"databricks | shard 2/3: scored "} {
			if !strings.Contains(l, w) {
				t.Fatalf("log lacks %q:\n%s", w, l)
			}
		}
	})

	t.Run("databricks fails, local finishes", func(t *testing.T) {
		s.cluster.Lose(1)
		id, r := s.run(t, "dbxfail", "databricks:dbx", "resume", 1)
		s.cluster.Lose()
		if !strings.Contains(r.stdout+r.stderr, "ExecutorLostFailure") {
			t.Fatalf("the remote error is not in the run's message:\n%s\n%s", r.stdout, r.stderr)
		}
		if l := stepLog(t, s.dir, id, "score"); !strings.Contains(l, "Task 1 in stage 0.0 failed") || !strings.Contains(l, "TERMINATED FAILED") {
			t.Fatalf("log:\n%s", l)
		}
		remoteDone := s.records(t, "resume")
		if len(remoteDone) == 0 || len(remoteDone) >= len(wantFiles) {
			t.Fatalf("after the failed run %d of %d partitions are committed", len(remoteDone), len(wantFiles))
		}
		if ids, _ := committedBy(remoteDone, "shard 1/3"); len(ids) != 0 {
			t.Fatalf("the lost shard committed %v", ids)
		}
		id2, _ := s.run(t, "dbxfail-local", "local", "resume", 0)
		s.checkComplete(t, "resume", want)
		all := s.records(t, "resume")
		// Exactly the partitions the remote run left were scored here; the others kept the
		// remote run's records.
		var local []string
		for pid, r := range all {
			if !strings.Contains(r.By, "shard") {
				local = append(local, pid)
			} else if remoteDone[pid].By != r.By {
				t.Fatalf("partition %s recommitted: %q then %q", pid, remoteDone[pid].By, r.By)
			}
		}
		sort.Strings(local)
		var missing []string
		for pid := range all {
			if _, ok := remoteDone[pid]; !ok {
				missing = append(missing, pid)
			}
		}
		sort.Strings(missing)
		if !slices.Equal(local, missing) {
			t.Fatalf("local run committed %v, the remote run had left %v", local, missing)
		}
		var rows int64
		for _, pid := range missing {
			rows += all[pid].Rows
		}
		want := fmt.Sprintf(": %d images scored and %d partitions published by this run, %d committed by other runs", rows, len(missing), len(remoteDone))
		if l := stepLog(t, s.dir, id2, "score"); !strings.Contains(l, want) {
			t.Fatalf("log lacks %q:\n%s", want, l)
		}
	})

	t.Run("local starts, databricks finishes", func(t *testing.T) {
		r := sluiceEnv(t, s.dir, s.env, "score", "--input", soImages, "--output", "azblob://sluicetest/scaleout/reverse",
			"--model", repoFile(t, "sample/classifier.onnx"), "--labels", repoFile(t, "sample/labels.txt"),
			"--preprocess", samplePrep, "--mini-batch", "4", "--shard", "0/2", "--state-dir", filepath.Join(s.dir, "reverse-state"))
		if r.code != 0 || !strings.Contains(r.stdout, "output complete: false") {
			t.Fatalf("local shard: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		localDone := s.records(t, "reverse")
		s.run(t, "dbx-reverse", "databricks:dbx", "reverse", 0)
		s.checkComplete(t, "reverse", want)
		all := s.records(t, "reverse")
		remote, _ := committedBy(all, "/3 on")
		var missing []string
		for pid, r := range all {
			if _, ok := localDone[pid]; !ok {
				missing = append(missing, pid)
			} else if r.By != localDone[pid].By {
				t.Fatalf("partition %s recommitted by %q", pid, r.By)
			}
		}
		sort.Strings(missing)
		if len(localDone) == 0 || !slices.Equal(remote, missing) {
			t.Fatalf("remote committed %v, the local run had left %v (local did %v)", remote, missing, keys(localDone))
		}
	})

	t.Run("livy", func(t *testing.T) {
		id, _ := s.run(t, "hdi", "hdinsight:spark", "hdi", 0)
		s.checkComplete(t, "hdi", want)
		if _, got := s.predictions(t, "hdi"); !mapsEqual(got, wantFiles) {
			t.Fatalf("Livy files %v, local %v", got, wantFiles)
		}
		b := s.hdi.Batches()
		req := b[len(b)-1].Request
		if !strings.HasSuffix(req.File, "/sluice_driver.py") || !slices.ContainsFunc(req.Files, func(f string) bool { return strings.HasSuffix(f, "/sluice") }) {
			t.Fatalf("batch %+v", req)
		}
		if l := stepLog(t, s.dir, id, "score"); !strings.Contains(l, "livy | sluice: all 3 shards succeeded") {
			t.Fatalf("log:\n%s", l)
		}

		s.cluster.Lose(0, 2)
		idFail, r := s.run(t, "hdifail", "hdinsight:spark", "hdiresume", 1)
		if l := stepLog(t, s.dir, idFail, "score"); !strings.Contains(l, "/bin/") || !strings.Contains(l, "/sluice already there") {
			t.Fatalf("the binary was shipped again:\n%s", l)
		}
		s.cluster.Lose()
		if !strings.Contains(r.stdout+r.stderr, "ExecutorLostFailure") {
			t.Fatalf("the remote error is not in the run's message:\n%s\n%s", r.stdout, r.stderr)
		}
		remoteDone := s.records(t, "hdiresume")
		if ids, _ := committedBy(remoteDone, "shard 1/3"); len(ids) == 0 || len(ids) != len(remoteDone) {
			t.Fatalf("after the failed batch: %v", keys(remoteDone))
		}
		s.run(t, "hdifail-local", "local", "hdiresume", 0)
		s.checkComplete(t, "hdiresume", want)
		for pid, r := range s.records(t, "hdiresume") {
			if _, ok := remoteDone[pid]; ok != strings.Contains(r.By, "shard 1/3") {
				t.Fatalf("partition %s committed by %q", pid, r.By)
			}
		}
	})

	// The binary went to each cluster once, and no secret reached a log, a record, the clusters'
	// arguments or the outputs.
	if n := strings.Count(strings.Join(s.dbx.Requests(), "\n"), "POST /api/2.0/dbfs/put"); n != 1 {
		t.Fatalf("the binary went to DBFS %d times over 3 runs", n)
	}
	for _, run := range s.cluster.Runs() {
		for _, secret := range []string{soToken, soPassword, s.az.Key} {
			if strings.Contains(strings.Join(run.Args, " "), secret) {
				t.Fatal("a secret in the driver's arguments")
			}
		}
	}
	for _, secret := range []string{soToken, soPassword, s.az.Key} {
		grepSecret(t, filepath.Join(s.dir, ".sluice"), secret)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// --shard is I/N with 0 <= I < N; anything else is a usage error (exit 2) before any work.
func TestScoreShardFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, bad := range []string{"2/2", "-1/3", "1/0", "1", "01/3", "1/3x"} {
		r := sluice(t, dir, "score", "--model", "m.onnx", "--input", "in", "--output", "out", "--shard", bad)
		if r.code != 2 || !strings.Contains(r.stderr, "want I/N") {
			t.Fatalf("--shard %s: exit %d\n%s", bad, r.code, r.stderr)
		}
	}
}
