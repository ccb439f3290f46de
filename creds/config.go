package creds

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/docker/cli/cli/config/types"
)

// ErrConfig means the user's docker configuration could not be read.
var ErrConfig = errors.New("cannot read the docker configuration")

// envAuthConfig is the variable the docker CLI reads inline credentials
// from before it consults config.json (configfile.DockerEnvConfigKey).
const envAuthConfig = configfile.DockerEnvConfigKey

// ConfigFile returns the config.json Resolve reads: inside dir when one is
// given (the --docker-config flag, passed on as the user wrote it; a path
// to the file itself works too), else inside $DOCKER_CONFIG, else inside
// ~/.docker. The file need not exist.
func ConfigFile(dir string) (string, error) {
	if dir != "" {
		if st, err := os.Stat(dir); err == nil && !st.IsDir() {
			return dir, nil
		}
		return filepath.Join(dir, config.ConfigFileName), nil
	}
	if d := os.Getenv(config.EnvOverrideConfigDir); d != "" {
		return filepath.Join(d, config.ConfigFileName), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("%w: no home directory (%w); set DOCKER_CONFIG or pass --docker-config", ErrConfig, err)
	}
	return filepath.Join(home, ".docker", config.ConfigFileName), nil
}

// ErrDockerConfigDir means the --docker-config path does not exist. A typo
// there would otherwise drop every credential and surface only as a failed
// push after the build, so it stops the command before anything starts
// (the CLI exits 2, as for any other bad flag).
var ErrDockerConfigDir = errors.New("docker config directory does not exist")

// CheckConfigDir returns an error wrapping ErrDockerConfigDir when dir (the
// --docker-config flag as the user wrote it) is given but does not exist.
// Resolve makes the same check; commands that resolve credentials only
// later (replay pulls the executor lazily) call this first.
func CheckConfigDir(dir string) error {
	if dir == "" {
		return nil
	}
	// Other failures (permissions) are left to reading the file, whose
	// error says what is wrong.
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("reading --docker-config %q: %w; pass the directory holding config.json, or leave the flag out to use $DOCKER_CONFIG or ~/.docker", dir, ErrDockerConfigDir)
	}
	return nil
}

// loadConfig reads the docker configuration with the docker CLI's own
// loader. A missing file is an empty configuration, as for docker itself;
// a directory the user named that does not exist is an error
// (ErrDockerConfigDir), since a typo there silently drops every credential.
func loadConfig(dir string) (cf *configfile.ConfigFile, path string, err error) {
	if err := CheckConfigDir(dir); err != nil {
		return nil, "", err
	}
	path, err = ConfigFile(dir)
	if err != nil {
		return nil, "", err
	}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return configfile.New(path), path, nil
	}
	if err != nil {
		return nil, path, fmt.Errorf("%w: opening %q: %w; fix its permissions or pass --docker-config", ErrConfig, path, err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, path, fmt.Errorf("%w: %q is a directory, not a file; remove it or pass --docker-config", ErrConfig, path)
	}
	cf, err = config.LoadFromReader(f)
	if err != nil {
		// The decoder's message names a JSON position or a base64 offset,
		// never a stored value.
		return nil, path, fmt.Errorf("%w: parsing %q: %w; fix the file or pass --docker-config", ErrConfig, path, err)
	}
	cf.Filename = path
	return cf, path, nil
}

// canonicalHost folds Docker Hub's spellings into one so that a config
// key written any of those ways matches a Docker Hub reference.
func canonicalHost(host string) string {
	if isDockerHub(host) {
		return dockerHub
	}
	return host
}

// keyHost returns the registry a config.json or helper key names: a bare
// host, or a URL whose path is at most an API version
// ("https://index.docker.io/v1/"). Other paths name something else: Docker
// Desktop keeps tokens under ".../v1/access-token", which are no password.
func keyHost(key string) string {
	rest := key
	if _, r, ok := strings.Cut(rest, "://"); ok {
		rest = r
	}
	if _, p, ok := strings.Cut(rest, "/"); ok {
		switch strings.TrimSuffix(p, "/") {
		case "", "v1", "v2":
		default:
			return ""
		}
	}
	return canonicalHost(credentials.ConvertToHostname(key))
}

// matchKey returns the key of m that belongs to host: the exact key kaniko
// uses first, then any other spelling of the same registry (in sorted
// order, so the choice is stable).
func matchKey[V any](m map[string]V, host string) (string, bool) {
	if _, ok := m[authKey(host)]; ok {
		return authKey(host), true
	}
	want := canonicalHost(host)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if want != "" && keyHost(k) == want {
			return k, true
		}
	}
	return "", false
}

// inlineAuth returns the credentials stored inline for host, if any.
func inlineAuth(auths map[string]types.AuthConfig, host string) (types.AuthConfig, bool) {
	k, ok := matchKey(auths, host)
	if !ok {
		return types.AuthConfig{}, false
	}
	ac := secretFields(auths[k])
	return ac, !isEmpty(ac)
}

// helperFor returns the credential helper the docker CLI would ask for
// host, and the config.json key that names it: a "credHelpers" entry,
// else "credsStore", else none.
func helperFor(cf *configfile.ConfigFile, host string) (helper, setting string) {
	if k, ok := matchKey(cf.CredentialHelpers, host); ok && cf.CredentialHelpers[k] != "" {
		return cf.CredentialHelpers[k], "credHelpers"
	}
	if cf.CredentialsStore != "" {
		return cf.CredentialsStore, "credsStore"
	}
	return "", ""
}

// envAuths reads DOCKER_AUTH_CONFIG the way the docker CLI does (it takes
// precedence over config.json); a malformed value is ignored with a warning.
func envAuths() (map[string]types.AuthConfig, string) {
	v := os.Getenv(envAuthConfig)
	if strings.TrimSpace(v) == "" {
		return nil, ""
	}
	cf, err := config.LoadFromReader(strings.NewReader(v))
	if err != nil {
		return nil, fmt.Sprintf("ignoring %s: it is not a valid {\"auths\":{...}} document; fix or unset it", envAuthConfig)
	}
	return cf.AuthConfigs, ""
}

// secretFields keeps only what authenticates: no e-mail, no server address.
func secretFields(ac types.AuthConfig) types.AuthConfig {
	return types.AuthConfig{
		Username:      ac.Username,
		Password:      ac.Password,
		IdentityToken: ac.IdentityToken,
		RegistryToken: ac.RegistryToken,
	}
}

// isEmpty reports whether ac cannot authenticate: a user name alone (as
// Docker Desktop leaves behind) would only turn an anonymous pull into a 401.
func isEmpty(ac types.AuthConfig) bool {
	return ac.Password == "" && ac.IdentityToken == "" && ac.RegistryToken == ""
}
