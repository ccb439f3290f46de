package spec

import "strings"

// FlagValues returns the values an executor argument list gives a flag,
// in every form kaniko's flag parser (pflag) accepts: --name=v, --name v,
// -s v, -s=v, -sv. short 0 means the flag has no short form. Replay and
// the CLI read manifests' argument lists with it.
func FlagValues(argv []string, long string, short byte) []string {
	var vals []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--"+long+"="); ok {
			vals = append(vals, v)
			continue
		}
		if a == "--"+long || (short != 0 && a == "-"+string(short)) {
			if i+1 < len(argv) {
				vals = append(vals, argv[i+1])
				i++
			}
			continue
		}
		if short != 0 && len(a) > 2 && a[0] == '-' && a[1] == short {
			vals = append(vals, strings.TrimPrefix(a[2:], "="))
		}
	}
	return vals
}

// LastFlag returns the value that wins: the last one.
func LastFlag(argv []string, long string, short byte) (string, bool) {
	v := FlagValues(argv, long, short)
	if len(v) == 0 {
		return "", false
	}
	return v[len(v)-1], true
}
