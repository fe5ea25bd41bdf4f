package oci

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"sync/atomic"

	helmregistry "helm.sh/helm/v3/pkg/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
)

// Byte budgets of a call, beside the chart itself.
const (
	// metadataBudget is what a pull may read besides the chart layer: the
	// manifest twice (once to check it, once in Helm's pull), the config
	// and auth responses. oras caps each of them at 4 MiB.
	metadataBudget int64 = 16 << 20
	// tagsBudget is what listing tags may read, all pages together.
	tagsBudget int64 = 64 << 20
)

// userAgent is what gyre calls itself to registries.
const userAgent = "gyre"

// call is what one Tags or Pull builds from its Options: a transport bound
// to the call's context and byte budget, and an authorizer holding the
// call's credentials. Nothing of it outlives the call.
type call struct {
	ctx       context.Context
	ref       repoRef
	opts      Options
	budget    *budget
	transport *http.Transport
	auth      *auth.Client
}

// newCall builds the call's client. The call is returned even with an
// error, so the error can be reported through it.
func newCall(ctx context.Context, ref repoRef, opts Options, maxBytes int64) (*call, error) {
	c := &call{ctx: ctx, ref: ref, opts: opts, budget: newBudget(maxBytes)}
	tlsConfig, err := tlsConfig(opts)
	if err != nil {
		return c, err
	}
	c.transport = http.DefaultTransport.(*http.Transport).Clone()
	c.transport.TLSClientConfig = tlsConfig
	httpClient := &http.Client{Transport: &callTransport{ctx: ctx, base: c.transport, budget: c.budget}}

	cred := auth.EmptyCredential
	if opts.Credentials.Username != "" || opts.Credentials.Password != "" {
		cred = auth.Credential{Username: opts.Credentials.Username, Password: opts.Credentials.Password}
	}
	c.auth = &auth.Client{
		Client:     httpClient,
		Credential: auth.StaticCredential(ref.Host, cred),
		Cache:      auth.NewCache(),
	}
	c.auth.SetUserAgent(userAgent)
	return c, nil
}

// close drops the call's idle connections.
func (c *call) close() {
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
}

// helmClient returns Helm's registry client on the call's transport and
// authorizer. Its credentials file is os.DevNull and its credential store
// is never asked (the authorizer is ours), so it reads no credentials from
// disk and writes none.
func (c *call) helmClient() (*helmregistry.Client, error) {
	opts := []helmregistry.ClientOption{
		helmregistry.ClientOptHTTPClient(c.auth.Client),
		helmregistry.ClientOptAuthorizer(*c.auth),
		helmregistry.ClientOptCredentialsFile(os.DevNull),
		helmregistry.ClientOptWriter(io.Discard),
	}
	if c.opts.PlainHTTP {
		opts = append(opts, helmregistry.ClientOptPlainHTTP())
	}
	return helmregistry.NewClient(opts...)
}

// repository returns the oras repository of the call's ref, for what Helm's
// client does not expose (fetching a manifest).
func (c *call) repository() (*remote.Repository, error) {
	repo, err := remote.NewRepository(c.ref.String())
	if err != nil {
		return nil, err
	}
	repo.Client = c.auth
	repo.PlainHTTP = c.opts.PlainHTTP
	return repo, nil
}

// tlsConfig trusts the system roots plus CAData, or skips verification when
// asked to.
func tlsConfig(opts Options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: opts.Credentials.InsecureSkipVerify}
	if len(opts.Credentials.CAData) == 0 {
		return cfg, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(opts.Credentials.CAData) {
		return nil, errors.New("caData holds no PEM certificate")
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// callTransport runs every request of a call under the call's context —
// Helm's client starts its own requests from context.Background — and
// counts what the registry sends against the call's budget.
type callTransport struct {
	ctx    context.Context
	base   http.RoundTripper
	budget *budget
}

// RoundTrip sends req under the call's context.
func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.budget.check(); err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(req.WithContext(t.ctx))
	if err != nil {
		return nil, err
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, budget: t.budget}
	return resp, nil
}

// errBudget is the read error once a call has read more than its budget.
var errBudget = errors.New("the registry sent more bytes than the call allows")

// budget is how many bytes a call may still read. Helm's client reads
// layers concurrently, hence the atomics.
type budget struct {
	total    int64
	left     atomic.Int64
	exceeded atomic.Bool
}

// newBudget returns a budget of n bytes.
func newBudget(n int64) *budget {
	b := &budget{total: n}
	b.left.Store(n)
	return b
}

// spend takes n bytes from the budget and reports whether it held them.
func (b *budget) spend(n int) error {
	if b.left.Add(-int64(n)) < 0 {
		b.exceeded.Store(true)
		return errBudget
	}
	return nil
}

// check returns errBudget once the budget has been exceeded.
func (b *budget) check() error {
	if b.exceeded.Load() {
		return errBudget
	}
	return nil
}

// countingBody is a response body whose reads spend the call's budget.
type countingBody struct {
	io.ReadCloser
	budget *budget
}

// Read reads from the body and fails once the budget is spent.
func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if berr := b.budget.spend(n); berr != nil {
		return 0, berr
	}
	return n, err
}
