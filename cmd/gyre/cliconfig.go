package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/yaml"
)

// cliConfig is the CLI's config file: where gyre's API is and the token to
// send it. `gyre login` writes it, and so does `gyre up` on start, so that
// the CLI works against a local gyre with no configuration. It is YAML:
//
//	server: http://127.0.0.1:8080
//	token: 3f9c…
//	namespace: gyre
type cliConfig struct {
	// Server is the base URL of gyre's HTTP API.
	Server string `json:"server,omitempty"`
	// Token is sent as "Authorization: Bearer <token>".
	Token string `json:"token,omitempty"`
	// Namespace is the default namespace of the `gyre app` commands; empty
	// means "gyre".
	Namespace string `json:"namespace,omitempty"`
}

// defaultCLIConfigPath is $XDG_CONFIG_HOME/gyre/config.yaml, else
// ~/.config/gyre/config.yaml.
func defaultCLIConfigPath() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "gyre", "config.yaml")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".config", "gyre", "config.yaml")
	}
	return filepath.Join(os.TempDir(), "gyre", "config.yaml")
}

// loadCLIConfig reads the config file at path. A file that does not exist
// is an empty config, not an error: flags and the environment may say all.
func loadCLIConfig(path string) (cliConfig, error) {
	var c cliConfig
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("config %s: %w", path, unwrapPath(err))
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// saveCLIConfig writes c to path, creating its directory. The file holds a
// token, so it is readable by its owner only; it is written to a temporary
// file and renamed into place, so a reader never sees half of it.
func saveCLIConfig(path string, c cliConfig) error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("config %s: %w", path, unwrapPath(err))
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("config %s: %w", path, unwrapPath(err))
	}
	defer os.Remove(f.Name()) // fails harmlessly once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("config %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("config %s: %w", path, unwrapPath(err))
	}
	return nil
}

// unwrapPath drops the path from a *fs.PathError, for messages that already
// lead with it.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Environment variables the CLI reads; flags override them and they
// override the config file.
const (
	envServer = "GYRE_SERVER"
	envToken  = "GYRE_TOKEN"
)

// cliOptions are the global flags of the commands that talk to gyre's API,
// and what those commands take from their surroundings.
type cliOptions struct {
	// Server, Token, Config and Output are the flags --server, --token,
	// --config and -o.
	Server string
	Token  string
	Config string
	Output string

	// getenv reads the environment; now is the clock; poll is how often
	// commands that follow an Application fetch it. Tests replace them.
	getenv func(string) string
	now    func() time.Time
	poll   time.Duration
}

// newCLIOptions returns the options with the process's environment and
// clock.
func newCLIOptions() *cliOptions {
	return &cliOptions{Output: string(formatTable), getenv: os.Getenv, now: time.Now, poll: 200 * time.Millisecond}
}

// addFlags registers the global flags on the root command's persistent
// flags.
func (o *cliOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Server, "server", "", "gyre API URL, e.g. http://127.0.0.1:8080 (default: $"+envServer+", then the config file)")
	f.StringVar(&o.Token, "token", "", "API token (default: $"+envToken+", then the config file)")
	f.StringVar(&o.Config, "config", "", "CLI config file (default: $XDG_CONFIG_HOME/gyre/config.yaml, else ~/.config/gyre/config.yaml)")
	f.StringVarP(&o.Output, "output", "o", o.Output, "output format: table, json or yaml")
}

// configPath is --config, else the default path.
func (o *cliOptions) configPath() string {
	if o.Config != "" {
		return o.Config
	}
	return defaultCLIConfigPath()
}

// settings merges the config file, the environment and the flags, in
// rising order of precedence.
func (o *cliOptions) settings() (cliConfig, error) {
	c, err := loadCLIConfig(o.configPath())
	if err != nil {
		return c, err
	}
	for _, s := range []struct {
		dst       *string
		env, flag string
	}{{&c.Server, envServer, o.Server}, {&c.Token, envToken, o.Token}} {
		if v := o.getenv(s.env); v != "" {
			*s.dst = v
		}
		if s.flag != "" {
			*s.dst = s.flag
		}
	}
	return c, nil
}

// client returns an API client for the configured server, and the settings
// it came from.
func (o *cliOptions) client() (*apiClient, cliConfig, error) {
	c, err := o.settings()
	if err != nil {
		return nil, c, err
	}
	if c.Server == "" {
		return nil, c, fmt.Errorf("no gyre server configured: run `gyre login SERVER --token TOKEN`, pass --server, or set %s (`gyre up` writes %s when it starts)", envServer, o.configPath())
	}
	cl, err := newAPIClient(c.Server, c.Token)
	return cl, c, err
}
