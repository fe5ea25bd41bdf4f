package source

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"
)

// authMethod builds the go-git auth method that presents creds to the server
// at ep. It returns a nil method for
// anonymous access. TLS options are set on the endpoint by the caller.
func authMethod(ep *transport.Endpoint, creds Credentials, timeout time.Duration) (transport.AuthMethod, error) {
	switch ep.Protocol {
	case "http", "https":
		if creds.Username == "" && creds.Password == "" {
			return nil, nil
		}
		user := creds.Username
		if user == "" {
			user = "git"
		}
		return &githttp.BasicAuth{Username: user, Password: creds.Password}, nil
	case "ssh":
		return sshAuthMethod(ep, creds, timeout)
	}
	return nil, nil
}

// sshAuthMethod builds the ssh auth for ep: a public key (or password)
// login, and a host key check that fails closed without knownHosts.
func sshAuthMethod(ep *transport.Endpoint, creds Credentials, timeout time.Duration) (transport.AuthMethod, error) {
	user := creds.Username
	if user == "" {
		user = ep.User
	}
	if user == "" {
		user = gitssh.DefaultUsername
	}
	a := &sshAuth{user: user, timeout: timeout}
	switch {
	case len(creds.SSHPrivateKey) > 0:
		signer, err := ssh.ParsePrivateKey(creds.SSHPrivateKey)
		if err != nil {
			return nil, fmt.Errorf("%w: %s is not a valid private key", ErrAuth, SecretKeySSHPrivateKey)
		}
		a.auth = ssh.PublicKeys(signer)
	case creds.Password != "":
		a.auth = ssh.Password(creds.Password)
	default:
		return nil, fmt.Errorf("%w: no %s configured for %s: add a Secret labelled %s for this repository",
			ErrAuth, SecretKeySSHPrivateKey, ep.Host, LabelSecretType)
	}

	hostWithPort := net.JoinHostPort(ep.Host, fmt.Sprint(portOr(ep.Port, 22)))
	switch {
	case creds.InsecureIgnoreHostKey:
		a.hostKey = ssh.InsecureIgnoreHostKey()
	case len(creds.KnownHosts) > 0:
		db, err := knownHostsDB(creds.KnownHosts)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrAuth, SecretKeyKnownHosts, err)
		}
		a.hostKey = db.HostKeyCallback()
		a.hostKeyAlgorithms = db.HostKeyAlgorithms(hostWithPort)
	default:
		a.hostKey = func(string, net.Addr, ssh.PublicKey) error { return errHostKeyUnknown }
	}
	return a, nil
}

func portOr(p, def int) int {
	if p == 0 {
		return def
	}
	return p
}

// knownHostsDB parses known_hosts lines. The parsers available read files
// only, so the lines go through a temporary file that is removed at once.
func knownHostsDB(lines []byte) (*knownhosts.HostKeyDB, error) {
	f, err := os.CreateTemp("", "gyre-known-hosts-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(lines); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return knownhosts.NewDB(f.Name())
}

// sshAuth is a go-git ssh auth method with a host key check and a
// connection timeout of gyre's choosing.
type sshAuth struct {
	user              string
	auth              ssh.AuthMethod
	hostKey           ssh.HostKeyCallback
	hostKeyAlgorithms []string
	timeout           time.Duration
}

var _ gitssh.AuthMethod = (*sshAuth)(nil)

// Name is the go-git name of the method.
func (a *sshAuth) Name() string { return "gyre-ssh" }

// String never shows the key.
func (a *sshAuth) String() string { return "user: " + a.user + ", name: " + a.Name() }

// ClientConfig is the ssh client configuration go-git dials with.
func (a *sshAuth) ClientConfig() (*ssh.ClientConfig, error) {
	return &ssh.ClientConfig{
		User:              a.user,
		Auth:              []ssh.AuthMethod{a.auth},
		HostKeyCallback:   a.hostKey,
		HostKeyAlgorithms: a.hostKeyAlgorithms,
		Timeout:           a.timeout,
	}, nil
}

// fingerprint identifies a Credentials value, so the auth method built from
// it can be reused until the Secret changes.
func (c Credentials) fingerprint() [32]byte {
	h := sha256.New()
	for _, b := range [][]byte{[]byte(c.Username), []byte(c.Password), c.SSHPrivateKey, c.KnownHosts, c.CAData} {
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	fmt.Fprintf(h, "%t%t", c.InsecureIgnoreHostKey, c.InsecureSkipVerify)
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// dropStaleListing forgets r's ref listing, or the failure it ended with,
// when the credentials in force for r are no longer those its last session
// presented: a Secret was added, changed or removed since. So a repository
// refused with the old credentials is tried with the new ones at once, and
// one that lost its credentials is checked again, instead of either
// waiting for the poll interval.
func (c *Cache) dropStaleListing(r *repository) {
	if c.opts.Credentials == nil {
		return
	}
	creds, err := c.opts.Credentials.Credentials(r.url)
	if err != nil {
		return // the session reports it
	}
	fp := creds.fingerprint()
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.authBuilt || r.authKey == fp {
		return
	}
	if r.listing != nil || r.listingErr != nil {
		c.log.Info("repository credentials changed; listing refs again", "repo", r.key)
	}
	r.listing, r.listingErr = nil, nil
	r.generation++
}

// noCredentialsHint adds to an authentication failure where no credentials
// were presented how to give some.
func noCredentialsHint(err error, creds Credentials) error {
	if !errors.Is(err, ErrAuth) || creds.Auth() != AuthAnonymous {
		return err
	}
	return fmt.Errorf("%w (no credentials are configured for this repository: add them with `gyre repo add` or a Secret labelled %s)", err, LabelSecretType)
}
