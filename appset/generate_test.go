package appset

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/internal/testsupport"
	"github.com/gyre-cd/gyre/source"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
)

// generate runs the generators gens of a set with goTemplate on.
func generate(t *testing.T, in Inputs, gens ...Generator) ([]map[string]any, error) {
	t.Helper()
	s := newSet(guestbookTemplate())
	s.Spec.Generators = gens
	g, err := Generate(context.Background(), s, in)
	if err != nil {
		return nil, err
	}
	return g.Params, nil
}

// field reads a dotted path of a parameter set, as a string.
func field(p map[string]any, key string) string {
	v, _ := lookup(p, key)
	return toString(v)
}

// fields returns key of every set.
func fields(ps []map[string]any, key string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = field(p, key)
	}
	return out
}

func list(elems ...map[string]any) Generator {
	return Generator{List: &ListGenerator{Elements: elems}}
}

func TestListGenerator(t *testing.T) {
	ps, err := generate(t, Inputs{}, Generator{List: &ListGenerator{
		Elements:     []map[string]any{{"name": "a", "n": 1.0}, {"name": "b", "nested": map[string]any{"x": "y"}}},
		ElementsYaml: "- name: c\n- {name: d}\n",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fields(ps, "name"); !reflect.DeepEqual(got, []string{"a", "b", "c", "d"}) {
		t.Errorf("names = %v", got)
	}
	if field(ps[1], "nested.x") != "y" {
		t.Errorf("nested = %v", ps[1])
	}
	if _, err := generate(t, Inputs{}, Generator{List: &ListGenerator{ElementsYaml: "a: b"}}); err == nil || !strings.Contains(err.Error(), "elementsYaml") {
		t.Errorf("a map as elementsYaml: %v", err)
	}
}

// clusterSecret is a valid cluster Secret for server with labels.
func clusterSecret(name, server string, labels map[string]string) *corev1.Secret {
	l := map[string]string{cluster.LabelSecretType: cluster.SecretTypeCluster}
	for k, v := range labels {
		l[k] = v
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "gyre", Name: name, Labels: l, Annotations: map[string]string{"owner": name + "-team"}},
		Data: map[string][]byte{
			cluster.KeyName:   []byte(name),
			cluster.KeyServer: []byte(server),
			cluster.KeyConfig: []byte(`{"bearerToken":"t","tlsClientConfig":{"insecure":true}}`),
		},
	}
}

func testRegistry(secrets ...*corev1.Secret) *cluster.Registry {
	r := cluster.NewRegistry(&rest.Config{Host: "https://127.0.0.1:1"}, slog.New(slog.DiscardHandler))
	r.Set(secrets)
	return r
}

func TestClusterGenerator(t *testing.T) {
	reg := testRegistry(
		clusterSecret("prod-eu", "https://prod-eu.example.com", map[string]string{"env": "prod"}),
		clusterSecret("dev", "https://dev.example.com", map[string]string{"env": "dev"}),
	)
	all, err := generate(t, Inputs{Clusters: reg}, Generator{Clusters: &ClusterGenerator{Values: map[string]string{"ns": "apps-{{ .name }}"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fields(all, "name"); !reflect.DeepEqual(got, []string{"in-cluster", "dev", "prod-eu"}) {
		t.Errorf("empty selector picks %v, want every cluster, in-cluster first", got)
	}
	if got := fields(all, "values.ns"); !reflect.DeepEqual(got, []string{"apps-in-cluster", "apps-dev", "apps-prod-eu"}) {
		t.Errorf("values = %v", got)
	}
	prod, err := generate(t, Inputs{Clusters: reg}, Generator{Clusters: &ClusterGenerator{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(prod) != 1 || field(prod[0], "server") != "https://prod-eu.example.com" || field(prod[0], "metadata.labels.env") != "prod" ||
		field(prod[0], "metadata.annotations.owner") != "prod-eu-team" || field(prod[0], "nameNormalized") != "prod-eu" {
		t.Errorf("env=prod picks %v", prod)
	}
	// A selector that matches everything still leaves out the in-cluster
	// cluster while it has no Secret (Argo CD's rule)...
	exists, err := generate(t, Inputs{Clusters: reg}, Generator{Clusters: &ClusterGenerator{Selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpExists}}}}})
	if err != nil || !reflect.DeepEqual(fields(exists, "name"), []string{"dev", "prod-eu"}) {
		t.Errorf("env exists picks %v, %v", fields(exists, "name"), err)
	}
	// ...and picks it once a Secret names its server.
	reg.Set([]*corev1.Secret{clusterSecret("home", cluster.InClusterServer, map[string]string{"env": "prod"})})
	prod, err = generate(t, Inputs{Clusters: reg}, Generator{Clusters: &ClusterGenerator{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"env": "prod"}}}})
	if err != nil || !reflect.DeepEqual(fields(prod, "name"), []string{"home"}) {
		t.Errorf("after the in-cluster Secret, env=prod picks %v, %v", fields(prod, "name"), err)
	}
	if _, err := generate(t, Inputs{Clusters: reg}, Generator{Clusters: &ClusterGenerator{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"bad key!": "x"}}}}); err == nil {
		t.Error("an invalid selector is accepted")
	}
}

// gitInputs returns a source cache that reads local repositories.
func gitInputs(t *testing.T) (Inputs, *source.Cache) {
	t.Helper()
	opts := source.DefaultOptions(filepath.Join(t.TempDir(), "cache"))
	opts.AllowFileURLs = true
	opts.Logger = slog.New(slog.DiscardHandler)
	src, err := source.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return Inputs{Git: src}, src
}

func TestGitDirectories(t *testing.T) {
	repo := testsupport.NewRepo(t)
	repo.Commit("apps", map[string]string{
		"apps/api/kustomization.yaml":   "resources: []",
		"apps/web/deploy.yaml":          "kind: x",
		"apps/legacy/deploy.yaml":       "kind: x",
		"apps/.hidden/deploy.yaml":      "kind: x",
		"apps/api/overlays/prod/k.yaml": "kind: x",
		"README.md":                     "hi",
	})
	in, _ := gitInputs(t)
	ps, err := generate(t, in, Generator{Git: &GitGenerator{RepoURL: repo.Dir, Revision: "main",
		Directories: []GitDirectory{{Path: "apps/*"}, {Path: "apps/legacy", Exclude: true}},
		Values:      map[string]string{"ns": "{{ .path.basename }}-ns"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fields(ps, "path.path"); !reflect.DeepEqual(got, []string{"apps/api", "apps/web"}) {
		t.Errorf("paths = %v", got)
	}
	p := ps[0]["path"].(map[string]any)
	want := map[string]any{"path": "apps/api", "basename": "api", "basenameNormalized": "api", "segments": []any{"apps", "api"}}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("path params = %v, want %v", p, want)
	}
	if field(ps[1], "values.ns") != "web-ns" {
		t.Errorf("values = %v", ps[1]["values"])
	}
	deep, err := generate(t, in, Generator{Git: &GitGenerator{RepoURL: repo.Dir, Directories: []GitDirectory{{Path: "**/prod"}}, PathParamPrefix: "app"}})
	if err != nil || !reflect.DeepEqual(fields(deep, "app.path.path"), []string{"apps/api/overlays/prod"}) {
		t.Errorf("**/prod = %v, %v", deep, err)
	}
}

func TestGitFiles(t *testing.T) {
	repo := testsupport.NewRepo(t)
	repo.Commit("clusters", map[string]string{
		"clusters/eu/config.json":   `{"cluster": {"name": "eu", "address": "https://eu.example.com"}}`,
		"clusters/us/config.yaml":   "cluster:\n  name: us\n  address: https://us.example.com\n",
		"clusters/many/config.yaml": "- cluster: {name: m1}\n- cluster: {name: m2}\n",
		"clusters/skip/config.json": `{"cluster": {"name": "skip"}}`,
	})
	in, src := gitInputs(t)
	ps, err := generate(t, in, Generator{Git: &GitGenerator{RepoURL: repo.Dir, Files: []GitFile{{Path: "clusters/**/config.*"}, {Path: "clusters/skip/*", Exclude: true}}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fields(ps, "cluster.name"); !reflect.DeepEqual(got, []string{"eu", "m1", "m2", "us"}) {
		t.Errorf("names = %v", got)
	}
	if field(ps[0], "cluster.address") != "https://eu.example.com" || field(ps[0], "path.path") != "clusters/eu" ||
		field(ps[0], "path.filename") != "config.json" || field(ps[3], "path.basename") != "us" || field(ps[3], "path.filenameNormalized") != "config.yaml" {
		t.Errorf("params = %v / %v", ps[0], ps[3])
	}
	repo.Commit("broken", map[string]string{"clusters/bad/config.json": `"just a string"`})
	src.Refresh(repo.Dir) // what a webhook does; else the cached listing still says the last commit
	_, err = generate(t, in, Generator{Git: &GitGenerator{RepoURL: repo.Dir, Files: []GitFile{{Path: "clusters/*/config.json"}}}})
	if !errors.Is(err, ErrGenerator) || !strings.Contains(err.Error(), "file clusters/bad/config.json: holds a string, not an object or a list of objects") {
		t.Errorf("a string file: %v", err)
	}
}

func TestMatrix(t *testing.T) {
	repo := testsupport.NewRepo(t)
	repo.Commit("apps", map[string]string{"prod/api/a.yaml": "x", "prod/web/a.yaml": "x", "dev/api/a.yaml": "x"})
	in, _ := gitInputs(t)
	in.Clusters = testRegistry(clusterSecret("c1", "https://c1.example.com", map[string]string{"env": "prod"}))
	// The git generator's path uses the list's parameter.
	ps, err := generate(t, in, Generator{Matrix: &MatrixGenerator{Generators: []Generator{
		list(map[string]any{"env": "prod"}, map[string]any{"env": "dev"}),
		{Git: &GitGenerator{RepoURL: repo.Dir, Directories: []GitDirectory{{Path: "{{ .env }}/*"}}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fields(ps, "path.path"); !reflect.DeepEqual(got, []string{"prod/api", "prod/web", "dev/api"}) {
		t.Errorf("paths = %v", got)
	}
	if got := fields(ps, "env"); !reflect.DeepEqual(got, []string{"prod", "prod", "dev"}) {
		t.Errorf("env = %v", got)
	}
	// The second generator's values use its own parameters and the
	// first's, even with missingkey=error.
	set := newSet(guestbookTemplate(), "missingkey=error")
	set.Spec.Generators = []Generator{{Matrix: &MatrixGenerator{Generators: []Generator{
		list(map[string]any{"env": "prod"}),
		{Clusters: &ClusterGenerator{Selector: metav1.LabelSelector{MatchLabels: map[string]string{"env": "{{ .env }}"}}, Values: map[string]string{"ns": "{{ .name }}-{{ .env }}"}}},
	}}}}
	gen, err := Generate(context.Background(), set, in)
	if err != nil || len(gen.Params) != 1 || field(gen.Params[0], "values.ns") != "c1-prod" {
		t.Errorf("matrix values = %v, %v", gen, err)
	}
	// clusters × list: every cluster with every element.
	ps, err = generate(t, in, Generator{Matrix: &MatrixGenerator{Generators: []Generator{
		{Clusters: &ClusterGenerator{}},
		list(map[string]any{"app": "a"}, map[string]any{"app": "b"}),
	}}})
	if err != nil || len(ps) != 4 || field(ps[3], "name") != "c1" || field(ps[3], "app") != "b" {
		t.Errorf("clusters × list = %v, %v", ps, err)
	}
}

func TestMerge(t *testing.T) {
	in := Inputs{Clusters: testRegistry(
		clusterSecret("c1", "https://c1.example.com", map[string]string{"env": "prod"}),
		clusterSecret("c2", "https://c2.example.com", map[string]string{"env": "dev"}),
	)}
	ps, err := generate(t, in, Generator{Merge: &MergeGenerator{MergeKeys: []string{"server"}, Generators: []Generator{
		{Clusters: &ClusterGenerator{Values: map[string]string{"replicas": "1"}}},
		list(map[string]any{"server": "https://c2.example.com", "values": map[string]any{"replicas": "3"}}, map[string]any{"server": "https://nowhere"}),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := fields(ps, "values.replicas"); !reflect.DeepEqual(got, []string{"1", "1", "3"}) {
		t.Errorf("replicas = %v (%v)", got, ps)
	}
	if len(ps) != 3 {
		t.Errorf("merge yields %d sets, want the first generator's 3", len(ps))
	}
	// Dotted merge keys reach nested parameters.
	ps, err = generate(t, in, Generator{Merge: &MergeGenerator{MergeKeys: []string{"metadata.labels.env"}, Generators: []Generator{
		{Clusters: &ClusterGenerator{Selector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "env", Operator: metav1.LabelSelectorOpExists}}}}},
		list(map[string]any{"metadata": map[string]any{"labels": map[string]any{"env": "prod"}}, "tier": "gold"}),
	}}})
	if err != nil || len(ps) != 2 || field(ps[0], "tier") != "gold" || field(ps[0], "metadata.labels.env") != "prod" || field(ps[1], "tier") != "" {
		t.Errorf("dotted merge = %v, %v", ps, err)
	}
}

func TestGeneratorErrors(t *testing.T) {
	l := list(map[string]any{"a": "b"})
	nested := func(depth int) Generator {
		g := l
		for range depth {
			g = Generator{Matrix: &MatrixGenerator{Generators: []Generator{g, l}}}
		}
		return g
	}
	for _, tc := range []struct {
		name string
		gen  Generator
		want string
	}{
		{"none", Generator{}, "set exactly one of list, clusters, git, matrix and merge"},
		{"two", Generator{List: &ListGenerator{}, Clusters: &ClusterGenerator{}}, "set exactly one"},
		{"argo only", Generator{SCMProvider: json.RawMessage(`{"github":{}}`)}, "spec.generators[0]: scmProvider not supported by gyre"},
		{"post selector", Generator{List: &ListGenerator{}, Selector: json.RawMessage(`{"matchLabels":{"a":"b"}}`)}, "selector not supported"},
		{"matrix of three", Generator{Matrix: &MatrixGenerator{Generators: []Generator{l, l, l}}}, "exactly two generators, not 3"},
		{"too deep", nested(4), "nest at most 3 deep"},
		{"merge without keys", Generator{Merge: &MergeGenerator{Generators: []Generator{l, l}}}, "mergeKeys is empty"},
		{"git without cache", Generator{Git: &GitGenerator{RepoURL: "https://x.example.com/r.git", Directories: []GitDirectory{{Path: "*"}}}}, "no repository cache"},
		{"nested error names its place", Generator{Matrix: &MatrixGenerator{Generators: []Generator{l, {}}}}, "spec.generators[0].matrix.generators[1]: set exactly one"},
		{"matrix template error", Generator{Matrix: &MatrixGenerator{Generators: []Generator{l, {List: &ListGenerator{ElementsYaml: "{{ nope }}"}}}}}, `function "nope" not defined`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := generate(t, Inputs{}, tc.gen)
			if err == nil || !(errors.Is(err, ErrGenerator) || errors.Is(err, ErrTemplate)) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	in, _ := gitInputs(t)
	repo := testsupport.NewRepo(t)
	repo.Commit("one", map[string]string{"a/x.yaml": "x"})
	for _, tc := range []struct {
		name string
		git  GitGenerator
		want string
	}{
		{"both", GitGenerator{RepoURL: repo.Dir, Directories: []GitDirectory{{Path: "*"}}, Files: []GitFile{{Path: "*"}}}, "not both"},
		{"neither", GitGenerator{RepoURL: repo.Dir}, "set directories or files"},
		{"only excludes", GitGenerator{RepoURL: repo.Dir, Directories: []GitDirectory{{Path: "x", Exclude: true}}}, "every item excludes"},
		{"bad glob", GitGenerator{RepoURL: repo.Dir, Directories: []GitDirectory{{Path: "[x"}}}, "syntax error in pattern"},
		{"no repository", GitGenerator{RepoURL: filepath.Join(t.TempDir(), "none"), Directories: []GitDirectory{{Path: "*"}}}, "spec.generators[0]: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := generate(t, in, Generator{Git: &tc.git})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMaxApplications(t *testing.T) {
	elems := make([]map[string]any, MaxApplications+1)
	for i := range elems {
		elems[i] = map[string]any{"i": float64(i)}
	}
	if _, err := generate(t, Inputs{}, list(elems...)); !errors.Is(err, ErrGenerator) || !strings.Contains(err.Error(), "more than 5000") {
		t.Errorf("err = %v", err)
	}
	half := elems[:MaxApplications/2+1]
	if _, err := generate(t, Inputs{}, Generator{Matrix: &MatrixGenerator{Generators: []Generator{list(half...), list(map[string]any{"a": "1"}, map[string]any{"a": "2"})}}}); err == nil {
		t.Error("a matrix past MaxApplications is accepted")
	}
}

func TestMatchGlob(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"apps/*", "apps/api", true},
		{"apps/*", "apps/api/x", false},
		{"apps/*", "apps", false},
		{"**/config.json", "config.json", true},
		{"**/config.json", "a/b/config.json", true},
		{"a/**", "a/b/c", true},
		{"a/**/c", "a/c", true},
		{"a/**/c", "a/x/y/c", true},
		{"a/**/c", "a/x/y/d", false},
		{"*.yaml", "x.yaml", true},
		{"*", "a/b", false},
	} {
		if got := matchGlob(tc.pattern, tc.name); got != tc.want {
			t.Errorf("matchGlob(%q, %q) = %v", tc.pattern, tc.name, got)
		}
	}
}
