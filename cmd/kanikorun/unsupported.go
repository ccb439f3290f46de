package main

import (
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"

	"github.com/kanikorun/kanikorun/internal/errs"
)

// unsupported is a docker build flag kanikorun cannot honour, with what
// to do instead.
type unsupported struct {
	name    string
	alias   string
	boolean bool
	instead string
}

// unsupportedFlags are docker build's flags that have no kaniko
// equivalent. They are defined, hidden, so that giving one says why and
// what to do instead, rather than urfave's "flag provided but not
// defined: -ssh".
var unsupportedFlags = []unsupported{
	{name: "ssh", instead: "kaniko has no SSH agent forwarding; fetch what needs SSH before the build and COPY it from the context"},
	{name: "output", alias: "o", instead: "kaniko pushes or writes a tarball; use --tar PATH (docker load format) or --load"},
	{name: "add-host", instead: "kaniko cannot add /etc/hosts entries; use a name DNS resolves, or --network host"},
	{name: "allow", instead: "kaniko has no entitlements (RUN steps run unprivileged); drop it"},
	{name: "attest", instead: "kaniko makes no attestations; drop it and attest the pushed image afterwards (e.g. cosign attest)"},
	{name: "sbom", instead: "kaniko makes no SBOM; drop it and generate one for the pushed image afterwards"},
	{name: "provenance", instead: "kaniko makes no provenance attestation; drop it"},
	{name: "builder", instead: "the builder is the kaniko executor; choose it with --executor-image"},
	{name: "cgroup-parent", instead: "the executor is an ordinary container and RUN steps run inside it; drop it"},
	{name: "shm-size", instead: "RUN steps share the executor container's /dev/shm; drop it"},
	{name: "ulimit", instead: "RUN steps inherit the executor container's limits; drop it"},
	{name: "isolation", instead: "the executor is an ordinary Linux container; drop it"},
	{name: "annotation", instead: "kaniko cannot annotate the manifest; use --label for the image config"},
	{name: "call", instead: "use kanikorun lint for the checks before a build"},
	{name: "check", boolean: true, instead: "use kanikorun lint for the checks before a build"},
	{name: "squash", boolean: true, instead: "kaniko cannot squash; `-- --single-snapshot` takes one snapshot at the end instead"},
}

// unsupportedFlagDefs defines the unsupported flags, hidden, leaving out
// the names a command uses for itself (job's --output).
func unsupportedFlagDefs(except ...string) []cli.Flag {
	var flags []cli.Flag
	for _, u := range unsupportedFlags {
		if slices.Contains(except, u.name) {
			continue
		}
		var aliases []string
		if u.alias != "" {
			aliases = []string{u.alias}
		}
		if u.boolean {
			flags = append(flags, &cli.BoolFlag{Name: u.name, Aliases: aliases, Hidden: true})
		} else {
			flags = append(flags, &cli.StringSliceFlag{Name: u.name, Aliases: aliases, Hidden: true})
		}
	}
	return flags
}

// refuseUnsupported returns one line for the first unsupported flag on
// the command line.
func refuseUnsupported(c *cli.Context) error {
	for _, u := range unsupportedFlags {
		if hasFlag(c.Command, u.name) && !isOwnFlag(c.Command, u.name) && c.IsSet(u.name) {
			return errs.Mark(fmt.Errorf("--%s is not supported: %s", u.name, u.instead), errUnsupported)
		}
	}
	return nil
}

// isOwnFlag reports whether the command defines name visibly, for itself.
func isOwnFlag(cmd *cli.Command, name string) bool {
	for _, f := range cmd.Flags {
		if v, ok := f.(cli.VisibleFlag); ok && v.IsVisible() && slices.Contains(f.Names(), name) {
			return true
		}
	}
	return false
}
