// Package health says whether a live Kubernetes object is working: Healthy,
// Progressing, Degraded, Suspended or Unknown, with a short reason. It is
// pure: objects in, app.HealthState out, no client.
//
// Check dispatches on the object's group and kind to one rule per kind (one
// file each: deployment.go, pod.go, …), written after what `kubectl rollout
// status` and Argo CD report. Kinds without a rule of their own follow the
// common conventions (generic.go): a status.observedGeneration behind
// metadata.generation is Progressing, and a Ready or Available condition
// decides; an object without such conditions has no health, and Check says so
// with ok false so that it is not counted. Every rule first compares
// status.observedGeneration with metadata.generation where the kind has one,
// because a status that describes an older spec says nothing about the
// current one; and any object with a deletionTimestamp is Progressing.
//
// Aggregate folds per-object results into an Application's health: the worst
// status wins and its message names the object that caused it. The caller
// decides what counts: hooks and objects ignored by the Application are left
// out, and an object git declares that does not exist is passed in as
// app.Missing, since there is no live object to check.
package health
