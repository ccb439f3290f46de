package spec

import (
	"strconv"
	"strings"
)

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

// BoolFlag returns the value an executor argument list gives a boolean
// flag, as pflag reads it: --name is true, --name=v is v (1, t, true, 0,
// f, false, ...); a bool flag never takes the next argument. The last one
// wins. nil means the flag is absent (or its value is no boolean, which
// the executor refuses).
func BoolFlag(argv []string, long string) *bool {
	var val *bool
	for _, a := range argv {
		if a == "--" {
			break
		}
		if a == "--"+long {
			t := true
			val = &t
			continue
		}
		if v, ok := strings.CutPrefix(a, "--"+long+"="); ok {
			b, err := strconv.ParseBool(v)
			if err != nil {
				val = nil
				continue
			}
			val = &b
		}
	}
	return val
}
