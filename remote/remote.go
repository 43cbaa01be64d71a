package remote

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-ml/sluice/engine/command"
	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/remote/argv"
	"github.com/sluice-ml/sluice/remote/sparkdriver"
	"github.com/sluice-ml/sluice/store/datastore"
)

// ErrLocalData: a remote step was given data on this machine, which the cluster cannot read.
var ErrLocalData = errors.New("remote steps read and write azblob:// data only")

// SparkURI turns azblob://ACCOUNT/CONTAINER/PATH into the URL Spark's Hadoop Azure driver reads,
// wasbs://CONTAINER@ACCOUNT.blob.core.windows.net/PATH; other text is returned as it is.
func SparkURI(s string) string {
	u, err := datastore.ParseURI(s)
	if err != nil {
		return s
	}
	return "wasbs://" + u.Container + "@" + u.Account + ".blob.core.windows.net/" + u.Path
}

// CheckJob verifies what every remote target needs of a job: a command (or a job type that
// scales out, package sparkdriver), and a `path:` URI on every output.
func CheckJob(job *spec.Job, target string) error {
	if job.Type != "command" && !sparkdriver.Supports(job.Type) {
		return fmt.Errorf("job %s: type %q on compute %s: %w", job.Name, job.Type, target, compute.ErrUnsupportedJob)
	}
	if job.Type == "command" && job.Command == nil {
		return fmt.Errorf("job %s: no command", job.Name)
	}
	for _, o := range job.OutputOrder {
		if job.Outputs[o].Path == "" {
			return fmt.Errorf("job %s: output %s on compute %s needs `path: azblob://...`: %w", job.Name, o, target, ErrLocalData)
		}
	}
	return nil
}

// Args renders the step's command into words, with data URIs in Spark's form. Inputs that are
// local paths are refused (ErrLocalData); parameters pass as they are.
func Args(sc *compute.StepContext) ([]string, error) {
	ins := map[string]string{}
	for k, v := range sc.Inputs {
		switch {
		case datastore.IsURI(v):
			ins[k] = SparkURI(v)
		case isDataInput(sc.Job, k) && filepath.IsAbs(v):
			return nil, fmt.Errorf("input %s is %s: %w", k, v, ErrLocalData)
		default:
			ins[k] = v
		}
	}
	outs := map[string]string{}
	for k, v := range sc.Outputs {
		if !datastore.IsURI(v) {
			return nil, fmt.Errorf("output %s is %s: %w", k, v, ErrLocalData)
		}
		outs[k] = SparkURI(v)
	}
	line, err := command.Render(sc.Job.Command, ins, outs)
	if err != nil {
		return nil, err
	}
	words, err := argv.Split(line)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 {
		return nil, fmt.Errorf("empty command")
	}
	return words, nil
}

func isDataInput(job *spec.Job, name string) bool {
	in, ok := job.Inputs[name]
	if !ok {
		return false
	}
	if in.Type.IsPath() || in.Binding != nil && in.Binding.Kind == spec.BindJobOutput {
		return true
	}
	return in.Literal != nil && in.Literal.Type.IsPath()
}

// CodeFiles lists the files of a step's working folder (its code snapshot) with their contents,
// by slash-separated relative path.
func CodeFiles(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[filepath.ToSlash(rel)] = b
		return nil
	})
	return files, err
}

// LineWriter prefixes text written to the step log; a trailing newline is added when missing.
func LineWriter(prefix, text string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString(prefix)
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
