package spec

import (
	"errors"
	"strings"
	"testing"
)

func TestOutputPath(t *testing.T) {
	t.Parallel()
	const head = "name: p\njobs:\n  j:\n    type: command\n    command: echo ${{outputs.o}}\n    outputs:\n      o: "
	for _, tc := range []struct{ out, path, err string }{
		{"{type: uri_folder, path: azblob://acct1/cont/x}", "azblob://acct1/cont/x", ""},
		{"{type: uri_folder}", "", ""},
		{"{type: uri_folder, path: ./local}", "", "7:35: job \"j\": output \"o\": path must be a data URI"},
		{"{type: uri_file, path: azblob://acct1/cont/x}", "", "only supported for uri_folder"},
	} {
		p, err := Parse("p.yaml", []byte(head+tc.out+"\n"))
		if tc.err != "" {
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err = %v, want %q", tc.out, err, tc.err)
			}
			continue
		}
		if err != nil || p.Jobs["j"].Outputs["o"].Path != tc.path {
			t.Errorf("%s: %v, path %q", tc.out, err, p.Jobs["j"].Outputs["o"].Path)
		}
	}
	p, err := New("b").Job(Command("j", "echo ${{outputs.o}}").OutPath("o", TypeURIFolder, "azblob://acct1/cont/y")).Build(t.TempDir())
	if err != nil || p.Jobs["j"].Outputs["o"].Path != "azblob://acct1/cont/y" {
		t.Fatalf("builder: %v", err)
	}
}
