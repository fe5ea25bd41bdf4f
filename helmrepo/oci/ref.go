package oci

import (
	"fmt"
	"strings"

	"oras.land/oras-go/v2/registry"
)

// repoRef is a repository in a registry: "host[:port]/path/chart", without
// tag or digest.
type repoRef struct {
	// Host is the registry, "host[:port]".
	Host string
	// Repository is the path in the registry, "path/chart".
	Repository string
}

// String returns "host[:port]/path/chart": the subject of every message.
func (r repoRef) String() string { return r.Host + "/" + r.Repository }

// parseRef reads ref, "host[:port]/path/chart". An "oci://" prefix and a
// trailing "/" are tolerated; a tag, a digest or user information is not.
// The error leads with the subject and never repeats user information.
func parseRef(ref string) (repoRef, error) {
	s := strings.TrimSuffix(strings.TrimPrefix(ref, "oci://"), "/")
	host, path, _ := strings.Cut(s, "/")
	if i := strings.LastIndex(host, "@"); i >= 0 {
		return repoRef{}, fmt.Errorf("oci registry %s: the reference holds user information: give credentials in a Secret instead", host[i+1:]+"/"+path)
	}
	if strings.Contains(s, "://") {
		return repoRef{}, fmt.Errorf("oci registry %s: the reference has a scheme: give it as host[:port]/path", s)
	}
	r, err := registry.ParseReference(s)
	if err != nil {
		return repoRef{}, fmt.Errorf("oci registry %s: %w", s, err)
	}
	if r.Reference != "" {
		return repoRef{}, fmt.Errorf("oci registry %s: the reference names a tag or digest (%s): give the repository only", s, r.Reference)
	}
	return repoRef{Host: r.Registry, Repository: r.Repository}, nil
}

// tagOf turns a chart version (or a tag) into the tag Helm pushes it under:
// "+" is not allowed in OCI tags, so Helm writes "_".
func tagOf(r repoRef, version string) (string, error) {
	tag := strings.ReplaceAll(version, "+", "_")
	ref := registry.Reference{Registry: r.Host, Repository: r.Repository, Reference: tag}
	if err := ref.ValidateReferenceAsTag(); err != nil {
		return "", fmt.Errorf("%q is not a valid tag", version)
	}
	return tag, nil
}
