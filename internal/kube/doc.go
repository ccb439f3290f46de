// Package kube is kanikorun's Kubernetes side, as a library the CLI wires up:
//
//   - Render turns a spec.Build into a batch/v1 Job (and, on request, the
//     kubernetes.io/dockerconfigjson Secret it mounts) whose executor
//     arguments come from spec.Build.Args, the same renderer the local run
//     uses, with paths mapped into the pod (PodLayout). Encode prints the
//     objects as YAML or JSON.
//   - ReadManifest and Manifest.Plan turn a Job or Pod manifest that runs a
//     kaniko executor back into a plan.Container for the local runner, with
//     the pod's volumes mapped to host paths (replay). Replay input may come
//     from a newer cluster, so it is read with DecodeLenient (unknown
//     fields named, not fatal); what kanikorun renders is checked with the
//     strict Decode.
//   - ParseStatus reads a Job's status the way the Job controller means it:
//     conditions looked up by type, never by position.
//
// The package knows nothing of the Docker SDK or of a cluster connection: it
// only builds and reads API objects. Importing it costs only the init of
// k8s.io/api and its dependencies; the runtime.Scheme that strict decoding
// needs is built on first use, not at package init, so commands that never
// touch Kubernetes objects (lint, build) do not pay for it.
package kube
