package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSecret(t *testing.T) {
	t.Parallel()
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TOK": "v", "tok": "v"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		in        string
		id        string
		file, env string // file relative to cwd when not absolute
		err       string
	}{
		{in: "id=tok,src=/run/tok.txt", id: "tok", file: "/run/tok.txt"},
		{in: "id=tok,source=/run/tok.txt", id: "tok", file: "/run/tok.txt"},
		{in: "src=rel/tok.txt,id=tok", id: "tok", file: "rel/tok.txt"},
		{in: "ID=tok,SRC=/a", id: "tok", file: "/a"},
		{in: "id=tok,env=TOK", id: "tok", env: "TOK"},
		{in: "id=tok,type=env,src=TOK", id: "tok", env: "TOK"},
		{in: "type=env,id=tok", id: "tok", env: "tok"}, // only an id: the variable, set
		{in: "id=tok,type=file,src=/a", id: "tok", file: "/a"},
		{in: "id=tok", id: "tok", env: "tok"},
		{in: "id=other", id: "other", file: "other"}, // no variable: the file of that name
		{in: `"id=a.b_c-1","src=/with,comma"`, id: "a.b_c-1", file: "/with,comma"},
		{in: "src=/a", err: "no id"},
		{in: "id=", err: "no id"},
		{in: "id=tok,src", err: "not key=value"},
		{in: "id=tok,type=ssh", err: `type "ssh"`},
		{in: "id=tok,required=true", err: `unknown key "required"`},
		{in: "id=a/b,src=/a", err: `id "a/b"`},
		{in: "id=..,src=/a", err: `id ".."`},
		{in: "id=tok,src=/a,env=TOK", err: "not both"},
		{in: `id="tok`, err: "invalid --secret"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			s, err := ParseSecret(tc.in, lookup)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			file := tc.file
			if file != "" && !filepath.IsAbs(file) {
				file = filepath.Join(cwd, file)
			}
			if s.ID != tc.id || s.File != file || s.Env != tc.env {
				t.Errorf("got id %q file %q env %q, want %q %q %q", s.ID, s.File, s.Env, tc.id, file, tc.env)
			}
			if want := "--secret=id=" + tc.id + ",src=/kaniko/kanikorun-secrets/" + tc.id; s.ExecutorArg() != want {
				t.Errorf("ExecutorArg = %q, want %q", s.ExecutorArg(), want)
			}
		})
	}
}

func TestParseSecretsReadsEveryValueFirst(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "tok.txt")
	if err := os.WriteFile(file, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxSecretSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	lookup := func(k string) (string, bool) {
		if k == "SET" {
			return "from-env", true
		}
		return "", false
	}
	got, err := ParseSecrets([]string{"id=a,src=" + file, "id=b,env=SET"}, lookup)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"hunter2\n", "from-env"} {
		v, err := got[i].Value()
		if err != nil || string(v) != want {
			t.Errorf("secret %s = %q, %v; want %q", got[i].ID, v, err, want)
		}
	}
	// Printing a secret shows where it comes from, never the value.
	if s := fmt.Sprintf("%+v %v", got, got[1].Source()); strings.Contains(s, "hunter2") || strings.Contains(s, "from-env") {
		t.Errorf("a printed Secret holds its value: %s", s)
	}
	for _, tc := range []struct {
		raw  []string
		want string
	}{
		{[]string{"id=a,src=" + filepath.Join(dir, "missing")}, "does not exist"},
		{[]string{"id=a,src=" + dir}, "not a regular file"},
		{[]string{"id=a,src=" + big}, "larger than 500 KiB"},
		{[]string{"id=a,env=UNSET"}, "environment variable UNSET is not set"},
		{[]string{"id=a,src=" + file, "id=a,env=SET"}, "given twice"},
	} {
		_, err := ParseSecrets(tc.raw, lookup)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("ParseSecrets(%q) = %v, want an error saying %q", tc.raw, err, tc.want)
		}
	}
}

func TestArgsRenderSecretsAsContainerPaths(t *testing.T) {
	t.Parallel()
	b := &Build{Secrets: []Secret{{ID: "tok", File: "/home/me/tok.txt"}, {ID: "npm", Env: "NPM_TOKEN"}}, ExtraArgs: []string{"--verbosity=debug"}}
	args := b.Args(Layout{ContextDir: WorkspaceDir, Dockerfile: "/workspace/Dockerfile"})
	n := len(args)
	if want := []string{"--secret=id=tok,src=/kaniko/kanikorun-secrets/tok", "--secret=id=npm,src=/kaniko/kanikorun-secrets/npm", "--verbosity=debug"}; strings.Join(args[n-3:], " ") != strings.Join(want, " ") {
		t.Errorf("args end with %q, want %q", args[n-3:], want)
	}
	f, err := ParseExecutorArgs(args)
	if err != nil {
		t.Fatal(err)
	}
	if ids := f.SecretIDs(); len(ids) != 2 || ids[0] != "tok" || ids[1] != "npm" {
		t.Errorf("SecretIDs = %q", ids)
	}
}
