package manifest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// Entry is one file of a manifest.
type Entry struct {
	Path   string `json:"path"` // slash-separated, relative to the manifest's root
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Manifest is the content description of a folder or a single file.
type Manifest struct {
	Entries []Entry `json:"entries"` // sorted by Path
}

// Hash is the version identifier of the manifest: the SHA-256 of its canonical text
// ("path\tsize\tsha256\n" per entry, in path order).
func (m *Manifest) Hash() string {
	h := sha256.New()
	for _, e := range m.Entries {
		fmt.Fprintf(h, "%s\t%d\t%s\n", e.Path, e.Size, e.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Bytes is the total size of the files.
func (m *Manifest) Bytes() int64 {
	var n int64
	for _, e := range m.Entries {
		n += e.Size
	}
	return n
}

// FileKey identifies a file's state on disk for the hash cache.
type FileKey struct {
	Path    string
	Size    int64
	ModTime int64 // UnixNano
	Inode   uint64
}

// Cache remembers content hashes of files by FileKey. Implementations must be safe for
// concurrent use. Get returns "" when it has no entry for exactly this key.
type Cache interface {
	Get(ctx context.Context, k FileKey) (string, error)
	Put(ctx context.Context, k FileKey, sha string) error
}

// Options tune Build.
type Options struct {
	Cache Cache // optional
	// Ignore applies .amlignore / .gitignore files found while walking (for code folders).
	Ignore bool
}

// racyWindow: files changed this recently are always re-hashed.
const racyWindow = 2 * time.Second

// Build describes the file or folder at path. Symbolic links are followed for files;
// other non-regular files are skipped. A missing path is an error wrapping fs.ErrNotExist.
func Build(ctx context.Context, path string, opts Options) (*Manifest, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	m := &Manifest{}
	if !st.IsDir() {
		sum, err := hashFile(ctx, path, st, opts.Cache)
		if err != nil {
			return nil, err
		}
		m.Entries = []Entry{{Path: filepath.Base(path), Size: st.Size(), SHA256: sum}}
		return m, nil
	}
	err = Walk(path, opts.Ignore, func(rel string, full string, info fs.FileInfo) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		sum, err := hashFile(ctx, full, info, opts.Cache)
		if err != nil {
			return err
		}
		m.Entries = append(m.Entries, Entry{Path: rel, Size: info.Size(), SHA256: sum})
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(m.Entries, func(i, j int) bool { return m.Entries[i].Path < m.Entries[j].Path })
	return m, nil
}

// Walk calls fn for every regular file under root (following symbolic links to files), with its
// slash-separated relative path. With ignore set, .amlignore / .gitignore rules found on the way
// exclude files and folders, and .git folders are always skipped.
func Walk(root string, ignore bool, fn func(rel, full string, info fs.FileInfo) error) error {
	var rules *ruleStack
	if ignore {
		rules = &ruleStack{}
	}
	return walkDir(root, "", rules, fn)
}

func walkDir(root, rel string, rules *ruleStack, fn func(rel, full string, info fs.FileInfo) error) error {
	dir := filepath.Join(root, filepath.FromSlash(rel))
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	if rules != nil {
		rules = rules.enter(dir, rel)
	}
	for _, de := range entries {
		name := de.Name()
		r := name
		if rel != "" {
			r = rel + "/" + name
		}
		full := filepath.Join(dir, name)
		info, err := os.Stat(full) // follows links
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) { // dangling link
				continue
			}
			return fmt.Errorf("manifest: %w", err)
		}
		if rules != nil {
			if name == ".git" && info.IsDir() {
				continue
			}
			if rules.ignored(r, info.IsDir()) {
				continue
			}
		}
		switch {
		case info.IsDir():
			if de.Type()&fs.ModeSymlink != 0 {
				continue // never follow folder links: cycles
			}
			if err := walkDir(root, r, rules, fn); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if err := fn(r, full, info); err != nil {
				return err
			}
		}
	}
	return nil
}

func fileKey(path string, info fs.FileInfo) FileKey {
	k := FileKey{Size: info.Size(), ModTime: info.ModTime().UnixNano()}
	if abs, err := filepath.Abs(path); err == nil {
		k.Path = abs
	} else {
		k.Path = path
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		k.Inode = st.Ino
	}
	return k
}

func hashFile(ctx context.Context, path string, info fs.FileInfo, c Cache) (string, error) {
	var key FileKey
	cacheable := c != nil && time.Since(info.ModTime()) > racyWindow
	if cacheable {
		key = fileKey(path, info)
		if sum, err := c.Get(ctx, key); err != nil {
			return "", err
		} else if sum != "" {
			return sum, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("manifest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("manifest: reading %s: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if cacheable {
		if err := c.Put(ctx, key, sum); err != nil {
			return "", err
		}
	}
	return sum, nil
}

// CopyTree copies the files Walk(src, ignore) yields into dst (created), keeping modes.
func CopyTree(src, dst string, ignore bool) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return Walk(src, ignore, func(rel, full string, info fs.FileInfo) error {
		target := filepath.Join(dst, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		return copyFile(full, target, info.Mode().Perm())
	})
}

func copyFile(src, dst string, perm fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("snapshot: copying %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// Short is the first 12 hex digits of a hash, for display.
func Short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

// Describe is a one-line summary: "N files, B bytes".
func (m *Manifest) Describe() string {
	return strconv.Itoa(len(m.Entries)) + " files, " + strconv.FormatInt(m.Bytes(), 10) + " bytes"
}
