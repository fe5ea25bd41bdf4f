package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLIConfigRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gyre", "config.yaml")
	if c, err := loadCLIConfig(path); err != nil || c != (cliConfig{}) {
		t.Fatalf("missing file: %+v, %v; want an empty config", c, err)
	}
	want := cliConfig{Server: "http://127.0.0.1:8080", Token: "t0ken"}
	if err := saveCLIConfig(path, want); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "server: http://127.0.0.1:8080\ntoken: t0ken\n" {
		t.Errorf("file:\n%s", data)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600: the file holds a token", info.Mode().Perm())
	}
	if got, err := loadCLIConfig(path); err != nil || got != want {
		t.Errorf("loaded %+v, %v; want %+v", got, err, want)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("left temporary files: %v", entries)
	}

	if err := os.WriteFile(path, []byte("server: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadCLIConfig(path); err == nil || !strings.HasPrefix(err.Error(), "config "+path+": ") {
		t.Errorf("corrupt file: %v; want an error that names the file", err)
	}
}

func TestDefaultCLIConfigPath(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/x/config")
	if got := defaultCLIConfigPath(); got != "/x/config/gyre/config.yaml" {
		t.Errorf("with XDG_CONFIG_HOME: %s", got)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got := defaultCLIConfigPath(); got != "/home/u/.config/gyre/config.yaml" {
		t.Errorf("without XDG_CONFIG_HOME: %s", got)
	}
}

func TestSettingsPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := saveCLIConfig(path, cliConfig{Server: "http://file", Token: "file", Namespace: "ns"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		env              map[string]string
		server, token    string
		wantSrv, wantTok string
	}{
		{name: "file", wantSrv: "http://file", wantTok: "file"},
		{name: "env", env: map[string]string{envServer: "http://env", envToken: "env"}, wantSrv: "http://env", wantTok: "env"},
		{name: "flags", env: map[string]string{envServer: "http://env", envToken: "env"}, server: "http://flag", token: "flag", wantSrv: "http://flag", wantTok: "flag"},
	}
	for _, tt := range tests {
		o := newCLIOptions()
		o.Config, o.Server, o.Token = path, tt.server, tt.token
		o.getenv = func(k string) string { return tt.env[k] }
		c, err := o.settings()
		if err != nil || c.Server != tt.wantSrv || c.Token != tt.wantTok || c.Namespace != "ns" {
			t.Errorf("%s: %+v, %v", tt.name, c, err)
		}
	}
}
