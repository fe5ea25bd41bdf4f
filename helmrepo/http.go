package helmrepo

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/gyre-cd/gyre/source"
)

// maxClients bounds the HTTP clients kept, one per TLS setting.
const maxClients = 32

// clientKey tells apart the TLS settings of credentials.
type clientKey struct {
	ca       [32]byte
	insecure bool
}

// client returns the HTTP client for creds' TLS settings: the system roots
// and creds.CAData trusted, or no verification when InsecureSkipVerify.
// Clients are kept so that connections are reused.
func (c *Cache) client(creds source.Credentials) (*http.Client, error) {
	k := clientKey{insecure: creds.InsecureSkipVerify}
	if len(creds.CAData) > 0 {
		k.ca = sha256.Sum256(creds.CAData)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl := c.clients[k]; cl != nil {
		return cl, nil
	}
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: creds.InsecureSkipVerify} //nolint:gosec // an explicit opt-in of the Secret
	if len(creds.CAData) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(creds.CAData) {
			return nil, fmt.Errorf("%w: caData holds no PEM certificate", source.ErrUnreachable)
		}
		tlsConfig.RootCAs = pool
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = tlsConfig
	if len(c.clients) >= maxClients {
		for key, old := range c.clients {
			old.CloseIdleConnections()
			delete(c.clients, key)
		}
	}
	cl := &http.Client{Transport: t}
	c.clients[k] = cl
	return cl, nil
}

// get sends a GET for u with creds, bounded by ctx. Basic auth is sent
// only to the repository's own scheme, host and port, as Helm does unless
// told to pass credentials on. The caller closes the body. Errors are
// scrubbed of creds and classified.
func (c *Cache) get(ctx context.Context, r *repository, u *url.URL, creds source.Credentials, header http.Header) (*http.Response, error) {
	cl, err := c.client(creds)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("request %s: %s", source.Redact(u.String()), redactText(err.Error(), creds.Password))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "gyre")
	if (creds.Username != "" || creds.Password != "") && sameOrigin(u, r.base) {
		req.SetBasicAuth(creds.Username, creds.Password)
	}
	resp, err := cl.Do(req)
	if err != nil {
		return nil, scrub(err, creds.Password)
	}
	return resp, nil
}

// sameOrigin reports whether a and b have one scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	if b == nil {
		return false
	}
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

// port returns u's port, or its scheme's default.
func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "http") {
		return "80"
	}
	return "443"
}

// readLimited reads resp's body, failing with ErrTooLarge without reading
// further once it holds more than limit bytes.
func readLimited(resp *http.Response, limit int64, what string, secrets ...string) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%s is %d bytes, more than the limit of %d: %w", what, resp.ContentLength, limit, ErrTooLarge)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, scrub(fmt.Errorf("read %s: %w", what, err), secrets...)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is more than the limit of %d bytes: %w", what, limit, ErrTooLarge)
	}
	return data, nil
}

// drain closes a body after reading a little of it, so that the connection
// may be reused.
func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	_ = resp.Body.Close()
}

// errNoURL is returned for an index entry without a URL to download.
var errNoURL = errors.New("the index lists no URL for this version")
