package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/cache"
	"github.com/kanikorun/kanikorun/internal/spec"
	"github.com/kanikorun/kanikorun/runner"
)

func cacheCommand() *cli.Command {
	helperFlags := []cli.Flag{
		&cli.StringFlag{Name: flagExecutorImage, Value: spec.DefaultExecutorImage, EnvVars: []string{"KANIKORUN_EXECUTOR_IMAGE"}, Usage: "`IMAGE` of the (never started) helper container that mounts the volume"},
		&cli.StringFlag{Name: flagExecutorPull, Value: string(runner.PullMissing), Usage: "when the daemon pulls the helper image: `missing`, always or never"},
	}
	return &cli.Command{
		Name:  "cache",
		Usage: "show or prune the local layer and base-image cache (the volume $KANIKORUN_CACHE_VOLUME, default " + runner.DefaultCacheVolume + ")",
		Subcommands: []*cli.Command{
			{
				Name:  "ls",
				Usage: "list what is cached: base images, cached RUN steps, the Dockerfiles that used them; size and age",
				Flags: helperFlags,
				Action: func(c *cli.Context) error {
					idx, err := runner.CacheList(c.Context, bindCache(c), runner.Streams{Stdout: c.App.Writer, Stderr: c.App.ErrWriter})
					if err != nil {
						return err
					}
					printCache(c.App.Writer, runner.CacheVolumeName(), idx, time.Now())
					return nil
				},
			},
			{
				Name:  "prune",
				Usage: "remove what the executors would ignore (older than their 2-week --cache-ttl) and leftovers, or more with the flags",
				Flags: append([]cli.Flag{
					&cli.BoolFlag{Name: "all", Usage: "remove the whole cache volume"},
					&cli.StringFlag{Name: "older-than", Usage: "also remove entries written more than `DURATION` ago (e.g. 72h, 7d)"},
					&cli.StringFlag{Name: "keep-storage", Usage: "also remove the oldest entries until the cache holds at most `SIZE` (e.g. 2GB)"},
				}, helperFlags...),
				Action: func(c *cli.Context) error {
					var p cache.PruneOptions
					if v := c.String("older-than"); v != "" {
						d, err := parseAge(v)
						if err != nil {
							return usageErr("invalid --older-than %q: give a duration such as 72h or 7d", v)
						}
						p.OlderThan = d
					}
					if v := c.String("keep-storage"); v != "" {
						n, err := units.FromHumanSize(v)
						if err != nil {
							return usageErr("invalid --keep-storage %q: give a size such as 500MB or 2GB", v)
						}
						p.KeepStorage = n
					}
					res, err := runner.CachePrune(c.Context, bindCache(c), p, c.Bool("all"), runner.Streams{Stdout: c.App.Writer, Stderr: c.App.ErrWriter})
					if err != nil {
						return err
					}
					if res.All {
						fmt.Fprintf(c.App.Writer, "removed the cache volume %s\n", runner.CacheVolumeName())
						return nil
					}
					fmt.Fprintf(c.App.Writer, "removed %d entries, %s\n", len(res.Removed), units.HumanSize(float64(res.Bytes)))
					return nil
				},
			},
		},
	}
}

func bindCache(c *cli.Context) runner.CacheOptions {
	return runner.CacheOptions{Image: c.String(flagExecutorImage), Pull: runner.PullPolicy(c.String(flagExecutorPull))}
}

// parseAge is a Go duration, or a number of days written Nd.
func parseAge(v string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(v, "d"); ok {
		n, err := time.ParseDuration(d + "h")
		return n * 24, err
	}
	return time.ParseDuration(v)
}

// printCache prints a cache index as tables.
func printCache(w io.Writer, volume string, idx *cache.Index, now time.Time) {
	if idx == nil {
		fmt.Fprintf(w, "no cache volume %s: the next build creates it\n", volume)
		return
	}
	var bases, layers, orphans int
	var layerSize, orphanSize int64
	var newest, oldest time.Time
	for _, e := range idx.Entries {
		switch e.Kind {
		case cache.KindBase:
			bases++
		case cache.KindLayer:
			layers++
			layerSize += e.Size
			if newest.IsZero() || e.Time.After(newest) {
				newest = e.Time
			}
			if oldest.IsZero() || e.Time.Before(oldest) {
				oldest = e.Time
			}
		case cache.KindOrphan:
			orphans++
			orphanSize += e.Size
		}
	}
	fmt.Fprintf(w, "volume %s: %s in %d base images and %d cached RUN steps\n", volume, units.HumanSize(float64(idx.Size)), bases, layers)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nKIND\tIMAGE\tFLAVOR\tSIZE\tAGE")
	for _, e := range idx.Entries {
		if e.Kind != cache.KindBase {
			continue
		}
		ref, flavor := e.Name, ""
		if e.Base != nil {
			ref, flavor = e.Base.Ref+" ("+short(e.Base.Digest)+")", e.Base.Flavor
		}
		fmt.Fprintf(tw, "base\t%s\t%s\t%s\t%s\n", ref, flavor, units.HumanSize(float64(e.Size)), age(now, e.Time))
	}
	if layers > 0 {
		fmt.Fprintf(tw, "layers\t%d RUN steps\t\t%s\tnewest %s, oldest %s\n", layers, units.HumanSize(float64(layerSize)), age(now, newest), age(now, oldest))
	}
	if orphans > 0 {
		fmt.Fprintf(tw, "leftover\t%d entries (kanikorun cache prune removes them)\t\t%s\t\n", orphans, units.HumanSize(float64(orphanSize)))
	}
	if len(idx.Builds) > 0 {
		fmt.Fprintln(tw, "\nDOCKERFILE\tBASE IMAGES\tFLAVOR\tLAST WARMED\t")
		for _, b := range idx.Builds {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s ago\t\n", b.Dockerfile, strings.Join(b.Bases, ", "), b.Flavor, age(now, b.Last))
		}
	}
	_ = tw.Flush()
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return digest
}

func age(now, t time.Time) string {
	if t.IsZero() {
		return "?"
	}
	return strings.ToLower(units.HumanDuration(now.Sub(t)))
}
