package cache

import (
	"archive/tar"
	"encoding/json"
	"io"
	"path"
	"sort"
	"strings"
	"time"
)

// Kind is what an entry of the cache is.
type Kind string

// The kinds of entries.
const (
	// KindBase is a base image in --cache-dir.
	KindBase Kind = "base"
	// KindLayer is a cached RUN step of the layer cache.
	KindLayer Kind = "layer"
	// KindOrphan is data no name points to: a warm cut short, or the
	// loser of two builds warming one image at once.
	KindOrphan Kind = "orphan"
)

// IndexEntry is one removable unit of the cache.
type IndexEntry struct {
	// Kind is what it is.
	Kind Kind
	// Name is its name on the volume (the link, for a base image).
	Name string
	// Paths are every path that belongs to it, relative to the volume.
	Paths []string
	// Size is the bytes it holds.
	Size int64
	// Time is when it was written.
	Time time.Time
	// Base is what the warmer recorded, for a base image.
	Base *BaseMeta
}

// Index is what a cache volume holds.
type Index struct {
	// Entries are the removable units, oldest first.
	Entries []*IndexEntry
	// Builds are the builds that used the cache, latest first.
	Builds []BuildMeta
	// Size is the size of every file, in bytes.
	Size int64
}

// Scan reads a tar stream of the volume (as the Engine's CopyFrom gives
// it, each name starting with root's base name) into an Index. Only the
// warmer's small records are read; other data is skipped.
func Scan(r io.Reader, root string) (*Index, error) {
	type node struct {
		hdr *tar.Header
	}
	nodes := map[string]*node{}
	var names []string
	metas := map[string]*BaseMeta{}
	idx := &Index{}
	tr := tar.NewReader(r)
	prefix := path.Base(root) + "/"
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, prefix), "/")
		if name == path.Base(root) || name == "" {
			continue
		}
		nodes[name] = &node{hdr: h}
		names = append(names, name)
		if h.Typeflag == tar.TypeReg {
			idx.Size += h.Size
		}
		switch {
		case strings.HasPrefix(name, MetaBaseDir+"/") && strings.HasSuffix(name, ".json"):
			var m BaseMeta
			if b, err := io.ReadAll(io.LimitReader(tr, 1<<20)); err == nil && json.Unmarshal(b, &m) == nil {
				metas[m.Flavor+"/"+m.Digest] = &m
			}
		case strings.HasPrefix(name, MetaBuildDir+"/") && strings.HasSuffix(name, ".json"):
			var m BuildMeta
			if b, err := io.ReadAll(io.LimitReader(tr, 1<<20)); err == nil && json.Unmarshal(b, &m) == nil {
				idx.Builds = append(idx.Builds, m)
			}
		}
	}
	// sizeUnder sums the regular files at or under p.
	sizeUnder := func(p string) (int64, []string) {
		var n int64
		var ps []string
		for _, q := range names {
			if q == p || strings.HasPrefix(q, p+"/") {
				ps = append(ps, q)
				if h := nodes[q].hdr; h.Typeflag == tar.TypeReg {
					n += h.Size
				}
			}
		}
		return n, ps
	}
	linked := map[string]bool{}
	for _, name := range names {
		h := nodes[name].hdr
		dir, base := path.Split(name)
		switch {
		case path.Dir(name) == "." && IsLayer(name):
			size, ps := sizeUnder(name)
			idx.Entries = append(idx.Entries, &IndexEntry{Kind: KindLayer, Name: name, Paths: ps, Size: size, Time: h.ModTime})
		case h.Typeflag == tar.TypeSymlink && strings.HasPrefix(dir, BaseDir+"/") && !strings.HasSuffix(base, ".json"):
			flavor := path.Base(dir)
			target := path.Join(dir, h.Linkname)
			linked[target] = true
			size, ps := sizeUnder(target)
			ps = append([]string{name}, ps...)
			if _, ok := nodes[name+".json"]; ok {
				j := path.Join(dir, nodes[name+".json"].hdr.Linkname)
				linked[j] = true
				n, more := sizeUnder(j)
				size += n
				ps = append(append(ps, name+".json"), more...)
			}
			e := &IndexEntry{Kind: KindBase, Name: name, Paths: ps, Size: size, Time: h.ModTime, Base: metas[flavor+"/"+base]}
			if e.Base != nil {
				ps = append(ps, path.Join(MetaBaseDir, flavor+"-"+base+".json"))
				e.Paths = ps
			}
			idx.Entries = append(idx.Entries, e)
		}
	}
	for _, name := range names {
		dir := path.Dir(name)
		orphan := path.Base(dir) == DataDir && !linked[name]
		// The executor's own half-written layers.
		orphan = orphan || path.Dir(name) == "." && strings.HasPrefix(name, ".tmp-")
		if j := strings.TrimSuffix(name, ".json"); j != name && nodes[j] != nil && path.Base(path.Dir(j)) == DataDir {
			// The manifest of an upstream tarball goes with the tarball.
			continue
		}
		if orphan {
			size, ps := sizeUnder(name)
			if _, ok := nodes[name+".json"]; ok && !linked[name+".json"] {
				n, more := sizeUnder(name + ".json")
				size += n
				ps = append(ps, more...)
			}
			idx.Entries = append(idx.Entries, &IndexEntry{Kind: KindOrphan, Name: name, Paths: ps, Size: size, Time: nodes[name].hdr.ModTime})
		}
	}
	sort.SliceStable(idx.Entries, func(i, j int) bool { return idx.Entries[i].Time.Before(idx.Entries[j].Time) })
	sort.SliceStable(idx.Builds, func(i, j int) bool { return idx.Builds[i].Last.After(idx.Builds[j].Last) })
	return idx, nil
}

// PruneOptions say what to remove from the cache.
type PruneOptions struct {
	// OlderThan removes entries written longer ago than this; zero keeps
	// them all by age.
	OlderThan time.Duration
	// KeepStorage removes the oldest entries until the rest take at most
	// this many bytes; zero for no limit.
	KeepStorage int64
}

// Select returns the entries to remove: always the orphans and what the
// executors would ignore as older than TTL, then by the options.
func (idx *Index) Select(o PruneOptions, now time.Time) []*IndexEntry {
	var out []*IndexEntry
	var kept int64
	var keep []*IndexEntry
	for _, e := range idx.Entries {
		age := now.Sub(e.Time)
		if e.Kind == KindOrphan || age > TTL || o.OlderThan > 0 && age > o.OlderThan {
			out = append(out, e)
			continue
		}
		keep = append(keep, e)
		kept += e.Size
	}
	// Oldest first.
	for _, e := range keep {
		if o.KeepStorage <= 0 || kept <= o.KeepStorage {
			break
		}
		out = append(out, e)
		kept -= e.Size
	}
	return out
}

// Filter copies the tar stream r of the directory from (as CopyFrom gives
// it) to w without the paths in drop and what lies under them, with names
// relative to from, to extract into another directory.
func Filter(r io.Reader, w io.Writer, from string, drop map[string]bool) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	fromPrefix := path.Base(from) + "/"
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return tw.Close()
		}
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, fromPrefix), "/")
		if name == path.Base(from) {
			continue
		}
		if dropped(name, drop) {
			continue
		}
		h.Name = name
		if h.Typeflag == tar.TypeDir {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

func dropped(name string, drop map[string]bool) bool {
	for p := name; p != "." && p != "/" && p != ""; p = path.Dir(p) {
		if drop[p] {
			return true
		}
	}
	return false
}
