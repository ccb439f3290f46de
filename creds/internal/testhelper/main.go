// Command testhelper is a real docker-credential helper for kanikorun's
// tests. It speaks the docker-credential protocol (get, store, erase, list)
// through docker-credential-helpers' own Serve, over a JSON file instead of
// a keychain, so tests exercise exactly what the docker CLI and kanikorun
// do with desktop, pass or osxkeychain.
//
// Installed as docker-credential-NAME (see package credstest), it keeps its
// credentials in the file named by $KANIKORUN_TESTHELPER_STORE_<NAME>
// (NAME upper-cased, other characters as "_"), else by
// $KANIKORUN_TESTHELPER_STORE. The file maps server URLs to
// {"Username": ..., "Secret": ...}; a missing file is an empty store.
//
// A NAME ending in "-broken" fails every action after printing the whole
// store to stdout and stderr, as a badly written helper might: callers
// must never repeat a helper's output. A NAME ending in "-hang" never
// answers.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker/docker-credential-helpers/credentials"
)

// entry is one stored credential.
type entry struct {
	Username string
	Secret   string
}

// fileStore implements credentials.Helper over a JSON file.
type fileStore struct{ path string }

func (s fileStore) load() (map[string]entry, error) {
	m := map[string]entry{}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("store %s is not a JSON object of credentials", s.path)
	}
	return m, nil
}

func (s fileStore) save(m map[string]entry) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(s.path, b, 0o600)
}

// Add stores c, replacing what the server had.
func (s fileStore) Add(c *credentials.Credentials) error {
	m, err := s.load()
	if err != nil {
		return err
	}
	m[c.ServerURL] = entry{Username: c.Username, Secret: c.Secret}
	return s.save(m)
}

// Delete removes the server's credentials.
func (s fileStore) Delete(serverURL string) error {
	m, err := s.load()
	if err != nil {
		return err
	}
	if _, ok := m[serverURL]; !ok {
		return credentials.NewErrCredentialsNotFound()
	}
	delete(m, serverURL)
	return s.save(m)
}

// Get returns the server's user name and secret.
func (s fileStore) Get(serverURL string) (string, string, error) {
	m, err := s.load()
	if err != nil {
		return "", "", err
	}
	e, ok := m[serverURL]
	if !ok {
		return "", "", credentials.NewErrCredentialsNotFound()
	}
	return e.Username, e.Secret, nil
}

// List maps every stored server to its user name.
func (s fileStore) List() (map[string]string, error) {
	m, err := s.load()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		out[k] = e.Username
	}
	return out, nil
}

// envName turns a helper name into the suffix of its store variable.
func envName(helper string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, helper)
}

func main() {
	helper := strings.TrimPrefix(filepath.Base(os.Args[0]), "docker-credential-")
	credentials.Name = "docker-credential-" + helper
	path := os.Getenv("KANIKORUN_TESTHELPER_STORE_" + envName(helper))
	if path == "" {
		path = os.Getenv("KANIKORUN_TESTHELPER_STORE")
	}
	switch {
	case strings.HasSuffix(helper, "-hang"):
		time.Sleep(time.Hour)
		os.Exit(1)
	case strings.HasSuffix(helper, "-broken"):
		b, _ := os.ReadFile(path)
		fmt.Fprintf(os.Stdout, "%s exploded; store was: %s\n", helper, b)
		fmt.Fprintf(os.Stderr, "%s exploded; store was: %s\n", helper, b)
		os.Exit(1)
	}
	if path == "" {
		fmt.Fprintln(os.Stdout, "KANIKORUN_TESTHELPER_STORE is not set")
		os.Exit(1)
	}
	credentials.Serve(fileStore{path: path})
}
