package manifest

import (
	"os"
	"path/filepath"
	"strings"

	ignore "github.com/sabhiram/go-gitignore"
)

// ruleStack holds the ignore files met on the way down a tree. In each folder, .amlignore
// takes precedence: when a folder has one, its .gitignore is not read (Azure ML's rule).
type ruleStack struct {
	parent  *ruleStack
	base    string // slash path of the folder holding the rules, relative to the root
	matcher *ignore.GitIgnore
}

func (s *ruleStack) enter(dir, rel string) *ruleStack {
	for _, name := range []string{".amlignore", ".gitignore"} {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		m, err := ignore.CompileIgnoreFile(p)
		if err != nil {
			return s
		}
		return &ruleStack{parent: s, base: rel, matcher: m}
	}
	return s
}

// ignored reports whether rel (relative to the root) is excluded by any rule file above it.
// The ignore files themselves are kept: they change what a step sees.
func (s *ruleStack) ignored(rel string, isDir bool) bool {
	for r := s; r != nil; r = r.parent {
		if r.matcher == nil {
			continue
		}
		p := rel
		if r.base != "" {
			p = strings.TrimPrefix(rel, r.base+"/")
		}
		if isDir {
			p += "/"
		}
		if r.matcher.MatchesPath(p) {
			return true
		}
	}
	return false
}
