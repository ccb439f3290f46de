package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/kanikorun/kanikorun/internal/testbed"
)

// shStage gives later stages a /bin/sh, which RUN needs as in real kaniko.
const shStage = "FROM scratch AS sh\nCOPY sh /bin/sh\n"

func TestDockerfileSubset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		files      map[string]string
		args       []string
		wantCode   int
		wantStderr string
		wantStdout string
		wantFiles  map[string]string // exact flattened filesystem, when not nil
		check      func(t *testing.T, cfg v1.Config)
	}{{
		name:      "copy file and directory",
		files:     map[string]string{"Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\nCOPY dir /d/\nCOPY dir/b.txt /single\n", "a.txt": "A", "dir/b.txt": "B", "dir/sub/c.txt": "C"},
		wantFiles: map[string]string{"a.txt": "A", "d/b.txt": "B", "d/sub/c.txt": "C", "single": "B"},
	}, {
		name:      "dockerignore",
		files:     map[string]string{"Dockerfile": "FROM scratch\nCOPY . /src/\n", ".dockerignore": "secret*\n**/*.log\n!keep.log\n", "a": "a", "secret.txt": "s", "x/y.log": "l", "keep.log": "k"},
		wantFiles: map[string]string{"src/Dockerfile": "FROM scratch\nCOPY . /src/\n", "src/.dockerignore": "secret*\n**/*.log\n!keep.log\n", "src/a": "a", "src/keep.log": "k"},
	}, {
		name:      "dockerfile-specific dockerignore wins",
		files:     map[string]string{"Dockerfile": "FROM scratch\nCOPY . /src/\n", "Dockerfile.dockerignore": "*\n", ".dockerignore": "b\n", "a": "a", "b": "b"},
		wantFiles: map[string]string{},
	}, {
		name:      "globs",
		files:     map[string]string{"Dockerfile": "FROM scratch\nCOPY *.txt /t/\n", "a.txt": "a", "b.txt": "b", "c.md": "c"},
		wantFiles: map[string]string{"t/a.txt": "a", "t/b.txt": "b"},
	}, {
		name:       "multiple sources need a directory",
		files:      map[string]string{"Dockerfile": "FROM scratch\nCOPY a b /t\n", "a": "a", "b": "b"},
		wantCode:   1,
		wantStderr: "destination must be a directory and end in '/'",
	}, {
		name:       "missing source",
		files:      map[string]string{"Dockerfile": "FROM scratch\nCOPY missing /m\n"},
		wantCode:   1,
		wantStderr: "error building image: error building stage: failed to execute command: failed to get fileinfo for",
	}, {
		name:      "multi-stage with target and copy --from",
		files:     map[string]string{"Dockerfile": "FROM scratch AS one\nCOPY a /out/a\nFROM scratch AS two\nCOPY --from=one /out /got\nCOPY --from=0 /out/a /again\nFROM two AS three\nCOPY b /b\n", "a": "A", "b": "B"},
		args:      []string{"--target=two"},
		wantFiles: map[string]string{"got/a": "A", "again": "A"},
	}, {
		name:       "unknown target",
		files:      map[string]string{"Dockerfile": "FROM scratch AS one\n"},
		args:       []string{"--target=nope"},
		wantCode:   1,
		wantStderr: "nope is not a valid target build stage",
	}, {
		name:      "from an earlier stage",
		files:     map[string]string{"Dockerfile": "FROM scratch AS base\nENV A=1\nCOPY a /a\nFROM base\nCOPY b /b\n", "a": "A", "b": "B"},
		wantFiles: map[string]string{"a": "A", "b": "B"},
		check: func(t *testing.T, cfg v1.Config) {
			if !contains(cfg.Env, "A=1") {
				t.Errorf("env %q lacks the base stage's A=1", cfg.Env)
			}
		},
	}, {
		name: "args env labels and metadata",
		files: map[string]string{"Dockerfile": `ARG STAGE=scratch
FROM ${STAGE}
ARG V=default
ARG W=w0
ARG STAGE
ENV FOO=bar BAZ=${V} STAGE_SEEN=$STAGE
LABEL a=b c="${FOO}-${W}"
WORKDIR /app
WORKDIR sub
COPY f .
USER 1000:1000
EXPOSE 8080 53/udp
STOPSIGNAL SIGINT
VOLUME /data
CMD ["serve"]
`, "f": "F"},
		args:      []string{"--build-arg=V=given", "--label=L=1", "--label=multi=x,y=z"},
		wantFiles: map[string]string{"app/sub/f": "F"},
		check: func(t *testing.T, cfg v1.Config) {
			for _, e := range []string{"FOO=bar", "BAZ=given", "STAGE_SEEN=scratch", scratchEnv} {
				if !contains(cfg.Env, e) {
					t.Errorf("env %q lacks %q", cfg.Env, e)
				}
			}
			wantLabels := map[string]string{"a": "b", "c": "bar-w0", "L": "1", "multi": "x,y=z"}
			if !reflect.DeepEqual(cfg.Labels, wantLabels) {
				t.Errorf("labels = %v, want %v", cfg.Labels, wantLabels)
			}
			if cfg.WorkingDir != "/app/sub" || cfg.User != "1000:1000" || cfg.StopSignal != "SIGINT" {
				t.Errorf("workdir %q user %q stopsignal %q", cfg.WorkingDir, cfg.User, cfg.StopSignal)
			}
			if _, ok := cfg.ExposedPorts["8080/tcp"]; !ok || len(cfg.ExposedPorts) != 2 {
				t.Errorf("exposed ports = %v", cfg.ExposedPorts)
			}
			if !reflect.DeepEqual(cfg.Cmd, []string{"serve"}) {
				t.Errorf("cmd = %q", cfg.Cmd)
			}
		},
	}, {
		name:  "entrypoint in shell form clears an inherited cmd",
		files: map[string]string{"Dockerfile": "FROM scratch AS base\nCMD [\"x\"]\nFROM base\nENTRYPOINT run me\n"},
		check: func(t *testing.T, cfg v1.Config) {
			if cfg.Cmd != nil || !reflect.DeepEqual(cfg.Entrypoint, []string{"/bin/sh", "-c", "run me"}) {
				t.Errorf("cmd %q entrypoint %q", cfg.Cmd, cfg.Entrypoint)
			}
		},
	}, {
		name:      "chmod and chown are accepted",
		files:     map[string]string{"Dockerfile": "FROM scratch\nCOPY --chmod=0600 --chown=10:20 a /a\nCOPY --link --chown=nobody a /b\nADD --checksum=sha256:0 a /c\n", "a": "A"},
		wantFiles: map[string]string{"a": "A", "b": "A", "c": "A"},
	}, {
		name:       "run exit code",
		files:      map[string]string{"Dockerfile": shStage + "FROM sh\nRUN exit 3\n", "sh": "#!"},
		wantCode:   3,
		wantStderr: "INFO[0000] RUN exit 3\nINFO[0000] Cmd: /bin/sh\nINFO[0000] Args: [-c exit 3]\nINFO[0000] Running: [/bin/sh -c exit 3]\nerror building image: error building stage: failed to execute command: waiting for process to exit: exit status 3\n",
	}, {
		name:       "run needs /bin/sh",
		files:      map[string]string{"Dockerfile": "FROM scratch\nRUN echo hi\n"},
		wantCode:   1,
		wantStderr: "failed to execute command: starting command: fork/exec /bin/sh: no such file or directory",
	}, {
		name:       "run echo to stdout and stderr with args",
		files:      map[string]string{"Dockerfile": shStage + "FROM sh\nARG WHO=nobody\nRUN echo hello \"$WHO\"\nRUN echo oops >&2\nRUN exit 0\nRUN sleep 0.01\n", "sh": "#!"},
		args:       []string{"--build-arg", "WHO=world"},
		wantStdout: "hello world\n",
		wantStderr: "\noops\n",
	}, {
		name:       "run outside the subset",
		files:      map[string]string{"Dockerfile": shStage + "FROM sh\nRUN apt-get update && apt-get install -y curl\n", "sh": "#!"},
		wantCode:   1,
		wantStderr: `kanikorun stand-in executor: RUN supports only "exit N", "sleep N", "echo WORDS", "echo WORDS >&2", "cat PATH" and "alloc MIB", got "apt-get update && apt-get install -y curl"`,
	}, {
		name:       "run alloc touches memory",
		files:      map[string]string{"Dockerfile": shStage + "FROM sh\nRUN alloc 8\n", "sh": "#!"},
		wantStdout: "allocated 8 MiB\n",
	}, {
		name:       "run alloc needs a size",
		files:      map[string]string{"Dockerfile": shStage + "FROM sh\nRUN alloc lots\n", "sh": "#!"},
		wantCode:   1,
		wantStderr: `RUN supports only`,
	}, {
		name:  "run heredoc does nothing, like upstream",
		files: map[string]string{"Dockerfile": shStage + "FROM sh\nRUN <<EOT\nexit 7\nEOT\n", "sh": "#!"},
	}, {
		name:       "copy heredoc fails, like upstream",
		files:      map[string]string{"Dockerfile": "FROM scratch\nCOPY <<EOF /out\nhi\nEOF\n"},
		wantCode:   1,
		wantStderr: "resolved envs is empty",
	}, {
		name:       "copy --exclude is unknown upstream",
		files:      map[string]string{"Dockerfile": "FROM scratch\nCOPY --exclude=*.md . /src/\n"},
		wantCode:   1,
		wantStderr: "unknown flag: --exclude",
	}, {
		name:       "parse error",
		files:      map[string]string{"Dockerfile": "FROM scratch\nCOPY\n"},
		wantCode:   1,
		wantStderr: "error building image: parsing dockerfile:",
	}, {
		name:       "add from url is outside the subset",
		files:      map[string]string{"Dockerfile": "FROM scratch\nADD https://example.com/x /x\n"},
		wantCode:   1,
		wantStderr: "kanikorun stand-in executor: ADD from a URL is not supported",
	}, {
		name:       "add of a local archive is outside the subset",
		files:      map[string]string{"Dockerfile": "FROM scratch\nADD layer.tar.gz /\n", "layer.tar.gz": "x"},
		wantCode:   1,
		wantStderr: "ADD of a local archive (layer.tar.gz) is not supported",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			img, r := build(t, tc.files, tc.args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\nstderr:\n%s", r.code, tc.wantCode, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.wantStderr, r.stderr)
			}
			if !strings.Contains(r.stdout, tc.wantStdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.wantStdout, r.stdout)
			}
			if img == nil {
				return
			}
			if tc.wantFiles != nil {
				got, err := testbed.Files(img)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tc.wantFiles) {
					t.Errorf("files = %v, want %v", got, tc.wantFiles)
				}
			}
			if tc.check != nil {
				cf, err := img.ConfigFile()
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, cf.Config)
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// Paths under the context (a mount point in the container) are changed in
// the real filesystem and kept out of the image, as kaniko does; on the
// read-only mount of kanikorun this is what fails.
func TestWritesUnderContextStayOut(t *testing.T) {
	t.Parallel()
	ctxDir := writeContext(t, map[string]string{"a": "A"})
	df := "FROM scratch\nWORKDIR " + ctxDir + "/made\nCOPY a " + ctxDir + "/copied\nCOPY a /a\n"
	if err := os.WriteFile(filepath.Join(ctxDir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	tarPath := filepath.Join(t.TempDir(), "i.tar")
	r := runStandIn(t, "-c", ctxDir, "-d", "example.com/a:1", "--no-push", "--tar-path", tarPath)
	if r.code != 0 {
		t.Fatalf("exit %d:\n%s", r.code, r.stderr)
	}
	if st, err := os.Stat(filepath.Join(ctxDir, "made")); err != nil || !st.IsDir() {
		t.Errorf("WORKDIR did not create the directory in the real filesystem: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(ctxDir, "copied")); err != nil || string(b) != "A" {
		t.Errorf("COPY did not write the real file: %q, %v", b, err)
	}
	img, err := tarball.ImageFromPath(tarPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := testbed.Files(img)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"a": "A"}; !reflect.DeepEqual(files, want) {
		t.Errorf("files = %v, want %v: writes under a mount point must stay out of the image", files, want)
	}
}

// TestContextOffMountsGoesBetweenStages: as kaniko deletes its file
// system after every stage but the last, keeping only its own directory
// and the mount points, a context on the container's own file system is
// gone for a later stage's COPY, and one on a mount point stays.
func TestContextOffMountsGoesBetweenStages(t *testing.T) {
	// Not parallel: it sets the package's hooks.
	savedAs, savedMounts := asExecutor, mountPoints
	t.Cleanup(func() { asExecutor, mountPoints = savedAs, savedMounts })
	asExecutor = true
	df := "FROM scratch AS first\nCOPY a /a\nFROM scratch\nCOPY --from=first /a /from-first\nCOPY a /a\n"
	for _, onMount := range []bool{false, true} {
		ctxDir := writeContext(t, map[string]string{"Dockerfile": df, "a": "A"})
		mountPoints = func() []string { return nil }
		if onMount {
			mountPoints = func() []string { return []string{ctxDir} }
		}
		r := runStandIn(t, "-c", ctxDir, "--no-push")
		if onMount {
			if r.code != 0 {
				t.Errorf("context on a mount point: exit %d, want 0:\n%s", r.code, r.stderr)
			}
			if _, err := os.Stat(filepath.Join(ctxDir, "a")); err != nil {
				t.Errorf("context on a mount point was deleted: %v", err)
			}
			continue
		}
		if r.code == 0 || !strings.Contains(r.stderr, "Deleting filesystem...") {
			t.Errorf("context off the mounts: exit %d, want a failed COPY after kaniko's deletion:\n%s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(ctxDir, "a")); !os.IsNotExist(err) {
			t.Errorf("context off the mounts still has its file after the first stage: %v", err)
		}
	}
}
