package helmrepotest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"sigs.k8s.io/yaml"
)

// Options configure a Server.
type Options struct {
	// Username and Password, when Username is set, are required as basic
	// auth on every request.
	Username, Password string
	// TLS serves https with a certificate of its own (see CAPEM).
	TLS bool
}

// Server is a Helm chart repository: index.yaml at the root and archives
// under charts/, as `helm repo index` lays them out. It is safe for
// concurrent use and stops when the test ends.
type Server struct {
	// URL is the repository's URL, without a trailing "/".
	URL string

	srv *httptest.Server
	t   testing.TB

	mu          sync.Mutex
	user, pass  string
	charts      []*served // in the order added
	index       []byte
	etag        string
	modified    time.Time
	conditional bool
	hugeIndex   int64
	requests    map[string]int
	bytes       map[string]int64
	notModified int
	authorized  int
}

// served is one chart version the server holds.
type served struct {
	name, version string
	archive       []byte    // what the index's digest is of, unless overridden
	body          []byte    // what a download returns
	digest        *string   // the index's digest field, when overridden ("" leaves it out)
	url           string    // the index's URL, when overridden
	created       time.Time // the index's created field
}

// NewServer starts a repository with no charts. It answers conditional
// requests (ETag and Last-Modified) until SetConditional(false).
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		t:           t,
		user:        opts.Username,
		pass:        opts.Password,
		conditional: true,
		requests:    map[string]int{},
		bytes:       map[string]int64{},
	}
	if opts.TLS {
		s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	} else {
		s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	}
	s.URL = s.srv.URL
	s.mu.Lock()
	s.reindexLocked()
	s.mu.Unlock()
	t.Cleanup(s.srv.Close)
	return s
}

// CAPEM returns the PEM certificate a client must trust to reach a TLS
// Server: what a Secret's caData holds.
func (s *Server) CAPEM() []byte {
	if s.srv.Certificate() == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Add packages a chart (see Chart), keeps it as charts/<name>-<version>.tgz
// and lists it in index.yaml with its digest. It returns the archive. It
// fails the test that started the server if the chart cannot be packaged.
func (s *Server) Add(name, version string, files map[string]string) []byte {
	s.t.Helper()
	archive := Chart(s.t, name, version, files)
	s.AddArchive(name, version, archive)
	return archive
}

// AddArchive keeps archive, whatever it holds, as chart name at version and
// lists it in index.yaml with its real digest, replacing any archive of
// that version.
func (s *Server) AddArchive(name, version string, archive []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.charts = slices.DeleteFunc(s.charts, func(c *served) bool { return c.name == name && c.version == version })
	s.charts = append(s.charts, &served{name: name, version: version, archive: archive, body: archive, created: time.Now().UTC()})
	s.reindexLocked()
}

// Remove drops a chart version from the server and its index.
func (s *Server) Remove(name, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.charts = slices.DeleteFunc(s.charts, func(c *served) bool { return c.name == name && c.version == version })
	s.reindexLocked()
}

// Corrupt makes downloads of a version return its archive with one byte
// changed, while the index keeps the true digest.
func (s *Server) Corrupt(name, version string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.findLocked(name, version); c != nil {
		body := slices.Clone(c.archive)
		body[len(body)/2] ^= 0xff
		c.body = body
	}
}

// SetIndexDigest makes the index list digest (hex, as Helm writes it) for
// a version; "" leaves the digest out, as old repositories do.
func (s *Server) SetIndexDigest(name, version, digest string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.findLocked(name, version); c != nil {
		c.digest = &digest
		s.reindexLocked()
	}
}

// SetArchiveURL makes the index list url (absolute, say on another host)
// as a version's archive, instead of charts/<name>-<version>.tgz.
func (s *Server) SetArchiveURL(name, version, url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.findLocked(name, version); c != nil {
		c.url = url
		s.reindexLocked()
	}
}

// SetConditional turns ETag and Last-Modified, and the 304s they allow, on
// or off.
func (s *Server) SetConditional(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conditional = on
}

// ServeHugeIndex makes index.yaml an endless-looking stream of n bytes,
// written in chunks without a Content-Length and never held in memory
// whole; 0 serves the real index again.
func (s *Server) ServeHugeIndex(n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hugeIndex = n
}

// SetCredentials changes the basic auth the server requires; an empty
// username requires none.
func (s *Server) SetCredentials(username, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user, s.pass = username, password
}

// Digest returns "sha256:<hex>" of the archive of a version.
func (s *Server) Digest(name, version string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.findLocked(name, version); c != nil {
		return "sha256:" + hexDigest(c.archive)
	}
	return ""
}

// Requests returns how many requests the server had for path
// ("/index.yaml", "/charts/podinfo-1.0.0.tgz"), answered or refused.
func (s *Server) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}

// BytesServed returns how many body bytes the server wrote for path.
func (s *Server) BytesServed(path string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes[path]
}

// NotModified returns how many requests for index.yaml were answered 304.
func (s *Server) NotModified() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notModified
}

// AuthorizedRequests returns how many requests carried an Authorization
// header, for checking that credentials do not leak to other hosts.
func (s *Server) AuthorizedRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authorized
}

// ArchivePath is where the server keeps a version's archive.
func ArchivePath(name, version string) string {
	return "/charts/" + name + "-" + version + ".tgz"
}

func (s *Server) findLocked(name, version string) *served {
	for _, c := range s.charts {
		if c.name == name && c.version == version {
			return c
		}
	}
	return nil
}

// indexEntry is one version in index.yaml: the shape of Helm's
// repo.ChartVersion (chart metadata inline, then urls, created, digest).
type indexEntry struct {
	*chart.Metadata
	URLs    []string  `json:"urls"`
	Created time.Time `json:"created,omitempty"`
	Digest  string    `json:"digest,omitempty"`
}

// indexFile is index.yaml: the shape of Helm's repo.IndexFile.
type indexFile struct {
	APIVersion string                  `json:"apiVersion"`
	Generated  time.Time               `json:"generated"`
	Entries    map[string][]indexEntry `json:"entries"`
}

// reindexLocked writes index.yaml afresh, newest additions first, as
// Helm sorts newest versions first.
func (s *Server) reindexLocked() {
	f := indexFile{APIVersion: "v1", Generated: time.Now().UTC(), Entries: map[string][]indexEntry{}}
	for i := len(s.charts) - 1; i >= 0; i-- {
		c := s.charts[i]
		digest := hexDigest(c.archive)
		if c.digest != nil {
			digest = *c.digest
		}
		u := strings.TrimPrefix(ArchivePath(c.name, c.version), "/")
		if c.url != "" {
			u = c.url
		}
		md := &chart.Metadata{APIVersion: chart.APIVersionV2, Name: c.name, Version: c.version, Type: "application"}
		f.Entries[c.name] = append(f.Entries[c.name], indexEntry{
			Metadata: md,
			URLs:     []string{u},
			Created:  c.created,
			Digest:   digest,
		})
	}
	data, err := yaml.Marshal(f)
	if err != nil {
		panic(fmt.Sprintf("helmrepotest: marshal index: %v", err)) // a bug in this package
	}
	s.index = data
	s.etag = `"` + hexDigest(data)[:16] + `"`
	s.modified = time.Now().UTC().Truncate(time.Second)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests[r.URL.Path]++
	if r.Header.Get("Authorization") != "" {
		s.authorized++
	}
	user, pass := s.user, s.pass
	s.mu.Unlock()
	if user != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != user || p != pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	if r.URL.Path == "/index.yaml" {
		s.serveIndex(w, r)
		return
	}
	s.mu.Lock()
	var body []byte
	for _, c := range s.charts {
		if ArchivePath(c.name, c.version) == r.URL.Path {
			body = c.body
		}
	}
	s.mu.Unlock()
	if body == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	s.write(w, r.URL.Path, body)
}

func (s *Server) serveIndex(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	index, etag, modified, conditional, huge := s.index, s.etag, s.modified, s.conditional, s.hugeIndex
	s.mu.Unlock()
	if huge > 0 {
		s.streamJunk(w, r.URL.Path, huge)
		return
	}
	if conditional {
		w.Header().Set("ETag", etag)
		w.Header().Set("Last-Modified", modified.Format(http.TimeFormat))
		notModified := false
		if inm := r.Header.Get("If-None-Match"); inm != "" {
			notModified = inm == etag
		} else if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); err == nil {
			notModified = !modified.After(ims)
		}
		if notModified {
			s.mu.Lock()
			s.notModified++
			s.mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "application/x-yaml")
	s.write(w, r.URL.Path, index)
}

// streamJunk writes n bytes of YAML comments in chunks, stopping when the
// client goes away.
func (s *Server) streamJunk(w http.ResponseWriter, path string, n int64) {
	chunk := []byte(strings.Repeat("# padding padding padding padding padding padding padding padding\n", 1024))
	flusher, _ := w.(http.Flusher)
	for n > 0 {
		c := chunk[:min(int64(len(chunk)), n)]
		written, err := w.Write(c)
		s.mu.Lock()
		s.bytes[path] += int64(written)
		s.mu.Unlock()
		if err != nil {
			return
		}
		if flusher != nil {
			flusher.Flush()
		}
		n -= int64(written)
	}
}

func (s *Server) write(w http.ResponseWriter, path string, body []byte) {
	n, _ := w.Write(body)
	s.mu.Lock()
	s.bytes[path] += int64(n)
	s.mu.Unlock()
}

func hexDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
