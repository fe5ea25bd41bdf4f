package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogin(t *testing.T) {
	f := newFakeAPI(t)
	cfg := filepath.Join(t.TempDir(), "sub", "config.yaml")

	r := runCLI(t, nil, "login", f.srv.URL+"/", "--token", "wrong", "--config", cfg)
	if r.code != 1 || !strings.Contains(r.stderr, "gyre: login "+f.srv.URL+": unauthorized: unknown token (401") {
		t.Errorf("wrong token: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(cfg); err == nil {
		t.Error("a rejected token was saved")
	}

	r = runCLI(t, map[string]string{envToken: fakeToken}, "login", strings.TrimPrefix(f.srv.URL, "http://"), "--config", cfg, "-n", "team")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	c, err := loadCLIConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if c != (cliConfig{Server: f.srv.URL, Token: fakeToken, Namespace: "team"}) {
		t.Errorf("saved %+v", c)
	}
	if reqs := f.received(); reqs[len(reqs)-1].Query != "limit=1" {
		t.Errorf("login checked with %+v; want GET /api/v1/applications?limit=1", reqs[len(reqs)-1])
	}

	f.add(testApp("team", "api"))
	if r := runCLI(t, nil, "app", "get", "api", "--config", cfg); r.code != 0 {
		t.Errorf("app get after login: exit %d: %s", r.code, r.stderr)
	}

	if r := runCLI(t, nil, "login", f.srv.URL, "--config", cfg); r.code != 1 || !strings.Contains(r.stderr, "no token") {
		t.Errorf("no token: exit %d, stderr %q", r.code, r.stderr)
	}
}
