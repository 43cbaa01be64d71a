package sparkdriver

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/dataflow/partition"
	"github.com/sluice-ml/sluice/store/datastore"
)

// Script is the driver, shipped as ScriptName.
//
//go:embed sluice_driver.py
var Script []byte

// Names of what a job ships.
const (
	ScriptName    = "sluice_driver.py"
	BinaryName    = "sluice"
	WorkspaceName = "sluice-workspace.yaml"
	// DefaultShards is the number of Spark tasks of a step without a `shards` parameter.
	DefaultShards = 4
	// MaxShards bounds `shards`.
	MaxShards = 10000
)

// ErrJob: the step cannot be scaled out as written (the message says why).
var ErrJob = errors.New("scale-out")

// ErrLocalData: an image input or output that is not a data URI (the cluster cannot read it).
var ErrLocalData = errors.New("scale-out steps read and write azblob:// data only")

// File is a file shipped with the job, next to the driver.
type File struct {
	Name string // its name there, referenced as @file:Name in Args
	Path string // the local file to ship; when "", Data
	Data []byte
}

// Job is a scale-out job ready to ship.
type Job struct {
	Shards int
	Binary string // local path of the sluice binary to ship
	Files  []File
	Args   []string // sluice's arguments for every shard (the driver adds --shard and --state-dir)
}

// Supports reports whether jobs of a type can be scaled out.
func Supports(jobType string) bool { return jobType == "score" }

// DriverArgs are the driver's parameters: binary is the binary as the tasks find it (an absolute
// path on the cluster, or the name of a file shipped with the job's `files`), filesDir the folder
// holding the shipped files on every node ("" when Spark ships them: SparkFiles).
func (j Job) DriverArgs(binary, filesDir string) []string {
	out := []string{"--shards", strconv.Itoa(j.Shards), "--binary", binary}
	if filesDir != "" {
		out = append(out, "--files-dir", filesDir)
	}
	return append(append(out, "--"), j.Args...)
}

// Content returns a shipped file's bytes.
func (f File) Content() ([]byte, error) {
	if f.Path == "" {
		return f.Data, nil
	}
	return os.ReadFile(f.Path)
}

// scoreFlags maps score job parameters to `sluice score` flags, in the order they are passed.
var scoreFlags = []struct{ param, flag string }{
	{"batch_size", "--batch"}, {"topk", "--topk"}, {"preprocess", "--preprocess"}, {"format", "--format"},
	{"softmax", "--softmax"}, {"mini_batch_size", "--mini-batch"}, {"error_threshold", "--error-threshold"},
	{"allowed_failed_count", "--allowed-failed-count"}, {"allowed_failed_percent", "--allowed-failed-percent"},
	{"run_max_try", "--max-tries"},
}

// ScoreJob makes the job of a `score` step: binary is the sluice executable to ship, workspace
// the workspace file the tasks use to open Blob (datastores only; it names environment variables
// and holds no secret).
func ScoreJob(sc *compute.StepContext, binary string, workspace []byte) (Job, error) {
	job := sc.Job
	if len(job.InputOrder) != 1 || len(job.OutputOrder) != 1 {
		return Job{}, fmt.Errorf("%w: score job %s wants one input (the images) and one output", ErrJob, job.Name)
	}
	in, out := sc.Inputs[job.InputOrder[0]], sc.Outputs[job.OutputOrder[0]]
	if !datastore.IsURI(in) {
		return Job{}, fmt.Errorf("input %s is %s: %w", job.InputOrder[0], in, ErrLocalData)
	}
	if !datastore.IsURI(out) {
		return Job{}, fmt.Errorf("output %s is %s: %w", job.OutputOrder[0], out, ErrLocalData)
	}
	if binary == "" {
		return Job{}, fmt.Errorf("%w: no sluice binary to ship", ErrJob)
	}
	j := Job{Shards: DefaultShards, Binary: binary}
	if v := sc.Inputs["shards"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxShards {
			return Job{}, fmt.Errorf("%w: shards %q: want 1 to %d", ErrJob, v, MaxShards)
		}
		j.Shards = n
	}
	j.Args = []string{"score", "--input", in, "--output", out}
	for _, f := range []struct{ param, flag, name string }{{"model", "--model", "model"}, {"labels", "--labels", "labels"}} {
		v := sc.Inputs[f.param]
		switch {
		case v == "":
			continue
		case datastore.IsURI(v):
			j.Args = append(j.Args, f.flag, v)
		default:
			name := f.name + filepath.Ext(v)
			j.Files = append(j.Files, File{Name: name, Path: v})
			j.Args = append(j.Args, f.flag, "@file:"+name)
		}
	}
	for _, f := range scoreFlags {
		if v := sc.Inputs[f.param]; v != "" {
			j.Args = append(j.Args, f.flag, v)
		}
	}
	if len(workspace) > 0 {
		j.Files = append(j.Files, File{Name: WorkspaceName, Data: workspace})
		j.Args = append(j.Args, "--workspace-file", "@file:"+WorkspaceName)
	}
	return j, nil
}

var ids sync.Map // path → cached id

type cachedID struct {
	size, mtime int64
	id          string
}

// BinaryID is a content hash of the binary (24 hex digits), for uploading it once per build.
func BinaryID(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if c, ok := ids.Load(path); ok {
		if c := c.(cachedID); c.size == st.Size() && c.mtime == st.ModTime().UnixNano() {
			return c.id, nil
		}
	}
	sum, err := partition.HashFile(path)
	if err != nil {
		return "", fmt.Errorf("hashing %s: %w", path, err)
	}
	id := sum[:24]
	ids.Store(path, cachedID{size: st.Size(), mtime: st.ModTime().UnixNano(), id: id})
	return id, nil
}

// Executable is the binary to ship by default: this process's own executable.
func Executable() (string, error) {
	p, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("%w: finding the sluice binary: %w", ErrJob, err)
	}
	return p, nil
}
