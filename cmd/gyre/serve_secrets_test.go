//go:build !nolocalcluster

package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/diff"
	"github.com/gyre-cd/gyre/localcluster"
	"github.com/gyre-cd/gyre/localcluster/clustertest"
	"github.com/gyre-cd/gyre/web"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// TestServeSecretsReload runs the token and webhook Secrets of `gyre
// serve` against a real API server: a change to either applies without a
// restart (a removed token gets 401, a new one works; a rotated webhook
// secret replaces the old), a deleted Secret takes its tokens with it, and
// the --admin-token-file token works throughout.
func TestServeSecretsReload(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts an API server")
	}
	c, err := clustertest.Start(localcluster.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ns := c.Namespace(t)
	secrets := c.Client.CoreV1().Secrets(ns)
	put := func(name string, data map[string]string) {
		t.Helper()
		s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, StringData: data}
		if _, err := secrets.Update(ctx, s, metav1.UpdateOptions{}); err != nil {
			if _, err := secrets.Create(ctx, s, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	put("tokens", map[string]string{"admin.alice": "alice-1", "readonly.bob": "bob-1"})
	put("hooks", map[string]string{"generic": "hook-1"})
	put("empty", map[string]string{})

	// A Secret gyre cannot use stops the start.
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for name, o := range map[string]serveOptions{
		"missing":     {SecretNamespace: ns, TokenSecret: "nothing"},
		"invalid key": {SecretNamespace: ns, TokenSecret: "tokens", WebhookSecret: "tokens"},
		"no tokens":   {SecretNamespace: ns, TokenSecret: "empty"},
	} {
		if _, _, err := serveSecrets(ctx, c.Config, o, log); err == nil {
			t.Errorf("%s Secret: gyre serve would start", name)
		}
	}

	tokenFile := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(tokenFile, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, hooks, err := serveSecrets(ctx, c.Config, serveOptions{SecretNamespace: ns, TokenSecret: "tokens", WebhookSecret: "hooks", AdminTokenFile: tokenFile}, log)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Options{Backend: emptyBackend{}, Tokens: tokens, WebhookSecrets: hooks, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	status := func(token string) int {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/version", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	hook := func(secret string) int {
		body := `{"repository": "https://git.example.com/org/repo.git"}`
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(body))
		req, _ := http.NewRequest(http.MethodPost, ts.URL+"/api/webhook", strings.NewReader(body))
		req.Header.Set("X-Gyre-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	want := func(what string, got func() map[string]int, wants map[string]int) {
		t.Helper()
		clustertest.Eventually(t, 30*time.Second, func() (bool, string) {
			g := got()
			return fmt.Sprint(g) == fmt.Sprint(wants), fmt.Sprintf("%s: %v, want %v", what, g, wants)
		})
	}
	tokenStatus := func() map[string]int {
		return map[string]int{"alice-1": status("alice-1"), "alice-2": status("alice-2"), "bob-1": status("bob-1"), "file-token": status("file-token")}
	}
	hookStatus := func() map[string]int { return map[string]int{"hook-1": hook("hook-1"), "hook-2": hook("hook-2")} }

	want("tokens at start", tokenStatus, map[string]int{"alice-1": 200, "alice-2": 401, "bob-1": 200, "file-token": 200})
	want("webhook secrets at start", hookStatus, map[string]int{"hook-1": 202, "hook-2": 401})

	put("tokens", map[string]string{"admin.alice": "alice-2"})
	want("tokens after alice's was replaced and bob's removed", tokenStatus, map[string]int{"alice-1": 401, "alice-2": 200, "bob-1": 401, "file-token": 200})
	put("hooks", map[string]string{"generic": "hook-2"})
	want("webhook secrets after a rotation", hookStatus, map[string]int{"hook-1": 401, "hook-2": 202})

	// An invalid key added later is left out; the valid ones keep working.
	put("tokens", map[string]string{"admin.alice": "alice-2", "root.mallory": "bob-1"})
	want("tokens with an invalid key", tokenStatus, map[string]int{"alice-1": 401, "alice-2": 200, "bob-1": 401, "file-token": 200})

	if err := secrets.Delete(ctx, "tokens", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	want("tokens after the Secret was deleted", tokenStatus, map[string]int{"alice-1": 401, "alice-2": 401, "bob-1": 401, "file-token": 200})
}

// emptyBackend is a web.Backend without Applications.
type emptyBackend struct{}

func (emptyBackend) Applications() []*app.Application                          { return nil }
func (emptyBackend) Application(types.NamespacedName) (*app.Application, bool) { return nil, false }
func (emptyBackend) Tree(*app.Application) []app.TreeNode                      { return nil }
func (emptyBackend) Resources(context.Context, *app.Application) ([]app.ResourceStatus, error) {
	return nil, nil
}
func (emptyBackend) OperationResult(*app.Application) *app.ChangeSet { return nil }
func (emptyBackend) Diff(context.Context, types.NamespacedName) ([]diff.Result, error) {
	return nil, nil
}
func (emptyBackend) DiffObjects(context.Context, types.NamespacedName, []*unstructured.Unstructured) ([]diff.Result, error) {
	return nil, nil
}
func (emptyBackend) Request(context.Context, types.NamespacedName, app.Operation) error {
	return nil
}
func (emptyBackend) Refresh(types.NamespacedName)                            {}
func (emptyBackend) RefreshRepository(string, string) []types.NamespacedName { return nil }
func (emptyBackend) ForgetRepository(string)                                 {}
func (emptyBackend) Subscribe(func(types.NamespacedName))                    {}
func (emptyBackend) Ready() bool                                             { return true }
func (emptyBackend) Projects() []*app.Project                                { return nil }
