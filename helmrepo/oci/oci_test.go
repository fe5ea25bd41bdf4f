package oci_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/gyre-cd/gyre/helmrepo/oci"
	"github.com/gyre-cd/gyre/helmrepo/oci/ocitest"
	"github.com/gyre-cd/gyre/source"
)

const (
	user     = "gyre"
	password = "s3cret-Pa55word"
)

// files is a small chart's content beside its Chart.yaml.
var files = map[string]string{
	"values.yaml":       "replicas: 1\n",
	"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
}

// start starts a registry with an account and returns it with the options
// that reach it.
func start(t *testing.T) (*ocitest.Registry, oci.Options) {
	t.Helper()
	reg := ocitest.Start(t, ocitest.Options{Username: user, Password: password})
	return reg, oci.Options{Credentials: reg.Credentials(), Timeout: 30 * time.Second}
}

// wantErr fails t unless err wraps want, names the repository first and
// holds no password.
func wantErr(t *testing.T, err, want error, subject string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %v", want)
	}
	if !errors.Is(err, want) {
		t.Errorf("err = %v, want it to wrap %v", err, want)
	}
	if !strings.HasPrefix(err.Error(), "oci registry "+subject+": ") {
		t.Errorf("err = %q, want it to start with %q", err, "oci registry "+subject+": ")
	}
	t.Log(err)
	noSecret(t, err)
}

// noSecret fails t if err's text holds a password this file uses.
func noSecret(t *testing.T, err error) {
	t.Helper()
	for _, secret := range []string{password, "wrong-Pa55word"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("err = %q, holds the password", err)
		}
	}
}

func TestTagsAndPull(t *testing.T) {
	reg, opts := start(t)
	first := reg.Push(t, "charts", "podinfo", "6.1.0", files)
	second := reg.Push(t, "charts", "podinfo", "6.2.0+build.7", files)
	ref := reg.Host + "/charts/podinfo"

	tags, err := oci.Tags(context.Background(), ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"6.2.0+build.7", "6.1.0"}; !slices.Equal(tags, want) {
		t.Errorf("Tags = %q, want %q", tags, want)
	}

	for _, tc := range []struct{ version, digest string }{
		{"6.1.0", first},
		{"6.2.0+build.7", second},
	} {
		t.Run(tc.version, func(t *testing.T) {
			got, err := oci.Pull(context.Background(), ref, tc.version, opts)
			if err != nil {
				t.Fatal(err)
			}
			if got.Digest != tc.digest {
				t.Errorf("Digest = %s, want the pushed manifest's %s", got.Digest, tc.digest)
			}
			if !strings.HasPrefix(got.Digest, "sha256:") {
				t.Errorf("Digest = %q, want sha256:…", got.Digest)
			}
			if names := tarNames(t, got.Archive); !slices.Contains(names, "podinfo/templates/cm.yaml") {
				t.Errorf("archive holds %q, want podinfo/templates/cm.yaml", names)
			}
			ch, err := loader.LoadArchive(bytes.NewReader(got.Archive))
			if err != nil {
				t.Fatalf("load pulled archive: %v", err)
			}
			if ch.Metadata.Name != "podinfo" || ch.Metadata.Version != tc.version {
				t.Errorf("Chart.yaml says %s %s, want podinfo %s", ch.Metadata.Name, ch.Metadata.Version, tc.version)
			}
		})
	}
}

// tarNames lists the entries of a gzipped tar.
func tarNames(t *testing.T, archive []byte) []string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("archive is not gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatalf("archive is not a tar: %v", err)
		}
		names = append(names, h.Name)
	}
}

func TestAuth(t *testing.T) {
	reg, opts := start(t)
	reg.Push(t, "charts", "podinfo", "1.0.0", files)
	ref := reg.Host + "/charts/podinfo"

	for _, tc := range []struct {
		name               string
		username, password string
		want               error
	}{
		{"no credentials", "", "", source.ErrAuth},
		{"wrong password", user, "wrong-Pa55word", source.ErrAuth},
		{"unknown user", "someone", password, source.ErrAuth},
		{"password without user", "", password, source.ErrAuth},
		{"right", user, password, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opts
			o.Credentials.Username, o.Credentials.Password = tc.username, tc.password
			_, tagsErr := oci.Tags(context.Background(), ref, o)
			_, pullErr := oci.Pull(context.Background(), ref, "1.0.0", o)
			if tc.want == nil {
				if tagsErr != nil || pullErr != nil {
					t.Fatalf("Tags: %v; Pull: %v", tagsErr, pullErr)
				}
				return
			}
			wantErr(t, tagsErr, tc.want, ref)
			wantErr(t, pullErr, tc.want, ref)
		})
	}
}

func TestTLS(t *testing.T) {
	reg := ocitest.Start(t, ocitest.Options{})
	reg.Push(t, "charts", "podinfo", "1.0.0", files)
	ref := reg.Host + "/charts/podinfo"

	t.Run("unknown authority", func(t *testing.T) {
		_, err := oci.Tags(context.Background(), ref, oci.Options{})
		wantErr(t, err, source.ErrUnreachable, ref)
		if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("err = %q, want it to mention the certificate", err)
		}
		_, err = oci.Pull(context.Background(), ref, "1.0.0", oci.Options{})
		wantErr(t, err, source.ErrUnreachable, ref)
	})
	t.Run("CAData", func(t *testing.T) {
		opts := oci.Options{Credentials: source.Credentials{CAData: reg.CAPEM()}}
		if _, err := oci.Tags(context.Background(), ref, opts); err != nil {
			t.Fatal(err)
		}
		if _, err := oci.Pull(context.Background(), ref, "1.0.0", opts); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("InsecureSkipVerify", func(t *testing.T) {
		opts := oci.Options{Credentials: source.Credentials{InsecureSkipVerify: true}}
		if _, err := oci.Pull(context.Background(), ref, "1.0.0", opts); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad CAData", func(t *testing.T) {
		opts := oci.Options{Credentials: source.Credentials{CAData: []byte("not a certificate")}}
		_, err := oci.Tags(context.Background(), ref, opts)
		if err == nil || !strings.Contains(err.Error(), "caData") {
			t.Errorf("err = %v, want it to say caData is bad", err)
		}
	})
	t.Run("plain http to https", func(t *testing.T) {
		opts := oci.Options{PlainHTTP: true, Credentials: source.Credentials{CAData: reg.CAPEM()}}
		if _, err := oci.Tags(context.Background(), ref, opts); err == nil {
			t.Error("Tags over plain http to an https registry: err = nil")
		}
	})
}

func TestNotFound(t *testing.T) {
	reg, opts := start(t)
	reg.Push(t, "charts", "podinfo", "1.0.0", files)

	t.Run("unknown repository", func(t *testing.T) {
		ref := reg.Host + "/charts/nothing"
		_, err := oci.Tags(context.Background(), ref, opts)
		wantErr(t, err, source.ErrRepositoryNotFound, ref)
		_, err = oci.Pull(context.Background(), ref, "1.0.0", opts)
		wantErr(t, err, source.ErrRepositoryNotFound, ref)
		if errors.Is(err, oci.ErrTagNotFound) {
			t.Errorf("err = %v, a missing repository is not a missing tag", err)
		}
	})
	t.Run("unknown tag", func(t *testing.T) {
		ref := reg.Host + "/charts/podinfo"
		_, err := oci.Pull(context.Background(), ref, "9.9.9", opts)
		wantErr(t, err, oci.ErrTagNotFound, ref)
		if !strings.Contains(err.Error(), "9.9.9") {
			t.Errorf("err = %q, want it to name the tag", err)
		}
	})
	t.Run("invalid tag", func(t *testing.T) {
		_, err := oci.Pull(context.Background(), reg.Host+"/charts/podinfo", "no tag/at all", opts)
		if err == nil || !strings.Contains(err.Error(), "not a valid tag") {
			t.Errorf("err = %v, want it to say the tag is invalid", err)
		}
	})
}

func TestMaxBytes(t *testing.T) {
	reg, opts := start(t)
	reg.Push(t, "charts", "podinfo", "1.0.0", files)
	ref := reg.Host + "/charts/podinfo"

	opts.MaxBytes = 100
	_, err := oci.Pull(context.Background(), ref, "1.0.0", opts)
	wantErr(t, err, oci.ErrTooLarge, ref)
	if !strings.Contains(err.Error(), "too large") {
		t.Errorf("err = %q, want it to say too large", err)
	}

	opts.MaxBytes = 1 << 20
	if _, err := oci.Pull(context.Background(), ref, "1.0.0", opts); err != nil {
		t.Errorf("Pull under the limit: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := ln.Addr().String()
	ln.Close() // nothing listens there now

	ref := host + "/charts/podinfo"
	opts := oci.Options{Credentials: source.Credentials{Username: user, Password: password}}
	_, err = oci.Tags(context.Background(), ref, opts)
	wantErr(t, err, source.ErrUnreachable, ref)
	_, err = oci.Pull(context.Background(), ref, "1.0.0", opts)
	wantErr(t, err, source.ErrUnreachable, ref)
}

func TestTimeout(t *testing.T) {
	// A registry that accepts the request and never answers.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/charts/podinfo"

	opts := oci.Options{PlainHTTP: true, Timeout: 200 * time.Millisecond}
	_, err := oci.Tags(context.Background(), ref, opts)
	wantErr(t, err, source.ErrUnreachable, ref)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
}

func TestServerError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	ref := strings.TrimPrefix(srv.URL, "http://") + "/charts/podinfo"

	_, err := oci.Pull(context.Background(), ref, "1.0.0", oci.Options{PlainHTTP: true})
	wantErr(t, err, source.ErrUnreachable, ref)
}

// TestNothingOnDisk runs with a HOME holding Helm and docker credentials
// for the registry: they must not be used (anonymous access is refused),
// and nothing may be written there.
func TestNothingOnDisk(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, env := range []string{"XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "HELM_CONFIG_HOME",
		"HELM_CACHE_HOME", "HELM_DATA_HOME", "HELM_REGISTRY_CONFIG", "DOCKER_CONFIG"} {
		t.Setenv(env, "")
		os.Unsetenv(env)
	}
	reg, opts := start(t)
	reg.Push(t, "charts", "podinfo", "1.0.0", files)
	ref := reg.Host + "/charts/podinfo"
	if got := tree(t, home); len(got) != 1 {
		t.Fatalf("ocitest wrote under HOME: %q", got)
	}

	auths := `{"auths":{"` + reg.Host + `":{"auth":"Z3lyZTpzM2NyZXQtUGE1NXdvcmQ="}}}` // gyre:s3cret-Pa55word
	planted := map[string]string{
		".docker/config.json":               auths,
		".config/helm/registry/config.json": auths,
	}
	for name, content := range planted {
		p := filepath.Join(home, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	before := tree(t, home)

	anon := opts
	anon.Credentials.Username, anon.Credentials.Password = "", ""
	_, err := oci.Tags(context.Background(), ref, anon)
	wantErr(t, err, source.ErrAuth, ref)
	_, err = oci.Pull(context.Background(), ref, "1.0.0", anon)
	wantErr(t, err, source.ErrAuth, ref)

	if _, err := oci.Tags(context.Background(), ref, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := oci.Pull(context.Background(), ref, "1.0.0", opts); err != nil {
		t.Fatal(err)
	}
	if after := tree(t, home); !slices.Equal(before, after) {
		t.Errorf("HOME changed:\nbefore %q\nafter  %q", before, after)
	}
}

// tree lists every path under dir with its size and modification time.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out = append(out, fmt.Sprintf("%s %d %s", p, info.Size(), info.ModTime()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBadReference(t *testing.T) {
	for _, ref := range []string{
		"",
		"registry.example.com",
		"registry.example.com/charts/podinfo:1.0.0",
		"registry.example.com/charts/podinfo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"https://registry.example.com/charts/podinfo",
		"registry.example.com/Charts/Podinfo",
	} {
		t.Run(ref, func(t *testing.T) {
			if _, err := oci.Tags(context.Background(), ref, oci.Options{}); err == nil {
				t.Errorf("Tags(%q): err = nil", ref)
			}
		})
	}
	t.Run("user information", func(t *testing.T) {
		_, err := oci.Tags(context.Background(), "gyre:"+password+"@registry.example.com/charts/podinfo", oci.Options{})
		if err == nil {
			t.Fatal("err = nil")
		}
		noSecret(t, err)
		if !strings.HasPrefix(err.Error(), "oci registry registry.example.com/charts/podinfo: ") {
			t.Errorf("err = %q, want the subject without user information", err)
		}
	})
}
