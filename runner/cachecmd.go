package runner

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/kanikorun/kanikorun/internal/cache"
	"github.com/kanikorun/kanikorun/internal/plan"
	"github.com/kanikorun/kanikorun/internal/spec"
)

// ErrCacheInUse means a build uses the cache volume that prune must
// replace.
var ErrCacheInUse = errors.New("the cache volume is in use")

// CacheOptions say which cache volume `kanikorun cache` works on.
type CacheOptions struct {
	// Volume is the cache volume; empty means CacheVolumeName().
	Volume string
	// Image is the image of the helper containers that mount the volume
	// (never started: the Engine API copies in and out of a created
	// container); the executor image, which builds need anyway.
	Image string
	// Pull says when to pull Image.
	Pull PullPolicy
}

func (o CacheOptions) volume() string {
	if o.Volume != "" {
		return o.Volume
	}
	return CacheVolumeName()
}

// CacheList reads what the cache volume holds; nil when there is none.
func CacheList(ctx context.Context, o CacheOptions, s Streams) (*cache.Index, error) {
	eng, err := Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	return cacheList(ctx, eng, o, s)
}

func cacheList(ctx context.Context, eng Engine, o CacheOptions, s Streams) (*cache.Index, error) {
	ok, err := volumeExists(ctx, eng, o.volume())
	if err != nil || !ok {
		return nil, err
	}
	h, err := newHelper(ctx, eng, o, s, map[string]string{o.volume(): spec.CacheDir})
	if err != nil {
		return nil, err
	}
	defer h.close()
	return h.scan(ctx, spec.CacheDir)
}

// PruneResult is what a prune removed.
type PruneResult struct {
	// Removed are the entries removed; with All, none are listed.
	Removed []*cache.IndexEntry
	// Bytes is what they held.
	Bytes int64
	// All says the whole volume went.
	All bool
}

// CachePrune removes from the cache volume what p selects (with all, the
// volume itself). The Engine API cannot delete files in a volume, so the
// volume is copied without them into a new one that then takes its name;
// a build using the cache meanwhile makes it stop with ErrCacheInUse,
// leaving the cache as it was.
func CachePrune(ctx context.Context, o CacheOptions, p cache.PruneOptions, all bool, s Streams) (*PruneResult, error) {
	eng, err := Connect(ctx)
	if err != nil {
		return nil, err
	}
	defer eng.Close()
	return cachePrune(ctx, eng, o, p, all, s)
}

func cachePrune(ctx context.Context, eng Engine, o CacheOptions, p cache.PruneOptions, all bool, s Streams) (*PruneResult, error) {
	vol := o.volume()
	if all {
		if err := eng.RemoveVolume(ctx, vol); err != nil {
			return nil, inUse(vol, err)
		}
		return &PruneResult{All: true}, nil
	}
	idx, err := cacheList(ctx, eng, o, s)
	if err != nil || idx == nil {
		return &PruneResult{}, err
	}
	remove := idx.Select(p, time.Now())
	res := &PruneResult{Removed: remove}
	if len(remove) == 0 {
		return res, nil
	}
	drop := map[string]bool{}
	for _, e := range remove {
		res.Bytes += e.Size
		for _, q := range e.Paths {
			drop[q] = true
		}
	}
	tmp := vol + "-prune-" + randomHex()
	if err := eng.EnsureVolume(ctx, tmp, map[string]string{spec.ManagedLabel: "true"}); err != nil {
		return nil, fmt.Errorf("creating volume %q: %w", tmp, oneLine(err))
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		_ = eng.RemoveVolume(rctx, tmp)
	}()
	if err := copyVolume(ctx, eng, o, s, vol, tmp, drop); err != nil {
		return nil, err
	}
	if err := eng.RemoveVolume(ctx, vol); err != nil {
		return nil, inUse(vol, err)
	}
	if err := eng.EnsureVolume(ctx, vol, cacheVolumeLabels()); err != nil {
		return nil, fmt.Errorf("recreating the cache volume %q: %w", vol, oneLine(err))
	}
	if err := copyVolume(ctx, eng, o, s, tmp, vol, nil); err != nil {
		return nil, fmt.Errorf("%w; the cache is lost, the next build starts it afresh", err)
	}
	return res, nil
}

func inUse(vol string, err error) error {
	if errors.Is(err, ErrVolumeInUse) {
		return fmt.Errorf("%w: %q: a build is running; prune again when it ends", ErrCacheInUse, vol)
	}
	return fmt.Errorf("removing the cache volume %q: %w", vol, oneLine(err))
}

// copyVolume copies the volume from into the volume to, leaving out drop.
func copyVolume(ctx context.Context, eng Engine, o CacheOptions, s Streams, from, to string, drop map[string]bool) error {
	h, err := newHelper(ctx, eng, o, s, map[string]string{from: "/old", to: "/new"})
	if err != nil {
		return err
	}
	defer h.close()
	rc, err := eng.CopyFrom(ctx, h.id, "/old")
	if err != nil {
		return fmt.Errorf("reading the cache volume %q: %w", from, oneLine(err))
	}
	defer rc.Close()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(cache.Filter(rc, pw, "/old", drop)) }()
	err = eng.CopyTo(ctx, h.id, "/new", pr)
	_ = pr.CloseWithError(errors.New("copy ended"))
	if err != nil {
		return fmt.Errorf("copying the cache volume %q: %w", from, oneLine(err))
	}
	return nil
}

func volumeExists(ctx context.Context, eng Engine, name string) (bool, error) {
	vols, err := eng.ListVolumes(ctx, map[string]string{CacheLabel: "true"})
	if err != nil {
		return false, fmt.Errorf("listing volumes: %w", oneLine(err))
	}
	for _, v := range vols {
		if v.Name == name {
			return true, nil
		}
	}
	return false, nil
}

// helper is a created, never started container that mounts volumes, for
// copying in and out of them.
type helper struct {
	r  *Runner
	id string
}

func newHelper(ctx context.Context, eng Engine, o CacheOptions, s Streams, volumes map[string]string) (*helper, error) {
	img := o.Image
	if img == "" {
		img = spec.DefaultExecutorImage
	}
	pull := o.Pull
	if pull == "" {
		pull = PullMissing
	}
	r := &Runner{Engine: eng, Stdout: s.Stderr, Stderr: s.Stderr, Pull: pull}
	c := plan.Container{Image: img, Network: "none", Labels: map[string]string{CacheLabel + ".helper": "true"}}
	for name, target := range volumes {
		c.Volumes = append(c.Volumes, plan.VolumeMount{Name: name, Target: target})
	}
	id, err := r.create(ctx, c)
	if err != nil {
		return nil, err
	}
	return &helper{r: r, id: id}, nil
}

func (h *helper) scan(ctx context.Context, dir string) (*cache.Index, error) {
	rc, err := h.r.Engine.CopyFrom(ctx, h.id, dir)
	if err != nil {
		return nil, fmt.Errorf("reading the cache volume: %w", oneLine(err))
	}
	defer rc.Close()
	return cache.Scan(rc, dir)
}

func (h *helper) close() { h.r.remove(h.id) }

func randomHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
