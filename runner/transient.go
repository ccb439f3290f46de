package runner

import (
	"regexp"
	"strings"
)

// Verdict is what a failed executor run's output says about trying again.
type Verdict struct {
	// Transient is true when the failure was a registry or network error
	// while pulling or pushing, which another attempt may not meet.
	Transient bool
	// Reason is the deciding log phrase, for the attempt's announcement.
	Reason string
}

// permanentPhrases prove a failure another attempt would meet again: the
// registry refused the credentials or the access, an image or tag does not
// exist, the Dockerfile is wrong, a RUN step failed. They win over the
// transient phrases: a refused login after a reset connection is still a
// refused login.
var permanentPhrases = []string{
	"UNAUTHORIZED", "401 Unauthorized", "DENIED", "403 Forbidden",
	"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "manifest unknown", "404 Not Found",
	"failed to execute command", "dockerfile parse error", "unknown instruction",
	"is not a valid target build stage", "no such file or directory",
}

// transientPhrases are how the executor (go-containerregistry's transport
// under it) reports a registry or network hiccup. With an error body the
// registry's own code is printed (UNAVAILABLE, TOOMANYREQUESTS), without
// one the HTTP status ("unexpected status code 503 Service Unavailable").
var transientPhrases = []string{
	"connection refused", "connection reset by peer", "broken pipe",
	"i/o timeout", "TLS handshake timeout", "Client.Timeout exceeded",
	"context deadline exceeded", "unexpected EOF", "server misbehaving",
	"UNAVAILABLE", "TOOMANYREQUESTS", "429 Too Many Requests",
	"500 Internal Server Error", "502 Bad Gateway", "503 Service Unavailable", "504 Gateway Timeout",
}

// statusCode5xx matches go-containerregistry's "unexpected status code
// 5xx" whatever text follows.
var statusCode5xx = regexp.MustCompile(`unexpected status code 5\d\d|status code 429`)

// Classify reads an executor's exit code and the last lines of its output.
// Only exit code 1 can be transient: kaniko exits 1 for every error of its
// own (registry errors included) and with a RUN step's own code otherwise.
func Classify(exitCode int, lastLines []string) Verdict {
	if exitCode != 1 {
		return Verdict{}
	}
	text := strings.Join(lastLines, "\n")
	for _, p := range permanentPhrases {
		if strings.Contains(text, p) {
			return Verdict{Reason: p}
		}
	}
	for _, p := range transientPhrases {
		if strings.Contains(text, p) {
			return Verdict{Transient: true, Reason: p}
		}
	}
	if m := statusCode5xx.FindString(text); m != "" {
		return Verdict{Transient: true, Reason: m}
	}
	return Verdict{}
}
