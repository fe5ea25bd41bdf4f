package cluster_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/cluster"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
)

var home = &rest.Config{Host: "https://10.96.0.1:443", BearerToken: "home-token"}

// remote returns a valid bearer-token cluster Secret called secretName for
// server, with cluster name name (none when empty) at resourceVersion rv.
func remote(secretName, name, server, rv string) *corev1.Secret {
	data := map[string]string{cluster.KeyServer: server, cluster.KeyConfig: `{"bearerToken":"tok-` + secretName + `"}`}
	if name != "" {
		data[cluster.KeyName] = name
	}
	s := secret(secretName, data)
	s.ResourceVersion = rv
	return s
}

// names lists the clusters' names.
func names(cs []*cluster.Cluster) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}

// recorder records a registry's change notifications.
type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) hear(old, cur *cluster.Cluster) {
	r.mu.Lock()
	defer r.mu.Unlock()
	str := func(c *cluster.Cluster) string {
		if c == nil {
			return "nil"
		}
		return c.Name + "@" + c.Version
	}
	r.events = append(r.events, str(old)+"->"+str(cur))
}

// take returns the events heard since the last take, sorted.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	slices.Sort(out)
	return out
}

func TestRegistryInClusterOnly(t *testing.T) {
	r := cluster.NewRegistry(home, nil)
	l := r.List()
	if len(l) != 1 {
		t.Fatalf("List() = %d clusters, want 1", len(l))
	}
	c := l[0]
	if c.Name != cluster.InClusterName || c.Server != cluster.InClusterServer || c.Config != home || !c.InCluster() || c.Version != "" || c.Secret.Name != "" {
		t.Errorf("in-cluster = %+v", c)
	}
	if len(r.Invalid()) != 0 {
		t.Errorf("Invalid() = %v", r.Invalid())
	}
	for _, d := range []app.Destination{
		{},
		{Namespace: "x"},
		{Server: cluster.InClusterServer},
		{Server: cluster.InClusterServer + "/"},
		{Name: cluster.InClusterName},
	} {
		got, err := r.Resolve(d)
		if err != nil || got != c {
			t.Errorf("Resolve(%+v) = %+v, %v; want the in-cluster cluster", d, got, err)
		}
	}
	if got, ok := r.Get(cluster.InClusterServer); !ok || got != c {
		t.Errorf("Get(in-cluster) = %v, %v", got, ok)
	}
	if _, ok := r.Get("https://other.example.com"); ok {
		t.Error("Get(unknown) found a cluster")
	}
}

func TestRegistrySetAndResolve(t *testing.T) {
	r := cluster.NewRegistry(home, nil)
	r.Set([]*corev1.Secret{
		remote("zeta", "b-prod", "https://prod.example.com/", "1"),
		remote("alpha", "a-staging", "https://staging.example.com", "1"),
	})
	if got := names(r.List()); !slices.Equal(got, []string{cluster.InClusterName, "a-staging", "b-prod"}) {
		t.Errorf("List() names = %q, want in-cluster first, then by name", got)
	}
	if len(r.Invalid()) != 0 {
		t.Errorf("Invalid() = %v", r.Invalid())
	}

	prod, ok := r.Get("https://prod.example.com")
	if !ok || prod.Name != "b-prod" || prod.Config.BearerToken != "tok-zeta" || prod.Config.Host != "https://prod.example.com" {
		t.Fatalf("Get(prod) = %+v, %v", prod, ok)
	}
	if c, ok := r.Get("https://prod.example.com/"); !ok || c != prod {
		t.Errorf("Get with trailing slash = %v, %v", c, ok)
	}
	for _, d := range []app.Destination{
		{Server: "https://prod.example.com"},
		{Server: "https://prod.example.com/", Namespace: "apps"},
		{Server: " https://prod.example.com "},
		{Name: "b-prod"},
	} {
		if c, err := r.Resolve(d); err != nil || c != prod {
			t.Errorf("Resolve(%+v) = %v, %v; want prod", d, c, err)
		}
	}
	if c, err := r.Resolve(app.Destination{Name: "a-staging"}); err != nil || c.Server != "https://staging.example.com" {
		t.Errorf("Resolve(name a-staging) = %v, %v", c, err)
	}
	if c, err := r.Resolve(app.Destination{}); err != nil || !c.InCluster() {
		t.Errorf("Resolve(empty) = %v, %v; want in-cluster", c, err)
	}

	// Errors.
	if _, err := r.Resolve(app.Destination{Server: "https://prod.example.com", Name: "b-prod"}); err == nil || !strings.Contains(err.Error(), "both server and name") {
		t.Errorf("Resolve(server and name) error = %v", err)
	}
	_, err := r.Resolve(app.Destination{Server: "https://nowhere.example.com"})
	if !errors.Is(err, cluster.ErrNotFound) || !strings.Contains(err.Error(), "https://nowhere.example.com") {
		t.Errorf("Resolve(unknown server) error = %v, want ErrNotFound naming the server", err)
	}
	_, err = r.Resolve(app.Destination{Name: "nowhere"})
	if !errors.Is(err, cluster.ErrNotFound) || !strings.Contains(err.Error(), `"nowhere"`) {
		t.Errorf("Resolve(unknown name) error = %v, want ErrNotFound naming the name", err)
	}
	// Names are matched exactly; a server is not a name.
	for _, d := range []app.Destination{{Name: "B-PROD"}, {Name: "https://prod.example.com"}, {Server: "b-prod"}} {
		if _, err := r.Resolve(d); !errors.Is(err, cluster.ErrNotFound) {
			t.Errorf("Resolve(%+v) error = %v, want ErrNotFound", d, err)
		}
	}

	// Set replaces: a later Set without staging drops it.
	r.Set([]*corev1.Secret{remote("zeta", "b-prod", "https://prod.example.com", "1")})
	if got := names(r.List()); !slices.Equal(got, []string{cluster.InClusterName, "b-prod"}) {
		t.Errorf("after Set: List() names = %q", got)
	}
	if _, err := r.Resolve(app.Destination{Name: "a-staging"}); !errors.Is(err, cluster.ErrNotFound) {
		t.Errorf("removed cluster still resolves: %v", err)
	}
}

func TestRegistryNameDefaultsToServer(t *testing.T) {
	r := cluster.NewRegistry(home, nil)
	r.Set([]*corev1.Secret{remote("s", "", "https://anon.example.com/", "1")})
	c, err := r.Resolve(app.Destination{Name: "https://anon.example.com"})
	if err != nil || c.Server != "https://anon.example.com" {
		t.Errorf("Resolve by server-as-name = %v, %v", c, err)
	}
}

func TestRegistryDuplicateServer(t *testing.T) {
	r := cluster.NewRegistry(home, nil)
	// Given in reverse order: the first by Secret name wins regardless.
	r.Set([]*corev1.Secret{
		remote("b-second", "two", "https://dup.example.com/", "1"),
		remote("a-first", "one", "https://dup.example.com", "1"),
	})
	c, ok := r.Get("https://dup.example.com")
	if !ok || c.Name != "one" || c.Secret.Name != "a-first" {
		t.Fatalf("Get(dup) = %+v, %v; want the cluster of Secret a-first", c, ok)
	}
	inv := r.Invalid()
	if len(inv) != 1 || inv["b-second"] == nil {
		t.Fatalf("Invalid() = %v, want just b-second", inv)
	}
	msg := inv["b-second"].Error()
	for _, want := range []string{"gyre/b-second", "https://dup.example.com", "already registered", "a-first"} {
		if !strings.Contains(msg, want) {
			t.Errorf("duplicate error %q does not contain %q", msg, want)
		}
	}
	if got := names(r.List()); !slices.Equal(got, []string{cluster.InClusterName, "one"}) {
		t.Errorf("List() names = %q", got)
	}
	// Invalid returns a copy.
	delete(inv, "b-second")
	if len(r.Invalid()) != 1 {
		t.Error("Invalid() returned the registry's own map")
	}
}

func TestRegistryInvalidSecrets(t *testing.T) {
	r := cluster.NewRegistry(home, nil)
	bad := secret("broken", map[string]string{cluster.KeyServer: "https://broken.example.com", cluster.KeyConfig: `{"bearerToken":"` + testToken + `"`})
	r.Set([]*corev1.Secret{bad, remote("ok", "ok", "https://ok.example.com", "1")})
	inv := r.Invalid()
	if len(inv) != 1 || inv["broken"] == nil {
		t.Fatalf("Invalid() = %v", inv)
	}
	if strings.Contains(inv["broken"].Error(), testToken) {
		t.Errorf("Invalid error quotes the token: %v", inv["broken"])
	}
	if got := names(r.List()); !slices.Equal(got, []string{cluster.InClusterName, "ok"}) {
		t.Errorf("List() names = %q", got)
	}
	if _, err := r.Resolve(app.Destination{Server: "https://broken.example.com"}); !errors.Is(err, cluster.ErrNotFound) {
		t.Errorf("invalid cluster resolves: %v", err)
	}
	// Fixed, it is no longer invalid.
	r.Set([]*corev1.Secret{remote("broken", "broken", "https://broken.example.com", "2"), remote("ok", "ok", "https://ok.example.com", "1")})
	if len(r.Invalid()) != 0 {
		t.Errorf("Invalid() after fix = %v", r.Invalid())
	}
}

func TestRegistryAmbiguousName(t *testing.T) {
	r := cluster.NewRegistry(home, nil)
	r.Set([]*corev1.Secret{
		remote("a", "shared", "https://one.example.com", "1"),
		remote("b", "shared", "https://two.example.com", "1"),
	})
	_, err := r.Resolve(app.Destination{Name: "shared"})
	if err == nil || errors.Is(err, cluster.ErrNotFound) {
		t.Fatalf("Resolve(ambiguous) error = %v, want an ambiguity error", err)
	}
	for _, want := range []string{"ambiguous", `"shared"`, "https://one.example.com", "https://two.example.com"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ambiguity error %q does not contain %q", err, want)
		}
	}
	// By server they still resolve.
	if c, err := r.Resolve(app.Destination{Server: "https://two.example.com"}); err != nil || c.Secret.Name != "b" {
		t.Errorf("Resolve(server two) = %v, %v", c, err)
	}
	// List breaks the name tie by server.
	l := r.List()
	if len(l) != 3 || l[1].Server != "https://one.example.com" || l[2].Server != "https://two.example.com" {
		t.Errorf("List() = %v", l)
	}
	// A remote cluster called in-cluster makes that name ambiguous too.
	r.Set([]*corev1.Secret{remote("c", cluster.InClusterName, "https://three.example.com", "1")})
	if _, err := r.Resolve(app.Destination{Name: cluster.InClusterName}); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("Resolve(in-cluster, shadowed) error = %v", err)
	}
	if c, err := r.Resolve(app.Destination{}); err != nil || !c.InCluster() {
		t.Errorf("Resolve(empty) = %v, %v", c, err)
	}
}

func TestRegistryInClusterSecret(t *testing.T) {
	r := cluster.NewRegistry(home, nil)
	rec := &recorder{}
	r.OnChange(rec.hear)
	in := secret("in-cluster-secret", map[string]string{
		cluster.KeyName:             "home",
		cluster.KeyServer:           cluster.InClusterServer + "/",
		cluster.KeyNamespaces:       "b,a",
		cluster.KeyClusterResources: "true",
		cluster.KeyProject:          "platform",
	})
	in.ResourceVersion = "5"
	in.Labels["env"] = "home"
	r.Set([]*corev1.Secret{in, remote("other", "other", "https://other.example.com", "1")})

	if got := rec.take(); !slices.Equal(got, []string{"in-cluster@->home@5", "nil->other@1"}) {
		t.Errorf("events = %q", got)
	}
	l := r.List()
	if len(l) != 2 {
		t.Fatalf("List() = %v, want the merged in-cluster cluster and other", names(l))
	}
	c := l[0]
	if !c.InCluster() || c.Name != "home" || c.Config != home || c.Version != "5" || c.Secret.Name != "in-cluster-secret" ||
		!slices.Equal(c.Namespaces, []string{"a", "b"}) || !c.ClusterResources || c.Project != "platform" || c.Labels["env"] != "home" {
		t.Errorf("merged in-cluster = %+v", c)
	}
	for _, d := range []app.Destination{{}, {Server: cluster.InClusterServer}, {Name: "home"}} {
		if got, err := r.Resolve(d); err != nil || got != c {
			t.Errorf("Resolve(%+v) = %v, %v; want the merged in-cluster", d, got, err)
		}
	}
	// Its Secret renamed it.
	if _, err := r.Resolve(app.Destination{Name: cluster.InClusterName}); !errors.Is(err, cluster.ErrNotFound) {
		t.Errorf("Resolve(name in-cluster) after rename: %v", err)
	}

	// A second Secret for the in-cluster server is refused.
	dup := secret("z-in-cluster", map[string]string{cluster.KeyServer: cluster.InClusterServer})
	r.Set([]*corev1.Secret{dup, in})
	if inv := r.Invalid(); len(inv) != 1 || inv["z-in-cluster"] == nil || !strings.Contains(inv["z-in-cluster"].Error(), "in-cluster-secret") {
		t.Errorf("Invalid() = %v", inv)
	}
	if c, _ := r.Get(cluster.InClusterServer); c.Name != "home" {
		t.Errorf("in-cluster name = %q, want home (from the first Secret)", c.Name)
	}
	if got := rec.take(); !slices.Equal(got, []string{"other@1->nil"}) {
		t.Errorf("events = %q", got)
	}

	// Removing its Secret restores the built-in in-cluster cluster.
	r.Set(nil)
	if got := rec.take(); !slices.Equal(got, []string{"home@5->in-cluster@"}) {
		t.Errorf("events = %q", got)
	}
	c, _ = r.Get(cluster.InClusterServer)
	if c.Name != cluster.InClusterName || c.Config != home || c.Namespaces != nil || c.Secret.Name != "" {
		t.Errorf("in-cluster = %+v", c)
	}
}

func TestRegistryOnChange(t *testing.T) {
	r := cluster.NewRegistry(home, nil)
	rec, rec2 := &recorder{}, &recorder{}
	r.OnChange(rec.hear)
	r.OnChange(rec2.hear)

	r.Set([]*corev1.Secret{remote("a", "a", "https://a.example.com", "1"), remote("b", "b", "https://b.example.com", "1")})
	if got := rec.take(); !slices.Equal(got, []string{"nil->a@1", "nil->b@1"}) {
		t.Errorf("add: events = %q", got)
	}
	if got := rec2.take(); len(got) != 2 {
		t.Errorf("second listener heard %q", got)
	}

	// Nothing changed: nothing is heard, though the Secret objects are new.
	r.Set([]*corev1.Secret{remote("b", "b", "https://b.example.com", "1"), remote("a", "a", "https://a.example.com", "1")})
	if got := rec.take(); len(got) != 0 {
		t.Errorf("no change: events = %q", got)
	}

	// A new resourceVersion is a change, with old and current.
	var old, cur *cluster.Cluster
	r.OnChange(func(o, c *cluster.Cluster) { old, cur = o, c })
	r.Set([]*corev1.Secret{remote("a", "a2", "https://a.example.com", "2"), remote("b", "b", "https://b.example.com", "1")})
	if got := rec.take(); !slices.Equal(got, []string{"a@1->a2@2"}) {
		t.Errorf("change: events = %q", got)
	}
	if old == nil || cur == nil || old.Version != "1" || cur.Version != "2" || cur.Name != "a2" {
		t.Errorf("change: old, cur = %+v, %+v", old, cur)
	}
	// The change is visible when the listener runs.
	got, ok := r.Get("https://a.example.com")
	if !ok || got != cur {
		t.Errorf("Get after change = %v, want the listener's cur", got)
	}

	// Removal.
	r.Set([]*corev1.Secret{remote("a", "a2", "https://a.example.com", "2")})
	if got := rec.take(); !slices.Equal(got, []string{"b@1->nil"}) {
		t.Errorf("remove: events = %q", got)
	}
	// A Secret becoming invalid removes its cluster.
	r.Set([]*corev1.Secret{secret("a", map[string]string{cluster.KeyServer: "https://a.example.com"})})
	if got := rec.take(); !slices.Equal(got, []string{"a2@2->nil"}) {
		t.Errorf("invalid: events = %q", got)
	}
	r.Set(nil)
	if got := rec.take(); len(got) != 0 {
		t.Errorf("no change: events = %q", got)
	}
}

func TestRegistryListenerMayCallRegistry(t *testing.T) {
	// Listeners run without the lock: calling back into the registry
	// must not deadlock.
	r := cluster.NewRegistry(home, nil)
	var seen []string
	r.OnChange(func(_, cur *cluster.Cluster) {
		if cur != nil {
			c, err := r.Resolve(app.Destination{Server: cur.Server})
			seen = append(seen, fmt.Sprint(c != nil && c.Version == cur.Version, err))
		}
		_ = r.List()
		_ = r.Invalid()
	})
	r.Set([]*corev1.Secret{remote("a", "a", "https://a.example.com", "1")})
	if !slices.Equal(seen, []string{"true <nil>"}) {
		t.Errorf("seen = %q", seen)
	}
}

func TestRegistryReloaded(t *testing.T) {
	r := cluster.NewRegistry(home, nil)
	ch := r.Reloaded()
	select {
	case <-ch:
		t.Fatal("Reloaded closed before any change")
	default:
	}
	r.Set(nil)
	select {
	case <-ch:
	default:
		t.Fatal("Reloaded not closed by Set")
	}
	if r.Reloaded() == ch {
		t.Error("Reloaded not replaced")
	}
}

func TestRegistryConcurrent(t *testing.T) {
	r := cluster.NewRegistry(home, nil)
	r.OnChange(func(_, _ *cluster.Cluster) {})
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for j := range 50 {
				rv := fmt.Sprint(j)
				r.Set([]*corev1.Secret{remote("a", "a", "https://a.example.com", rv), remote(fmt.Sprint("w", i), "", fmt.Sprintf("https://w%d.example.com", i), rv)})
			}
		})
		wg.Go(func() {
			for range 50 {
				_, _ = r.Resolve(app.Destination{Name: "a"})
				_ = r.List()
				_ = r.Invalid()
				_, _ = r.Get("https://a.example.com")
			}
		})
	}
	wg.Wait()
}
