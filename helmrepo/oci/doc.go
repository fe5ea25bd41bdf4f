// Package oci reads Helm charts from OCI registries: the repositories an
// Application names with repoURL "oci://registry.example.com/charts". It
// has two verbs, and package helmrepo is their caller: Tags lists the chart
// versions a repository holds, Pull downloads one of them.
//
// Both talk through Helm's own registry client (helm.sh/helm/v3/pkg/registry,
// oras-go underneath), so a chart pushed by `helm push` reads back the way
// `helm pull` reads it: tags are chart versions with "+" written as "_",
// and only tags that are strict semantic versions count.
//
// # Nothing on disk
//
// Every call builds its own client from Options, because credentials rotate
// between calls: an http.Transport trusting the system roots plus
// Credentials.CAData (or nothing, with InsecureSkipVerify), and an
// authorizer that answers a registry's challenge with
// Credentials.Username and Password for that registry host and no other.
// Helm's client is never allowed to look credentials up: its credentials
// file is pointed at os.DevNull and its store is bypassed by handing it the
// authorizer, so neither ~/.config/helm/registry/config.json nor a docker
// config.json is ever consulted or written. (Helm's NewClient still opens
// docker's config.json when it exists, to build a fallback store it then
// never uses; a missing or broken file does not matter.)
//
// # Limits
//
// A call is bounded by Options.Timeout, which every request of the call
// carries, token requests included. Pull reads the manifest first and
// refuses a chart layer larger than Options.MaxBytes before downloading it;
// then it pulls by the manifest's digest, so the tag cannot move in
// between, while the transport counts every byte the registry sends and
// stops the call once the chart's budget (plus a fixed allowance for
// manifests, config and auth) is spent. The archive returned is checked
// against the manifest: the chart layer's media type, size and digest.
//
// # Errors
//
// Errors lead with the repository ("oci registry
// registry.example.com/charts/podinfo: pull 1.2.3: …") and unwrap to the
// sentinel a caller branches on: source.ErrAuth (401, 403, no credentials
// for a registry that wants them), source.ErrUnreachable (DNS, TCP, TLS,
// timeouts, 5xx), source.ErrRepositoryNotFound, ErrTagNotFound,
// ErrTooLarge, ErrDigestMismatch and ErrNotChart. They never unwrap to the
// client's own error, and their text never holds the password.
package oci
