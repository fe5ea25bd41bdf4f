package localcluster

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.etcd.io/etcd/server/v3/embed"
)

// startEtcd starts an embedded etcd member with its data in dir, serving
// clients on a unix socket. It returns once the member is ready.
func startEtcd(dir, logFile string) (*embed.Etcd, string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", err
	}
	if err := checkBackend(filepath.Join(dir, "member", "snap", "db")); err != nil {
		return nil, "", err
	}
	cfg := embed.NewConfig()
	cfg.Name = "gyre"
	cfg.Dir = dir
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{logFile}

	sock := etcdSocketPath(filepath.Dir(dir))
	client := url.URL{Scheme: "unix", Path: sock}
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	peer := url.URL{Scheme: "http", Host: "127.0.0.1:0"}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	// Keep history small: this is a laptop cluster, not a production store.
	cfg.AutoCompactionMode = embed.CompactorModePeriodic
	cfg.AutoCompactionRetention = "5m"
	cfg.QuotaBackendBytes = 2 << 30

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, "", err
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, "", err
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, "", fmt.Errorf("etcd did not become ready within 60s (see %s)", logFile)
	}
	return e, client.String(), nil
}

// etcdSocketPath returns the unix socket etcd listens on: beside its data,
// or, when that path is too long for a socket address, in the temporary
// directory under a name derived from the data path.
func etcdSocketPath(dir string) string {
	p := filepath.Join(dir, "etcd.sock")
	if len(p) < 100 {
		return p
	}
	sum := sha256.Sum256([]byte(dir))
	return filepath.Join(os.TempDir(), "gyre-etcd-"+hex.EncodeToString(sum[:8])+".sock")
}

// checkBackend opens etcd's database read-only, if there is one. etcd itself
// panics in a goroutine of its own on a database it cannot open, which would
// take the process down with a stack trace instead of an error.
func checkBackend(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	db, err := bolt.Open(path, 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return db.Close()
}
