package jobs_test

import (
	"errors"
	"testing"

	"github.com/sluice-ml/sluice/engine/spec"
)

// FuzzParseJobs: pipelines with parallel and dataflow jobs (their keys, operators and checks
// registered) never make Parse panic, and every error has a position in the file.
func FuzzParseJobs(f *testing.F) {
	for _, s := range []string{
		"jobs:\n  j:\n    type: parallel\n    command: ./x.sh\n    inputs: {i: {type: uri_folder, path: .}}\n    outputs: {o: {type: uri_folder}}\n    mini_batch_size: 10MB\n    error_threshold: -1\n",
		"jobs:\n  j:\n    type: parallel\n    command: x {minibatch}\n    inputs: {i: {type: uri_folder, path: .}, n: 2}\n    input_data: i\n    outputs: {o: {type: uri_folder}}\n    partition_keys: '{a}/*'\n    append_row_file_name: r.txt\n",
		"jobs:\n  j:\n    type: dataflow\n    inputs: {i: {type: uri_folder, path: .}}\n    outputs: {o: {type: uri_folder}}\n    operators:\n      - {op: read, max_bytes: 1MB}\n      - {op: hash}\n    output_format: csv\n",
		"jobs:\n  j: {type: dataflow, operators: [{op: nope}, 3, [x]], command: y}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := spec.Parse("f.yaml", []byte(src))
		if err != nil {
			var list spec.ErrorList
			if !errors.As(err, &list) || !errors.Is(err, spec.ErrInvalid) {
				t.Fatalf("not an ErrorList wrapping ErrInvalid: %v", err)
			}
			for _, e := range list {
				if e.Pos.File != "f.yaml" || e.Pos.Line < 1 {
					t.Fatalf("error without a position: %v", e)
				}
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("does not validate again: %v", err)
		}
	})
}
