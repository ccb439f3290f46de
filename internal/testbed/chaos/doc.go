// Package chaos is kanikorun's chaos test: it drives the built kanikorun
// binary through many builds against the real Docker daemon, the stand-in
// executor and an in-process registry, and breaks them on purpose: SIGINT,
// SIGTERM and SIGKILL of kanikorun at random moments, the executor killed
// mid-build, a registry that answers 503 or 429 or resets connections, a
// registry that refuses the login. Afterwards it runs kanikorun gc and
// counts what is left (containers, volumes, temp dirs, partial tarballs),
// checks that every build that should have succeeded after its retries
// did, and scans every output and inspect record for the test password.
//
// `make test` runs a short round (KANIKORUN_CHAOS_BUILDS unset: 20
// builds); `make chaos` runs 200. KANIKORUN_CHAOS_SEED repeats a round.
// It uses loopback addresses only.
package chaos
