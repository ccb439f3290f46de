package kube

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// Delivery says how the build context reaches the executor's pod.
type Delivery string

// The ways a context reaches a pod.
const (
	// DeliverClaim: the context is already on a PersistentVolumeClaim,
	// mounted read-only at /workspace (the seed's way; `job`'s default).
	DeliverClaim Delivery = "claim"
	// DeliverConfigMap: the context as a gzip tar in a ConfigMap's
	// binaryData, mounted under /kaniko and read with
	// --context=tar://PATH. Survives every retry without kanikorun.
	DeliverConfigMap Delivery = "configmap"
	// DeliverStdin: the gzip tar streamed to the executor's stdin
	// through attach (--context=tar://stdin), for contexts too large for
	// a ConfigMap; kanikorun must stay to feed every attempt.
	DeliverStdin Delivery = "stdin"
	// DeliverRemote: the executor fetches the context itself (git://,
	// s3://, gs://, https://); chosen whenever the build's context is one.
	DeliverRemote Delivery = "remote"
	// DeliverUpload: RenderBuild packs the context and picks
	// DeliverConfigMap when it fits, else DeliverStdin.
	DeliverUpload Delivery = "upload"
)

// MaxConfigMapContext is the largest gzip tar that goes into a ConfigMap:
// the API server refuses a ConfigMap over 1 MiB; some room is left for
// the object's metadata.
const MaxConfigMapContext = 1<<20 - 16<<10

// Where an uploaded context lives in the pod, and its ConfigMap.
const (
	uploadVolume   = "context"
	uploadDir      = "/kaniko/upload"
	UploadKey      = "context.tar.gz"
	uploadPrefix   = "kanikorun-context-"
	stdinContext   = "tar://stdin"
	uploadTarPath  = uploadDir + "/" + UploadKey
	uploadHashSize = 20
)

// PackedContext is a build context as the gzip tar kanikorun uploads:
// .dockerignore applied by Docker's own matcher, so an excluded file never
// leaves the machine (the Dockerfile and .dockerignore always go, as with
// docker build).
type PackedContext struct {
	// Size is the gzip tar's size in bytes.
	Size int64
	// Hash is the hex SHA-256 of the gzip tar.
	Hash string
	// Files is how many files and directories went in.
	Files int
	// data holds the tar when it is small; else path names a temp file.
	data []byte
	path string
}

// ConfigMapName is the name of the ConfigMap holding this content: by its
// hash, so an unchanged context is uploaded once.
func (p *PackedContext) ConfigMapName() string {
	return uploadPrefix + p.Hash[:uploadHashSize]
}

// Bytes returns the tar when it fits a ConfigMap, else nil.
func (p *PackedContext) Bytes() []byte { return p.data }

// Open returns a reader of the gzip tar, from the start.
func (p *PackedContext) Open() (io.ReadCloser, error) {
	if p.path == "" {
		return io.NopCloser(bytes.NewReader(p.data)), nil
	}
	return os.Open(p.path)
}

// Close removes the temp file of a large context.
func (p *PackedContext) Close() error {
	if p == nil || p.path == "" {
		return nil
	}
	return os.Remove(p.path)
}

// PackContext writes dir as a gzip tar. Up to MaxConfigMapContext it stays
// in memory; beyond it spills to a temp file (Close removes it).
// dockerfile is the Dockerfile's path relative to dir ("" for none).
func PackContext(dir, dockerfile string) (*PackedContext, error) {
	patterns, err := readDockerignore(dir)
	if err != nil {
		return nil, err
	}
	if len(patterns) > 0 {
		patterns = append(patterns, "!.dockerignore")
		if dockerfile != "" {
			patterns = append(patterns, "!"+dockerfile)
		}
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", filepath.Join(dir, ".dockerignore"), err)
	}
	sp := &spill{h: sha256.New()}
	gz, _ := gzip.NewWriterLevel(sp, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	files := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if excluded {
			if d.IsDir() && !pm.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = rel
		if d.IsDir() {
			hdr.Name += "/"
		}
		// Only content and modes decide the hash.
		hdr.Uname, hdr.Gname, hdr.Uid, hdr.Gid = "", "", 0, 0
		hdr.AccessTime, hdr.ChangeTime = hdr.ModTime, hdr.ModTime
		hdr.Format = tar.FormatPAX
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		files++
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err == nil && sp.f != nil {
		err = sp.f.Close()
	}
	if err != nil {
		if sp.f != nil {
			os.Remove(sp.f.Name())
		}
		return nil, fmt.Errorf("packing the context %q: %w", dir, err)
	}
	p := &PackedContext{Size: sp.n, Hash: hex.EncodeToString(sp.h.Sum(nil)), Files: files}
	if sp.f != nil {
		p.path = sp.f.Name()
	} else {
		p.data = sp.buf.Bytes()
	}
	return p, nil
}

func readDockerignore(dir string) ([]string, error) {
	f, err := os.Open(filepath.Join(dir, ".dockerignore"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ps, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return ps, nil
}

// spill keeps what is written in memory up to MaxConfigMapContext, then
// moves it to a temp file; it hashes and counts everything.
type spill struct {
	buf bytes.Buffer
	f   *os.File
	h   hash.Hash
	n   int64
}

func (s *spill) Write(p []byte) (int, error) {
	s.h.Write(p)
	s.n += int64(len(p))
	if s.f == nil && s.buf.Len()+len(p) > MaxConfigMapContext {
		f, err := os.CreateTemp("", "kanikorun-context-*.tar.gz")
		if err != nil {
			return 0, err
		}
		s.f = f
		if _, err := f.Write(s.buf.Bytes()); err != nil {
			return 0, err
		}
		s.buf = bytes.Buffer{}
	}
	if s.f != nil {
		return s.f.Write(p)
	}
	return s.buf.Write(p)
}

// IsUploadConfigMap reports whether a ConfigMap name is one of kanikorun's
// context uploads.
func IsUploadConfigMap(name string) bool { return strings.HasPrefix(name, uploadPrefix) }
