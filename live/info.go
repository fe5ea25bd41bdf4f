package live

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// info returns the facts the tree shows beside an object of kind gk, read
// from its unstructured content obj: for Pods the status (phase, or the
// reason a container waits or stopped, as kubectl shows it), ready
// containers, restarts, node and IP; for workloads ready replicas and
// revision; for Jobs the status and completions; for Services the type,
// cluster IP and load-balancer address.
func info(gk schema.GroupKind, obj map[string]any) []app.InfoItem {
	switch gk {
	case schema.GroupKind{Kind: "Pod"}:
		return podInfo(obj)
	case schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupKind{Group: "apps", Kind: "ReplicaSet"}:
		return items(
			"Ready", readyOf(i64(obj, "status", "readyReplicas"), replicas(obj)),
			"Revision", str(obj, "metadata", "annotations", "deployment.kubernetes.io/revision"),
		)
	case schema.GroupKind{Group: "apps", Kind: "StatefulSet"}:
		return items(
			"Ready", readyOf(i64(obj, "status", "readyReplicas"), replicas(obj)),
			"Revision", str(obj, "status", "updateRevision"),
		)
	case schema.GroupKind{Group: "apps", Kind: "DaemonSet"}:
		return items(
			"Ready", readyOf(i64(obj, "status", "numberReady"), i64(obj, "status", "desiredNumberScheduled")),
			"Revision", str(obj, "metadata", "annotations", "deprecated.daemonset.template.generation"),
		)
	case schema.GroupKind{Group: "batch", Kind: "Job"}:
		return jobInfo(obj)
	case schema.GroupKind{Group: "batch", Kind: "CronJob"}:
		suspended := ""
		if b, _ := field(obj, "spec", "suspend").(bool); b {
			suspended = "true"
		}
		return items(
			"Schedule", str(obj, "spec", "schedule"),
			"Suspended", suspended,
			"Last Schedule", str(obj, "status", "lastScheduleTime"),
		)
	case schema.GroupKind{Kind: "Service"}:
		return serviceInfo(obj)
	case schema.GroupKind{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:
		endpoints := sliceField(obj, "endpoints")
		ready := 0
		for _, e := range endpoints {
			if r, ok := field(e, "conditions", "ready").(bool); ok && r {
				ready++
			}
		}
		return items("Ready", fmt.Sprintf("%d/%d", ready, len(endpoints)))
	}
	return nil
}

// podInfo returns a Pod's status, ready containers, restarts, node and IP.
func podInfo(obj map[string]any) []app.InfoItem {
	statuses := sliceField(obj, "status", "containerStatuses")
	ready, restarts := 0, int64(0)
	for _, s := range statuses {
		if r, _ := field(s, "ready").(bool); r {
			ready++
		}
		restarts += i64(s, "restartCount")
	}
	return items(
		"Status", podStatus(obj),
		"Ready", fmt.Sprintf("%d/%d", ready, len(sliceField(obj, "spec", "containers"))),
		"Restarts", strconv.FormatInt(restarts, 10),
		"Node", str(obj, "spec", "nodeName"),
		"IP", str(obj, "status", "podIP"),
	)
}

// podStatus is the one-word status kubectl get pods prints: the phase, or
// the reason the pod or one of its containers is not running
// (CrashLoopBackOff, ImagePullBackOff, Init:0/1, Completed, Terminating…).
func podStatus(obj map[string]any) string {
	reason := str(obj, "status", "phase")
	if r := str(obj, "status", "reason"); r != "" {
		reason = r
	}
	initContainers := sliceField(obj, "spec", "initContainers")
	initializing := false
	for i, s := range sliceField(obj, "status", "initContainerStatuses") {
		if t := field(s, "state", "terminated"); t != nil && i64(t, "exitCode") == 0 {
			continue
		}
		if field(s, "state", "running") != nil && i < len(initContainers) && str(initContainers[i], "restartPolicy") == "Always" {
			continue // a sidecar that is up
		}
		switch {
		case field(s, "state", "terminated") != nil:
			reason = "Init:" + stopReason(field(s, "state", "terminated"))
		case str(s, "state", "waiting", "reason") != "" && str(s, "state", "waiting", "reason") != "PodInitializing":
			reason = "Init:" + str(s, "state", "waiting", "reason")
		default:
			reason = fmt.Sprintf("Init:%d/%d", i, len(initContainers))
		}
		initializing = true
		break
	}
	if !initializing {
		statuses := sliceField(obj, "status", "containerStatuses")
		for i := len(statuses) - 1; i >= 0; i-- {
			s := statuses[i]
			if w := str(s, "state", "waiting", "reason"); w != "" {
				reason = w
			} else if t := field(s, "state", "terminated"); t != nil {
				reason = stopReason(t)
			}
		}
	}
	if field(obj, "metadata", "deletionTimestamp") != nil {
		reason = "Terminating"
	}
	return reason
}

// stopReason names why a container terminated: its reason, or its signal
// or exit code.
func stopReason(terminated any) string {
	if r := str(terminated, "reason"); r != "" {
		return r
	}
	if s := i64(terminated, "signal"); s != 0 {
		return fmt.Sprintf("Signal:%d", s)
	}
	return fmt.Sprintf("ExitCode:%d", i64(terminated, "exitCode"))
}

// jobInfo returns a Job's status (Complete, Failed, Suspended or Running)
// and completions.
func jobInfo(obj map[string]any) []app.InfoItem {
	status := "Running"
	for _, c := range sliceField(obj, "status", "conditions") {
		if str(c, "status") != "True" {
			continue
		}
		switch t := str(c, "type"); t {
		case "Complete", "Failed", "Suspended":
			status = t
		}
	}
	completions := "-"
	if field(obj, "spec", "completions") != nil {
		completions = strconv.FormatInt(i64(obj, "spec", "completions"), 10)
	}
	return items(
		"Status", status,
		"Completions", fmt.Sprintf("%d/%s", i64(obj, "status", "succeeded"), completions),
	)
}

// serviceInfo returns a Service's type, cluster IP and load-balancer
// addresses.
func serviceInfo(obj map[string]any) []app.InfoItem {
	var lb []string
	for _, in := range sliceField(obj, "status", "loadBalancer", "ingress") {
		if ip := str(in, "ip"); ip != "" {
			lb = append(lb, ip)
		} else if h := str(in, "hostname"); h != "" {
			lb = append(lb, h)
		}
	}
	typ := str(obj, "spec", "type")
	if typ == "" {
		typ = "ClusterIP"
	}
	return items(
		"Type", typ,
		"Cluster IP", str(obj, "spec", "clusterIP"),
		"Load Balancer", strings.Join(lb, ","),
	)
}

// images returns the container images (init containers first) of a Pod or
// of the pod template of a workload of kind gk, each once.
func images(gk schema.GroupKind, obj map[string]any) []string {
	var spec any
	switch gk {
	case schema.GroupKind{Kind: "Pod"}:
		spec = field(obj, "spec")
	case schema.GroupKind{Group: "apps", Kind: "Deployment"}, schema.GroupKind{Group: "apps", Kind: "ReplicaSet"},
		schema.GroupKind{Group: "apps", Kind: "StatefulSet"}, schema.GroupKind{Group: "apps", Kind: "DaemonSet"},
		schema.GroupKind{Group: "batch", Kind: "Job"}, schema.GroupKind{Kind: "ReplicationController"}:
		spec = field(obj, "spec", "template", "spec")
	case schema.GroupKind{Group: "batch", Kind: "CronJob"}:
		spec = field(obj, "spec", "jobTemplate", "spec", "template", "spec")
	default:
		return nil
	}
	var out []string
	for _, list := range []string{"initContainers", "containers"} {
		for _, ctr := range sliceField(spec, list) {
			if img := str(ctr, "image"); img != "" && !slices.Contains(out, img) {
				out = append(out, img)
			}
		}
	}
	return out
}

// items turns name, value pairs into info items, leaving out empty values.
func items(pairs ...string) []app.InfoItem {
	out := make([]app.InfoItem, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			out = append(out, app.InfoItem{Name: pairs[i], Value: pairs[i+1]})
		}
	}
	return out
}

// readyOf renders "ready/desired".
func readyOf(ready, desired int64) string {
	return fmt.Sprintf("%d/%d", ready, desired)
}

// replicas returns spec.replicas, which defaults to 1.
func replicas(obj map[string]any) int64 {
	if field(obj, "spec", "replicas") == nil {
		return 1
	}
	return i64(obj, "spec", "replicas")
}

// field returns the value at path in unstructured content, without copying,
// or nil.
func field(obj any, path ...string) any {
	for _, p := range path {
		m, ok := obj.(map[string]any)
		if !ok {
			return nil
		}
		obj = m[p]
	}
	return obj
}

// str returns the string at path, or "".
func str(obj any, path ...string) string {
	s, _ := field(obj, path...).(string)
	return s
}

// i64 returns the number at path as an int64, or 0.
func i64(obj any, path ...string) int64 {
	switch n := field(obj, path...).(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case int32:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}

// sliceField returns the list at path, or nil.
func sliceField(obj any, path ...string) []any {
	s, _ := field(obj, path...).([]any)
	return s
}
