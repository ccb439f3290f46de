//go:build !unix

package runner

// alive cannot tell here; gc then waits for the day's grace.
func alive(int) bool { return true }
