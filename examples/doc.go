// Package examples holds the demo apps that `gyre up` deploys, so that a
// newcomer sees applications go Synced and Healthy with nothing else
// installed: guestbook (a directory of plain YAML), podinfo-kustomize (a
// kustomization with a base and a demo overlay) and hello-helm (a Helm chart
// with a post-install hook). One of each source type gyre renders.
//
// The example directories are embedded in the binary. Seed writes them,
// once, as the first commit of a git repository on disk, which gyre then
// watches like any other: the user may commit to it, and a later Seed leaves
// it alone. Applications returns the Application objects that deploy the
// three apps from that repository.
//
// The YAML here is what users read first, so it is written to be read:
// labels in the app.kubernetes.io style, probes and resources set, no
// namespace in any object (the Application's destination places them).
package examples
