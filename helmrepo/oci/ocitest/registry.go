package ocitest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/bcrypt"

	// The htpasswd access controller and the in-memory storage driver
	// register themselves with distribution's factories.
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"

	"github.com/gyre-cd/gyre/source"
)

// Options configure a registry.
type Options struct {
	// Username and Password, when Username is set, are the one account
	// the registry accepts, by HTTP basic auth; every request needs them.
	// Without a Username the registry is open to all.
	Username string
	Password string
}

// Registry is a running registry. It stops when the test that started it
// ends.
type Registry struct {
	// Host is "127.0.0.1:PORT": what goes before the repository in a
	// reference.
	Host string

	opts  Options
	caPEM []byte
}

// Start starts a registry for t and stops it on t.Cleanup.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	pki, err := newPKI()
	if err != nil {
		t.Fatalf("ocitest: certificates: %v", err)
	}
	cfg, err := config(t, opts)
	if err != nil {
		t.Fatalf("ocitest: %v", err)
	}

	// Distribution logs through logrus's standard logger unless the
	// context carries one, which only its internal packages can set.
	logrus.SetOutput(io.Discard)
	app, err := newApp(cfg)
	if err != nil {
		t.Fatalf("ocitest: start registry: %v", err)
	}

	srv := httptest.NewUnstartedServer(app)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
	// Handshakes that clients refuse (the point of some tests) would be
	// logged to stderr.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(func() {
		srv.Close()
		_ = app.Shutdown()
	})
	return &Registry{Host: srv.Listener.Addr().(*net.TCPAddr).AddrPort().String(), opts: opts, caPEM: pki.caPEM}
}

// newApp builds distribution's registry application, turning its panics on
// bad configuration into an error.
func newApp(cfg *configuration.Configuration) (app *handlers.App, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return handlers.NewApp(context.Background(), cfg), nil
}

// config is the registry's configuration: in-memory storage, no upload
// purging (a timer goroutine nobody needs), no redirects, and htpasswd auth
// with a file in t's temporary directory when opts has a Username.
func config(t testing.TB, opts Options) (*configuration.Configuration, error) {
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	cfg := &configuration.Configuration{}
	cfg.HTTP.Secret = hex.EncodeToString(secret)
	cfg.Storage = configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
		"redirect":    configuration.Parameters{"disable": true},
		"delete":      configuration.Parameters{"enabled": true},
	}
	if opts.Username == "" {
		return cfg, nil
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(opts.Password), bcrypt.MinCost)
	if err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	path := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(path, []byte(opts.Username+":"+string(hash)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	cfg.Auth = configuration.Auth{"htpasswd": configuration.Parameters{"realm": "ocitest", "path": path}}
	return cfg, nil
}

// CAPEM returns the PEM certificate of the authority that signed the
// registry's certificate: what a client puts in its CAData.
func (r *Registry) CAPEM() []byte { return append([]byte(nil), r.caPEM...) }

// RepoURL returns "oci://HOST/repo", the repoURL of an Application whose
// charts were pushed to repo.
func (r *Registry) RepoURL(repo string) string {
	if repo == "" {
		return "oci://" + r.Host
	}
	return "oci://" + r.Host + "/" + repo
}

// Credentials returns what a client needs to reach the registry: its
// account, if it has one, and CAData.
func (r *Registry) Credentials() source.Credentials {
	return source.Credentials{Username: r.opts.Username, Password: r.opts.Password, CAData: r.CAPEM()}
}

// httpClient is an http.Client trusting the registry's certificate
// authority only.
func (r *Registry) httpClient() (*http.Client, error) {
	pool, err := certPool(r.caPEM)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr}, nil
}
