package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// contextIndex answers "does this COPY/ADD source match anything kaniko
// would copy?" for one build context. It is lazy: nothing is read until a
// Dockerfile has a local source, .dockerignore is read once, each source
// and each directory's verdict is worked out once, and a directory is read
// only as far as needed (to resolve a wildcard, or to find one entry that
// survives a .dockerignore pattern reaching into it). A plain file source
// costs one lstat; so does a directory no pattern reaches into.
type contextIndex struct {
	root string

	ignoreLoaded   bool
	ignorePath     string
	pm             *patternmatcher.PatternMatcher
	ignoreErr      error
	ignoreErrLine  int
	ignoreReported bool

	results  map[string]srcStatus  // memo: source -> status
	included map[string]scanResult // memo: what survives .dockerignore below a dir
	reads    int                   // directories opened, for tests
	bufs     [][]byte              // free dirent buffers (Linux)
}

// newContextIndex indexes the context at root, excluding what the ignore
// file at ignorePath lists (see dockerignorePath); a missing file
// excludes nothing.
func newContextIndex(root, ignorePath string) *contextIndex {
	return &contextIndex{
		root:       root,
		ignorePath: ignorePath,
		results:    map[string]srcStatus{},
		included:   map[string]scanResult{},
	}
}

type srcState int

const (
	srcOK       srcState = iota
	srcMissing           // nothing in the context has that name or matches
	srcExcluded          // it exists, but .dockerignore excludes it and all below it
	// srcEmptied is a directory that is not excluded itself but whose
	// every entry is: Docker and kaniko both copy it, as an empty
	// directory.
	srcEmptied
	srcBadPattern // a wildcard filepath.Match rejects: kaniko stops
	srcUnknown    // unreadable: say nothing rather than guess
)

type srcStatus struct {
	state  srcState
	detail string
}

// dockerignorePath says which ignore file kaniko reads, as its
// getExcludedFiles (pkg/util/fs_util.go) does: <dockerfile>.dockerignore
// when that exists, else <context>/.dockerignore, never both (BuildKit
// picks the same way). kanikorun mounts a Dockerfile from outside the
// context with its ignore file beside it (plan.Local), so the rule holds
// wherever the Dockerfile lives.
func dockerignorePath(dockerfile, context string) string {
	if dockerfile != "" {
		own := dockerfile + ".dockerignore"
		// kaniko's FilepathExists: anything Lstat finds.
		if _, err := os.Lstat(own); err == nil {
			return own
		}
	}
	return filepath.Join(context, ".dockerignore")
}

// loadIgnore reads the ignore file with the parser and matcher Docker
// uses.
func (c *contextIndex) loadIgnore() {
	if c.ignoreLoaded {
		return
	}
	c.ignoreLoaded = true
	f, err := os.Open(c.ignorePath)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		c.ignoreErr = fmt.Errorf("reading %s: %w", c.ignorePath, err)
		return
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		c.ignoreErrLine, c.ignoreErr = badPatternLine(c.ignorePath, err)
		return
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		c.ignoreErrLine, c.ignoreErr = badPatternLine(c.ignorePath, err)
		return
	}
	if len(pm.Patterns()) > 0 {
		c.pm = pm
	}
}

// badPatternLine finds the line of the ignore file whose pattern the
// matcher rejects (its error names neither), reading each line as
// ignorefile does. It runs only when the whole file was rejected.
func badPatternLine(path string, whole error) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("invalid pattern: %w", whole)
	}
	for i, line := range strings.Split(string(data), "\n") {
		ps, err := ignorefile.ReadAll(strings.NewReader(line))
		if err == nil && len(ps) > 0 {
			_, err = patternmatcher.New(ps)
		}
		if err != nil {
			return i + 1, fmt.Errorf("invalid pattern %q: %w", strings.TrimSpace(line), err)
		}
	}
	return 0, fmt.Errorf("invalid pattern: %w", whole)
}

// check classifies one source, already expanded: relative to the context
// root whatever its leading slash (as Docker and kaniko read it), with
// *, ? and [ matching one path component like filepath.Match.
func (c *contextIndex) check(src string) srcStatus {
	c.loadIgnore()
	rel := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(src)), "/")
	if st, ok := c.results[rel]; ok {
		return st
	}
	st := c.classify(rel)
	c.results[rel] = st
	return st
}

func (c *contextIndex) classify(rel string) srcStatus {
	if !hasWildcard(rel) {
		full := c.full(rel)
		if _, seen := c.included[rel]; !seen && c.pm != nil && c.needsScan(rel) {
			// A directory .dockerignore reaches into is read anyway:
			// opening it first also says it exists and is a directory.
			// The context root may itself be a symbolic link.
			if h, err := c.openDir(full, rel != ""); err == nil {
				defer h.close()
				return c.dirStatus(rel, h)
			}
		}
		stat := os.Lstat
		if rel == "" {
			stat = os.Stat
		}
		fi, err := stat(full)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return srcStatus{state: srcMissing}
		}
		if err != nil {
			return srcStatus{state: srcUnknown}
		}
		return c.entryStatus(rel, fi.IsDir())
	}
	if _, err := path.Match(rel, ""); err != nil {
		return srcStatus{state: srcBadPattern, detail: err.Error()}
	}
	matched, unreadable := false, false
	result := srcStatus{state: srcExcluded}
	c.glob("", strings.Split(rel, "/"), &unreadable, func(p string, isDir bool) bool {
		matched = true
		switch c.entryStatus(p, isDir).state {
		case srcOK:
			result = srcStatus{state: srcOK}
			return true
		case srcUnknown:
			result = srcStatus{state: srcUnknown}
		case srcEmptied:
			if result.state == srcExcluded {
				result = srcStatus{state: srcEmptied}
			}
		}
		return false
	})
	switch {
	case result.state == srcOK:
		return result
	case unreadable:
		return srcStatus{state: srcUnknown}
	case !matched:
		return srcStatus{state: srcMissing}
	}
	return result
}

func hasWildcard(p string) bool {
	return strings.ContainsAny(p, "*?[")
}

// glob visits the matches of a wildcard source one path component at a
// time, as kaniko's filepath.Match over the context's relative paths
// does, until visit returns true. Symbolic links to directories are not
// followed, like kaniko's walk. It returns true when visit stopped it.
func (c *contextIndex) glob(dir string, comps []string, unreadable *bool, visit func(rel string, isDir bool) bool) bool {
	comp, last := comps[0], len(comps) == 1
	step := func(name string, isDir bool) bool {
		p := joinRel(dir, name)
		if last {
			return visit(p, isDir)
		}
		return isDir && c.glob(p, comps[1:], unreadable, visit)
	}
	if !hasWildcard(comp) {
		fi, err := os.Lstat(filepath.Join(c.root, filepath.FromSlash(joinRel(dir, comp))))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
				*unreadable = true
			}
			return false
		}
		return step(comp, fi.IsDir())
	}
	stopped, ok := c.readDir(dir, func(name string, isDir bool) bool {
		if m, _ := path.Match(comp, name); m {
			return step(name, isDir)
		}
		return false
	})
	if !ok {
		*unreadable = true
	}
	return stopped
}

func joinRel(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// entryStatus says whether kaniko copies anything for an existing entry:
// a file unless .dockerignore excludes it, a directory if anything in it
// survives .dockerignore (an empty directory that is not itself excluded
// is copied as such; one emptied by .dockerignore is srcEmptied).
func (c *contextIndex) entryStatus(rel string, isDir bool) srcStatus {
	if c.pm == nil {
		return srcStatus{state: srcOK}
	}
	excluded := false
	if rel != "" {
		var err error
		excluded, err = c.pm.MatchesOrParentMatches(rel)
		if err != nil {
			return srcStatus{state: srcUnknown}
		}
	}
	if !isDir {
		if excluded {
			return srcStatus{state: srcExcluded}
		}
		return srcStatus{state: srcOK}
	}
	if !c.needsScan(rel) {
		// No pattern reaches below: the content shares the directory's
		// fate, and nothing needs to be read.
		if excluded {
			return srcStatus{state: srcExcluded}
		}
		return srcStatus{state: srcOK}
	}
	if r, seen := c.included[rel]; seen {
		return verdict(r, excluded)
	}
	h, err := c.openDir(c.full(rel), false)
	if err != nil {
		return srcStatus{state: srcUnknown}
	}
	defer h.close()
	return c.dirStatus(rel, h)
}

// verdict turns what survives in a directory into the source's status.
func verdict(r scanResult, excluded bool) srcStatus {
	switch {
	case !r.ok:
		return srcStatus{state: srcUnknown}
	case r.included || (r.empty && !excluded):
		return srcStatus{state: srcOK}
	case !excluded:
		return srcStatus{state: srcEmptied}
	}
	return srcStatus{state: srcExcluded}
}

// needsScan reports whether a directory's verdict depends on its content:
// patterns can exclude something below a directory that is not excluded,
// or re-include something below one that is.
func (c *contextIndex) needsScan(rel string) bool {
	excluded := false
	if rel != "" {
		excluded, _ = c.pm.MatchesOrParentMatches(rel)
	}
	excludeBelow, includeBelow := c.patternsBelow(rel)
	return (!excluded && excludeBelow) || (excluded && includeBelow)
}

// dirStatus reads an open directory to see whether anything in it
// survives .dockerignore.
func (c *contextIndex) dirStatus(rel string, h *dirHandle) srcStatus {
	excluded := false
	if rel != "" {
		excluded, _ = c.pm.MatchesOrParentMatches(rel)
	}
	r := c.scan(rel, c.matchInfo(rel), h)
	c.included[rel] = r
	return verdict(r, excluded)
}

// patternsBelow reports whether any exclude pattern, and any exception
// (!pattern), could match something strictly below dir. Patterns without
// ** match paths with exactly as many components as they have, so most
// patterns are ruled out by their first components.
func (c *contextIndex) patternsBelow(dir string) (exclude, include bool) {
	var comps []string
	if dir != "" {
		comps = strings.Split(dir, "/")
	}
	for _, p := range c.pm.Patterns() {
		if canMatchBelow(p.String(), comps) {
			if p.Exclusion() {
				include = true
			} else {
				exclude = true
			}
		}
	}
	return exclude, include
}

func canMatchBelow(pattern string, dir []string) bool {
	for i, pc := range strings.Split(pattern, "/") {
		if strings.Contains(pc, "**") || i >= len(dir) {
			return true
		}
		if ok, err := path.Match(pc, dir[i]); err != nil || !ok {
			return err != nil
		}
	}
	return false
}

// matchInfo computes the matcher's per-pattern parent state for a
// directory by walking down to it from the context root.
func (c *contextIndex) matchInfo(rel string) patternmatcher.MatchInfo {
	var info patternmatcher.MatchInfo
	if rel == "" {
		return info
	}
	cur := ""
	for _, comp := range strings.Split(rel, "/") {
		cur = joinRel(cur, comp)
		_, info, _ = c.pm.MatchesUsingParentResults(cur, info)
	}
	return info
}

// hasIncluded reports whether anything below dir survives .dockerignore
// (and whether dir is empty), stopping at the first entry that survives:
// directories nobody lists in full are read in small batches. Results are
// memoised, so each directory is examined once per lint.
func (c *contextIndex) hasIncluded(dir string, info patternmatcher.MatchInfo) (included, empty, ok bool) {
	if v, seen := c.included[dir]; seen {
		return v.included, v.empty, v.ok
	}
	r := c.scanIncluded(dir, info)
	c.included[dir] = r
	return r.included, r.empty, r.ok
}

type scanResult struct {
	included, empty, ok bool
}

func (c *contextIndex) scanIncluded(dir string, info patternmatcher.MatchInfo) scanResult {
	h, err := c.openDir(c.full(dir), false)
	if err != nil {
		return scanResult{}
	}
	defer h.close()
	return c.scan(dir, info, h)
}

// scan reads entries of dir until one survives .dockerignore.
func (c *contextIndex) scan(dir string, info patternmatcher.MatchInfo, h *dirHandle) scanResult {
	seen, included := 0, false
	_, ok := h.each(func(name string, isDir bool) bool {
		seen++
		p := joinRel(dir, name)
		excluded, einfo, err := c.pm.MatchesUsingParentResults(p, info)
		if err != nil || !excluded {
			included = true
			return true
		}
		if !isDir {
			return false
		}
		if _, include := c.patternsBelow(p); !include {
			return false
		}
		included, _, _ = c.hasIncluded(p, einfo)
		return included
	})
	return scanResult{included: included, empty: seen == 0, ok: ok}
}

// readDir streams a directory's entries to fn until fn returns true; ok
// is false when the directory cannot be read.
func (c *contextIndex) readDir(dir string, fn func(name string, isDir bool) bool) (stopped, ok bool) {
	h, err := c.openDir(c.full(dir), false)
	if err != nil {
		return false, false
	}
	defer h.close()
	return h.each(fn)
}

func (c *contextIndex) full(rel string) string {
	return filepath.Join(c.root, filepath.FromSlash(rel))
}
