package ocitest

import (
	"os"
	"path"
	"sort"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
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
	archive := Chart(t, name, version, files)
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

// Chart returns the .tgz of a chart named name at version, made of files,
// as `helm package` writes it. A Chart.yaml is written for name and version
// unless files has one.
func Chart(t testing.TB, name, version string, files map[string]string) []byte {
	t.Helper()
	if _, ok := files["Chart.yaml"]; !ok {
		files = withFile(files, "Chart.yaml", "apiVersion: v2\nname: "+name+"\nversion: "+version+"\n")
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	buffered := make([]*loader.BufferedFile, 0, len(names))
	for _, n := range names {
		buffered = append(buffered, &loader.BufferedFile{Name: n, Data: []byte(files[n])})
	}
	ch, err := loader.LoadFiles(buffered)
	if err != nil {
		t.Fatalf("ocitest: chart %s-%s: %v", name, version, err)
	}
	file, err := chartutil.Save(ch, t.TempDir())
	if err != nil {
		t.Fatalf("ocitest: package chart %s-%s: %v", name, version, err)
	}
	archive, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("ocitest: %v", err)
	}
	return archive
}

// withFile returns a copy of files with name set to content.
func withFile(files map[string]string, name, content string) map[string]string {
	out := make(map[string]string, len(files)+1)
	for k, v := range files {
		out[k] = v
	}
	out[name] = content
	return out
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
