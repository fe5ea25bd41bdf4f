// Package cluster knows the clusters gyre deploys to: the one it runs in
// ("in-cluster", https://kubernetes.default.svc) and the ones registered as
// Secrets in gyre's namespace.
//
// A cluster Secret is labelled gyre.dev/secret-type=cluster (or Argo CD's
// argocd.argoproj.io/secret-type=cluster, so that Argo CD's cluster Secrets
// work unchanged) and holds:
//
//	name        the cluster's name, which destination.name picks it by
//	server      the API server URL, which destination.server picks it by
//	config      JSON: bearerToken, or username and password, and
//	            tlsClientConfig {caData, certData, keyData, serverName,
//	            insecure}; caData, certData and keyData are base64
//	namespaces  optional, comma-separated: gyre manages objects in these
//	            namespaces only there, and watches just them
//	clusterResources  optional "true"/"false": with namespaces set, whether
//	            cluster-scoped objects may still be managed (default false)
//
// Credentials that would run a program (execProviderConfig, awsAuthConfig)
// are refused with a clear error: gyre runs no programs on behalf of a
// Secret. A Secret that names the in-cluster server lends that cluster its
// name, labels and namespaces, but gyre keeps using its own credentials for
// it.
//
// Registry watches the Secrets and resolves Application destinations;
// every change takes effect without a restart and is announced to the
// registry's listeners, so that the reconciler can rebuild a cluster's
// clients and re-queue its Applications.
package cluster
