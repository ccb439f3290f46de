// Package benchstat holds what the bench programs and benchmarks share:
// medians of timings, milliseconds for printing, and the kanikorun binary
// they time as a whole process.
package benchstat

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"time"
)

// Median is the median of ds (the mean of the middle two for an even
// count); ds is left as it is.
func Median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MS is d in milliseconds, for printing.
func MS(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Ratio is a / b.
func Ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

// BuildKanikorun builds ./cmd/kanikorun (run from the module root) with
// the build tags into dir and returns the binary's path.
func BuildKanikorun(dir, tags string) (string, error) {
	bin := filepath.Join(dir, "kanikorun")
	if out, err := exec.Command("go", "build", "-tags", tags, "-o", bin, "./cmd/kanikorun").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

var (
	containerOptions  = regexp.MustCompile(` --(log-driver|network|label|security-opt) ('[^']*'|\S+)`)
	optionsButNetwork = regexp.MustCompile(` --(log-driver|label|security-opt) ('[^']*'|\S+)`)
)

// PlainLine is a kanikorun --dry-run line without the container options
// kanikorun chooses beyond docker's defaults (its log driver, labels and
// security options, and unless keepNetwork its network): the docker run a
// user would type for the same image, mounts and executor arguments.
func PlainLine(line string, keepNetwork bool) string {
	if keepNetwork {
		return optionsButNetwork.ReplaceAllString(line, "")
	}
	return containerOptions.ReplaceAllString(line, "")
}
