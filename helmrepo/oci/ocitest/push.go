package ocitest

import (
	"os"
	"path"
	"testing"

	"github.com/gyre-cd/gyre/helmrepo/helmrepotest"

	helmregistry "helm.sh/helm/v3/pkg/registry"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// Push packages a chart named name at version from files and pushes it to
// repo/name, as `helm push chart.tgz oci://HOST/repo` does: the tag is the
// version with "+" written "_". It returns the manifest's digest,
// "sha256:<hex>". files maps paths in the chart ("values.yaml",
// "templates/cm.yaml") to their content; a Chart.yaml is written for name
// and version unless files has one.
func (r *Registry) Push(t testing.TB, repo, name, version string, files map[string]string) string {
	t.Helper()
	archive := helmrepotest.Chart(t, name, version, files)
	client, err := r.helmClient()
	if err != nil {
		t.Fatalf("ocitest: registry client: %v", err)
	}
	ref := r.Host + "/" + path.Join(repo, name) + ":" + version
	res, err := client.Push(archive, ref)
	if err != nil {
		t.Fatalf("ocitest: push %s: %v", ref, err)
	}
	return res.Manifest.Digest
}

// helmClient is Helm's registry client, set up to push to r: r's
// certificate authority, r's account, and no credentials file read or
// written.
func (r *Registry) helmClient() (*helmregistry.Client, error) {
	hc, err := r.httpClient()
	if err != nil {
		return nil, err
	}
	cred := auth.EmptyCredential
	if r.opts.Username != "" {
		cred = auth.Credential{Username: r.opts.Username, Password: r.opts.Password}
	}
	return helmregistry.NewClient(
		helmregistry.ClientOptHTTPClient(hc),
		helmregistry.ClientOptAuthorizer(auth.Client{
			Client:     hc,
			Credential: auth.StaticCredential(r.Host, cred),
			Cache:      auth.NewCache(),
		}),
		helmregistry.ClientOptCredentialsFile(os.DevNull),
	)
}
