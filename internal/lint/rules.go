package lint

import (
	"fmt"
	"io"
	"strings"
)

// Rule IDs. They are stable: tools, --ignore flags and
// `# kanikorun:ignore=` comments refer to them, so an ID is never reused.
const (
	RuleParse           = "KR001"
	RuleDirective       = "KR002"
	RuleRunHeredoc      = "KR003"
	RuleCopyHeredoc     = "KR004"
	RuleMountSecret     = "KR005"
	RuleMountOther      = "KR006"
	RuleRunFlags        = "KR007"
	RuleExclude         = "KR008"
	RuleParents         = "KR009"
	RuleFromPlatform    = "KR010"
	RuleMountedDest     = "KR011"
	RuleMountedRun      = "KR012"
	RuleSourceMissing   = "KR013"
	RuleSourceIgnored   = "KR014"
	RuleFromArg         = "KR015"
	RuleTarget          = "KR016"
	RuleStageRef        = "KR017"
	RuleUnusedStage     = "KR018"
	RuleURLChecksum     = "KR019"
	RuleChecksumLocal   = "KR020"
	RuleUnknownExecutor = "KR021"
	RuleParserWarning   = "KR022"
	RuleIgnoreComment   = "KR023"
	RuleExecFormJSON    = "KR024"
	RuleKanikoDir       = "KR025"
)

// Rule describes one check for documentation and for validating --ignore.
type Rule struct {
	// ID is the stable rule ID.
	ID string
	// Catches says what the rule catches.
	Catches string
	// Fix says how to make the finding go away.
	Fix string
	// severity is the fixed severity of rules that do not depend on the
	// executor.
	severity Severity
	// severityDoc, when set, is the severity column for rules whose
	// severity depends on the case.
	severityDoc string
}

// rules is the documentation table, in ID order. Severities of the
// capability rules come from the capability table, not from here.
var rules = []Rule{
	{ID: RuleParse, severity: Error,
		Catches: "Dockerfile (or .dockerignore) that BuildKit's parser rejects: syntax error, unknown instruction, unknown flag, bad `--mount`",
		Fix:     "fix the line the parser names; an unknown instruction meant to continue the line above is said to be one (a `\\` line end under `` # escape=` ``, or a lower-case word indented under a line not ending in the escape character)"},
	{ID: RuleDirective, severity: Info,
		Catches: "`# syntax=` or `# check=` parser directive: kaniko ignores both",
		Fix:     "nothing to do for kaniko; keep it for BuildKit users or remove it"},
	{ID: RuleRunHeredoc,
		Catches: "heredoc in `RUN` (upstream runs `/bin/sh -c` without the body and exits 0: wrong image); on the fork, a heredoc whose delimiter is quoted (`RUN <<'EOF'`), which it skips with exit 0",
		Fix:     "write the script inline with `&&` and `\\` continuations, or use the fork (`--executor-image " + ForkImage + "`) with an unquoted delimiter (`<<EOF`, escaping `$` where needed)"},
	{ID: RuleCopyHeredoc,
		Catches: "heredoc in `COPY`/`ADD` (upstream exits 1, `resolved envs is empty`)",
		Fix:     "put the content in a file in the context and COPY it, or use the fork"},
	{ID: RuleMountSecret,
		Catches: "`RUN --mount=type=secret|ssh` the executor does not provide: the step runs without the secret (on the fork: a secret it is not given with its `--secret` flag)",
		Fix:     "secret: use the fork and give kanikorun the secret from this machine (`kanikorun build --secret id=ID,src=FILE` or `id=ID,env=VAR`; an executor `--secret` after `--` counts too, but names a path inside the container); ssh: fetch with a token secret instead"},
	{ID: RuleMountOther,
		Catches: "`RUN --mount=type=cache|bind|tmpfs` the executor ignores: the step runs without the mount",
		Fix:     "cache: use the fork or drop the mount (slower builds only); bind: COPY the files in an earlier step (or use the fork, for a bind from the context); tmpfs: drop it and clean up in the same RUN"},
	{ID: RuleRunFlags,
		Catches: "`RUN --network`, `--security`, `--device`: ignored, the step runs with the executor's own network and privileges",
		Fix:     "remove the flag; do not rely on `--network=none` isolation under kaniko"},
	{ID: RuleExclude,
		Catches: "`COPY --exclude`/`ADD --exclude` (upstream: `unknown flag`; fork: excluded files are copied)",
		Fix:     "list what to copy explicitly, or exclude the files in `.dockerignore`"},
	{ID: RuleParents,
		Catches: "`COPY --parents` (upstream: `unknown flag`; fork: parent directories dropped)",
		Fix:     "COPY each directory to its full destination path"},
	{ID: RuleFromPlatform,
		Catches: "`FROM --platform=...` (ignored: the image is built for the executor's platform); `$BUILDPLATFORM`/`$TARGETPLATFORM` are not reported",
		Fix:     "remove `--platform` and pass the executor flag `--custom-platform=<os/arch>`"},
	{ID: RuleMountedDest, severity: Error,
		Catches: "`WORKDIR`, `COPY`/`ADD` destination or `VOLUME` under `/workspace` (mounted read-only, for a local build and in kanikorun's Job alike) or `/kaniko` (never in the image); also a `WORKDIR` the context already has, which kaniko need not create but which is missing from the image, with every later write to it failing",
		Fix:     "use another directory, e.g. `/app` or `/src`"},
	{ID: RuleMountedRun, severity: Error,
		Catches: "`RUN` that visibly writes under `/workspace` or `/kaniko` (redirection, `mkdir`, `touch`, `cp`/`mv`/`ln` target, `rm`, `chmod`, `sed -i`, `curl -o`, ...)",
		Fix:     "write somewhere else, e.g. `/app` or `/tmp`"},
	{ID: RuleSourceMissing, severity: Error,
		severityDoc: "error; warning for a wildcard when the whole instruction copies nothing",
		Catches:     "`COPY`/`ADD` source that matches nothing in the context: a plain name (kaniko stops, or leaves it out silently when another source has a wildcard), an invalid wildcard, or wildcards with which the instruction copies nothing (kaniko and BuildKit accept that)",
		Fix:         "fix the path (sources are relative to the context root) or add the file"},
	{ID: RuleSourceIgnored, severity: Error,
		severityDoc: "error; warning for a wildcard or a directory when the whole instruction copies nothing",
		Catches:     "`COPY`/`ADD` source excluded by the ignore file kaniko reads (`<Dockerfile>.dockerignore`, else `.dockerignore`): a plain name (kaniko copies nothing for it, docker build fails), or wildcards and directories with which the instruction copies nothing",
		Fix:         "remove the pattern from the ignore file or add an exception (`!path`)"},
	{ID: RuleFromArg, severity: Error,
		severityDoc: "error when the empty value leaves no base or an invalid reference; warning when it is still valid",
		Catches:     "`ARG` used in `FROM` with no default and no `--build-arg`: it expands to the empty string, as in docker (`FROM ${REPO}busybox` builds `busybox`)",
		Fix:         "give the ARG a default (`ARG NAME=value`, or `ARG NAME=` if empty is meant) or pass `--build-arg NAME=value`"},
	{ID: RuleTarget, severity: Error,
		Catches: "`--target` naming no stage; on upstream, a comma-separated list (`--target a,b`), which only the fork accepts (it builds every stage named and pushes the first)",
		Fix:     "pass the name of a stage (`FROM ... AS name`); for several, use the fork"},
	{ID: RuleStageRef, severity: Error,
		severityDoc: "error; warning for a stage name used twice, and for a bare image name close to an earlier stage's",
		Catches:     "`FROM` or `COPY --from` naming neither an earlier stage nor a valid image reference (includes stage indexes out of range and stages defined later); two stages with one name; a bare name such as `build` that names no stage but is within one letter (two from five letters on) of, or the start of, the name of an earlier stage that nothing uses (`builddocker`): kaniko pulls it as an image (Docker's official image names excepted)",
		Fix:         "name an earlier stage or a valid image reference; give each stage its own name"},
	{ID: RuleUnusedStage, severity: Info,
		Catches: "stage before the target that the target does not use (upstream kaniko still builds it; the fork skips it unless given `--skip-unused-stages=false`)",
		Fix:     "remove the stage, or pass the executor flag `--skip-unused-stages`"},
	{ID: RuleURLChecksum, severity: Info,
		Catches: "`ADD <url>` without `--checksum`",
		Fix:     "add `--checksum=sha256:<digest>` so a changed download fails the build"},
	{ID: RuleChecksumLocal,
		Catches: "`ADD --checksum` on a local source: the checksum is not verified",
		Fix:     "remove `--checksum`; verify the file in a RUN step if needed"},
	{ID: RuleUnknownExecutor, severity: Info,
		Catches: "executor image kanikorun does not know (or a fork release before v1.28): checked as upstream v1.24.0",
		Fix:     "pass `--executor-flavor upstream` or `--executor-flavor fork`"},
	{ID: RuleParserWarning, severity: Info,
		Catches: "warning from BuildKit's parser, e.g. an empty continuation line",
		Fix:     "follow the linked BuildKit rule"},
	{ID: RuleIgnoreComment, severity: Warning,
		Catches: "`# kanikorun:` comment that silences nothing: not `kanikorun:ignore=ID[,ID]`, or naming an ID that is no rule",
		Fix:     "write `# kanikorun:ignore=ID[,ID]` with IDs from this table"},
	{ID: RuleExecFormJSON, severity: Warning,
		Catches: "`CMD`, `ENTRYPOINT`, `RUN` or `HEALTHCHECK CMD` written as an exec-form array that is not valid JSON (text after the `]`, such as a `# comment`, which a Dockerfile only knows at the start of a line; single or typographic quotes; a trailing comma): the parser takes it as shell form, so `/bin/sh -c '[\"serve\", ...]'` runs and fails when the container starts, with kaniko as with docker",
		Fix:     "make it a JSON array of double-quoted strings and nothing after the `]`, or write the shell form without brackets"},
	{ID: RuleKanikoDir, severity: Warning,
		severityDoc: "warning; error for another spelling of `/kaniko` (`/kaniko/`), which the executor copies onto itself and removes",
		Catches:     "executor flag `--kaniko-dir` naming another directory than `/kaniko` without `KANIKO_DIR` set to it: the executor moves `/kaniko` there and removes it, but leaves only `$KANIKO_DIR` (still `/kaniko`) out of the image and of the clean-up between stages, so a multi-stage build deletes the moved directory, credentials included, before the push; and the executor images' `SSL_CERT_DIR=/kaniko/ssl/certs` is gone, so HTTPS registries fail their certificate check (kaniko's source: `checkKanikoDir`, `config.KanikoDir`)",
		Fix:         "leave `--kaniko-dir` out; where the directory must move, give the executor `KANIKO_DIR` and `SSL_CERT_DIR` (`<dir>/ssl/certs`) in its environment too"},
}

var ruleIndex = func() map[string]*Rule {
	m := make(map[string]*Rule, len(rules))
	for i := range rules {
		m[rules[i].ID] = &rules[i]
	}
	return m
}()

// Rules returns the rules in ID order.
func Rules() []Rule {
	return append([]Rule(nil), rules...)
}

// severityText renders a rule's severity for one flavour for the README:
// fixed, or from the capability rows the rule reports.
func (r Rule) severityText(f Flavor) string {
	if r.severityDoc != "" {
		return r.severityDoc
	}
	var rows []*capability
	for i := range capabilities {
		if capabilities[i].rule == r.ID {
			rows = append(rows, &capabilities[i])
		}
	}
	if len(rows) == 0 {
		return r.severity.String()
	}
	bySev := map[Severity][]string{}
	var works []string
	for _, c := range rows {
		name := "`" + string(c.feature) + "`"
		if c.support(Executor{Flavor: f}) == Works {
			if c.condition != "" {
				name += " " + c.condition
			}
			works = append(works, name)
			continue
		}
		bySev[c.severity] = append(bySev[c.severity], name)
	}
	if len(works) == len(rows) {
		return "— (works)"
	}
	var parts []string
	for _, s := range []Severity{Error, Warning, Info} {
		feats := bySev[s]
		if len(feats) == 0 {
			continue
		}
		if len(feats) == len(rows) {
			parts = append(parts, s.String())
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %s", s, strings.Join(feats, ", ")))
	}
	if len(works) > 0 {
		parts = append(parts, "works: "+strings.Join(works, ", "))
	}
	return strings.Join(parts, "; ")
}

// WriteRuleTable writes the rule table as Markdown for the README, with the
// severities the capability table gives each flavour.
func WriteRuleTable(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| ID | upstream (v1.24.0) | fork (v1.28+) | catches | fix |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, r := range rules {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.ID,
			escapeCell(r.severityText(Upstream)), escapeCell(r.severityText(Fork)),
			escapeCell(r.Catches), escapeCell(r.Fix))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func escapeCell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}
