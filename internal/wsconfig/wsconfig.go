package wsconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	yaml "go.yaml.in/yaml/v3"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/internal/secret"
	"github.com/sluice-ml/sluice/remote/databricks"
	"github.com/sluice-ml/sluice/remote/livy"
	"github.com/sluice-ml/sluice/store/azureblob"
	"github.com/sluice-ml/sluice/store/datastore"
)

// ErrInvalid: the workspace file is malformed (the message says where and why).
var ErrInvalid = errors.New("invalid workspace file")

// DefaultName is the workspace file looked for in the current folder.
const DefaultName = "sluice-workspace.yaml"

// File is a parsed workspace file.
type File struct {
	Datastores map[string]Datastore `yaml:"datastores"`
	Compute    map[string]Compute   `yaml:"compute"`
}

// Datastore is an Azure Blob account (or one container of it).
type Datastore struct {
	Type        string `yaml:"type"`
	Account     string `yaml:"account"`
	Container   string `yaml:"container"`
	Endpoint    string `yaml:"endpoint"`
	Auth        string `yaml:"auth"`
	SecretEnv   string `yaml:"secret_env"`
	BlockSize   int64  `yaml:"block_size"`
	Concurrency int    `yaml:"concurrency"`
}

// Compute is a databricks or hdinsight target.
type Compute struct {
	Type string `yaml:"type"`
	// databricks
	Host              string         `yaml:"host"`
	Auth              string         `yaml:"auth"`
	TokenEnv          string         `yaml:"token_env"`
	ExistingClusterID string         `yaml:"existing_cluster_id"`
	NewCluster        map[string]any `yaml:"new_cluster"`
	Upload            string         `yaml:"upload"`
	UploadRoot        string         `yaml:"upload_root"`
	TimeoutSeconds    int            `yaml:"timeout_seconds"`
	// hdinsight
	URL         string `yaml:"url"`
	User        string `yaml:"user"`
	PasswordEnv string `yaml:"password_env"`
	CodeRoot    string `yaml:"code_root"`
	Batch       Batch  `yaml:"batch"`
	// both
	PollMin string `yaml:"poll_min"`
	PollMax string `yaml:"poll_max"`
}

// Batch holds Livy batch defaults.
type Batch struct {
	DriverMemory   string            `yaml:"driver_memory"`
	DriverCores    int               `yaml:"driver_cores"`
	ExecutorMemory string            `yaml:"executor_memory"`
	ExecutorCores  int               `yaml:"executor_cores"`
	NumExecutors   int               `yaml:"num_executors"`
	Queue          string            `yaml:"queue"`
	Jars           []string          `yaml:"jars"`
	PyFiles        []string          `yaml:"py_files"`
	Files          []string          `yaml:"files"`
	Conf           map[string]string `yaml:"conf"`
}

var (
	envName  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	nameRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	lineRE   = regexp.MustCompile(`line (\d+): field (\S+) not found`)
	secretKW = []string{"key", "account_key", "token", "password", "sas", "connection_string", "secret", "client_secret"}
)

// Load reads and checks a workspace file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("workspace file: %w", err)
	}
	return Parse(path, b)
}

// Parse checks a workspace file's text; name is used in messages.
func Parse(name string, data []byte) (*File, error) {
	f := &File{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil && !errors.Is(err, io.EOF) { // an empty file is an empty workspace
		msg := err.Error()
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			for _, kw := range secretKW {
				if m[2] == kw {
					return nil, fmt.Errorf("%w: %s:%s: key %q would hold a secret: name an environment variable instead "+
						"(secret_env, token_env, password_env)", ErrInvalid, name, m[1], m[2])
				}
			}
		}
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalid, name, strings.TrimPrefix(msg, "yaml: "))
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	for _, n := range sortedKeys(f.Datastores) {
		d := f.Datastores[n]
		w := "datastore " + n
		if !nameRE.MatchString(n) {
			bad("%s: bad name", w)
		}
		if d.Type != "azure_blob" {
			bad("%s: type %q: want azure_blob", w, d.Type)
		}
		probe := "azblob://" + d.Account + "/" + cmpOr(d.Container, "probe")
		if _, err := datastore.ParseURI(probe); err != nil {
			bad("%s: account %q / container %q: %v", w, d.Account, d.Container, errors.Unwrap(err))
		}
		switch azureblob.AuthKind(d.Auth) {
		case azureblob.AuthSharedKey, azureblob.AuthSAS, azureblob.AuthConnectionString:
			if !envName.MatchString(d.SecretEnv) {
				bad("%s: auth %s needs secret_env, the name of an environment variable", w, d.Auth)
			}
		case azureblob.AuthDefault, azureblob.AuthAnonymous, "":
			if d.SecretEnv != "" {
				bad("%s: secret_env is only for shared_key, sas and connection_string", w)
			}
		default:
			bad("%s: auth %q: want shared_key, sas, connection_string, default or anonymous", w, d.Auth)
		}
		if d.Endpoint != "" && !strings.HasPrefix(d.Endpoint, "https://") && !strings.HasPrefix(d.Endpoint, "http://") {
			bad("%s: endpoint %q must be an http(s) URL", w, d.Endpoint)
		}
		if d.BlockSize < 0 || d.BlockSize > 4000<<20 || d.Concurrency < 0 || d.Concurrency > 256 {
			bad("%s: block_size must be at most 4000 MiB and concurrency at most 256", w)
		}
	}
	for _, n := range sortedKeys(f.Compute) {
		c := f.Compute[n]
		w := "compute " + n
		if !nameRE.MatchString(n) {
			bad("%s: bad name", w)
		}
		for _, d := range []string{c.PollMin, c.PollMax} {
			if d != "" {
				if v, err := time.ParseDuration(d); err != nil || v <= 0 {
					bad("%s: poll duration %q", w, d)
				}
			}
		}
		switch c.Type {
		case "databricks":
			if !strings.HasPrefix(c.Host, "https://") && !strings.HasPrefix(c.Host, "http://") {
				bad("%s: host must be an http(s) URL", w)
			}
			switch c.Auth {
			case "pat", "":
				if !envName.MatchString(c.TokenEnv) {
					bad("%s: auth pat needs token_env, the name of an environment variable", w)
				}
			case "azure_ad":
			default:
				bad("%s: auth %q: want pat or azure_ad", w, c.Auth)
			}
			if (c.ExistingClusterID == "") == (c.NewCluster == nil) {
				bad("%s: set exactly one of existing_cluster_id and new_cluster", w)
			}
			if c.Upload != "" && c.Upload != databricks.UploadDBFS && c.Upload != databricks.UploadWorkspace {
				bad("%s: upload %q: want dbfs or workspace", w, c.Upload)
			}
		case "hdinsight":
			if !strings.HasPrefix(c.URL, "https://") && !strings.HasPrefix(c.URL, "http://") {
				bad("%s: url must be an http(s) URL", w)
			}
			if c.PasswordEnv != "" && !envName.MatchString(c.PasswordEnv) {
				bad("%s: password_env must name an environment variable", w)
			}
			if c.CodeRoot != "" {
				if _, err := datastore.ParseURI(c.CodeRoot); err != nil {
					bad("%s: code_root: %v", w, err)
				}
			}
		default:
			bad("%s: type %q: want databricks or hdinsight", w, c.Type)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %s:\n  %s", ErrInvalid, name, strings.Join(errs, "\n  "))
	}
	return f, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// databricksScope is the Azure AD resource of Azure Databricks.
const databricksScope = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"

// Resolver returns a datastore resolver for the file's Blob accounts (f may be nil: every account
// then uses DefaultAzureCredential).
func (f *File) Resolver() *datastore.Resolver {
	r := &datastore.Resolver{}
	r.SetBlobOpener(func(ctx context.Context, u datastore.URI) (datastore.Datastore, error) {
		cfg := azureblob.Config{Account: u.Account, Container: u.Container, Auth: azureblob.AuthDefault}
		if d, ok := f.match(u); ok {
			cfg.Endpoint, cfg.Auth, cfg.BlockSize, cfg.Concurrency = d.Endpoint, azureblob.AuthKind(d.Auth), d.BlockSize, d.Concurrency
			if d.SecretEnv != "" {
				v, err := secret.Env(d.SecretEnv)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", u, err)
				}
				cfg.Secret = v
			}
		}
		return azureblob.New(ctx, cfg)
	})
	return r
}

func (f *File) match(u datastore.URI) (Datastore, bool) {
	if f == nil {
		return Datastore{}, false
	}
	var any *Datastore
	for _, n := range sortedKeys(f.Datastores) {
		d := f.Datastores[n]
		if d.Account != u.Account {
			continue
		}
		if d.Container == u.Container {
			return d, true
		}
		if d.Container == "" && any == nil {
			any = &d
		}
	}
	if any != nil {
		return *any, true
	}
	return Datastore{}, false
}

// Targets returns the file's compute targets. Each is built on its first Prepare, when its
// credentials are read; a missing one fails that step only.
func (f *File) Targets() []compute.Target {
	if f == nil {
		return nil
	}
	var out []compute.Target
	ws := f.datastoresOnly()
	for _, n := range sortedKeys(f.Compute) {
		c := f.Compute[n]
		name := "databricks:" + n
		if c.Type == "hdinsight" {
			name = "hdinsight:" + n
		}
		out = append(out, &lazy{name: name, make: func() (compute.Target, error) { return c.build(n, ws) }})
	}
	return out
}

// datastoresOnly is the workspace file that scale-out steps ship to their Spark tasks: the
// datastores (which name environment variables, never hold a secret), no compute.
func (f *File) datastoresOnly() []byte {
	if len(f.Datastores) == 0 {
		return nil
	}
	b, err := yaml.Marshal(File{Datastores: f.Datastores})
	if err != nil {
		return nil
	}
	return b
}

func (c Compute) build(n string, ws []byte) (compute.Target, error) {
	pmin, _ := time.ParseDuration(c.PollMin)
	pmax, _ := time.ParseDuration(c.PollMax)
	if c.Type == "hdinsight" {
		pw := ""
		if c.PasswordEnv != "" {
			v, err := secret.Env(c.PasswordEnv)
			if err != nil {
				return nil, err
			}
			pw = v
		}
		b := c.Batch
		return livy.New(livy.Config{Name: n, URL: c.URL, User: c.User, Password: pw, CodeRoot: c.CodeRoot, PollMin: pmin, PollMax: pmax,
			Defaults: livy.BatchRequest{DriverMemory: b.DriverMemory, DriverCores: b.DriverCores, ExecutorMemory: b.ExecutorMemory,
				ExecutorCores: b.ExecutorCores, NumExecutors: b.NumExecutors, Queue: b.Queue, Jars: b.Jars, PyFiles: b.PyFiles,
				Files: b.Files, Conf: b.Conf}, Workspace: ws})
	}
	var token func(ctx context.Context) (string, error)
	if c.Auth == "azure_ad" {
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, secret.Error(err)
		}
		token = func(ctx context.Context) (string, error) {
			t, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{databricksScope}})
			if err != nil {
				return "", secret.Error(err)
			}
			secret.Add(t.Token)
			return t.Token, nil
		}
	} else {
		env := c.TokenEnv
		if _, err := secret.Env(env); err != nil {
			return nil, err
		}
		token = func(context.Context) (string, error) { return secret.Env(env) }
	}
	return databricks.New(databricks.Config{Name: n, Host: c.Host, Token: token, ExistingClusterID: c.ExistingClusterID,
		NewCluster: c.NewCluster, Upload: c.Upload, UploadRoot: c.UploadRoot, TimeoutSeconds: c.TimeoutSeconds, PollMin: pmin, PollMax: pmax,
		Workspace: ws})
}

// lazy builds its target on first use.
type lazy struct {
	name string
	make func() (compute.Target, error)
	once sync.Once
	t    compute.Target
	err  error
}

func (l *lazy) Name() string { return l.name }

func (l *lazy) Prepare(ctx context.Context, job *spec.Job) (compute.Step, error) {
	l.once.Do(func() { l.t, l.err = l.make() })
	if l.err != nil {
		return nil, fmt.Errorf("compute %s: %w", l.name, l.err)
	}
	return l.t.Prepare(ctx, job)
}

// Find returns the workspace file to use: explicit (a flag), else $SLUICE_WORKSPACE_FILE, else
// DefaultName in the current folder if it exists; "" when there is none.
func Find(explicit string) string {
	if explicit != "" {
		return explicit
	}
	if e := os.Getenv("SLUICE_WORKSPACE_FILE"); e != "" {
		return e
	}
	if _, err := os.Stat(DefaultName); err == nil {
		return DefaultName
	}
	return ""
}
