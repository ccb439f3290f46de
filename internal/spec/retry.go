package spec

import "strconv"

// retryArgs are the executor's own retry flags for a build that kanikorun
// retries (--retries N): --push-retry=N and --image-download-retry=N, so
// that the executor retries a failed push or base-image download inside one
// run before kanikorun starts the whole run again. A flag the user gave
// after -- wins, and is not given twice.
//
// Both backends render them through Args: a local build and the Job of the
// same command line hand the executor the same flags. The Job's own pod
// retries (backoffLimit) stay apart.
func (b *Build) retryArgs() []string {
	if b.Retries <= 0 {
		return nil
	}
	given, err := ParseExecutorArgs(b.ExtraArgs)
	if err != nil {
		return nil
	}
	n := strconv.Itoa(b.Retries)
	var args []string
	if given.PushRetry == "" {
		args = append(args, "--push-retry="+n)
	}
	if given.ImageDownloadRetry == "" {
		args = append(args, "--image-download-retry="+n)
	}
	return args
}

// MaxRetries bounds --retries: more attempts than this only hide a registry
// that is down.
const MaxRetries = 10
