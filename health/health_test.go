package health

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TestCheck reads each testdata/<kind>-<state>.yaml, a live object as the API
// server returns it, and checks its health and a part of the message.
func TestCheck(t *testing.T) {
	tests := []struct {
		file   string
		status app.HealthStatus // "" means the kind has no health (ok false)
		msg    string
	}{
		{"deployment-healthy.yaml", app.Healthy, "3 of 3 replicas available"},
		{"deployment-progressing.yaml", app.Progressing, "waiting for rollout to finish: 1 of 3 new replicas have been updated"},
		{"deployment-old-replicas.yaml", app.Progressing, "1 old replicas are pending termination"},
		{"deployment-unavailable.yaml", app.Progressing, "2 of 3 updated replicas are available"},
		{"deployment-degraded.yaml", app.Degraded, `progress deadline exceeded: ReplicaSet "api-6f7d9c8b5d" has timed out progressing.`},
		{"deployment-replica-failure.yaml", app.Degraded, "cannot create pods: "},
		{"deployment-old-generation.yaml", app.Progressing, "waiting for rollout to be observed: generation 5, observed 4"},
		{"deployment-paused.yaml", app.Suspended, "deployment is paused"},
		{"deployment-paused-new-spec.yaml", app.Suspended, "deployment is paused"},
		{"deployment-scaled-to-zero.yaml", app.Healthy, "scaled to zero replicas"},
		{"deployment-deleting.yaml", app.Progressing, "pending deletion"},
		{"deployment-malformed.yaml", app.HealthUnknown, "cannot read the object"},
		{"replicaset-healthy.yaml", app.Healthy, "3 of 3 replicas available"},
		{"replicaset-progressing.yaml", app.Progressing, "1 of 3 replicas are available"},
		{"replicaset-replica-failure.yaml", app.Degraded, `cannot create pods: pods "api-6f7d9c8b5d-7xk2p" is forbidden: exceeded quota: compute`},
		{"statefulset-healthy.yaml", app.Healthy, "rolling update complete: 3 pods at revision db-7b9f6c5d84"},
		{"statefulset-progressing.yaml", app.Progressing, "waiting for 1 of 3 pods to be ready"},
		{"statefulset-updating.yaml", app.Progressing, "waiting for rolling update to complete: 1 of 3 pods at revision db-5c8d7f9b46"},
		{"statefulset-partitioned.yaml", app.Healthy, "partitioned roll out complete: 1 new pods have been updated, 2 held back by partition 2"},
		{"statefulset-partition-progressing.yaml", app.Progressing, "waiting for partitioned roll out to finish: 1 of 2 new pods"},
		{"statefulset-ondelete.yaml", app.Healthy, "3 pods ready, 0 at the update revision; update strategy OnDelete"},
		{"statefulset-ondelete-not-ready.yaml", app.Progressing, "waiting for 1 of 3 pods to be ready"},
		{"statefulset-scaling-down.yaml", app.Progressing, "waiting for scale-down to finish: 1 pods pending termination"},
		{"statefulset-not-available.yaml", app.Progressing, "waiting for 1 of 3 pods to be available (ready for 30s)"},
		{"statefulset-old-generation.yaml", app.Progressing, "waiting for rollout to be observed"},
		{"daemonset-healthy.yaml", app.Healthy, "3 of 3 pods available"},
		{"daemonset-progressing.yaml", app.Progressing, "1 of 3 new pods have been updated"},
		{"daemonset-unavailable.yaml", app.Progressing, "waiting for rollout to finish: 2 of 3 pods are available"},
		{"daemonset-not-ready.yaml", app.Progressing, "waiting for rollout to finish: 2 of 3 pods are ready"},
		{"daemonset-unscheduled.yaml", app.Progressing, "waiting for pods to be scheduled: 2 of 3 nodes run a pod"},
		{"daemonset-old-generation.yaml", app.Progressing, "waiting for rollout to be observed: generation 3, observed 2"},
		{"daemonset-ondelete-not-ready.yaml", app.Progressing, "2 of 3 pods are ready"},
		{"daemonset-no-nodes.yaml", app.Healthy, "no node is eligible to run a pod"},
		{"daemonset-ondelete.yaml", app.Healthy, "1 updated; update strategy OnDelete"},
		{"pod-running.yaml", app.Healthy, "running and ready"},
		{"pod-not-ready.yaml", app.Progressing, "running but not ready: containers with unready status: [api]"},
		{"pod-pending.yaml", app.Progressing, "pod cannot be scheduled: 0/3 nodes are available: 3 Insufficient cpu"},
		{"pod-creating.yaml", app.Progressing, "pod is pending: container api: ContainerCreating"},
		{"pod-no-status.yaml", app.Progressing, "pod has no status yet"},
		{"pod-crashloop.yaml", app.Degraded, "container api: CrashLoopBackOff (last exit: Error, exit code 1): back-off 5m0s"},
		{"pod-oomkilled.yaml", app.Degraded, "container api: restarted 4 times, last exit: OOMKilled, exit code 137"},
		{"pod-init-error.yaml", app.Degraded, `container migrate: restarted 3 times, last exit: Error, exit code 1: migration 0042_add_index failed`},
		{"pod-ignore-restarts-crashloop.yaml", app.Progressing, "pod is running but not ready"},
		{"pod-ignore-restarts-restarted.yaml", app.Progressing, "pod is running but not ready"},
		{"pod-ignore-restarts-imagepullbackoff.yaml", app.Degraded, "container api: ImagePullBackOff"},
		{"pod-ignore-restart-policy.yaml", app.Healthy, "pod is running and ready"},
		{"pod-errimagepull.yaml", app.Degraded, `container api: ErrImagePull: rpc error: code = NotFound`},
		{"pod-init-crashloop.yaml", app.Degraded, "container migrate: CrashLoopBackOff"},
		{"pod-imagepullbackoff.yaml", app.Degraded, `container api: ImagePullBackOff: Back-off pulling image "ghcr.io/gyre-cd/api:1.4.3-typo"`},
		{"pod-succeeded.yaml", app.Healthy, "pod completed"},
		{"pod-succeeded-onfailure.yaml", app.Healthy, "pod completed"},
		{"pod-failed.yaml", app.Degraded, `container api: Error (exit code 2): migration 0042_add_index failed`},
		{"pod-evicted.yaml", app.Degraded, "pod failed: The node was low on resource: memory"},
		{"pod-job-running.yaml", app.Progressing, "pod is running"},
		{"job-complete.yaml", app.Healthy, "job completed"},
		{"job-failed.yaml", app.Degraded, "job failed: Job has reached the specified backoff limit"},
		{"job-running.yaml", app.Progressing, "job is running: 1 active, 0 succeeded, 1 failed (backoff limit 2)"},
		{"job-resumed.yaml", app.Progressing, "job is running"},
		{"job-suspending.yaml", app.Suspended, "job is suspended"},
		{"job-success-criteria-met.yaml", app.Healthy, "job completed: Matched rules at index 0"},
		{"job-suspended.yaml", app.Suspended, "job is suspended"},
		{"cronjob-scheduled.yaml", app.Healthy, ""},
		{"cronjob-suspended.yaml", app.Suspended, "cronjob is suspended"},
		{"svc-clusterip.yaml", app.Healthy, ""},
		{"svc-lb-pending.yaml", app.Progressing, "waiting for a load balancer address"},
		{"svc-lb-ready.yaml", app.Healthy, ""},
		{"ingress-pending.yaml", app.Progressing, `waiting for a load balancer address from the controller of ingress class "nginx"`},
		{"ingress-ready.yaml", app.Healthy, ""},
		{"pvc-bound.yaml", app.Healthy, "bound"},
		{"pvc-pending.yaml", app.Progressing, "waiting for the claim to be bound"},
		{"pvc-lost.yaml", app.Degraded, "lost its volume"},
		{"pvc-resizing.yaml", app.Progressing, "claim is bound; Resizing"},
		{"pvc-resize-failed.yaml", app.Degraded, "ControllerResizeError: resize volume"},
		{"hpa-healthy.yaml", app.Healthy, "recommended size matches current size"},
		{"hpa-metrics-api-missing.yaml", app.Degraded, "the server could not find the requested resource (get pods.metrics.k8s.io)"},
		{"hpa-metrics-pending.yaml", app.Progressing, "waiting for metrics: the HPA was unable to compute the replica count: failed to get cpu utilization: did not receive metrics"},
		{"hpa-ambiguous-selector.yaml", app.Degraded, "controlled by multiple HPAs"},
		{"hpa-scaling-disabled.yaml", app.Suspended, "scaling is disabled"},
		{"hpa-v1-degraded.yaml", app.Degraded, "missing request for cpu"},
		{"hpa-new.yaml", app.Progressing, "waiting for the autoscaler to report"},
		{"pdb-healthy.yaml", app.Healthy, "3 healthy pods, 2 required, 1 disruptions allowed"},
		{"pdb-budget-not-met.yaml", app.Progressing, "budget not met: 1 healthy pods, 2 required"},
		{"pdb-no-pods.yaml", app.Progressing, "budget not met: no pods match the selector, 2 required"},
		{"pdb-sync-failed.yaml", app.Degraded, `cannot compute the budget: found no controllers for pod "debug-shell"`},
		{"apiservice-available.yaml", app.Healthy, "all checks passed"},
		{"apiservice-unavailable.yaml", app.Progressing, "MissingEndpoints: endpoints for service/metrics-server"},
		{"crd-established.yaml", app.Healthy, "initial names have been accepted"},
		{"crd-names-conflict.yaml", app.Degraded, `names not accepted: "cert" is already in use`},
		{"crd-pending.yaml", app.Progressing, "waiting for the definition to be established"},
		{"crd-installing.yaml", app.Progressing, "waiting for the definition to be established: the initial names have been accepted"},
		{"namespace-active.yaml", app.Healthy, ""},
		{"namespace-terminating.yaml", app.Progressing, "namespace is terminating: Some resources are remaining: pods. has 2 resource instances"},
		{"namespace-deletion-blocked.yaml", app.Degraded, "namespace deletion is blocked: Discovery failed for some groups"},
		{"application-healthy.yaml", app.Healthy, ""},
		{"application-degraded.yaml", app.Degraded, "Pod/guestbook/web-7d9f-abcde: container web: CrashLoopBackOff"},
		{"application-new.yaml", app.Progressing, "waiting for the application to be reconciled"},
		{"custom-ready-true.yaml", app.Healthy, "Certificate is up to date"},
		{"custom-ready-false.yaml", app.Degraded, "Ready is False: Issuing certificate as Secret does not exist"},
		{"custom-ready-unknown.yaml", app.Progressing, "Ready is Unknown: Detecting drift"},
		{"custom-condition-stale.yaml", app.Progressing, "waiting for rollout to be observed: generation 3, observed 2"},
		{"custom-old-generation.yaml", app.Progressing, "generation 2, observed 1"},
		{"custom-reconciling.yaml", app.Progressing, "Building manifests"},
		{"custom-stalled.yaml", app.Degraded, "kustomization path not found: stat"},
		{"custom-available-true.yaml", app.Healthy, "all widgets spinning"},
		{"custom-no-conditions.yaml", "", ""},
		{"custom-other-conditions.yaml", "", ""},
		{"configmap-plain.yaml", "", ""},
		{"configmap-deleting.yaml", app.Progressing, "pending deletion"},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.file] = true
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			got, ok := Check(readObject(t, tt.file))
			if tt.status == "" {
				if ok {
					t.Fatalf("Check(%s) = %+v, want no health", tt.file, got)
				}
				return
			}
			if !ok {
				t.Fatalf("Check(%s): no health, want %s", tt.file, tt.status)
			}
			if got.Status != tt.status || !strings.Contains(got.Message, tt.msg) {
				t.Errorf("Check(%s) = %s %q, want %s with %q", tt.file, got.Status, got.Message, tt.status, tt.msg)
			}
		})
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, f := range files {
		if !covered[filepath.Base(f)] {
			t.Errorf("%s: no test case", f)
		}
	}
}

func readObject(t *testing.T, file string) *unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	// Decode the way client-go does, so that integers are int64.
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(j); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return obj
}

// TestCheckFloatNumbers checks objects decoded by encoding/json or a YAML
// library, whose numbers are float64, get the same health.
func TestCheckFloatNumbers(t *testing.T) {
	for _, file := range []string{"deployment-old-generation.yaml", "custom-old-generation.yaml", "custom-condition-stale.yaml", "pdb-budget-not-met.yaml", "statefulset-partition-progressing.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		floats := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &floats.Object); err != nil {
			t.Fatal(err)
		}
		got, _ := Check(floats)
		want, _ := Check(readObject(t, file))
		if got != want {
			t.Errorf("%s: with float64 numbers %+v, with int64 %+v", file, got, want)
		}
	}
}

// TestObserved says which objects their controller has looked at: a
// workload's missing observedGeneration means not yet, another kind's means
// nothing, and one behind metadata.generation means not yet for any kind.
func TestObserved(t *testing.T) {
	tests := []struct {
		yaml string
		want bool
	}{
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: new, generation: 1}\n", false},
		{"apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: new, generation: 1}\nstatus: {replicas: 0}\n", false},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: seen, generation: 1}\nstatus: {observedGeneration: 1}\n", true},
		{"apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: behind, generation: 3}\nstatus: {observedGeneration: 2}\n", false},
		{"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: behind, generation: 2}\nstatus: {observedGeneration: 1}\n", false},
		{"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: silent, generation: 2}\n", true},
		{"apiVersion: v1\nkind: Service\nmetadata: {name: web}\n", true},
	}
	for _, tt := range tests {
		var obj unstructured.Unstructured
		if err := yaml.Unmarshal([]byte(tt.yaml), &obj.Object); err != nil {
			t.Fatal(err)
		}
		if got := Observed(&obj); got != tt.want {
			t.Errorf("Observed(%s %s) = %v, want %v", obj.GetKind(), obj.GetName(), got, tt.want)
		}
	}
}
