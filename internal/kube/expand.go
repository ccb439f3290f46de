package kube

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// expandRefs replaces $(NAME) references the way the kubelet expands a
// container's command, args and env values, so a replay runs the argv the
// pod ran: "$$" is a literal "$", a reference to a name that is not
// defined stays as written, and a "$(" without ")" is copied as is.
func expandRefs(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// containerEnv resolves a container's environment for a replay: plain
// values (expanded against the variables before them, as the kubelet
// does) and keys of ConfigMaps in the manifest. Values from Secrets, pod
// fields and resources are left out with a warning: a Secret's value must
// not land in a container's environment on this machine, and the others
// describe a pod that does not exist here.
func containerEnv(c *corev1.Container, configMaps map[string]*corev1.ConfigMap) (env []string, vars map[string]string, warnings []string) {
	vars = map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			v := expandRefs(e.Value, vars)
			vars[e.Name] = v
			env = append(env, e.Name+"="+v)
			continue
		}
		switch src := e.ValueFrom; {
		case src.ConfigMapKeyRef != nil:
			if cm, ok := configMaps[src.ConfigMapKeyRef.Name]; ok {
				if v, ok := cm.Data[src.ConfigMapKeyRef.Key]; ok {
					vars[e.Name] = v
					env = append(env, e.Name+"="+v)
					continue
				}
			}
			warnings = append(warnings, fmt.Sprintf("env %s comes from ConfigMap %q, which the manifest does not hold; it is not set in the replay", e.Name, src.ConfigMapKeyRef.Name))
		case src.SecretKeyRef != nil:
			warnings = append(warnings, fmt.Sprintf("env %s comes from Secret %q and is not set in the replay: secrets never go into a local container's environment", e.Name, src.SecretKeyRef.Name))
		default:
			warnings = append(warnings, fmt.Sprintf("env %s comes from the pod's fields or resources and is not set in the replay", e.Name))
		}
	}
	for _, f := range c.EnvFrom {
		what := "a source"
		switch {
		case f.SecretRef != nil:
			what = fmt.Sprintf("Secret %q", f.SecretRef.Name)
		case f.ConfigMapRef != nil:
			what = fmt.Sprintf("ConfigMap %q", f.ConfigMapRef.Name)
		}
		warnings = append(warnings, fmt.Sprintf("envFrom %s is not applied in the replay", what))
	}
	return env, vars, warnings
}
