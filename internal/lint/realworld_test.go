package lint

import (
	"bytes"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/lint")

// realWorld are Dockerfiles of the kind people write, each in its own
// context under testdata/lint. ids lists the rules each run must report
// (the golden file pins the exact text).
var realWorld = []struct {
	dir      string
	opts     Options
	upstream []string
	fork     []string
}{
	{dir: "go-multistage",
		upstream: []string{RuleMountOther, RuleUnusedStage},
		fork:     []string{RuleUnusedStage}},
	{dir: "go-multistage", opts: Options{Target: "test"},
		upstream: []string{RuleMountOther},
		fork:     nil},
	{dir: "node"},
	{dir: "python",
		upstream: []string{RuleMountOther}},
	{dir: "distroless"},
	{dir: "buildkit-modern",
		upstream: []string{RuleDirective, RuleRunHeredoc, RuleCopyHeredoc, RuleMountSecret, RuleMountOther, RuleExclude, RuleParents, RuleURLChecksum},
		fork:     []string{RuleDirective, RuleMountSecret, RuleExclude, RuleParents, RuleURLChecksum}},
	{dir: "buildkit-modern", opts: Options{Secrets: []string{"netrc"}},
		upstream: []string{RuleDirective, RuleRunHeredoc, RuleCopyHeredoc, RuleMountSecret, RuleMountOther, RuleExclude, RuleParents, RuleURLChecksum},
		fork:     []string{RuleDirective, RuleExclude, RuleParents, RuleURLChecksum}},
	{dir: "workspace-ml",
		upstream: []string{RuleMountedDest, RuleMountedRun},
		fork:     []string{RuleMountedDest, RuleMountedRun}},
	{dir: "broken", opts: Options{BuildArgs: []string{"APP_VERSION=2.0"}},
		upstream: []string{RuleParse, RuleSourceMissing, RuleSourceIgnored, RuleFromArg, RuleStageRef, RuleUnusedStage, RuleChecksumLocal},
		fork:     []string{RuleParse, RuleSourceMissing, RuleSourceIgnored, RuleFromArg, RuleStageRef, RuleUnusedStage, RuleChecksumLocal}},
}

func TestRealWorld(t *testing.T) {
	t.Parallel()
	for _, tc := range realWorld {
		name := tc.dir
		if tc.opts.Target != "" {
			name += "-target-" + tc.opts.Target
		}
		if len(tc.opts.Secrets) > 0 {
			name += "-secrets"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join("..", "..", "testdata", "lint", tc.dir)
			var out bytes.Buffer
			runs := []struct {
				flavor Flavor
				mode   Mode
				want   []string
			}{
				{Upstream, Local, tc.upstream},
				{Fork, Local, tc.fork},
				{Fork, Job, tc.fork},
			}
			for _, run := range runs {
				o := tc.opts
				o.Dockerfile = filepath.Join(dir, "Dockerfile")
				o.DisplayName = "Dockerfile"
				o.Context = dir
				o.Flavor = string(run.flavor)
				o.Mode = run.mode
				r, err := Lint(o)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, f := range r.Findings {
					if !slices.Contains(ids, f.ID) {
						ids = append(ids, f.ID)
					}
				}
				slices.Sort(ids)
				want := slices.Clone(run.want)
				slices.Sort(want)
				if !slices.Equal(ids, want) {
					t.Errorf("%s/%s: rules = %v, want %v", run.flavor, run.mode, ids, want)
				}
				if run.mode == Job {
					// kanikorun's Job mounts the workspace read-only: a
					// write there fails as it does locally.
					for _, f := range r.Findings {
						if f.ID == RuleMountedDest || f.ID == RuleMountedRun {
							if f.Severity != Error || strings.Contains(f.Message, "succeeds") {
								t.Errorf("job mode: %v is not an error about a failing write", f)
							}
						}
					}
				}
				fmt.Fprintf(&out, "## %s, %s\n", run.flavor, run.mode)
				if err := WriteText(&out, r.Findings); err != nil {
					t.Fatal(err)
				}
			}
			golden(t, filepath.Join(dir, "..", "golden", name+".txt"), out.Bytes())
		})
	}
}
