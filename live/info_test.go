package live

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

func TestPodStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, pod, want string
	}{
		{"running", `
status: {phase: Running, containerStatuses: [{ready: true, state: {running: {}}}]}`, "Running"},
		{"crash loop", `
status:
  phase: Running
  containerStatuses: [{ready: false, restartCount: 5, state: {waiting: {reason: CrashLoopBackOff}}}]`, "CrashLoopBackOff"},
		{"waiting for init", `
spec: {initContainers: [{name: a}, {name: b}]}
status:
  phase: Pending
  initContainerStatuses: [{state: {terminated: {exitCode: 0}}}, {state: {running: {}}}]`, "Init:1/2"},
		{"init failed", `
spec: {initContainers: [{name: a}]}
status:
  phase: Pending
  initContainerStatuses: [{state: {terminated: {exitCode: 2}}}]`, "Init:ExitCode:2"},
		{"sidecar up", `
spec: {initContainers: [{name: proxy, restartPolicy: Always}]}
status:
  phase: Running
  initContainerStatuses: [{state: {running: {}}}]
  containerStatuses: [{ready: true, state: {running: {}}}]`, "Running"},
		{"completed", `
status: {phase: Succeeded, containerStatuses: [{state: {terminated: {exitCode: 0, reason: Completed}}}]}`, "Completed"},
		{"evicted", `
status: {phase: Failed, reason: Evicted}`, "Evicted"},
		{"terminating", `
metadata: {deletionTimestamp: "2026-01-01T00:00:00Z"}
status: {phase: Running, containerStatuses: [{ready: true, state: {running: {}}}]}`, "Terminating"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var obj map[string]any
			if err := yaml.Unmarshal([]byte(tt.pod), &obj); err != nil {
				t.Fatal(err)
			}
			if got := podStatus(obj); got != tt.want {
				t.Errorf("podStatus = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestInfoService(t *testing.T) {
	t.Parallel()
	var obj map[string]any
	src := `
spec: {type: LoadBalancer, clusterIP: 10.0.0.7}
status: {loadBalancer: {ingress: [{ip: 192.0.2.1}, {hostname: lb.example.com}]}}`
	if err := yaml.Unmarshal([]byte(src), &obj); err != nil {
		t.Fatal(err)
	}
	got := info(schema.GroupKind{Kind: "Service"}, obj)
	want := "Type=LoadBalancer Cluster IP=10.0.0.7 Load Balancer=192.0.2.1,lb.example.com "
	s := ""
	for _, i := range got {
		s += i.Name + "=" + i.Value + " "
	}
	if s != want {
		t.Errorf("info = %q, want %q", s, want)
	}
}
