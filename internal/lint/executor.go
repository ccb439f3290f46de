package lint

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/kanikorun/kanikorun/internal/spec"
)

// ForkImage is the fork's executor image the hints recommend: the release
// whose behaviour IMAGE.md measured.
const ForkImage = "ghcr.io/osscontainertools/kaniko:v1.28.3"

// forkImage is ForkImage as the capability table sees it: what the hints
// promise when they recommend it. Resolved on first use, not at start-up.
var forkImage = sync.OnceValue(func() Executor {
	e, err := ResolveExecutor(ForkImage, "")
	if err != nil || e.Flavor != Fork {
		panic("ForkImage is not a fork release the table knows")
	}
	return e
})

// Flavor names a set of executor capabilities.
type Flavor string

// The flavours the capability table knows.
const (
	// Upstream is gcr.io/kaniko-project/executor, frozen at v1.24.0.
	Upstream Flavor = "upstream"
	// Fork is ghcr.io/osscontainertools/kaniko (mirror martizih/kaniko)
	// from v1.28 on.
	Fork Flavor = "fork"
)

// ErrUnknownFlavor is returned for an --executor-flavor other than
// upstream or fork.
var ErrUnknownFlavor = errors.New("unknown executor flavor")

// Support says what an executor does with a Dockerfile feature.
type Support int

const (
	// Works means the executor builds the feature as BuildKit does.
	Works Support = iota
	// Ignored means the executor accepts the feature and builds without
	// it: exit 0 and a wrong image.
	Ignored
	// Fails means the executor stops with an error.
	Fails
)

// Feature is a Dockerfile feature whose support differs between executors.
type Feature string

// Features in the capability table.
const (
	FeatRunHeredoc       Feature = "heredoc in RUN"
	FeatRunHeredocQuoted Feature = "heredoc in RUN with a quoted delimiter (<<'EOF')"
	FeatCopyHeredoc      Feature = "heredoc in COPY/ADD"
	FeatMountSecret      Feature = "RUN --mount=type=secret"
	FeatMountSSH         Feature = "RUN --mount=type=ssh"
	FeatMountCache       Feature = "RUN --mount=type=cache"
	FeatMountBind        Feature = "RUN --mount=type=bind"
	FeatMountBindFrom    Feature = "RUN --mount=type=bind,from=..."
	FeatMountTmpfs       Feature = "RUN --mount=type=tmpfs"
	FeatRunNetwork       Feature = "RUN --network"
	FeatRunSecurity      Feature = "RUN --security"
	FeatRunDevice        Feature = "RUN --device"
	FeatCopyExclude      Feature = "COPY/ADD --exclude"
	FeatCopyParents      Feature = "COPY --parents"
	FeatFromPlatform     Feature = "FROM --platform"
	FeatAddChecksumLocal Feature = "ADD --checksum on a local file"
)

// capability is one row of the table: what each flavour does with one
// feature, which rule reports it, and how severe that is when the feature
// does not work.
type capability struct {
	feature  Feature
	rule     string
	severity Severity
	upstream Support
	fork     forkSupport
	// evidence says where the row comes from, for the next person to
	// update it.
	evidence string
	// condition qualifies Works, for the documentation.
	condition string
}

// capabilities is THE table: one row per feature. Upstream is frozen at
// v1.24.0; the fork cell says what the fork does from v1.28.0 on, then
// what later releases changed, so a fork release that gains a feature is
// one from(...) in that feature's row: fork(Ignored, from("v1.29.0",
// Works)). Rows marked "measured" come from IMAGE.md ("Measured
// behaviour"); rows marked "fork source" were read from the fork's
// pkg/commands/run.go and are not yet measured. Support from v1.28.0 on
// also covers behaviour behind the fork's feature flags at their default
// (FF_KANIKO_RUN_MOUNT_BIND=true): an executor started with another value
// is not what the table describes.
var capabilities = []capability{
	{FeatRunHeredoc, RuleRunHeredoc, Error, Ignored, fork(Works), "measured: upstream runs /bin/sh -c <<EOT with the body dropped, exit 0", ""},
	// Upstream drops every heredoc body (the row above reports it there).
	{FeatRunHeredocQuoted, RuleRunHeredoc, Error, Ignored, fork(Ignored), "measured (fork v1.28.3, fork issue 1025): RUN <<'EOF' is skipped, exit 0, the step's file missing from the image", ""},
	{FeatCopyHeredoc, RuleCopyHeredoc, Error, Fails, fork(Works), "measured: upstream exit 1, 'resolved envs is empty'", ""},
	{FeatMountSecret, RuleMountSecret, Error, Ignored, fork(Works), "upstream parses RUN --mount and ignores it; fork source mounts secrets given with its --secret flag and skips others", "when the executor is given the secret (its `--secret` flag)"},
	{FeatMountSSH, RuleMountSecret, Error, Ignored, fork(Ignored), "fork source: only cache, secret (and bind behind FF_KANIKO_RUN_MOUNT_BIND) are mounted", ""},
	{FeatMountCache, RuleMountOther, Warning, Ignored, fork(Works), "measured: upstream runs without the mount; fork keeps the cache out of the image", ""},
	{FeatMountBind, RuleMountOther, Warning, Ignored, fork(Works), "fork source: bind mounts behind the feature flag FF_KANIKO_RUN_MOUNT_BIND, true by default since v1.28.0", "(from the context)"},
	{FeatMountBindFrom, RuleMountOther, Warning, Ignored, fork(Ignored), "fork source: a bind mount from another stage or image is not mounted", ""},
	{FeatMountTmpfs, RuleMountOther, Warning, Ignored, fork(Ignored), "fork source: tmpfs mounts are skipped with a warning", ""},
	{FeatRunNetwork, RuleRunFlags, Warning, Ignored, fork(Ignored), "measured (upstream); fork source warns '#969 kaniko does not support --network'", ""},
	{FeatRunSecurity, RuleRunFlags, Warning, Ignored, fork(Ignored), "fork source warns '#969 kaniko does not support --security'", ""},
	{FeatRunDevice, RuleRunFlags, Warning, Ignored, fork(Ignored), "fork source warns '#969 kaniko does not support --device'", ""},
	{FeatCopyExclude, RuleExclude, Error, Fails, fork(Ignored), "measured: upstream 'unknown flag: --exclude'; fork copies the excluded files", ""},
	{FeatCopyParents, RuleParents, Error, Fails, fork(Ignored), "measured: upstream 'unknown flag: --parents'; fork drops the parent directories", ""},
	{FeatFromPlatform, RuleFromPlatform, Warning, Ignored, fork(Ignored), "measured (upstream builds amd64); fork not distinguishable, assumed the same", ""},
	{FeatAddChecksumLocal, RuleChecksumLocal, Warning, Ignored, fork(Ignored), "measured (upstream accepts and ignores it); fork not measured, assumed the same", ""},
}

var capabilityIndex = func() map[Feature]*capability {
	m := make(map[Feature]*capability, len(capabilities))
	for i := range capabilities {
		m[capabilities[i].feature] = &capabilities[i]
	}
	return m
}()

// support returns what executor e does with the row's feature.
func (c *capability) support(e Executor) Support {
	if e.Flavor == Fork {
		return c.fork.at(e.forkRelease())
	}
	return c.upstream
}

// release is an executor version: major.minor.patch.
type release struct{ major, minor, patch int }

func (r release) before(o release) bool {
	if r.major != o.major {
		return r.major < o.major
	}
	if r.minor != o.minor {
		return r.minor < o.minor
	}
	return r.patch < o.patch
}

// forkFirst is the first fork release the table describes (IMAGE.md
// measured v1.28.3).
var forkFirst = release{1, 28, 0}

// newestFork stands for fork tags that name no version (latest, debug,
// slim) and bare digests: they track the newest release.
var newestFork = release{math.MaxInt32, 0, 0}

// change is what the fork does with a feature from one release on.
type change struct {
	since   release
	support Support
}

// forkSupport is a row's fork cell: the support from forkFirst on, then
// the releases that changed it, oldest first.
type forkSupport []change

// fork starts a fork cell: s from v1.28.0, then the later changes.
func fork(s Support, later ...change) forkSupport {
	return append(forkSupport{{forkFirst, s}}, later...)
}

// from is a change in the fork's support from release tag v (v1.29.0).
func from(v string, s Support) change {
	r, ok := parseRelease(v)
	if !ok {
		panic("capability table: bad release " + v)
	}
	return change{r, s}
}

// at returns the support in release r.
func (f forkSupport) at(r release) Support {
	s := f[0].support
	for _, c := range f[1:] {
		if !r.before(c.since) {
			s = c.support
		}
	}
	return s
}

// Executor is the executor a Dockerfile is checked against.
type Executor struct {
	// Image is the executor image reference as given (or the default).
	Image string
	// Flavor is the capability set the rules use.
	Flavor Flavor
	// Notice is non-empty when the flavour is a guess: an image the table
	// does not know, or a fork release older than the table covers.
	Notice string
	// release is the fork release the tag names; zero means the newest.
	release release
}

// forkRelease is the fork release whose capabilities apply.
func (e Executor) forkRelease() release {
	if e.release == (release{}) {
		return newestFork
	}
	return e.release
}

// Supports reports what this executor does with a feature.
func (e Executor) Supports(f Feature) Support {
	c, ok := capabilityIndex[f]
	if !ok {
		return Works
	}
	return c.support(e)
}

// SkipsUnusedStages reports whether the executor leaves out the stages
// the target does not use when --skip-unused-stages is not given: the
// fork made that the default (osscontainertools/kaniko#100, before
// v1.28); upstream builds every stage before the target.
func (e Executor) SkipsUnusedStages() bool {
	return e.Flavor == Fork
}

// Repositories of the known executor images, as name.Repository.Name()
// spells them (Docker Hub normalised to index.docker.io).
const (
	upstreamRepo   = "gcr.io/kaniko-project/executor"
	forkRepo       = "ghcr.io/osscontainertools/kaniko"
	forkMirrorRepo = "index.docker.io/martizih/kaniko"
)

// ResolveExecutor derives the capability set from the executor image.
// override ("", "upstream" or "fork") wins over the image. Upstream images
// are upstream whatever the tag; fork images are the fork from v1.28 on, and
// for tags that name no version (latest, debug, slim) or a bare digest,
// because those track the fork's newest release. Older fork tags and unknown
// images are checked as upstream, the executor with the fewest features, and
// Notice says so.
func ResolveExecutor(image, override string) (Executor, error) {
	if image == "" {
		image = spec.DefaultExecutorImage
	}
	e := Executor{Image: image}
	// A digest pins the bytes but says nothing about the version: drop it
	// and read the tag, if any.
	base, _, _ := strings.Cut(image, "@")
	tag, tagErr := name.NewTag(base, name.WeakValidation)
	var r release
	var named bool
	if tagErr == nil {
		r, named = parseRelease(tag.TagStr())
	}
	switch Flavor(strings.ToLower(override)) {
	case Upstream:
		e.Flavor = Upstream
		return e, nil
	case Fork:
		// A mirror keeps the fork's tags: the release still counts, and
		// one older than the table is taken as the oldest it knows.
		e.Flavor = Fork
		if named {
			e.release = r
			if r.before(forkFirst) {
				e.release = forkFirst
			}
		}
		return e, nil
	case "":
	default:
		return e, fmt.Errorf("%w %q: use upstream or fork", ErrUnknownFlavor, override)
	}

	if tagErr != nil {
		e.Flavor = Upstream
		e.Notice = fmt.Sprintf("executor image %q is not a valid reference; checking against upstream kaniko v1.24.0 capabilities", image)
		return e, nil
	}
	switch tag.Context().Name() {
	case upstreamRepo:
		e.Flavor = Upstream
		return e, nil
	case forkRepo, forkMirrorRepo:
	default:
		e.Flavor = Upstream
		e.Notice = fmt.Sprintf("executor image %q is not one kanikorun knows; checking against upstream kaniko v1.24.0 capabilities", image)
		return e, nil
	}
	// Tags that name no release (latest, debug, none beside a digest)
	// track the newest.
	if !named || !r.before(forkFirst) {
		e.Flavor, e.release = Fork, r
		return e, nil
	}
	e.Flavor = Upstream
	e.Notice = fmt.Sprintf("fork release %q predates v%d.%d, the first one kanikorun knows; checking against upstream kaniko v1.24.0 capabilities", tag.TagStr(), forkFirst.major, forkFirst.minor)
	return e, nil
}

// parseRelease reads a release tag such as v1.28.3, 1.27.0-debug or
// v1.28 (patch 0); ok is false for tags that name no version (latest,
// debug, slim).
func parseRelease(tag string) (r release, ok bool) {
	t := strings.TrimPrefix(strings.ToLower(tag), "v")
	t, _, _ = strings.Cut(t, "-")
	parts := strings.Split(t, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return release{}, false
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || p[0] < '0' || p[0] > '9' {
			return release{}, false
		}
		n[i] = v
	}
	return release{n[0], n[1], n[2]}, true
}
