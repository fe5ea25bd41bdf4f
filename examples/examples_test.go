package examples_test

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/examples"
	"github.com/gyre-cd/gyre/render"
	"github.com/gyre-cd/gyre/source"
)

// seedTime is the time the tests seed at.
func seedTime() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }

// rendered renders one example from the files on disk, as sync would for
// the example Application named appName.
func rendered(t *testing.T, appName, path string) map[string]*unstructured.Unstructured {
	t.Helper()
	var a *app.Application
	for _, x := range examples.Applications("/repo", "gyre") {
		if x.Name == appName {
			a = x
		}
	}
	if a == nil {
		t.Fatalf("no example Application %q", appName)
	}
	if a.Spec.Source.Path != path {
		t.Fatalf("Application %s: path %q, want %q", appName, a.Spec.Source.Path, path)
	}
	opts := render.Options{Helm: render.HelmOptions{ReleaseName: a.Name, Namespace: a.Spec.Destination.Namespace}}
	res, err := render.Render(os.DirFS("."), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]*unstructured.Unstructured{}
	for _, o := range res.Objects {
		key := o.Obj.GetKind() + "/" + o.Obj.GetName()
		if strings.HasPrefix(key, "ConfigMap/podinfo-config-") {
			key = "ConfigMap/podinfo-config-<hash>"
		}
		if _, dup := byKey[key]; dup {
			t.Errorf("%s rendered twice", key)
		}
		if ns := o.Obj.GetNamespace(); ns != "" {
			t.Errorf("%s (%s) has namespace %q; the examples leave it to the destination", key, o.Origin, ns)
		}
		byKey[key] = o.Obj
	}
	return byKey
}

func keys(m map[string]*unstructured.Unstructured) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func nested[T any](t *testing.T, obj *unstructured.Unstructured, fields ...string) T {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(obj.Object, fields...)
	if err != nil || !ok {
		t.Fatalf("%s/%s: no %s", obj.GetKind(), obj.GetName(), strings.Join(fields, "."))
	}
	x, ok := v.(T)
	if !ok {
		t.Fatalf("%s/%s: %s is %T", obj.GetKind(), obj.GetName(), strings.Join(fields, "."), v)
	}
	return x
}

// container returns the first container of a workload's pod template.
func container(t *testing.T, obj *unstructured.Unstructured) map[string]any {
	t.Helper()
	cs := nested[[]any](t, obj, "spec", "template", "spec", "containers")
	return cs[0].(map[string]any)
}

func TestRenderGuestbook(t *testing.T) {
	objs := rendered(t, "guestbook", "guestbook")
	want := []string{"ConfigMap/guestbook", "Deployment/guestbook", "Service/guestbook"}
	if got := keys(objs); !slices.Equal(got, want) {
		t.Fatalf("objects %v, want %v", got, want)
	}
	d := objs["Deployment/guestbook"]
	if n := nested[int64](t, d, "spec", "replicas"); n != 2 {
		t.Errorf("replicas %d, want 2", n)
	}
	c := container(t, d)
	if c["readinessProbe"] == nil || c["resources"] == nil {
		t.Errorf("container lacks a readiness probe or resources: %v", c)
	}
	if got := nested[string](t, objs["Service/guestbook"], "spec", "type"); got != "ClusterIP" {
		t.Errorf("service type %q", got)
	}
	sel := nested[map[string]any](t, objs["Service/guestbook"], "spec", "selector")
	podLabels := nested[map[string]any](t, d, "spec", "template", "metadata", "labels")
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("service selector %s=%v does not match the pods' labels %v", k, v, podLabels)
		}
	}
}

func TestRenderPodinfoKustomize(t *testing.T) {
	objs := rendered(t, "podinfo", "podinfo-kustomize/overlays/demo")
	want := []string{"ConfigMap/podinfo-config-<hash>", "Deployment/podinfo", "Service/podinfo"}
	if got := keys(objs); !slices.Equal(got, want) {
		t.Fatalf("objects %v, want %v", got, want)
	}
	d := objs["Deployment/podinfo"]
	if n := nested[int64](t, d, "spec", "replicas"); n != 3 {
		t.Errorf("replicas %d, want 3 (the overlay's patch)", n)
	}
	c := container(t, d)
	if img := c["image"]; img != "ghcr.io/stefanprodan/podinfo:6.7.1" {
		t.Errorf("image %v, want the overlay's 6.7.1", img)
	}
	for _, o := range objs {
		if o.GetLabels()["environment"] != "demo" {
			t.Errorf("%s/%s lacks the overlay's label environment=demo: %v", o.GetKind(), o.GetName(), o.GetLabels())
		}
	}
	if l := nested[map[string]any](t, d, "spec", "template", "metadata", "labels"); l["environment"] != "demo" {
		t.Errorf("pod template lacks environment=demo: %v", l)
	}
	if s := nested[map[string]any](t, d, "spec", "selector", "matchLabels"); s["environment"] != nil {
		t.Errorf("selector gained environment=demo, which would make the Deployment immutable to change: %v", s)
	}
	cm := objs["ConfigMap/podinfo-config-<hash>"]
	data := nested[map[string]any](t, cm, "data")
	if !strings.Contains(data["PODINFO_UI_MESSAGE"].(string), "demo overlay") || data["PODINFO_UI_COLOR"] == nil {
		t.Errorf("config map data %v: want the base's color and the overlay's message", data)
	}
	ref := c["envFrom"].([]any)[0].(map[string]any)["configMapRef"].(map[string]any)["name"]
	if ref != cm.GetName() {
		t.Errorf("deployment refers to config map %v, the generator made %s", ref, cm.GetName())
	}
}

func TestRenderHelloHelm(t *testing.T) {
	objs := rendered(t, "hello-helm", "hello-helm")
	want := []string{"Deployment/hello-helm", "Job/hello-helm-smoke-test", "Service/hello-helm"}
	if got := keys(objs); !slices.Equal(got, want) {
		t.Fatalf("objects %v, want %v", got, want)
	}
	d := objs["Deployment/hello-helm"]
	if n := nested[int64](t, d, "spec", "replicas"); n != 2 {
		t.Errorf("replicas %d, want values.yaml's 2", n)
	}
	if img := container(t, d)["image"]; img != "nginx:1.27" {
		t.Errorf("image %v, want nginx:1.27 (the chart's appVersion)", img)
	}
	job := objs["Job/hello-helm-smoke-test"]
	ann := job.GetAnnotations()
	if ann["helm.sh/hook"] != "post-install,post-upgrade" || ann["helm.sh/hook-delete-policy"] != "before-hook-creation" {
		t.Errorf("smoke test job annotations %v", ann)
	}
	sel := nested[map[string]any](t, objs["Service/hello-helm"], "spec", "selector")
	jobPod := nested[map[string]any](t, job, "spec", "template", "metadata", "labels")
	if jobPod["app.kubernetes.io/name"] == sel["app.kubernetes.io/name"] {
		t.Errorf("the service selector %v picks the smoke test's pod %v", sel, jobPod)
	}
}

// TestEmbedded checks that the embedded tree is exactly the example files
// on disk, so no file is forgotten by the go:embed patterns.
func TestEmbedded(t *testing.T) {
	var onDisk []string
	for _, root := range []string{"README.md", "guestbook", "podinfo-kustomize", "hello-helm"} {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				onDisk = append(onDisk, filepath.ToSlash(p))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	embedded := embeddedFiles(t)
	slices.Sort(onDisk)
	if !slices.Equal(keysOf(embedded), onDisk) {
		t.Fatalf("embedded %v\non disk  %v", keysOf(embedded), onDisk)
	}
	if _, ok := embedded["hello-helm/templates/_helpers.tpl"]; !ok {
		t.Error("_helpers.tpl is not embedded")
	}
}

// embeddedFiles returns every file of examples.FS by path.
func embeddedFiles(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := fs.WalkDir(examples.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(examples.FS(), p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// headCommit opens the repository at dir and returns its HEAD commit,
// checking that HEAD is the main branch.
func headCommit(t *testing.T, dir string) *object.Commit {
	t.Helper()
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	head, err := repo.Reference(plumbing.HEAD, false)
	if err != nil {
		t.Fatal(err)
	}
	if head.Type() != plumbing.SymbolicReference || head.Target() != plumbing.NewBranchReferenceName(examples.Branch) {
		t.Fatalf("HEAD is %s, want a symbolic ref to %s", head, examples.Branch)
	}
	ref, err := repo.Reference(plumbing.HEAD, true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSeedCreatesRepository(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "examples")
	created, err := examples.Seed(dir, seedTime())
	if err != nil || !created {
		t.Fatalf("Seed: created %v, err %v", created, err)
	}
	c := headCommit(t, dir)
	if c.NumParents() != 0 {
		t.Errorf("HEAD has %d parents, want the one root commit", c.NumParents())
	}
	for _, sig := range []object.Signature{c.Author, c.Committer} {
		if sig.Name != "gyre" || sig.Email != "gyre@localhost" || !sig.When.Equal(seedTime()) {
			t.Errorf("signature %q <%s> at %v, want gyre <gyre@localhost> at %v", sig.Name, sig.Email, sig.When, seedTime())
		}
	}

	want := embeddedFiles(t)
	got := map[string][]byte{}
	tree, err := c.Tree()
	if err != nil {
		t.Fatal(err)
	}
	err = tree.Files().ForEach(func(f *object.File) error {
		r, err := f.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		got[f.Name], err = io.ReadAll(r)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keysOf(got), keysOf(want)) {
		t.Fatalf("commit holds %v\nwant        %v", keysOf(got), keysOf(want))
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs in the commit", name)
		}
		// The worktree is checked out, for the user to edit.
		onDisk, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(onDisk, b) {
			t.Errorf("%s in the worktree: %v", name, err)
		}
	}

	// The worktree is clean: what is on disk is what was committed.
	repo, _ := gogit.PlainOpen(dir)
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	st, err := wt.Status()
	if err != nil {
		t.Fatal(err)
	}
	if !st.IsClean() {
		t.Errorf("worktree not clean after Seed:\n%s", st)
	}

	// Nothing is left beside the repository.
	entries, err := os.ReadDir(filepath.Dir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the parent holds %d entries, want only the repository: %v", len(entries), entries)
	}

	// The seeded repository renders like the files on disk.
	if _, err := render.Render(os.DirFS(dir), "hello-helm", render.Options{}); err != nil {
		t.Errorf("render the seeded chart: %v", err)
	}
}

func TestSeedLeavesExistingRepository(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "examples")
	if _, err := examples.Seed(dir, seedTime()); err != nil {
		t.Fatal(err)
	}
	// The user commits to the repository; the next Seed must keep it.
	if err := os.WriteFile(filepath.Join(dir, "guestbook", "configmap.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repo, _ := gogit.PlainOpen(dir)
	wt, _ := repo.Worktree()
	if _, err := wt.Add("guestbook/configmap.yaml"); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "me", Email: "me@example.com", When: seedTime().Add(time.Hour)}
	mine, err := wt.Commit("mine", &gogit.CommitOptions{Author: sig})
	if err != nil {
		t.Fatal(err)
	}

	created, err := examples.Seed(dir, seedTime().Add(2*time.Hour))
	if err != nil || created {
		t.Fatalf("second Seed: created %v, err %v; want false, nil", created, err)
	}
	if h := headCommit(t, dir).Hash; h != mine {
		t.Errorf("HEAD moved from %s to %s", mine, h)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "guestbook", "configmap.yaml"))
	if !strings.Contains(string(b), "name: mine") {
		t.Errorf("the user's file was overwritten:\n%s", b)
	}
}

func TestSeedIntoEmptyDirectory(t *testing.T) {
	dir := t.TempDir()
	created, err := examples.Seed(dir, seedTime())
	if err != nil || !created {
		t.Fatalf("Seed into an empty directory: created %v, err %v", created, err)
	}
	headCommit(t, dir)
}

func TestSeedErrors(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "afile")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	notRepo := filepath.Join(tmp, "notrepo")
	if err := os.MkdirAll(notRepo, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(notRepo, "keep.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, want string
	}{
		// A path below a regular file cannot be created, even by root.
		{"under a file", filepath.Join(file, "examples"), "not a directory"},
		{"a file", file, "not a git repository"},
		{"a directory with other files", notRepo, "not a git repository"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			created, err := examples.Seed(tc.dir, seedTime())
			if err == nil || created {
				t.Fatalf("Seed(%s): created %v, err %v; want an error", tc.dir, created, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "examples repository "+tc.dir+":") || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line starting with the directory and saying %q", msg, tc.want)
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(notRepo, "keep.txt")); err != nil || string(b) != "mine" {
		t.Errorf("Seed touched a directory it refused: %q, %v", b, err)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 2 {
		t.Errorf("Seed left files behind in %s: %v", tmp, entries)
	}
}

func TestApplications(t *testing.T) {
	apps := examples.Applications("/var/lib/gyre/examples", "gyre")
	var names []string
	for _, a := range apps {
		names = append(names, a.Name)
		if err := a.Validate(); err != nil {
			t.Errorf("Application %s: %v", a.Name, err)
		}
		if a.APIVersion != "gyre.dev/v1alpha1" || a.Kind != "Application" || a.Namespace != "gyre" {
			t.Errorf("Application %s: %s %s in %q", a.Name, a.APIVersion, a.Kind, a.Namespace)
		}
		s := a.Spec.Source
		if s.RepoURL != "/var/lib/gyre/examples" || s.TargetRevision != "main" {
			t.Errorf("Application %s: source %+v", a.Name, s)
		}
		if _, err := fs.Stat(examples.FS(), s.Path); err != nil {
			t.Errorf("Application %s: path %q is not in the examples: %v", a.Name, s.Path, err)
		}
		if a.Spec.Destination.Namespace != "demo-"+a.Name {
			t.Errorf("Application %s: destination namespace %q", a.Name, a.Spec.Destination.Namespace)
		}
		if !a.AutoPrune() || !a.SelfHeal() || !a.SyncOptionTrue(app.OptionCreateNamespace) {
			t.Errorf("Application %s: sync policy %+v, want automated prune and self-heal, CreateNamespace=true", a.Name, a.Spec.SyncPolicy)
		}
		if _, err := a.ToUnstructured(); err != nil {
			t.Error(err)
		}
	}
	if want := []string{"guestbook", "podinfo", "hello-helm"}; !slices.Equal(names, want) {
		t.Errorf("Applications %v, want %v", names, want)
	}
	// Each call returns new objects that callers may change.
	apps[0].Name = "changed"
	if examples.Applications("r", "gyre")[0].Name != "guestbook" {
		t.Error("Applications shares its objects between calls")
	}
}

// TestSeededApplicationsRender follows the path gyre takes: the Applications
// point at the seeded repository by its local path; the source cache
// resolves main and reads the commit; each app's path renders.
func TestSeededApplicationsRender(t *testing.T) {
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "examples")
	if _, err := examples.Seed(repo, seedTime()); err != nil {
		t.Fatal(err)
	}
	opts := source.DefaultOptions(filepath.Join(tmp, "cache"))
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.AllowFileURLs = true
	cache, err := source.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, a := range examples.Applications(repo, "gyre") {
		src := a.Spec.Source
		sha, err := cache.Resolve(ctx, src.RepoURL, src.TargetRevision)
		if err != nil {
			t.Fatalf("Application %s: %v", a.Name, err)
		}
		if want := headCommit(t, repo).Hash.String(); sha != want {
			t.Errorf("Application %s: resolved %s to %s, want %s", a.Name, src.TargetRevision, sha, want)
		}
		files, err := cache.Files(ctx, src.RepoURL, sha, "")
		if err != nil {
			t.Fatalf("Application %s: %v", a.Name, err)
		}
		ropts := render.Options{Helm: render.HelmOptions{ReleaseName: a.Name, Namespace: a.Spec.Destination.Namespace}}
		res, err := render.Render(files, src.Path, ropts)
		if err != nil {
			t.Fatalf("Application %s: %v", a.Name, err)
		}
		if len(res.Objects) != 3 {
			t.Errorf("Application %s: %d objects, want 3", a.Name, len(res.Objects))
		}
	}
}

// TestApplicationManifests checks the Application manifests the README
// points at: each is a valid Application, and the one that runs on gyre
// up's own examples repository names paths and value files it holds.
func TestApplicationManifests(t *testing.T) {
	files, err := filepath.Glob("apps/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("apps/*.yaml: %v %v", files, err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var a app.Application
		if err := sigsyaml.UnmarshalStrict(data, &a); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := a.Validate(); err != nil {
			t.Errorf("%s: %v", f, err)
		}
		for _, src := range a.Spec.SourceList() {
			if src.IsChart() {
				continue
			}
			if _, err := fs.Stat(examples.FS(), src.Path); err != nil {
				t.Errorf("%s: path %q is not in the examples: %v", f, src.Path, err)
			}
			if src.Helm == nil {
				continue
			}
			for _, v := range src.Helm.ValueFiles {
				if ref, ok := app.ValueFileRef(v); ok {
					if _, err := fs.Stat(examples.FS(), strings.TrimPrefix(v, "$"+ref+"/")); err != nil {
						t.Errorf("%s: value file %q is not in the examples: %v", f, v, err)
					}
				}
			}
		}
	}
}
