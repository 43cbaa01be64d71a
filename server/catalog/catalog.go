package catalog

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/sluice-ml/sluice/engine/executor"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/store/state"
)

// Config sets up a Catalog.
type Config struct {
	Workspace *state.Workspace
	// Root is the folder relative paths of published pipelines resolve against (code folders,
	// default data paths, relative parameter values). Code folders must lie inside it.
	Root string
	// DataRoots are the folders (or Blob URI prefixes) data paths must lie inside; default: Root.
	DataRoots []string
	// Datastores are Blob roots (azblob://ACCOUNT or azblob://ACCOUNT/CONTAINER) of the
	// datastores the workspace file declares: data paths inside them are allowed as well, whatever
	// DataRoots says. A Blob URI in neither is refused: the server opens no account it was not
	// configured for.
	Datastores []string
	// Owner is the queue runs are recorded in (state.Run.Owner).
	Owner string
	// Notify is told the id of each run recorded (the runner); may be nil.
	Notify func(id string)
}

// Catalog publishes pipelines and submits their runs. It is safe for concurrent use.
type Catalog struct {
	ws        *state.Workspace
	root      string
	rootRoots Roots
	data      Roots
	owner     string
	notify    func(string)

	mu     sync.Mutex
	parsed map[string]*spec.Pipeline // "name\x00version" -> parsed; versions are immutable

	// submitMu serializes the writes of submits: SQLite takes one writer at a time, and
	// writers of one process that contend through the busy timeout sleep far longer than
	// they wait here.
	submitMu sync.Mutex
}

// New makes a Catalog.
func New(cfg Config) (*Catalog, error) {
	if cfg.Workspace == nil || cfg.Owner == "" {
		return nil, errors.New("catalog: a workspace and an owner are required")
	}
	if cfg.Root == "" {
		cfg.Root = "."
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("catalog: root: %w", err)
	}
	rr, err := NewRoots(root)
	if err != nil {
		return nil, err
	}
	if len(cfg.DataRoots) == 0 {
		cfg.DataRoots = []string{root}
	}
	data, err := NewRoots(append(append([]string(nil), cfg.DataRoots...), cfg.Datastores...)...)
	if err != nil {
		return nil, err
	}
	return &Catalog{ws: cfg.Workspace, root: root, rootRoots: rr, data: data, owner: cfg.Owner, notify: cfg.Notify,
		parsed: map[string]*spec.Pipeline{}}, nil
}

// Root is the folder published pipelines resolve relative paths against.
func (c *Catalog) Root() string { return c.root }

// DataRoots are the allowed data roots.
func (c *Catalog) DataRoots() Roots { return c.data }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ValidName reports whether s may name a published pipeline or version.
func ValidName(s string) bool { return nameRE.MatchString(s) }

// file is the name a published pipeline's text is parsed under: a file named after the pipeline
// in the root, so that relative paths resolve against the root and the name defaults to it.
func (c *Catalog) file(name string) string {
	return filepath.Join(c.root, name+".yaml")
}

// Publish validates a pipeline text and records it as version v.Version (the next integer when
// empty) of v.Name. The first version of a name, and any version published with makeDefault,
// becomes the default. A bad name is ErrInvalid, a bad text an ErrorList wrapping spec.ErrInvalid,
// a path outside the roots ErrForbiddenPath, an existing version with other contents
// state.ErrExists. created is false when the same version was published before, identically.
func (c *Catalog) Publish(ctx context.Context, v *state.PipelineVersion, makeDefault bool) (created bool, err error) {
	if !ValidName(v.Name) {
		return false, fmt.Errorf("%w: pipeline name %q: use letters, digits, '.', '_' and '-' (at most 100)", ErrInvalid, v.Name)
	}
	if v.Version != "" && !ValidName(v.Version) {
		return false, fmt.Errorf("%w: version %q: use letters, digits, '.', '_' and '-' (at most 100)", ErrInvalid, v.Version)
	}
	p, err := spec.Parse(c.file(v.Name), []byte(v.YAML))
	if err != nil {
		return false, err
	}
	if p.Name != v.Name {
		return false, fmt.Errorf("%w: the pipeline text is named %q but is published as %q: make them agree (or leave name: out)",
			ErrInvalid, p.Name, v.Name)
	}
	if err := c.checkPipeline(p); err != nil {
		return false, err
	}
	return c.ws.PublishPipeline(ctx, v, makeDefault)
}

// checkPipeline enforces the path policy on what the pipeline text itself names.
func (c *Catalog) checkPipeline(p *spec.Pipeline) error {
	var bad []string
	for _, name := range p.JobOrder {
		j := p.Jobs[name]
		if j.Code != "" && !c.rootRoots.Contains(c.abs(j.Code)) {
			bad = append(bad, fmt.Sprintf("job %s: code folder %s is outside the server's root %s", name, j.Code, c.root))
		}
		for _, ins := range []map[string]*spec.JobInput{j.Inputs, j.Params} {
			for _, k := range sortedKeys(ins) {
				in := ins[k]
				if in.Literal != nil && (in.Literal.Type.IsPath() || in.Type.IsPath()) && !c.data.Contains(c.abs(in.Literal.Str)) {
					bad = append(bad, fmt.Sprintf("job %s: %s: %s is outside the allowed data roots", name, k, in.Literal.Str))
				}
			}
		}
		for _, k := range sortedKeys(j.Outputs) {
			if o := j.Outputs[k]; o.Path != "" && !c.data.Contains(o.Path) {
				bad = append(bad, fmt.Sprintf("job %s: output %s: %s is outside the allowed data roots", name, k, o.Path))
			}
		}
	}
	for _, name := range p.InputOrder {
		in := p.Inputs[name]
		if in.Default != nil && in.Type.IsPath() && !c.data.Contains(c.abs(in.Default.Str)) {
			bad = append(bad, fmt.Sprintf("input %s: default %s is outside the allowed data roots", name, in.Default.Str))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w: %s", ErrForbiddenPath, strings.Join(bad, "; "))
	}
	return nil
}

func (c *Catalog) abs(p string) string {
	if p == "" || filepath.IsAbs(p) || strings.Contains(p, "://") {
		return p
	}
	return filepath.Join(c.root, p)
}

// Pipeline returns a published version, parsed ("" is the default version).
func (c *Catalog) Pipeline(ctx context.Context, name, version string) (*spec.Pipeline, *state.PipelineVersion, error) {
	v, err := c.ws.GetPipelineVersion(ctx, name, version)
	if err != nil {
		return nil, nil, err
	}
	key := v.Name + "\x00" + v.Version
	c.mu.Lock()
	p := c.parsed[key]
	c.mu.Unlock()
	if p == nil {
		p, err = spec.Parse(c.file(v.Name), []byte(v.YAML))
		if err != nil {
			return nil, nil, fmt.Errorf("published pipeline %s version %s: %w", name, v.Version, err)
		}
		c.mu.Lock()
		c.parsed[key] = p
		c.mu.Unlock()
	}
	return p, v, nil
}

// Submission asks for a run of a published pipeline.
type Submission struct {
	Pipeline   string
	Version    string            // "" is the default version
	Parameters map[string]string // pipeline input values as text
	RunID      string            // "" for a fresh id; a given id makes the submit idempotent (state.ErrExists)
	NoReuse    bool
	Schedule   string // the schedule firing the run, if any (recorded with it)
}

// Submit records a Queued run of a published pipeline and tells the runner. Relative data paths
// in the parameters resolve against the root; every data path the run would read must lie in
// the data roots (ErrForbiddenPath). Bad parameters are spec.ErrInvalid, an unknown pipeline or
// version state.ErrNotFound. The run is durable when Submit returns.
func (c *Catalog) Submit(ctx context.Context, s Submission) (*state.Run, *state.PipelineVersion, error) {
	p, v, err := c.Pipeline(ctx, s.Pipeline, s.Version)
	if err != nil {
		return nil, nil, err
	}
	params := make(map[string]string, len(s.Parameters))
	for k, val := range s.Parameters {
		if in, ok := p.Inputs[k]; ok && in.Type.IsPath() {
			val = c.abs(val)
		}
		params[k] = val
	}
	values, err := p.Resolve(params)
	if err != nil {
		return nil, nil, err
	}
	var bad []string
	for _, k := range sortedKeys(values) {
		val := values[k]
		if val.Type.IsPath() && !c.data.Contains(c.abs(val.Str)) {
			bad = append(bad, fmt.Sprintf("input %s: %s", k, val.Str))
		}
	}
	if len(bad) > 0 {
		return nil, nil, fmt.Errorf("%w: %s", ErrForbiddenPath, strings.Join(bad, "; "))
	}
	c.submitMu.Lock()
	rec, err := executor.Enqueue(ctx, c.ws, p, []byte(v.YAML), params, executor.QueueOptions{ID: s.RunID, Owner: c.owner,
		NoReuse: s.NoReuse})
	if err == nil {
		// Informational: a crash right here leaves a run without its source, nothing worse.
		err = c.ws.SetRunSource(ctx, state.RunSource{RunID: rec.ID, Pipeline: s.Pipeline, Version: v.Version, Schedule: s.Schedule})
	}
	c.submitMu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	if c.notify != nil {
		c.notify(rec.ID)
	}
	return rec, v, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
