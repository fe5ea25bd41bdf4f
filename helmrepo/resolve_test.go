package helmrepo_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/gyre-cd/gyre/helmrepo"
	"github.com/gyre-cd/gyre/helmrepo/helmrepotest"
	"github.com/gyre-cd/gyre/source"
)

// podinfoVersions are the versions of podinfo the resolution tests serve.
var podinfoVersions = []string{
	"1.2.0", "1.3.5", "1.4.2", "1.4.7", "1.5.0", "2.0.0-beta.1",
	"3.0.0", "3.2.1", "4.0.0", "6.5.3", "6.5.4", "6.6.0-rc.1",
}

// podinfoServer serves every version of podinfoVersions, and another chart.
func podinfoServer(t testing.TB, opts helmrepotest.Options) *helmrepotest.Server {
	srv := helmrepotest.NewServer(t, opts)
	for _, v := range podinfoVersions {
		srv.Add("podinfo", v, map[string]string{"templates/cm.yaml": "kind: ConfigMap\n"})
	}
	srv.Add("other", "9.9.9", nil)
	return srv
}

func TestResolveTargetRevisions(t *testing.T) {
	srv := podinfoServer(t, helmrepotest.Options{})
	e := newCache(t, helmrepo.Options{})

	for _, tc := range []struct {
		name, rev, want string
	}{
		{"exact", "1.4.2", "1.4.2"},
		{"exact with leading v", "v1.4.2", "1.4.2"},
		{"exact prerelease", "6.6.0-rc.1", "6.6.0-rc.1"},
		{"wildcard skips prereleases", "6.*", "6.5.4"},
		{"range", ">=1.2 <2", "1.5.0"},
		{"caret", "^3", "3.2.1"},
		{"tilde", "~1.4", "1.4.7"},
		{"star is latest stable", "*", "6.5.4"},
		{"empty is latest stable", "", "6.5.4"},
		{"constraint naming a prerelease", ">=6.6.0-0", "6.6.0-rc.1"},
		{"caret naming a prerelease", "^2.0.0-0", "2.0.0-beta.1"},
		{"partial version", "1.3", "1.3.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := resolve(t, e.cache, srv.URL, "podinfo", tc.rev)
			if ch.Version != tc.want {
				t.Fatalf("Resolve(%q) = %s, want %s", tc.rev, ch.Version, tc.want)
			}
			if want := srv.Digest("podinfo", tc.want); ch.Digest != want {
				t.Errorf("Digest = %s, want %s", ch.Digest, want)
			}
			if ch.Name != "podinfo" || ch.RepoURL != srv.URL || ch.Created.IsZero() {
				t.Errorf("Chart = %+v, want name podinfo, repo %s and a created time", ch, srv.URL)
			}
		})
	}
	if n := srv.Requests("/index.yaml"); n != 1 {
		t.Errorf("index fetched %d times for one interval, want 1", n)
	}
}

func TestResolveFailures(t *testing.T) {
	srv := podinfoServer(t, helmrepotest.Options{})
	e := newCache(t, helmrepo.Options{})
	ctx := context.Background()

	_, err := e.cache.Resolve(ctx, srv.URL, "podinfo", "7.*")
	wantErr(t, err, helmrepo.ErrVersionNotFound,
		"helm repository "+srv.URL+`: chart "podinfo": no version matches "7.*" (have 6.6.0-rc.1, 6.5.4, 6.5.3, 4.0.0, 3.2.1, …)`)

	_, err = e.cache.Resolve(ctx, srv.URL, "podinfo", "^2")
	wantErr(t, err, helmrepo.ErrVersionNotFound, `no version matches "^2"`)

	_, err = e.cache.Resolve(ctx, srv.URL, "podinfo", "not a version!")
	wantErr(t, err, helmrepo.ErrVersionNotFound, `"not a version!"`)

	_, err = e.cache.Resolve(ctx, srv.URL, "nginx", "*")
	wantErr(t, err, helmrepo.ErrChartNotFound, `chart "nginx"`)

	_, err = e.cache.Resolve(ctx, srv.URL, "", "*")
	if err == nil {
		t.Error("Resolve without a chart name: no error")
	}

	_, err = e.cache.Resolve(ctx, srv.URL+"/nothing-here", "podinfo", "*")
	wantErr(t, err, source.ErrRepositoryNotFound, "index", "404")
}

func TestResolveSharesOneFetch(t *testing.T) {
	srv := podinfoServer(t, helmrepotest.Options{})
	e := newCache(t, helmrepo.Options{})
	revs := map[string]string{"6.*": "6.5.4", "~1.4": "1.4.7", "^3": "3.2.1", "": "6.5.4"}

	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range 100 {
		wg.Go(func() {
			// Every other app spells the URL with a trailing slash.
			u := srv.URL
			if i%2 == 1 {
				u += "/"
			}
			rev := []string{"6.*", "~1.4", "^3", ""}[i%4]
			ch, err := e.cache.Resolve(context.Background(), u, "podinfo", rev)
			if err == nil && ch.Version != revs[rev] {
				err = &mismatch{rev: rev, got: ch.Version, want: revs[rev]}
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("app %d: %v", i, err)
		}
	}
	if n := srv.Requests("/index.yaml"); n != 1 {
		t.Fatalf("100 concurrent Resolves fetched the index %d times, want 1", n)
	}
	if n := e.obs.count(helmrepo.RequestIndex); n != 1 {
		t.Errorf("observer heard of %d index fetches, want 1", n)
	}
}

type mismatch struct{ rev, got, want string }

func (m *mismatch) Error() string { return m.rev + " resolved to " + m.got + ", want " + m.want }

func TestResolveConditionalRequest(t *testing.T) {
	srv := podinfoServer(t, helmrepotest.Options{})
	e := newCache(t, helmrepo.Options{})

	resolve(t, e.cache, srv.URL, "podinfo", "6.*")
	body := srv.BytesServed("/index.yaml")

	e.clock.Advance(2 * interval)
	if ch := resolve(t, e.cache, srv.URL, "podinfo", "6.*"); ch.Version != "6.5.4" {
		t.Fatalf("after a 304: %s, want 6.5.4", ch.Version)
	}
	if n := srv.Requests("/index.yaml"); n != 2 {
		t.Fatalf("index requested %d times after the interval, want 2", n)
	}
	if srv.NotModified() != 1 || srv.BytesServed("/index.yaml") != body {
		t.Fatalf("second fetch: %d 304s and %d more body bytes, want a 304 and no body",
			srv.NotModified(), srv.BytesServed("/index.yaml")-body)
	}

	// A change is a 200 with the new index.
	srv.Add("podinfo", "6.5.5", nil)
	e.clock.Advance(2 * interval)
	if ch := resolve(t, e.cache, srv.URL, "podinfo", "6.*"); ch.Version != "6.5.5" {
		t.Fatalf("after a push: %s, want 6.5.5", ch.Version)
	}

	// Without ETag, Last-Modified alone still gives 304s.
	srv.SetConditional(false)
	e.clock.Advance(2 * interval)
	resolve(t, e.cache, srv.URL, "podinfo", "6.*")
	before := srv.NotModified()
	e.clock.Advance(2 * interval)
	resolve(t, e.cache, srv.URL, "podinfo", "6.*")
	if srv.NotModified() != before {
		t.Errorf("a server without ETag or Last-Modified answered 304")
	}
}

func TestRefreshRefetches(t *testing.T) {
	srv := podinfoServer(t, helmrepotest.Options{})
	e := newCache(t, helmrepo.Options{})

	resolve(t, e.cache, srv.URL, "podinfo", "6.*")
	srv.Add("podinfo", "6.5.9", nil)
	if ch := resolve(t, e.cache, srv.URL, "podinfo", "6.*"); ch.Version != "6.5.4" {
		t.Fatalf("within the interval: %s, want the cached 6.5.4", ch.Version)
	}
	e.cache.Refresh(srv.URL + "/")
	if ch := resolve(t, e.cache, srv.URL, "podinfo", "6.*"); ch.Version != "6.5.9" {
		t.Fatalf("after Refresh: %s, want 6.5.9", ch.Version)
	}
	if n := srv.Requests("/index.yaml"); n != 2 {
		t.Errorf("index requested %d times, want 2", n)
	}
}

func TestCredentials(t *testing.T) {
	const user, password, rotated = "alice", "s3cret-pa55word", "r0tated-pa55word"
	srv := podinfoServer(t, helmrepotest.Options{Username: user, Password: password, TLS: true})

	var mu sync.Mutex
	creds := source.Credentials{CAData: srv.CAPEM()}
	var asked []source.RepoType
	set := func(u, p string) {
		mu.Lock()
		defer mu.Unlock()
		creds.Username, creds.Password = u, p
	}
	e := newCache(t, helmrepo.Options{Credentials: func(typ source.RepoType, repoURL string) (source.Credentials, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, typ)
		return creds, nil
	}})
	ctx := context.Background()
	var errs []error

	_, err := e.cache.Resolve(ctx, srv.URL, "podinfo", "6.*")
	wantErr(t, err, source.ErrAuth, "401", "no credentials are configured")
	errs = append(errs, err)

	set(user, "wr0ng-pa55word")
	_, err = e.cache.Resolve(ctx, srv.URL, "podinfo", "6.*")
	wantErr(t, err, source.ErrAuth, "401")
	errs = append(errs, err)

	// The right credentials apply at once, without waiting for the
	// interval in which the refusal is remembered.
	set(user, password)
	ch := resolve(t, e.cache, srv.URL, "podinfo", "6.*")
	fsys, err := e.cache.Files(ctx, ch)
	if err != nil {
		t.Fatalf("Files with credentials: %v", err)
	}
	readFile(t, fsys, "podinfo/templates/cm.yaml")

	// The server's password rotates, then the Secret does.
	srv.SetCredentials(user, rotated)
	e.clock.Advance(2 * interval)
	_, err = e.cache.Resolve(ctx, srv.URL, "podinfo", "6.*")
	wantErr(t, err, source.ErrAuth)
	errs = append(errs, err)
	set(user, rotated)
	resolve(t, e.cache, srv.URL, "podinfo", "6.*")

	mu.Lock()
	for _, typ := range asked {
		if typ != source.RepoTypeHelm {
			t.Errorf("credentials asked for type %s, want helm", typ)
		}
	}
	mu.Unlock()
	errs = append(errs, e.obs.errs...)
	for _, err := range errs {
		for _, secret := range []string{password, rotated, "wr0ng-pa55word"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q holds a password", err)
			}
		}
	}
}

func TestCredentialsStayOnTheRepositoryHost(t *testing.T) {
	const user, password = "alice", "s3cret-pa55word"
	srv := helmrepotest.NewServer(t, helmrepotest.Options{Username: user, Password: password})
	archive := srv.Add("podinfo", "1.0.0", nil)
	// The archive lives on a CDN that needs no credentials and must not
	// see them.
	cdn := helmrepotest.NewServer(t, helmrepotest.Options{})
	cdn.AddArchive("podinfo", "1.0.0", archive)
	srv.SetArchiveURL("podinfo", "1.0.0", cdn.URL+helmrepotest.ArchivePath("podinfo", "1.0.0"))
	e := newCache(t, helmrepo.Options{Credentials: func(source.RepoType, string) (source.Credentials, error) {
		return source.Credentials{Username: user, Password: password}, nil
	}})

	ch := resolve(t, e.cache, srv.URL, "podinfo", "1.0.0")
	if _, err := e.cache.Files(context.Background(), ch); err != nil {
		t.Fatalf("Files from another host: %v", err)
	}
	if n := cdn.Requests(helmrepotest.ArchivePath("podinfo", "1.0.0")); n != 1 {
		t.Fatalf("CDN served %d downloads, want 1", n)
	}
	if n := cdn.AuthorizedRequests(); n != 0 {
		t.Errorf("credentials were sent to another host %d times", n)
	}
}

func TestTLS(t *testing.T) {
	srv := podinfoServer(t, helmrepotest.Options{TLS: true})
	ctx := context.Background()

	untrusting := newCache(t, helmrepo.Options{})
	_, err := untrusting.cache.Resolve(ctx, srv.URL, "podinfo", "*")
	wantErr(t, err, source.ErrUnreachable, "certificate")

	trusted := newCache(t, helmrepo.Options{Credentials: trusting(srv)})
	resolve(t, trusted.cache, srv.URL, "podinfo", "*")

	insecure := newCache(t, helmrepo.Options{Credentials: func(source.RepoType, string) (source.Credentials, error) {
		return source.Credentials{InsecureSkipVerify: true}, nil
	}})
	resolve(t, insecure.cache, srv.URL, "podinfo", "*")
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	e := newCache(t, helmrepo.Options{})
	_, err = e.cache.Resolve(context.Background(), "http://user:pa55word-in-url@"+addr+"/charts", "podinfo", "*")
	wantErr(t, err, source.ErrUnreachable, "helm repository http://"+addr+"/charts")
	if strings.Contains(err.Error(), "pa55word-in-url") {
		t.Errorf("error %q holds the URL's password", err)
	}
	st, ok := e.cache.Status("http://" + addr + "/charts/")
	if !ok || st.Reachable() || st.Err == nil {
		t.Errorf("Status = %+v, %v; want held and unreachable", st, ok)
	}
}

func TestIndexTooLarge(t *testing.T) {
	srv := podinfoServer(t, helmrepotest.Options{})
	srv.ServeHugeIndex(100 << 20)
	e := newCache(t, helmrepo.Options{MaxIndexBytes: 1 << 20})
	_, err := e.cache.Resolve(context.Background(), srv.URL, "podinfo", "*")
	wantErr(t, err, helmrepo.ErrTooLarge, "index.yaml")
	if n := srv.BytesServed("/index.yaml"); n > 32<<20 {
		t.Errorf("server wrote %d MiB of a 100 MiB index before the client gave up", n>>20)
	}
}

func TestStatus(t *testing.T) {
	srv := podinfoServer(t, helmrepotest.Options{})
	e := newCache(t, helmrepo.Options{})
	if _, ok := e.cache.Status(srv.URL); ok {
		t.Fatal("Status of an unused repository: ok")
	}
	resolve(t, e.cache, srv.URL, "podinfo", "*")
	st, ok := e.cache.Status(srv.URL + "/")
	if !ok || !st.Reachable() || st.ListedAt.IsZero() {
		t.Fatalf("Status = %+v, %v; want reachable and listed", st, ok)
	}
	key, _ := helmrepo.Key(srv.URL)
	if all := e.cache.Statuses(); len(all) != 1 || all[0].URL != key {
		t.Errorf("Statuses = %+v, want one for %s", all, key)
	}
}
