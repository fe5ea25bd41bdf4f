// Package health says whether a live Kubernetes object is working: Healthy,
// Progressing, Degraded, Suspended or Unknown, with a short reason. It is
// pure: objects in, app.HealthState out, no client, no clock.
//
// Check dispatches on the object's group and kind to one rule per kind (one
// file each: deployment.go, pod.go, …), written after what each kind's
// controller writes and what `kubectl rollout status`, Argo CD
// (gitops-engine) and kstatus (cli-utils) decide. Kinds without a rule of
// their own follow the common conventions (generic.go): a
// status.observedGeneration behind metadata.generation is Progressing, and
// a Ready or Available condition decides; an object without such conditions
// has no health, and Check says so with ok false so that it is not counted.
// Every rule first compares status.observedGeneration with
// metadata.generation where the kind has one, because a status that
// describes an older spec says nothing about the current one; and any
// object with a deletionTimestamp is Progressing, Namespaces excepted (see
// below).
//
// Aggregate folds per-object results into an Application's health: the worst
// status wins and its message names the object that caused it. The caller
// decides what counts: hooks and objects ignored by the Application are left
// out, and an object git declares that does not exist is passed in as
// app.Missing, since there is no live object to check.
//
// # What the statuses mean
//
// Degraded means it will not work without a person: a sync waiting for
// health stops at the first Degraded object. Progressing means it is on its
// way, or may get there without a change to git (a node added, a pod
// scheduled, metrics scraped); a sync waiting for health gives up on it
// only at its timeout. Because health has no clock, a condition that
// Kubernetes reports both for the first seconds of every rollout and for a
// real failure is Progressing, and the timeout is what turns it into a
// failure; a rule calls something Degraded only when the status alone shows
// it will not recover. Suspended means someone paused it on purpose.
//
// # Deployment
//
// Healthy once the controller has observed the spec, every replica is
// updated, no old replica is left and every updated replica is available
// (kubectl's checks); a Deployment scaled to zero is Healthy. Progressing
// until then. Degraded when the Progressing condition is False with reason
// ProgressDeadlineExceeded, or ReplicaFailure is True (pods cannot be
// created: a quota, an admission webhook). Suspended when spec.paused, even
// before the controller observes the latest spec: nothing rolls out until
// it is resumed. Argo CD also checks paused first; kstatus has no Suspended
// and calls ReplicaFailure in progress, where gyre calls it Degraded because
// the ReplicaSet controller will not get past it on its own.
//
// # ReplicaSet
//
// Healthy when every desired replica is available, Progressing until then,
// Degraded when ReplicaFailure is True, as Argo CD decides.
//
// # StatefulSet
//
// Progressing until the spec is observed, every replica is ready (and
// available, when spec.minReadySeconds is set) and no surplus pod from a
// scale-down remains. Then the update strategy decides. RollingUpdate with
// a partition above zero is Healthy once the replicas - partition pods at
// or above the partition ordinal are updated (the controller never moves
// currentRevision while a partition holds pods back). RollingUpdate without
// a partition, and Recreate, are Healthy once currentRevision equals
// updateRevision, which the controller sets only when every replica is
// updated and ready; kubectl and Argo CD instead count updated replicas
// against a partition of 0, which says the same once pods are ready.
// OnDelete is Healthy once every replica is ready, whatever revision the
// pods run, since they change only when someone deletes them; kstatus calls
// an OnDelete StatefulSet current even while pods are not ready, gyre does
// not. StatefulSets set no failure condition, so they are never Degraded;
// their pods are.
//
// # DaemonSet
//
// Progressing until the spec is observed, every eligible node runs a pod
// (currentNumberScheduled), every pod is updated, ready and available.
// numberUnavailable is desired minus available and adds nothing; pods on
// nodes where they should not run (numberMisscheduled) are removed by the
// controller and are not counted. A DaemonSet no node is eligible for is
// Healthy. With OnDelete, pods at an older revision are the operator's
// choice, so updatedNumberScheduled is not asked, but readiness and
// availability are: Argo CD calls any observed OnDelete DaemonSet Healthy
// even with pods down, and kstatus asks for every pod updated, which an
// OnDelete DaemonSet never reaches on its own. Never Degraded; its pods are.
//
// # Pod
//
// A container waiting for a reason that will not fix itself is Degraded in
// any phase, naming the container, the reason and its last exit:
// CrashLoopBackOff, ImagePullBackOff, ErrImagePull, InvalidImageName,
// CreateContainerConfigError and the like, init containers included. Argo
// CD looks at these only for restartPolicy Always, to spare hook pods a
// transient pull error; gyre looks at every pod, since a pod that cannot
// pull its image stays Pending until someone acts, whatever its policy.
//
// A pod that runs for good (restartPolicy Always) is Healthy when Ready.
// When it is not Ready and a container has been restarted after
// terminating with a non-zero exit code (an error, OOMKilled), it is
// Degraded: that is a crash loop seen between two back-offs, and saying
// Progressing there would make its health flap. Argo CD does the same for
// any last termination; gyre asks for a non-zero exit code. A pod meant to
// finish (OnFailure, Never) is Progressing while it runs, Healthy when it
// Succeeded, Degraded when it Failed.
//
// Pending is Progressing, with the scheduler's message when the pod cannot
// be scheduled (kstatus calls an unschedulable pod failed after 15 seconds;
// gyre has no clock, and a node added or a pod preempted fixes it without a
// change to git). A pod without a status yet is Progressing; phase Unknown
// (its node lost) is Unknown.
//
// A Pod annotated gyre.dev/ignore-restarts: "true" restarts by design: a
// crash loop or a restart after an error does not make it Degraded (it is
// Progressing while not Ready); image and configuration errors still do.
// Argo CD has no such annotation. Argo CD's
// argocd.argoproj.io/ignore-restart-policy is honoured with Argo CD's
// meaning: a pod with restartPolicy OnFailure or Never that runs for good
// is judged as if its policy were Always.
//
// # Job and CronJob
//
// A Job is Healthy when Complete or SuccessCriteriaMet is True, Degraded
// when Failed or FailureTarget is True (backoffLimit reached, deadline
// exceeded, a pod failure policy), Suspended when spec.suspend is true, and
// Progressing otherwise, counting failures against the backoff limit.
// spec.suspend decides rather than the Suspended condition, which lags
// behind it both ways; Argo CD and kstatus read the condition, and kstatus
// calls a running Job current. A CronJob is Suspended when spec.suspend,
// else Healthy: the Jobs it creates have health of their own.
//
// # Service and Ingress
//
// A LoadBalancer Service is Progressing until status.loadBalancer.ingress
// has an address; other Services are Healthy. An Ingress is Progressing
// until its controller publishes an address, as Argo CD decides (kstatus
// has no rule and calls it current). Without an address, no controller has
// taken the Ingress on, or the one that did does not publish status; gyre
// reports Progressing with the ingress class to check rather than Healthy,
// and a custom health check is the way out for a controller that never
// publishes status.
//
// # PersistentVolumeClaim
//
// Bound is Healthy, Pending is Progressing, Lost is Degraded, as Argo CD
// decides (kstatus has no Degraded). A bound claim being resized or
// modified is Progressing and one whose resize or modification failed is
// Degraded. A claim of a WaitForFirstConsumer storage class stays Pending
// until a pod uses it, so it must not sit in an earlier sync wave than its
// consumer.
//
// # HorizontalPodAutoscaler
//
// AbleToScale True is Healthy. AbleToScale or ScalingActive False is
// Degraded (the target's scale cannot be read or updated, a selector is
// invalid or ambiguous, a metric cannot be read), with two exceptions:
// ScalingDisabled, the target scaled to zero, is Suspended; and a metric
// that has no sample yet ("did not receive metrics for targeted pods", "no
// metrics returned") is Progressing, because the autoscaler says so for the
// first minute of every new workload and would fail every first sync. Argo
// CD calls every FailedGetResourceMetric Degraded and misses
// AmbiguousSelector; kstatus has no rule. No conditions yet is Progressing.
//
// # PodDisruptionBudget
//
// Degraded when the disruption controller cannot compute the budget
// (DisruptionAllowed False, reason SyncFailed). Progressing while fewer pods
// are healthy than the budget requires, or no pod matches its selector:
// that is the protected workload starting or rolling out, and the workload
// has health of its own; gyre once called it Degraded, which failed every
// sync that created a workload and its budget together. Healthy otherwise,
// with how many disruptions are allowed (zero is a choice, not a fault).
// Argo CD calls SyncFailed Degraded too, but any other budget Healthy, even
// one below its minimum; kstatus calls any observed budget current.
//
// # APIService
//
// Healthy when Available is True, Progressing otherwise, with the reason
// (MissingEndpoints, FailedDiscoveryCheck, …), as Argo CD decides: the
// service behind it is often deployed by the same sync and comes up after
// it.
//
// # CustomResourceDefinition
//
// Healthy when Established is True for the current generation. Degraded
// when NamesAccepted is False (a name clash) or the schema is not
// structural. Progressing while Established is False (reason Installing:
// the names are accepted, the API server is starting to serve them) or
// there are no conditions yet, and while Terminating. Argo CD calls any CRD
// not yet established Degraded, which fails a sync in the moment between
// creating a CRD and its being served.
//
// # Namespace
//
// Active is Healthy. A Namespace being deleted is Terminating for as long
// as its content and finalizers take, so Check does not cut it short as
// "pending deletion": it is Progressing while content or finalizers remain,
// and Degraded when the namespace controller reports it cannot go on (an
// API group it cannot discover, usually an APIService whose backend is
// down; content it fails to delete), because it stays Terminating until
// someone fixes that. Argo CD and kstatus have no Namespace rule.
//
// # Built-in rules for common CRDs
//
// Custom resources of projects found in most clusters have rules of their
// own, written from the status each project documents; thirdparty.go
// routes to them, one file per project:
//
//   - cert-manager.io Certificate: Issuing True is Progressing (a
//     certificate being issued or renewed); then Ready decides, and a
//     failed issuance is named in the Degraded message (certmanager.go).
//   - cert-manager.io Issuer, ClusterIssuer: Ready.
//   - argoproj.io Rollout: status.phase once status.observedGeneration (a
//     string) has caught up; Paused, or spec.paused, is Suspended
//     (rollouts.go).
//   - argoproj.io Application (Argo CD, in app of apps): status.health, as
//     for gyre's own Application; its sync status is not health.
//   - kustomize.toolkit.fluxcd.io Kustomization, helm.toolkit.fluxcd.io
//     HelmRelease, source.toolkit.fluxcd.io GitRepository, OCIRepository,
//     HelmChart, Bucket: spec.suspend is Suspended; then kstatus' Stalled,
//     Reconciling and Ready; not yet reconciled is Progressing (flux.go).
//   - source.toolkit.fluxcd.io HelmRepository: the same, except that one of
//     type oci, which Flux does not reconcile, is Healthy.
//   - *.crossplane.io and *.upbound.io (Crossplane's own kinds and its
//     providers' managed resources): the crossplane.io/paused annotation is
//     Suspended; Synced False is Degraded; Ready True is Healthy, False with
//     reason Unavailable Degraded, Creating or Deleting Progressing.
//     Packages (Provider, Configuration, Function) by Installed and Healthy,
//     CompositeResourceDefinition by Established (crossplane.go). Composite
//     resources and claims, whose groups are their authors', are told by
//     the spec fields Crossplane gives them (a composition reference, the
//     composite a claim binds) beside its Synced condition, and judged the
//     same way; without Synced they follow the generic conventions.
//   - keda.sh ScaledObject, ScaledJob: a pause annotation or the Paused
//     condition is Suspended; Ready False or Fallback True is Degraded;
//     Ready True is Healthy, Active or idle (keda.go).
//   - networking.istio.io VirtualService, DestinationRule, Gateway: no
//     health unless istiod writes status; then Reconciled True is Healthy
//     and anything else is Progressing (istio.go).
//   - karpenter.sh NodePool, karpenter.k8s.aws EC2NodeClass: Ready, with
//     the first False condition as the message (karpenter.go).
//   - karpenter.sh NodeClaim: Launched False is Degraded; Progressing until
//     Launched, Registered and Initialized are True; then Ready.
package health
