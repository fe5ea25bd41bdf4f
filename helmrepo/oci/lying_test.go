package oci_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/gyre-cd/gyre/helmrepo/oci"
	"github.com/gyre-cd/gyre/helmrepo/oci/ocitest"
)

// trusting is an http.Client trusting reg's certificate authority.
func trusting(t *testing.T, reg *ocitest.Registry) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(reg.CAPEM()) {
		t.Fatal("CAPEM holds no certificate")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	return &http.Client{Transport: tr}
}

// proxy serves reg over plain http on a host of its own, letting modify
// see (and change) every response.
func proxy(t *testing.T, reg *ocitest.Registry, modify func(*http.Response) error) string {
	t.Helper()
	p := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "https", Host: reg.Host})
	p.Transport = trusting(t, reg).Transport
	p.ModifyResponse = modify
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// isBlobGet reports whether req downloads a blob.
func isBlobGet(req *http.Request) bool {
	return req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/")
}

// TestDigestMismatch puts a proxy in front of the registry that changes a
// byte of every gzipped blob it serves: the chart received is not the one
// the manifest names.
func TestDigestMismatch(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Options{})
	reg.Push(t, "charts", "podinfo", "1.0.0", files)

	host := proxy(t, reg, func(resp *http.Response) error {
		if !isBlobGet(resp.Request) {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if len(body) > 2 && body[0] == 0x1f && body[1] == 0x8b {
			body[len(body)-1] ^= 0xff
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	})

	ref := host + "/charts/podinfo"
	_, err := oci.Pull(context.Background(), ref, "1.0.0", oci.Options{PlainHTTP: true})
	wantErr(t, err, oci.ErrDigestMismatch, ref)
}

// TestNotChart pulls a tag that names an OCI artifact which is not a Helm
// chart.
func TestNotChart(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Options{})
	ctx := context.Background()
	repo, err := remote.NewRepository(reg.Host + "/charts/image")
	if err != nil {
		t.Fatal(err)
	}
	repo.Client = trusting(t, reg)
	layer, err := oras.PushBytes(ctx, repo, "application/vnd.example.layer", []byte("not a chart"))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, "application/vnd.example",
		oras.PackManifestOptions{Layers: []ocispec.Descriptor{layer}})
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.Tag(ctx, desc, "1.0.0"); err != nil {
		t.Fatal(err)
	}

	ref := reg.Host + "/charts/image"
	_, err = oci.Pull(ctx, ref, "1.0.0", oci.Options{Credentials: reg.Credentials()})
	wantErr(t, err, oci.ErrNotChart, ref)
}

// TestMaxBytesBeforeDownload checks that a chart the manifest says is too
// large is refused without downloading it.
func TestMaxBytesBeforeDownload(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Options{})
	reg.Push(t, "charts", "podinfo", "1.0.0", files)
	var blobGets atomic.Int32
	host := proxy(t, reg, func(resp *http.Response) error {
		if isBlobGet(resp.Request) {
			blobGets.Add(1)
		}
		return nil
	})

	ref := host + "/charts/podinfo"
	_, err := oci.Pull(context.Background(), ref, "1.0.0", oci.Options{PlainHTTP: true, MaxBytes: 100})
	wantErr(t, err, oci.ErrTooLarge, ref)
	if n := blobGets.Load(); n != 0 {
		t.Errorf("%d blobs downloaded, want none", n)
	}

	if _, err := oci.Pull(context.Background(), ref, "1.0.0", oci.Options{PlainHTTP: true}); err != nil {
		t.Fatal(err)
	}
	if n := blobGets.Load(); n == 0 {
		t.Error("no blob downloaded through the proxy: the test does not see downloads")
	}
}
