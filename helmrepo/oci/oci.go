package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	helmregistry "helm.sh/helm/v3/pkg/registry"
	"oras.land/oras-go/v2/content"

	"github.com/gyre-cd/gyre/source"
)

// Defaults for the zero fields of Options.
const (
	// DefaultTimeout bounds a call when Options.Timeout is zero.
	DefaultTimeout = 60 * time.Second
	// DefaultMaxBytes bounds a chart archive when Options.MaxBytes is zero.
	DefaultMaxBytes int64 = 20 << 20
)

// Options configure one request to a registry.
type Options struct {
	// Credentials are presented to the registry (username and password;
	// CAData and InsecureSkipVerify for its TLS).
	Credentials source.Credentials
	// PlainHTTP talks http instead of https.
	PlainHTTP bool
	// Timeout bounds the request. Default 60s.
	Timeout time.Duration
	// MaxBytes bounds a pulled chart archive. Default 20 MiB.
	MaxBytes int64
}

// withDefaults returns o with its zero fields set to the defaults.
func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	return o
}

// Pulled is a chart archive pulled from a registry.
type Pulled struct {
	// Archive is the chart's .tgz.
	Archive []byte
	// Digest is the manifest's digest, "sha256:<hex>".
	Digest string
}

// Tags lists the tags of the repository ref ("host[:port]/path/chart", no
// scheme) as Helm reads them: the chart versions, newest first. Tags that
// are not strict semantic versions are left out, and "_" in a tag is read
// as "+" (OCI tags cannot hold a "+").
func Tags(ctx context.Context, ref string, opts Options) ([]string, error) {
	r, err := parseRef(ref)
	if err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	c, err := newCall(ctx, r, opts, tagsBudget)
	if err != nil {
		return nil, c.fail("list tags", err, nil)
	}
	defer c.close()

	hc, err := c.helmClient()
	if err != nil {
		return nil, c.fail("list tags", err, nil)
	}
	tags, err := hc.Tags(r.String())
	if err != nil {
		return nil, c.fail("list tags", err, source.ErrRepositoryNotFound)
	}
	return tags, nil
}

// Pull downloads the chart ref:tag. tag is a chart version or a tag; a "+"
// in it is written "_", as `helm push` does. Only the chart layer is
// downloaded (no provenance), and only when the manifest says it is at
// most opts.MaxBytes.
func Pull(ctx context.Context, ref, tag string, opts Options) (Pulled, error) {
	r, err := parseRef(ref)
	if err != nil {
		return Pulled{}, err
	}
	op := fmt.Sprintf("pull %q", tag)
	ociTag, err := tagOf(r, tag)
	if err != nil {
		return Pulled{}, fmt.Errorf("oci registry %s: %s: %w", r, op, err)
	}
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	c, err := newCall(ctx, r, opts, opts.MaxBytes+metadataBudget)
	if err != nil {
		return Pulled{}, c.fail(op, err, nil)
	}
	defer c.close()

	manifest, layer, err := c.chartManifest(ociTag)
	if err != nil {
		return Pulled{}, c.fail(op, err, ErrTagNotFound)
	}
	hc, err := c.helmClient()
	if err != nil {
		return Pulled{}, c.fail(op, err, nil)
	}
	// By digest, so what Helm pulls is the manifest just checked even if
	// the tag moves meanwhile.
	res, err := hc.Pull(r.String()+"@"+manifest.Digest.String(),
		helmregistry.PullOptWithChart(true), helmregistry.PullOptWithProv(false))
	if err != nil {
		return Pulled{}, c.fail(op, err, ErrTagNotFound)
	}
	if err := checkPulled(res, manifest, layer, opts.MaxBytes); err != nil {
		return Pulled{}, c.fail(op, err, nil)
	}
	return Pulled{Archive: res.Chart.Data, Digest: manifest.Digest.String()}, nil
}

// chartManifest fetches the manifest tag names and returns its descriptor
// and its chart layer's, refusing anything but a Helm chart no larger than
// the call's MaxBytes.
func (c *call) chartManifest(tag string) (manifest, layer ocispec.Descriptor, err error) {
	repo, err := c.repository()
	if err != nil {
		return manifest, layer, err
	}
	manifest, rc, err := repo.FetchReference(c.ctx, tag)
	if err != nil {
		return manifest, layer, err
	}
	defer rc.Close()
	raw, err := content.ReadAll(rc, manifest) // checks size and digest
	if err != nil {
		return manifest, layer, err
	}
	if manifest.MediaType != ocispec.MediaTypeImageManifest {
		return manifest, layer, fmt.Errorf("%w: tag %q is a %s, not an OCI image manifest", ErrNotChart, tag, manifest.MediaType)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return manifest, layer, fmt.Errorf("%w: manifest %s: %w", ErrNotChart, manifest.Digest, err)
	}
	layer, err = chartLayer(m)
	if err != nil {
		return manifest, layer, fmt.Errorf("%w: manifest %s: %w", ErrNotChart, manifest.Digest, err)
	}
	if layer.Size > c.opts.MaxBytes {
		return manifest, layer, fmt.Errorf("%w: the chart is %d bytes, more than the limit of %d", ErrTooLarge, layer.Size, c.opts.MaxBytes)
	}
	return manifest, layer, nil
}

// chartLayer returns the one chart layer of a Helm chart manifest, or says
// why m is not one.
func chartLayer(m ocispec.Manifest) (ocispec.Descriptor, error) {
	if m.Config.MediaType != helmregistry.ConfigMediaType {
		return ocispec.Descriptor{}, fmt.Errorf("config media type is %q, want %q", m.Config.MediaType, helmregistry.ConfigMediaType)
	}
	var found []ocispec.Descriptor
	for _, l := range m.Layers {
		if l.MediaType == helmregistry.ChartLayerMediaType {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		return ocispec.Descriptor{}, fmt.Errorf("%d layers of media type %s, want 1", len(found), helmregistry.ChartLayerMediaType)
	}
	if err := found[0].Digest.Validate(); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("chart layer digest: %w", err)
	}
	if found[0].Size < 0 {
		return ocispec.Descriptor{}, fmt.Errorf("chart layer size %d", found[0].Size)
	}
	return found[0], nil
}

// checkPulled checks that what Helm pulled is the manifest and chart layer
// chartManifest approved, byte for byte.
func checkPulled(res *helmregistry.PullResult, manifest, layer ocispec.Descriptor, maxBytes int64) error {
	if res == nil || res.Manifest == nil || res.Chart == nil {
		return errors.New("the registry client returned no chart")
	}
	if res.Manifest.Digest != manifest.Digest.String() {
		return fmt.Errorf("%w: pulled manifest %s, want %s", ErrDigestMismatch, res.Manifest.Digest, manifest.Digest)
	}
	if res.Chart.Digest != layer.Digest.String() {
		return fmt.Errorf("%w: pulled chart layer %s, want %s", ErrDigestMismatch, res.Chart.Digest, layer.Digest)
	}
	data := res.Chart.Data
	if int64(len(data)) > maxBytes {
		return fmt.Errorf("%w: received %d bytes of chart, more than the limit of %d", ErrTooLarge, len(data), maxBytes)
	}
	if int64(len(data)) != layer.Size {
		return fmt.Errorf("%w: received %d bytes of chart, the manifest says %d", ErrDigestMismatch, len(data), layer.Size)
	}
	return verifyDigest(layer.Digest, data)
}

// verifyDigest reports whether data hashes to d.
func verifyDigest(d digest.Digest, data []byte) error {
	if !d.Algorithm().Available() {
		return fmt.Errorf("%w: unsupported digest algorithm %q", ErrDigestMismatch, d.Algorithm())
	}
	v := d.Verifier()
	if _, err := io.Copy(v, bytes.NewReader(data)); err != nil {
		return err
	}
	if !v.Verified() {
		return fmt.Errorf("%w: received chart hashes to %s, the manifest says %s", ErrDigestMismatch, d.Algorithm().FromBytes(data), d)
	}
	return nil
}
