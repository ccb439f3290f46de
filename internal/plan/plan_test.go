package plan

import (
	"os/exec"
	"strings"
	"testing"
)

func TestShellQuoteRoundTrips(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"plain", "", "with space", "it's", `a"b`, "$HOME/x", "--label=a b", "x;rm -rf /", "tab\there", "$(id)", "`id`", "ünïcode"} {
		out, err := exec.Command("sh", "-c", "printf %s "+ShellQuote(s)).Output()
		if err != nil {
			t.Fatal(err)
		}
		want := s
		if s == "$HOME/x" {
			// $NAME stays expandable on purpose.
			home, _ := exec.Command("sh", "-c", "printf %s \"$HOME\"").Output()
			want = string(home) + "/x"
		}
		if string(out) != want {
			t.Errorf("ShellQuote(%q) = %s, the shell reads %q", s, ShellQuote(s), out)
		}
	}
}

func TestDockerRunUsesMountsThatRefuseMissingSources(t *testing.T) {
	t.Parallel()
	c := Container{Image: "img", Args: []string{"--x=a b"}, Network: "host", NoNewPrivileges: true,
		Mounts: []Mount{{Source: "/ctx", Target: "/workspace", ReadOnly: true}}, DigestFile: "/tmp/d"}
	got := c.DockerRun()
	for _, want := range []string{
		"docker run --rm --log-driver none --network host --security-opt no-new-privileges",
		"--mount type=bind,source=/ctx,target=/workspace,readonly",
		"--mount type=bind,source=/tmp/d,target=/dev/termination-log img",
		"'--x=a b'",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("DockerRun() = %s\nlacks %s", got, want)
		}
	}
	if strings.Contains(got, " -v ") {
		t.Errorf("DockerRun uses -v, which creates missing sources: %s", got)
	}
}

// The cache volume's labels travel in the line, as the create carries
// them: the daemon labels the volume when the run makes it.
func TestDockerRunLabelsTheVolumeItMakes(t *testing.T) {
	t.Parallel()
	c := Container{Image: "img", Volumes: []VolumeMount{{Name: "kanikorun-cache", Target: "/cache", Labels: map[string]string{"b": "2", "a": "1"}}}}
	want := "--mount type=volume,source=kanikorun-cache,target=/cache,volume-label=a=1,volume-label=b=2 img"
	if got := c.DockerRun(); !strings.Contains(got, want) {
		t.Errorf("DockerRun() = %s\nlacks %s", got, want)
	}
}
