package partition

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"
)

// Item is one input: its path (slash-separated, relative to the input root for listed
// folders), size in bytes and content hash (hex SHA-256 for listed files; any stable string
// that changes with the content otherwise).
type Item struct {
	Path string
	Size int64
	Hash string
}

// Partition is a group of items processed, committed and counted together.
type Partition struct {
	ID    string            // stable: derived from the items' paths and hashes
	Keys  map[string]string // partition key values (ByKeys only)
	Items []Item
}

// Bytes is the sum of the items' sizes.
func (p *Partition) Bytes() int64 {
	var n int64
	for _, it := range p.Items {
		n += it.Size
	}
	return n
}

// ID returns the stable identifier of a group of items: 16 hex digits of a SHA-256 over
// their paths and hashes, in order.
func ID(items []Item) string {
	h := sha256.New()
	for _, it := range items {
		io.WriteString(h, it.Path)
		h.Write([]byte{0})
		io.WriteString(h, it.Hash)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func checkUnique(items []Item) error {
	seen := make(map[string]struct{}, len(items))
	for _, it := range items {
		if _, dup := seen[it.Path]; dup {
			return fmt.Errorf("%w: %q", ErrDuplicate, it.Path)
		}
		seen[it.Path] = struct{}{}
	}
	return nil
}

func newPartition(items []Item, keys map[string]string) Partition {
	return Partition{ID: ID(items), Keys: keys, Items: items}
}

// ByCount splits items into partitions of n items (the last may be smaller).
func ByCount(items []Item, n int) ([]Partition, error) {
	if n <= 0 {
		return nil, fmt.Errorf("%w: %d items", ErrBadSize, n)
	}
	if err := checkUnique(items); err != nil {
		return nil, err
	}
	var ps []Partition
	for i := 0; i < len(items); i += n {
		ps = append(ps, newPartition(items[i:min(i+n, len(items))], nil))
	}
	return ps, nil
}

// ByBytes splits items into partitions of at most max bytes; an item larger than max gets a
// partition of its own.
func ByBytes(items []Item, max int64) ([]Partition, error) {
	if max <= 0 {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadSize, max)
	}
	if err := checkUnique(items); err != nil {
		return nil, err
	}
	var ps []Partition
	start, size := 0, int64(0)
	for i, it := range items {
		if i > start && size+it.Size > max {
			ps = append(ps, newPartition(items[start:i], nil))
			start, size = i, 0
		}
		size += it.Size
	}
	if start < len(items) {
		ps = append(ps, newPartition(items[start:], nil))
	}
	return ps, nil
}

// Format is a parsed partition format: slash-separated segments, each a key "{name}", a
// wildcard "*" (any one segment), a literal, or a final "**" (any number of segments, at
// least one). "{store}/{date}/*" reads the keys store and date from the first two segments
// of paths like "s1/2024-01-02/x.jpg".
type Format struct {
	segs []segment
	keys []string
}

type segment struct {
	key  string // {key}
	lit  string // literal
	star bool   // *
	rest bool   // **
}

// ParseFormat parses a partition format. It needs at least one key; keys are unique names of
// letters, digits, '_' and '-'.
func ParseFormat(s string) (*Format, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadFormat)
	}
	f := &Format{}
	parts := strings.Split(strings.TrimPrefix(s, "/"), "/")
	for i, p := range parts {
		switch {
		case p == "":
			return nil, fmt.Errorf("%w: %q: empty segment %d", ErrBadFormat, s, i+1)
		case p == "**":
			if i != len(parts)-1 {
				return nil, fmt.Errorf("%w: %q: ** must be the last segment", ErrBadFormat, s)
			}
			f.segs = append(f.segs, segment{rest: true})
		case p == "*":
			f.segs = append(f.segs, segment{star: true})
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") && len(p) > 2:
			name := p[1 : len(p)-1]
			for _, r := range name {
				if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
					return nil, fmt.Errorf("%w: %q: bad key name %q", ErrBadFormat, s, name)
				}
			}
			if slices.Contains(f.keys, name) {
				return nil, fmt.Errorf("%w: %q: key %q twice", ErrBadFormat, s, name)
			}
			f.keys = append(f.keys, name)
			f.segs = append(f.segs, segment{key: name})
		case strings.ContainsAny(p, "{}*"):
			return nil, fmt.Errorf("%w: %q: segment %q mixes a pattern with text", ErrBadFormat, s, p)
		default:
			f.segs = append(f.segs, segment{lit: p})
		}
	}
	if len(f.keys) == 0 {
		return nil, fmt.Errorf("%w: %q names no {key}", ErrBadFormat, s)
	}
	return f, nil
}

// Keys returns the key names in the order they appear.
func (f *Format) Keys() []string { return slices.Clone(f.keys) }

// Match returns the key values of path, or ErrNoMatch.
func (f *Format) Match(path string) (map[string]string, error) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	last := f.segs[len(f.segs)-1]
	if last.rest && len(parts) < len(f.segs) || !last.rest && len(parts) != len(f.segs) {
		return nil, fmt.Errorf("%w: %q", ErrNoMatch, path)
	}
	vals := make(map[string]string, len(f.keys))
	for i, sg := range f.segs {
		p := parts[i]
		switch {
		case sg.rest:
			return vals, nil
		case p == "":
			return nil, fmt.Errorf("%w: %q: empty segment", ErrNoMatch, path)
		case sg.key != "":
			vals[sg.key] = p
		case sg.lit != "" && sg.lit != p:
			return nil, fmt.Errorf("%w: %q", ErrNoMatch, path)
		}
	}
	return vals, nil
}

// ByKeys groups items by the values of the format's keys: one partition per distinct tuple,
// in the order each tuple first appears. An item that does not match fails the split.
func ByKeys(items []Item, format string) ([]Partition, error) {
	f, err := ParseFormat(format)
	if err != nil {
		return nil, err
	}
	if err := checkUnique(items); err != nil {
		return nil, err
	}
	type group struct {
		keys  map[string]string
		items []Item
	}
	var order []string
	groups := map[string]*group{}
	for _, it := range items {
		kv, err := f.Match(it.Path)
		if err != nil {
			return nil, err
		}
		var sb strings.Builder
		for _, k := range f.keys {
			sb.WriteString(kv[k])
			sb.WriteByte(0)
		}
		id := sb.String()
		g := groups[id]
		if g == nil {
			g = &group{keys: kv}
			groups[id] = g
			order = append(order, id)
		}
		g.items = append(g.items, it)
	}
	ps := make([]Partition, 0, len(order))
	for _, id := range order {
		ps = append(ps, newPartition(groups[id].items, groups[id].keys))
	}
	return ps, nil
}

// ListDir lists the regular files under root (recursively, following no symlinks), sorted by
// path, each hashed with SHA-256 by up to workers goroutines (default 4). Paths are relative
// to root and slash-separated.
func ListDir(ctx context.Context, root string, workers int) ([]Item, error) {
	var items []Item
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		items = append(items, Item{Path: filepath.ToSlash(rel), Size: info.Size()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("partition: list %s: %w", root, err)
	}
	slices.SortFunc(items, func(a, b Item) int { return strings.Compare(a.Path, b.Path) })
	if workers <= 0 {
		workers = 4
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i := range items {
		g.Go(func() error {
			if gctx.Err() != nil {
				return gctx.Err()
			}
			h, err := HashFile(filepath.Join(root, filepath.FromSlash(items[i].Path)))
			if err != nil {
				return fmt.Errorf("partition: hash %s: %w", items[i].Path, err)
			}
			items[i].Hash = h
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return items, nil
}

// HashFile is the hex SHA-256 of a file's content, the Hash ListDir gives an item.
func HashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
