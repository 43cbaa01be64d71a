package wsconfig

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/store/datastore"
)

const good = `
datastores:
  lake:
    type: azure_blob
    account: mystorage
    container: images
    endpoint: http://127.0.0.1:10000/mystorage
    auth: shared_key
    secret_env: LAKE_KEY
  any:
    type: azure_blob
    account: mystorage
    auth: default
compute:
  dbx:
    type: databricks
    host: https://adb-1.azuredatabricks.net
    token_env: DATABRICKS_TOKEN
    existing_cluster_id: 0101-abc
    poll_min: 1s
  spark:
    type: hdinsight
    url: https://c.azurehdinsight.net/livy
    user: admin
    password_env: HDI_PASSWORD
    code_root: azblob://mystorage/cluster/code
    batch: {driver_memory: 4g, num_executors: 2, conf: {a: "1"}}
`

func TestParse(t *testing.T) {
	t.Parallel()
	f, err := Parse("ws.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := f.match(datastore.URI{Account: "mystorage", Container: "images"}); !ok || d.SecretEnv != "LAKE_KEY" {
		t.Fatalf("container match: %+v", d)
	}
	if d, ok := f.match(datastore.URI{Account: "mystorage", Container: "other"}); !ok || d.Auth != "default" {
		t.Fatalf("account match: %+v", d)
	}
	if _, ok := f.match(datastore.URI{Account: "elsewhere", Container: "x"}); ok {
		t.Fatal("matched an unknown account")
	}
	var names []string
	for _, tg := range f.Targets() {
		names = append(names, tg.Name())
	}
	if strings.Join(names, ",") != "databricks:dbx,hdinsight:spark" {
		t.Fatalf("targets %v", names)
	}
	if f, err := Parse("empty.yaml", nil); err != nil || len(f.Compute) != 0 {
		t.Fatalf("empty file: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, text, want string }{
		{"secret in file", "datastores:\n  a:\n    type: azure_blob\n    account: abc\n    key: c2VjcmV0\n", "would hold a secret"},
		{"token in file", "compute:\n  d:\n    type: databricks\n    token: dapi123\n", "would hold a secret"},
		{"unknown key", "datastores:\n  a:\n    type: azure_blob\n    acount: abc\n", "line 4: field acount not found"},
		{"bad type", "datastores:\n  a: {type: s3, account: abc}\n", `type "s3"`},
		{"bad account", "datastores:\n  a: {type: azure_blob, account: UPPER}\n", "account"},
		{"env needed", "datastores:\n  a: {type: azure_blob, account: abc, auth: sas}\n", "needs secret_env"},
		{"env is a value", "datastores:\n  a: {type: azure_blob, account: abc, auth: sas, secret_env: 'sv=2020&sig=x'}\n", "needs secret_env"},
		{"cluster twice", "compute:\n  d: {type: databricks, host: https://x, token_env: T, existing_cluster_id: a, new_cluster: {x: 1}}\n", "exactly one"},
		{"no cluster", "compute:\n  d: {type: databricks, host: https://x, token_env: T}\n", "exactly one"},
		{"bad poll", "compute:\n  d: {type: hdinsight, url: https://x, poll_min: soon}\n", "poll duration"},
		{"bad code root", "compute:\n  d: {type: hdinsight, url: https://x, code_root: /tmp}\n", "code_root"},
		{"adla", "compute:\n  d: {type: adla}\n", `type "adla"`},
		{"not yaml", "datastores: [\n", "ws.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("ws.yaml", []byte(tc.text))
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// A target whose credentials are missing fails when a step uses it, naming the variable only.
func TestLazyTargetMissingCredential(t *testing.T) {
	t.Setenv("DATABRICKS_TOKEN", "")
	f, err := Parse("ws.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Targets()[0].Prepare(context.Background(), &spec.Job{Name: "j", Type: "command"})
	if err == nil || !strings.Contains(err.Error(), "DATABRICKS_TOKEN") {
		t.Fatalf("err = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("datastores: {a: {type: azure_blob, account: abc}}"))
	f.Add([]byte("compute: {x: {type: hdinsight, url: 'http://h', batch: {conf: {a: b}}}}"))
	f.Add([]byte("datastores:\n  a: &x {type: azure_blob}\n  b: *x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		// Whatever parses is usable: every datastore's account makes a valid URI.
		for n, d := range file.Datastores {
			if _, err := datastore.ParseURI("azblob://" + d.Account + "/" + cmpOr(d.Container, "abc")); err != nil {
				t.Fatalf("datastore %s accepted with a bad account: %v", n, err)
			}
		}
		_ = file.Targets()
	})
}
