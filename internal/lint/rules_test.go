package lint

import (
	"strings"
	"testing"

	"github.com/kanikorun/kanikorun/internal/testfs"
)

// none marks "this flavour reports nothing for the rule".
const none Severity = -1

// writeContext creates a build context holding files (path -> content; a
// path ending in / is an empty directory).
func writeContext(t testing.TB, files map[string]string) string {
	t.Helper()
	return testfs.WriteTree(t, t.TempDir(), files)
}

func lintString(t testing.TB, src string, o Options) []Finding {
	t.Helper()
	r, err := LintSource([]byte(src), o)
	if err != nil {
		t.Fatalf("LintSource: %v", err)
	}
	return r.Findings
}

func withID(fs []Finding, id string) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.ID == id {
			out = append(out, f)
		}
	}
	return out
}

// ruleCase is one rule on a minimal Dockerfile that must fire and on the
// nearest valid Dockerfile that must stay quiet.
type ruleCase struct {
	name     string
	id       string
	bad      string
	good     string
	forkGood string            // the nearest valid Dockerfile on the fork, when it differs
	files    map[string]string // context; nil means no context checks
	opts     Options           // Target, BuildArgs, Mode
	upstream Severity          // severity on upstream, or none
	fork     Severity          // severity on the fork, or none
}

var ruleCases = []ruleCase{
	{name: "exec form that is not JSON", id: RuleExecFormJSON, upstream: Warning, fork: Warning,
		bad:  "FROM alpine\nCMD [\"serve\", \"-s\", \"dist\"]  # serve the site\n",
		good: "FROM alpine\n# serve the site\nCMD [\"serve\", \"-s\", \"dist\"]\n"},
	{name: "unknown instruction", id: RuleParse, upstream: Error, fork: Error,
		bad:  "FROM alpine\nCOPPY a /a\n",
		good: "FROM alpine\nCOPY a /a\n", files: map[string]string{"a": ""}},
	{name: "unknown flag", id: RuleParse, upstream: Error, fork: Error,
		bad:  "FROM alpine\nCOPY --chmodd=755 a /a\n",
		good: "FROM alpine\nCOPY --chmod=755 a /a\n"},
	{name: "unterminated heredoc", id: RuleParse, upstream: Error, fork: Error,
		bad:  "FROM alpine\nRUN <<EOF\necho hi\n",
		good: "FROM alpine\nRUN echo hi\n"},
	{name: "instruction before FROM", id: RuleParse, upstream: Error, fork: Error,
		bad:  "RUN echo hi\nFROM alpine\n",
		good: "ARG X=1\nFROM alpine\n"},
	{name: "empty file", id: RuleParse, upstream: Error, fork: Error,
		bad:  "# only a comment\n",
		good: "# a comment\nFROM alpine\n"},
	{name: "bad mount", id: RuleParse, upstream: Error, fork: Error,
		bad:  "FROM alpine\nRUN --mount=type=nfs,target=/x true\n",
		good: "FROM alpine\nRUN true\n"},
	{name: "syntax directive", id: RuleDirective, upstream: Info, fork: Info,
		bad:  "# syntax=docker/dockerfile:1\nFROM alpine\n",
		good: "# escape=\\\nFROM alpine\n"},
	{name: "check directive", id: RuleDirective, upstream: Info, fork: Info,
		bad:  "# check=skip=all\nFROM alpine\n",
		good: "FROM alpine\n# check=skip=all\nRUN true\n"},
	{name: "heredoc in RUN", id: RuleRunHeredoc, upstream: Error, fork: none,
		bad:  "FROM alpine\nRUN <<EOF\necho hi\nEOF\n",
		good: "FROM alpine\nRUN echo hi\n"},
	// The fork skips a RUN whose heredoc delimiter is quoted, exit 0
	// (measured, fork issue 1025).
	{name: "quoted heredoc in RUN", id: RuleRunHeredoc, upstream: Error, fork: Error,
		bad:      "FROM alpine\nRUN <<'EOF'\necho $HOME > /tmp/x\nEOF\n",
		good:     "FROM alpine\nRUN echo \\$HOME > /tmp/x\n",
		forkGood: "FROM alpine\nRUN <<EOF\necho \\$HOME > /tmp/x\nEOF\n"},
	{name: "double-quoted heredoc with dash", id: RuleRunHeredoc, upstream: Error, fork: Error,
		bad:      "FROM alpine\nRUN <<-\"EOF\"\n\techo hi\n\tEOF\n",
		good:     "FROM alpine\nRUN echo hi\n",
		forkGood: "FROM alpine\nRUN <<-EOF\n\techo hi\n\tEOF\n"},
	{name: "heredoc in COPY", id: RuleCopyHeredoc, upstream: Error, fork: none,
		bad:  "FROM alpine\nCOPY <<EOF /etc/motd\nhello\nEOF\n",
		good: "FROM alpine\nCOPY motd /etc/motd\n", files: map[string]string{"motd": "hello"}},
	{name: "heredoc in ADD", id: RuleCopyHeredoc, upstream: Error, fork: none,
		bad:  "FROM alpine\nADD <<EOF /etc/motd\nhello\nEOF\n",
		good: "FROM alpine\nADD motd /etc/motd\n"},
	{name: "secret mount", id: RuleMountSecret, upstream: Error, fork: Error,
		bad:  "FROM alpine\nRUN --mount=type=secret,id=token cat /run/secrets/token\n",
		good: "FROM alpine\nRUN cat /etc/hostname\n"},
	{name: "secret mount given", id: RuleMountSecret, upstream: Error, fork: none, opts: Options{Secrets: []string{"token", ".npmrc"}},
		bad:      "FROM alpine\nRUN --mount=type=secret,id=token cat /run/secrets/token\n",
		good:     "FROM alpine\nRUN npm ci\n",
		forkGood: "FROM alpine\nRUN --mount=type=secret,target=/root/.npmrc npm ci\n"},
	{name: "required secret not given", id: RuleMountSecret, upstream: Error, fork: Error, opts: Options{Secrets: []string{"token"}},
		bad:      "FROM alpine\nRUN --mount=type=secret,id=npmrc,required npm ci\n",
		good:     "FROM alpine\nRUN npm ci\n",
		forkGood: "FROM alpine\nRUN --mount=type=secret,id=token,required npm ci\n"},
	{name: "ssh mount", id: RuleMountSecret, upstream: Error, fork: Error,
		bad:  "FROM alpine\nRUN --mount=type=ssh git clone git@example.com:x/y.git\n",
		good: "FROM alpine\nRUN git clone https://example.com/x/y.git\n"},
	{name: "cache mount", id: RuleMountOther, upstream: Warning, fork: none,
		bad:  "FROM golang\nRUN --mount=type=cache,target=/root/.cache/go-build go build ./...\n",
		good: "FROM golang\nRUN go build ./...\n"},
	{name: "cache mount with variable target", id: RuleMountOther, upstream: Warning, fork: none,
		bad:  "FROM golang\nARG CACHE=/root/.cache\nRUN --mount=type=cache,target=${CACHE} go build ./...\n",
		good: "FROM golang\nARG CACHE=/root/.cache\nRUN go build ./...\n"},
	// The fork bind-mounts from the context by default from v1.28.0
	// (FF_KANIKO_RUN_MOUNT_BIND=true), not from another stage.
	{name: "bind mount", id: RuleMountOther, upstream: Warning, fork: none,
		bad:  "FROM golang\nRUN --mount=target=/src go build ./...\n",
		good: "FROM golang\nCOPY . /src\nRUN go build ./...\n"},
	{name: "typed bind mount", id: RuleMountOther, upstream: Warning, fork: none,
		bad:  "FROM golang\nRUN --mount=type=bind,source=go.mod,target=/src/go.mod go mod download\n",
		good: "FROM golang\nCOPY go.mod /src/\nRUN go mod download\n"},
	{name: "bind mount from a stage", id: RuleMountOther, upstream: Warning, fork: Warning,
		bad:      "FROM golang AS build\nRUN go build -o /out/app\nFROM alpine\nRUN --mount=type=bind,from=build,source=/out,target=/mnt cp /mnt/app /usr/bin/\n",
		good:     "FROM golang AS build\nRUN go build -o /out/app\nFROM alpine\nCOPY --from=build /out/app /usr/bin/\n",
		forkGood: "FROM golang AS build\nRUN go build -o /out/app\nFROM alpine\nRUN --mount=type=bind,source=app,target=/mnt/app cp /mnt/app /usr/bin/\n"},
	{name: "tmpfs mount", id: RuleMountOther, upstream: Warning, fork: Warning,
		bad:  "FROM alpine\nRUN --mount=type=tmpfs,target=/tmp make\n",
		good: "FROM alpine\nRUN make && rm -rf /tmp/*\n"},
	{name: "network none", id: RuleRunFlags, upstream: Warning, fork: Warning,
		bad:  "FROM alpine\nRUN --network=none make test\n",
		good: "FROM alpine\nRUN --network=default make test\n"},
	{name: "security insecure", id: RuleRunFlags, upstream: Warning, fork: Warning,
		bad:  "FROM alpine\nRUN --security=insecure make test\n",
		good: "FROM alpine\nRUN --security=sandbox make test\n"},
	{name: "device", id: RuleRunFlags, upstream: Warning, fork: Warning,
		bad:  "FROM alpine\nRUN --device=/dev/fuse make\n",
		good: "FROM alpine\nRUN make\n"},
	{name: "copy exclude", id: RuleExclude, upstream: Error, fork: Error,
		bad:  "FROM alpine\nCOPY --exclude=*.md . /src/\n",
		good: "FROM alpine\nCOPY . /src/\n"},
	{name: "add exclude", id: RuleExclude, upstream: Error, fork: Error,
		bad:  "FROM alpine\nADD --exclude=*.md . /src/\n",
		good: "FROM alpine\nADD . /src/\n"},
	{name: "copy parents", id: RuleParents, upstream: Error, fork: Error,
		bad:  "FROM alpine\nCOPY --parents sub/s.txt /out/\n",
		good: "FROM alpine\nCOPY --parents=false sub/s.txt /out/sub/\n"},
	{name: "from platform", id: RuleFromPlatform, upstream: Warning, fork: Warning,
		bad:  "FROM --platform=linux/arm64 alpine\n",
		good: "FROM --platform=$BUILDPLATFORM alpine\n"},
	{name: "workdir under workspace", id: RuleMountedDest, upstream: Error, fork: Error,
		bad:  "FROM alpine\nWORKDIR /workspace/app\n",
		good: "FROM alpine\nWORKDIR /workspaces/app\n"},
	// kanikorun's Job mounts the workspace claim read-only too.
	{name: "workdir under workspace, job", id: RuleMountedDest, upstream: Error, fork: Error, opts: Options{Mode: Job},
		bad:  "FROM alpine\nWORKDIR /workspace\n",
		good: "FROM alpine\nWORKDIR /app\n"},
	{name: "relative workdir", id: RuleMountedDest, upstream: Error, fork: Error,
		bad:  "FROM alpine\nWORKDIR /\nWORKDIR workspace/app\n",
		good: "FROM alpine\nWORKDIR /\nWORKDIR app\n"},
	// kaniko creates a WORKDIR only when it is missing: /workspace and the
	// context's own directories exist in the executor, so nothing is
	// written to the read-only mount and the build goes on.
	{name: "workdir at the mount", id: RuleMountedDest, upstream: Error, fork: Error,
		bad:  "FROM alpine\nWORKDIR /workspace\n",
		good: "FROM alpine\nWORKDIR /app\n"},
	{name: "workdir existing in the context", id: RuleMountedDest, upstream: Error, fork: Error,
		files: map[string]string{"src/main.py": "", "notes": ""},
		bad:   "FROM python\nWORKDIR /workspace/src\n",
		good:  "FROM python\nWORKDIR /src\n"},
	{name: "workdir under the mount through a file", id: RuleMountedDest, upstream: Error, fork: Error,
		files: map[string]string{"src/main.py": "", "notes": ""},
		bad:   "FROM python\nWORKDIR /workspace/notes\n",
		good:  "FROM python\nWORKDIR /notes\n"},
	{name: "workdir under kaniko", id: RuleMountedDest, upstream: Error, fork: Error,
		bad:  "FROM alpine\nWORKDIR /kaniko/app\n",
		good: "FROM alpine\nWORKDIR /opt/kaniko/app\n"},
	{name: "copy destination under kaniko", id: RuleMountedDest, upstream: Error, fork: Error,
		bad:  "FROM alpine\nCOPY a /kaniko/a\n",
		good: "FROM alpine\nCOPY a /opt/kaniko/a\n"},
	{name: "relative copy destination", id: RuleMountedDest, upstream: Error, fork: Error,
		bad:  "FROM scratch\nENV DIR=/workspace\nWORKDIR ${DIR}/app\nCOPY a .\n",
		good: "FROM scratch\nENV DIR=/srv\nWORKDIR ${DIR}/app\nCOPY a .\n"},
	{name: "add destination", id: RuleMountedDest, upstream: Error, fork: Error, opts: Options{Mode: Job},
		bad:  "FROM alpine\nADD a /workspace/\n",
		good: "FROM alpine\nADD a /srv/\n"},
	{name: "volume", id: RuleMountedDest, upstream: Error, fork: Error,
		bad:  "FROM alpine\nVOLUME [\"/data\", \"/workspace/cache\"]\n",
		good: "FROM alpine\nVOLUME [\"/data\", \"/cache\"]\n"},
	{name: "volume under kaniko", id: RuleMountedDest, upstream: Error, fork: Error,
		bad:  "FROM alpine\nVOLUME [\"/data\", \"/kaniko/cache\"]\n",
		good: "FROM alpine\nVOLUME [\"/data\", \"/cache\"]\n"},
	{name: "run redirect", id: RuleMountedRun, upstream: Error, fork: Error,
		bad:  "FROM alpine\nRUN echo built > /workspace/stamp\n",
		good: "FROM alpine\nRUN echo \"built > /workspace/stamp\" > /tmp/stamp && cat /workspace/stamp\n"},
	{name: "run mkdir, job", id: RuleMountedRun, upstream: Error, fork: Error, opts: Options{Mode: Job},
		bad:  "FROM alpine\nRUN set -e; mkdir -p /workspace/out\n",
		good: "FROM alpine\nRUN set -e; mkdir -p /out; ls /workspace\n"},
	// mkdir -p of a directory that exists succeeds on a read-only mount.
	{name: "run mkdir -p", id: RuleMountedRun, upstream: Error, fork: Error,
		files: map[string]string{"src/train.py": ""},
		bad:   "FROM python\nRUN mkdir -p /workspace/src/out\n",
		good:  "FROM python\nRUN mkdir -p /workspace /workspace/src && mkdir --parents /kaniko\n"},
	{name: "run rm", id: RuleMountedRun, upstream: Error, fork: Error,
		bad:  "FROM alpine\nRUN rm -rf /workspace/*\n",
		good: "FROM alpine\nRUN rm -rf /tmp/*\n"},
	{name: "run cp target", id: RuleMountedRun, upstream: Error, fork: Error,
		bad:  "FROM alpine\nRUN cp /etc/hosts /workspace/\n",
		good: "FROM alpine\nRUN cp /workspace/hosts /etc/\n"},
	{name: "run touch reference", id: RuleMountedRun, upstream: Error, fork: Error,
		bad:  "FROM alpine\nRUN touch /kaniko/marker\n",
		good: "FROM alpine\nRUN touch -r /kaniko/marker /tmp/marker\n"},
	{name: "run sh -c", id: RuleMountedRun, upstream: Error, fork: Error,
		bad:  "FROM alpine\nRUN [\"sh\", \"-c\", \"date >> /workspace/log\"]\n",
		good: "FROM alpine\nRUN [\"sh\", \"-c\", \"date >> /var/log/build\"]\n"},
	{name: "run variable", id: RuleMountedRun, upstream: Error, fork: Error,
		bad:  "FROM alpine\nENV OUT=/workspace/out\nRUN curl -fsSLo $OUT/x https://example.com/x\n",
		good: "FROM alpine\nRUN curl -fsSLo $OUT/x https://example.com/x\n"},
	{name: "run sed -i", id: RuleMountedRun, upstream: Error, fork: Error,
		bad:  "FROM alpine\nRUN sed -i 's/a/b/' /workspace/config\n",
		good: "FROM alpine\nRUN sed 's/a/b/' /workspace/config > /etc/config\n"},
	{name: "run heredoc body", id: RuleMountedRun, upstream: Error, fork: Error,
		bad:  "FROM alpine\nRUN <<EOF\nset -e\ntouch /workspace/x\nEOF\n",
		good: "FROM alpine\nRUN <<EOF\nset -e\ncat /workspace/x\nEOF\n"},
	{name: "missing source", id: RuleSourceMissing, upstream: Error, fork: Error,
		files: map[string]string{"app.py": ""},
		bad:   "FROM python\nCOPY main.py /app/\n",
		good:  "FROM python\nCOPY app.py /app/\n"},
	// kaniko (IsSrcsValid, v1.23 on) and BuildKit accept wildcards that
	// match nothing; kaniko only logs "No files to copy" when the whole
	// instruction copies nothing.
	{name: "wildcard instruction copies nothing", id: RuleSourceMissing, upstream: Warning, fork: Warning,
		files: map[string]string{"src/main.go": "", "go.mod": ""},
		bad:   "FROM golang\nCOPY src/*.c /src/\n",
		good:  "FROM golang\nCOPY src/*.go go.* src/*.c /src/\n"},
	{name: "node lock file idiom", id: RuleSourceMissing, upstream: none, fork: none,
		files: map[string]string{"package.json": "", "src/index.js": ""},
		bad:   "FROM node\nCOPY package*.json yarn.lock* pnpm-lock.yaml* ./\n",
		good:  "FROM node\nCOPY package.json ./\n"},
	{name: "optional file next to a URL", id: RuleSourceMissing, upstream: none, fork: none,
		files: map[string]string{"a": ""},
		bad:   "FROM alpine\nADD https://example.com/x.tgz extra[s] /opt/\n",
		good:  "FROM alpine\nADD a /opt/\n"},
	// With a wildcard anywhere, kaniko matches every source against the
	// context and drops a plain name that matches nothing; docker build
	// fails on it.
	{name: "missing plain source next to a wildcard", id: RuleSourceMissing, upstream: Error, fork: Error,
		files: map[string]string{"package.json": ""},
		bad:   "FROM node\nCOPY package*.json tsconfig.json ./\n",
		good:  "FROM node\nCOPY package*.json tsconfig.jso[n] ./\n"},
	{name: "invalid wildcard", id: RuleSourceMissing, upstream: Error, fork: Error,
		files: map[string]string{"a[1": ""},
		bad:   "FROM alpine\nCOPY a[1 /x/\n",
		good:  "FROM alpine\nCOPY a[[]1 /x/\n"},
	{name: "missing source through a file", id: RuleSourceMissing, upstream: Error, fork: Error,
		files: map[string]string{"go.mod": ""},
		bad:   "FROM golang\nCOPY go.mod/x /src/\n",
		good:  "FROM golang\nCOPY /go.mod /src/\n"},
	{name: "ignored source", id: RuleSourceIgnored, upstream: Error, fork: Error,
		files: map[string]string{".dockerignore": "*.env\n", "prod.env": "", "app.py": ""},
		bad:   "FROM python\nCOPY prod.env /app/\n",
		good:  "FROM python\nCOPY app.py /app/\n"},
	{name: "ignored directory", id: RuleSourceIgnored, upstream: Error, fork: Error,
		files: map[string]string{".dockerignore": "docs\n!docs/README.md\n", "docs/a.md": "", "docs/README.md": "", "static/a.md": "", "static/.keep": ""},
		bad:   "FROM nginx\nCOPY docs/a.md /usr/share/nginx/html/\n",
		good:  "FROM nginx\nCOPY docs /usr/share/nginx/html/\n"},
	// A directory that is not excluded itself is copied even when all
	// its content is (as an empty directory): both builders go on.
	{name: "directory with all content ignored", id: RuleSourceIgnored, upstream: Warning, fork: Warning,
		files: map[string]string{".dockerignore": "static/*.md\nstatic/.keep\n", "static/a.md": "", "static/.keep": "", "public/a.md": ""},
		bad:   "FROM nginx\nCOPY static/ /usr/share/nginx/html/\n",
		good:  "FROM nginx\nCOPY static/ public/ /usr/share/nginx/html/\n"},
	{name: "wildcard all ignored", id: RuleSourceIgnored, upstream: Warning, fork: Warning,
		files: map[string]string{".dockerignore": "*.env\n", "a.env": "", "b.env": "", "a.txt": ""},
		bad:   "FROM alpine\nCOPY *.env /etc/\n",
		good:  "FROM alpine\nCOPY *.env a.* /etc/\n"},
	{name: "ignored plain source next to a wildcard", id: RuleSourceIgnored, upstream: Error, fork: Error,
		files: map[string]string{".dockerignore": "*.env\n", "a.env": "", "a.txt": ""},
		bad:   "FROM alpine\nCOPY *.txt a.env /etc/\n",
		good:  "FROM alpine\nCOPY *.txt *.env /etc/\n"},
	{name: "from arg without value", id: RuleFromArg, upstream: Error, fork: Error,
		bad:  "ARG VERSION\nFROM alpine:$VERSION\n",
		good: "ARG VERSION=3.20\nFROM alpine:$VERSION\n"},
	{name: "from arg given", id: RuleFromArg, upstream: Error, fork: Error, opts: Options{BuildArgs: []string{"BASE=alpine:3.20"}},
		bad:  "ARG REGISTRY\nFROM ${REGISTRY}/app:1\n",
		good: "ARG BASE\nFROM $BASE\n"},
	{name: "from arg undeclared", id: RuleFromArg, upstream: Error, fork: Error,
		bad:  "FROM alpine:${TAG}\n",
		good: "FROM alpine:${TAG:-3.20}\n"},
	// An ARG without a value expands to the empty string, as in docker:
	// a valid result is built (BuildKit says nothing), an empty or invalid
	// one stops the executor.
	{name: "from arg empty, still valid", id: RuleFromArg, upstream: Warning, fork: Warning,
		bad:  "ARG REPO\nFROM ${REPO}busybox\n",
		good: "ARG REPO=\nFROM ${REPO}busybox\n"},
	{name: "from arg empty, nothing left", id: RuleFromArg, upstream: Error, fork: Error,
		bad:  "ARG BASE\nFROM $BASE\n",
		good: "ARG BASE=alpine\nFROM $BASE\n"},
	{name: "target", id: RuleTarget, upstream: Error, fork: Error, opts: Options{Target: "build"},
		bad:  "FROM golang AS builder\nFROM alpine\n",
		good: "FROM golang AS Build\nFROM alpine\n"},
	{name: "copy from invalid", id: RuleStageRef, upstream: Error, fork: Error,
		bad:  "FROM golang AS build\nFROM alpine\nCOPY --from=Build_Stage /x /x\n",
		good: "FROM golang AS build\nFROM alpine\nCOPY --from=BUILD /x /x\n"},
	{name: "duplicate stage name", id: RuleStageRef, upstream: Warning, fork: Warning,
		bad:  "FROM alpine AS a\nRUN true\nFROM alpine AS A\nCOPY --from=a /x /x\n",
		good: "FROM alpine AS a\nRUN true\nFROM alpine AS b\nCOPY --from=a /x /x\n"},
	{name: "copy from index", id: RuleStageRef, upstream: Error, fork: Error,
		bad:  "FROM golang\nFROM alpine\nCOPY --from=1 /x /x\n",
		good: "FROM golang\nFROM alpine\nCOPY --from=0 /x /x\n"},
	{name: "copy from later stage", id: RuleStageRef, upstream: Error, fork: Error,
		bad:  "FROM alpine AS app\nCOPY --from=build /x /x\nFROM golang AS build\nFROM app\n",
		good: "FROM alpine AS app\nCOPY --from=golang:1.22 /x /x\nFROM golang AS build\nFROM app\n"},
	{name: "from later stage", id: RuleStageRef, upstream: Error, fork: Error,
		bad:  "FROM alpine AS base\nFROM tools AS app\nFROM golang AS tools\nFROM app\n",
		good: "FROM alpine AS alpine\nFROM golang AS tools\nFROM tools\n"},
	{name: "from invalid reference", id: RuleStageRef, upstream: Error, fork: Error,
		bad:  "FROM Alpine:3.20\n",
		good: "FROM alpine:3.20\n"},
	// kaniko stops after the target stage; the fork (--skip-unused-stages
	// defaults to true) also skips stages the target does not use. What
	// happens while building such a stage cannot fail this build.
	{name: "stage after the target", id: RuleSourceMissing, upstream: Info, fork: Info, opts: Options{Target: "base"},
		files: map[string]string{"app.py": ""},
		bad:   "FROM python AS base\nRUN true\nFROM base AS prod\nCOPY dist/app.whl /app/\n",
		good:  "FROM python AS base\nRUN true\nFROM base AS prod\nCOPY app.py /app/\n"},
	{name: "unused stage before the target", id: RuleSourceMissing, upstream: Error, fork: Info,
		files: map[string]string{"app.py": ""},
		bad:   "FROM python AS docs\nCOPY docs/ /docs/\nFROM python\nCOPY app.py /app/\n",
		good:  "FROM python AS docs\nCOPY app.py /docs/\nFROM python\nCOPY app.py /app/\n"},
	{name: "stage used through a variable", id: RuleSourceMissing, upstream: Error, fork: Error,
		files: map[string]string{"app.py": ""},
		bad:   "FROM python AS docs\nCOPY docs/ /docs/\nFROM python\nARG FROM=docs\nCOPY --from=$FROM /docs /docs\n",
		good:  "FROM python AS docs\nCOPY app.py /docs/\nFROM python\nARG FROM=docs\nCOPY --from=$FROM /docs /docs\n"},
	{name: "parse error after the target", id: RuleParse, upstream: Error, fork: Error, opts: Options{Target: "base"},
		bad:  "FROM alpine AS base\nFROM base\nCOPPY a /a\n",
		good: "FROM alpine AS base\nFROM base\nCOPY a /a\n"},
	{name: "unknown flag after the target", id: RuleExclude, upstream: Error, fork: Info, opts: Options{Target: "base"},
		bad:  "FROM alpine AS base\nFROM base\nCOPY --exclude=*.md . /src/\n",
		good: "FROM alpine AS base\nFROM base\nCOPY . /src/\n"},
	{name: "unused stage", id: RuleUnusedStage, upstream: Info, fork: Info,
		bad:  "FROM golang AS build\nRUN go build\nFROM alpine\nCOPY --from=golang /x /x\n",
		good: "FROM golang AS build\nRUN go build\nFROM alpine\nCOPY --from=build /x /x\n"},
	{name: "unused stage before target", id: RuleUnusedStage, upstream: Info, fork: Info, opts: Options{Target: "test"},
		bad:  "FROM golang AS lint\nFROM golang AS test\nFROM alpine\n",
		good: "FROM golang AS lint\nFROM lint AS test\nFROM alpine\n"},
	{name: "url without checksum", id: RuleURLChecksum, upstream: Info, fork: Info,
		bad:  "FROM alpine\nADD https://example.com/tool.tgz /opt/\n",
		good: "FROM alpine\nADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://example.com/tool.tgz /opt/\n"},
	{name: "checksum on local file", id: RuleChecksumLocal, upstream: Warning, fork: Warning,
		bad:  "FROM alpine\nADD --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d tool.tgz /opt/\n",
		good: "FROM alpine\nADD tool.tgz /opt/\n"},
	{name: "empty continuation line", id: RuleParserWarning, upstream: Info, fork: Info,
		bad:  "FROM alpine\nRUN apk add \\\n\n    git\n",
		good: "FROM alpine\nRUN apk add \\\n    git\n"},
	{name: "ignore comment naming no rule", id: RuleIgnoreComment, upstream: Warning, fork: Warning,
		bad:  "FROM alpine\n# kanikorun:ignore=KR019,KR999\nADD https://example.com/tool.tgz /opt/\n",
		good: "FROM alpine\n# kanikorun:ignore=KR019\nADD https://example.com/tool.tgz /opt/\n"},
	{name: "misspelt ignore comment", id: RuleIgnoreComment, upstream: Warning, fork: Warning,
		bad:  "FROM alpine\n# kanikorun:ingore=KR019\nADD https://example.com/tool.tgz /opt/\n",
		good: "FROM alpine\n# kanikorun: ignore = KR019 (pinned by the vendor)\nADD https://example.com/tool.tgz /opt/\n"},
}

func TestRules(t *testing.T) {
	t.Parallel()
	for _, tc := range ruleCases {
		for _, flavor := range []Flavor{Upstream, Fork} {
			want := tc.upstream
			if flavor == Fork {
				want = tc.fork
			}
			t.Run(tc.id+"/"+tc.name+"/"+string(flavor), func(t *testing.T) {
				t.Parallel()
				o := tc.opts
				o.Flavor = string(flavor)
				if tc.files != nil {
					o.Context = writeContext(t, tc.files)
				}
				bad := withID(lintString(t, tc.bad, o), tc.id)
				switch {
				case want == none && len(bad) > 0:
					t.Errorf("%s fired on %s, which supports it:\n%s\n%v", tc.id, flavor, tc.bad, bad)
				case want != none && len(bad) == 0:
					t.Errorf("%s did not fire on:\n%s", tc.id, tc.bad)
				}
				for _, f := range bad {
					if f.Severity != want {
						t.Errorf("%s severity = %s, want %s: %v", tc.id, f.Severity, want, f)
					}
					if f.Message == "" || f.Hint == "" {
						t.Errorf("finding without message or hint: %+v", f)
					}
				}
				valid := tc.good
				if flavor == Fork && tc.forkGood != "" {
					valid = tc.forkGood
				}
				if good := withID(lintString(t, valid, o), tc.id); len(good) > 0 {
					t.Errorf("%s fired on the valid Dockerfile:\n%s\n%v", tc.id, valid, good)
				}
			})
		}
	}
}

// TestEveryRuleIsTested keeps the rule table and the test table in step.
func TestEveryRuleIsTested(t *testing.T) {
	t.Parallel()
	tested := map[string]bool{RuleUnknownExecutor: true, RuleKanikoDir: true} // see TestResolveExecutor, TestKanikoDirWarning
	for _, tc := range ruleCases {
		tested[tc.id] = true
	}
	for _, r := range Rules() {
		if !tested[r.ID] {
			t.Errorf("rule %s has no case in ruleCases", r.ID)
		}
	}
}

// The executor's --skip-unused-stages decides whether a stage the target
// does not use is built, and so whether its problems can fail the build:
// the fork skips by default, upstream builds every stage before the
// target, and the flag overrides either.
func TestSkipUnusedStages(t *testing.T) {
	t.Parallel()
	src := "FROM alpine AS unused\nCOPY nothere.txt /x\nFROM alpine\nRUN true\n"
	dir := writeContext(t, map[string]string{"present": ""})
	yes, no := true, false
	for _, tc := range []struct {
		flavor string
		flag   *bool
		want   Severity
	}{
		{"upstream", nil, Error},
		{"upstream", &yes, Info},
		{"upstream", &no, Error},
		{"fork", nil, Info},
		{"fork", &no, Error},
		{"fork", &yes, Info},
	} {
		fs := withID(lintString(t, src, Options{Context: dir, Flavor: tc.flavor, SkipUnusedStages: tc.flag}), RuleSourceMissing)
		if len(fs) != 1 || fs[0].Severity != tc.want {
			t.Errorf("%s with --skip-unused-stages=%v: KR013 %v, want one %v", tc.flavor, deref(tc.flag), fs, tc.want)
		}
		unused := withID(lintString(t, src, Options{Context: dir, Flavor: tc.flavor, SkipUnusedStages: tc.flag}), RuleUnusedStage)
		if len(unused) != 1 || strings.Contains(unused[0].Message, "yet") != (tc.want == Error) {
			t.Errorf("%s with --skip-unused-stages=%v: KR018 %v", tc.flavor, deref(tc.flag), unused)
		}
	}
}

func deref(b *bool) any {
	if b == nil {
		return "default"
	}
	return *b
}

// An unknown instruction that was meant to continue the line above gets
// a hint saying so, without BuildKit's guess at a misspelt instruction
// (for a shell word, a pick among equally near names); a misspelt
// instruction keeps BuildKit's message and the general hint.
func TestUnknownInstructionContinuationHint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, msg, hint string
	}{
		{"backslash under escape=`",
			"# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN curl -o a.tgz https://example.com/a.tgz && \\\n    tar -xzf a.tgz\n",
			"unknown instruction: tar",
			"line 3 ends with \\, but this Dockerfile's escape character is ` (the # escape=` directive): end line 3 with ` to continue the instruction on the next line"},
		{"indented line after one not continued",
			"FROM alpine\nRUN apk add curl &&\n\n  # fetch\n    curl -fsSL https://example.com\n",
			"unknown instruction: curl",
			"line 5 is indented as if it continued line 2: end line 2 with \\ to continue the instruction"},
		{"indented under escape=`",
			"# escape=`\nFROM alpine\nRUN apk add curl &&\n    curl -fsSL https://example.com\n",
			"unknown instruction: curl",
			"line 4 is indented as if it continued line 3: end line 3 with ` to continue the instruction"},
		{"a misspelt instruction in lower case, indented",
			"FROM alpine\n  coppy a /a\n",
			"unknown instruction: coppy (did you mean copy?)",
			"fix the instruction; see https://docs.docker.com/reference/dockerfile/"},
		{"a misspelt instruction after a Windows path under escape=`",
			"# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nCOPY app C:\\app\\\nRUNN dir\n",
			"unknown instruction: RUNN (did you mean RUN?)",
			"fix the instruction; see https://docs.docker.com/reference/dockerfile/"},
		{"after a heredoc",
			"FROM alpine\nRUN <<EOF\necho hi\nEOF\n  echo later\n",
			"unknown instruction: echo",
			"fix the instruction; see https://docs.docker.com/reference/dockerfile/"},
		{"misspelt instruction",
			"FROM alpine\nHEALTHCHEK CMD true\n",
			"unknown instruction: HEALTHCHEK (did you mean HEALTHCHECK?)",
			"fix the instruction; see https://docs.docker.com/reference/dockerfile/"},
		{"misspelt and indented, the line above complete",
			"FROM alpine\nRUN true \\\n    && true\n  COPPY a /a\n",
			"unknown instruction: COPPY (did you mean COPY?)",
			"fix the instruction; see https://docs.docker.com/reference/dockerfile/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs := withID(lintString(t, tc.src, Options{}), RuleParse)
			if len(fs) != 1 || fs[0].Message != tc.msg || fs[0].Hint != tc.hint {
				t.Fatalf("got %+v\nwant message %q\n     hint %q", fs, tc.msg, tc.hint)
			}
		})
	}
}

// A FROM or COPY --from naming no stage but close to an earlier stage's
// name (kaniko would pull an image of that name) is a warning; official
// image names, tagged references and unrelated names are not.
func TestNearStageName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want string
	}{
		{"COPY --from a prefix of a stage", "FROM alpine:3.20 AS builddocker\nRUN true\nFROM alpine:3.20\nCOPY --from=build /out /app\n",
			`COPY --from=build names no stage, so kaniko pulls the image index.docker.io/library/build:latest; the earlier stage "builddocker", which nothing uses, is the nearest name`},
		{"COPY --from a typo", "FROM alpine:3.20 AS builder\nFROM alpine:3.20\nCOPY --from=buidler /out /app\n",
			`COPY --from=buidler names no stage, so kaniko pulls the image index.docker.io/library/buidler:latest; the earlier stage "builder", which nothing uses, is the nearest name`},
		{"FROM a typo", "FROM alpine:3.20 AS builder\nFROM buidler\n",
			`FROM buidler names no stage, so kaniko pulls the image index.docker.io/library/buidler:latest; the earlier stage "builder", which nothing uses, is the nearest name`},
		{"a short name two letters off", "FROM alpine:3.20 AS base\nFROM bsae\n", ""},
		{"an image a stage name starts", "FROM alpine:3.20 AS build\nRUN true\nFROM buildpack-deps\n", ""},
		{"an official image a stage name extends", "FROM kong:3 AS kong-plugins\nFROM alpine:3.20\nCOPY --from=kong /usr/local /usr/local\n", ""},
		{"the near stage is used", "FROM alpine:3.20 AS vault-plugin\nRUN true\nFROM myorg/vaultish:1\nCOPY --from=vault-plugin /p /p\nCOPY --from=vault-plug /q /q\n", ""},
		{"a reference by ARG leaves it unsaid", "ARG SRC=builder\nFROM alpine:3.20 AS builder\nFROM alpine:3.20 AS other\nCOPY --from=${SRC} /a /a\nCOPY --from=buidler /b /b\n", ""},
		{"official image", "FROM alpine:3.20 AS nginx-conf\nFROM alpine:3.20\nCOPY --from=nginx /etc/nginx /etc/nginx\n", ""},
		{"tagged image", "FROM alpine:3.20 AS builder\nFROM alpine:3.20\nCOPY --from=build:1 /out /app\n", ""},
		{"unrelated name", "FROM alpine:3.20 AS builder\nFROM alpine:3.20\nCOPY --from=tools /out /app\n", ""},
		{"the stage itself", "FROM alpine:3.20 AS builder\nFROM alpine:3.20\nCOPY --from=builder /out /app\n", ""},
		{"a later stage is another finding", "FROM alpine:3.20\nCOPY --from=builder /out /app\nFROM alpine:3.20 AS builder\n",
			"COPY --from=builder names a stage that is not built before this one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sev := none
			if strings.Contains(tc.want, "nearest") {
				sev = Warning
			}
			wantFinding(t, RuleStageRef, tc.src, Options{}, tc.want, sev)
		})
	}
}

// KR024 explains why an exec form is not JSON, for every instruction that
// has one, and leaves the shell's [ test ] alone.
func TestExecFormNotJSON(t *testing.T) {
	t.Parallel()
	if fs := withID(lintString(t, "FROM alpine\n\nCMD [\"a\"] b\n", Options{}), RuleExecFormJSON); len(fs) != 1 || fs[0].Line != 3 || fs[0].Column != 5 {
		t.Errorf("want KR024 at 3:5, at the [: %v", fs)
	}
	tests := []struct {
		name, src, want string
	}{
		{"trailing comment", "FROM alpine\nCMD [\"./main\"]   # run it\n",
			`CMD is not an exec-form array: text follows the closing ] ("# run it": # starts a comment only at the beginning of a line); the parser takes it as a shell command, so the shell runs '["./main"]   # run it', not the program it names`},
		{"trailing text", "FROM alpine\nENTRYPOINT [\"serve\"]doc\n",
			`ENTRYPOINT is not an exec-form array: text follows the closing ] ("doc"); the parser takes it as a shell command, so the shell runs '["serve"]doc', not the program it names`},
		{"single quotes", "FROM alpine\nCMD ['npm', 'start']\n",
			`CMD is not an exec-form array: it is not valid JSON (straight double quotes only, no trailing comma); the parser takes it as a shell command, so the shell runs '['npm', 'start']', not the program it names`},
		{"typographic quotes", "FROM alpine\nCMD [\u201cnpm\u201d, \u201cstart\u201d]\n",
			"CMD is not an exec-form array: it is not valid JSON (straight double quotes only, no trailing comma); the parser takes it as a shell command, so the shell runs '[\u201cnpm\u201d, \u201cstart\u201d]', not the program it names"},
		{"trailing comma in RUN", "FROM alpine\nRUN --network=none [\"make\", \"all\",]\n",
			`RUN is not an exec-form array: it is not valid JSON (straight double quotes only, no trailing comma); the parser takes it as a shell command, so the shell runs '["make", "all",]', not the program it names`},
		{"healthcheck", "FROM alpine\nHEALTHCHECK --interval=5s CMD [\"curl\", \"-f\", \"localhost\"] || exit 1\n",
			`HEALTHCHECK CMD is not an exec-form array: text follows the closing ] ("|| exit 1"); the parser takes it as a shell command, so the shell runs '["curl", "-f", "localhos...', not the program it names`},
		{"the shell's test", "FROM alpine\nRUN [ -e /etc/os-release ] || exit 1\n", ""},
		{"the shell's test of a quoted word", "FROM alpine\nARG TARGETARCH\nRUN [ \"$TARGETARCH\" = \"amd64\" ] && echo x86\n", ""},
		{"the shell's test of one word", "FROM alpine\nARG DEBUG\nRUN [ \"$DEBUG\" ] && apk add gdb\n", ""},
		{"the shell's test in a healthcheck", "FROM alpine\nHEALTHCHECK CMD [ \"$(cat /tmp/ok)\" = \"1\" ] || exit 1\n", ""},
		{"the shell's test with a semicolon", "FROM alpine\nRUN [ \"$X\" ]; echo done\n", ""},
		{"valid healthcheck", "FROM alpine\nHEALTHCHECK CMD [\"curl\", \"-f\", \"localhost\"]\n", ""},
		{"healthcheck none", "FROM alpine\nHEALTHCHECK NONE\n", ""},
		{"valid exec form", "FROM alpine\nCMD [ \"npm\", \"start\" ]\n", ""},
		{"shell form", "FROM alpine\nCMD npm start\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantFinding(t, RuleExecFormJSON, tc.src, Options{}, tc.want, Warning)
		})
	}
}

// KR025: a --kaniko-dir that moves /kaniko is a warning (the stages'
// clean-up deletes the moved directory in a multi-stage build), not when
// it names /kaniko or KANIKO_DIR follows it.
func TestKanikoDirWarning(t *testing.T) {
	t.Parallel()
	single, multi := "FROM alpine\nRUN true\n", "FROM alpine AS a\nRUN true\nFROM alpine\nCOPY --from=a /x /x\n"
	tests := []struct {
		name, src      string
		dir, env, want string
	}{
		{"single stage", single, "/k", "", "--kaniko-dir=/k: the executor moves /kaniko to /k and removes it, so the executor images' SSL_CERT_DIR=/kaniko/ssl/certs is gone and HTTPS registries fail their certificate check"},
		{"two stages", multi, "/k/", "", "--kaniko-dir=/k/: the executor moves /kaniko to /k but keeps leaving only /kaniko (its KANIKO_DIR) out of its clean-up between stages, so after the first of these 2 stages it deletes /k, credentials included, and pushes without them; and the executor images' SSL_CERT_DIR=/kaniko/ssl/certs is gone, so HTTPS registries fail their certificate check"},
		{"two stages, the target the first", multi + "", "/k", "", ""},
		{"the default directory", multi, "/kaniko", "", ""},
		{"the default directory spelt otherwise", multi, "/kaniko/", "", "--kaniko-dir=/kaniko/ is not /kaniko to the executor, which compares the text: it copies /kaniko onto itself, which empties its files, and then removes /kaniko, its own certificates and credentials included"},
		{"KANIKO_DIR elsewhere", multi, "/k", "/j", "--kaniko-dir=/k: the executor moves /kaniko to /k but keeps leaving only /j (its KANIKO_DIR) out of its clean-up between stages, so after the first of these 2 stages it deletes /k, credentials included, and pushes without them; and the executor images' SSL_CERT_DIR=/kaniko/ssl/certs is gone, so HTTPS registries fail their certificate check"},
		{"KANIKO_DIR follows", multi, "/k", "/k/", ""},
		{"none", multi, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := Options{KanikoDir: tc.dir, KanikoDirEnv: tc.env}
			want := tc.want
			if strings.HasPrefix(tc.name, "two stages, the target") {
				o.Target = "a"
				want = "--kaniko-dir=/k: the executor moves /kaniko to /k and removes it, so the executor images' SSL_CERT_DIR=/kaniko/ssl/certs is gone and HTTPS registries fail their certificate check"
			}
			sev := Warning
			if strings.Contains(want, "onto itself") {
				sev = Error
			}
			wantFinding(t, RuleKanikoDir, tc.src, o, want, sev)
		})
	}
}

// wantFinding lints src with o and checks the findings of rule id: none
// when want is empty, else exactly one, with message want (and, when
// sev is not none, that severity).
func wantFinding(t *testing.T, id, src string, o Options, want string, sev Severity) {
	t.Helper()
	fs := withID(lintString(t, src, o), id)
	if want == "" {
		if len(fs) != 0 {
			t.Fatalf("want no %s, got %v", id, fs)
		}
		return
	}
	if len(fs) != 1 || fs[0].Message != want || sev != none && fs[0].Severity != sev {
		t.Fatalf("got %v\nwant one %s %v: %q", fs, id, sev, want)
	}
}
