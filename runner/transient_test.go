package runner

import "testing"

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		code      int
		line      string
		transient bool
	}{
		{"push 503 with a body", 1, `error pushing image: failed to push to destination 127.0.0.1:5000/app:1: PUT http://127.0.0.1:5000/v2/app/manifests/1: UNAVAILABLE: service unavailable`, true},
		{"push 503 without a body", 1, `error pushing image: failed to push to destination r/app:1: unexpected status code 503 Service Unavailable: `, true},
		{"pull 502", 1, `error building image: unable to complete operation after 0 attempts, last error: GET https://r/v2/base/blobs/sha256:ab: unexpected status code 502 Bad Gateway`, true},
		{"rate limited", 1, `GET https://index.docker.io/v2/library/alpine/manifests/3: TOOMANYREQUESTS: You have reached your pull rate limit`, true},
		{"push permission check, 503", 1, `error checking push permissions -- make sure you entered the correct tag name, and that you are authenticated correctly, and try again: checking push permission for "r/app:1": POST http://r/v2/app/blobs/uploads/: UNAVAILABLE: try later`, true},
		{"connection refused", 1, `Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused`, true},
		{"connection reset", 1, `read tcp 127.0.0.1:1->127.0.0.1:5000: read: connection reset by peer`, true},
		{"login refused", 1, `checking push permission for "r/app:1": POST http://r/v2/app/blobs/uploads/: UNAUTHORIZED: authentication required`, false},
		{"denied", 1, `PUT https://r/v2/app/manifests/1: DENIED: requested access to the resource is denied`, false},
		{"missing base image", 1, `error building image: GET https://r/v2/base/manifests/9: MANIFEST_UNKNOWN: manifest unknown`, false},
		{"failing RUN with code 1", 1, `error building image: error building stage: failed to execute command: waiting for process to exit: exit status 1`, false},
		{"failing RUN with its own code", 3, `error building image: error building stage: failed to execute command: waiting for process to exit: exit status 3`, false},
		{"Dockerfile error", 1, `error building image: parsing dockerfile: dockerfile parse error line 3: unknown instruction: BOGUS`, false},
		{"refused login after a reset", 1, "connection reset by peer\nUNAUTHORIZED: authentication required", false},
		{"nothing known", 1, `error building image: something else`, false},
		{"success", 0, ``, false},
	} {
		if got := Classify(tc.code, []string{"INFO[0000] Retrieving image manifest", tc.line}); got.Transient != tc.transient {
			t.Errorf("%s: Classify = %+v, want transient %v", tc.name, got, tc.transient)
		} else if got.Transient && got.Reason == "" {
			t.Errorf("%s: a transient verdict without a reason", tc.name)
		}
	}
}
