package sync

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gyre-cd/gyre/app"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// tripwire is a loopback listener that counts every connection made to it:
// a render that reaches for the network reaches for it.
type tripwire struct {
	ln       net.Listener
	accepted atomic.Int64
	wg       gosync.WaitGroup
}

func newTripwire(t testing.TB) *tripwire {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w := &tripwire{ln: ln}
	w.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			w.accepted.Add(1)
			c.Close()
		}
	})
	t.Cleanup(func() { ln.Close(); w.wg.Wait() })
	return w
}

func (w *tripwire) addr() string { return w.ln.Addr().String() }

// symlink commits a symbolic link at name pointing at target.
func (r *repo) symlink(name, target string) {
	r.t.Helper()
	path := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		r.t.Fatal(err)
	}
	wt, err := r.git.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := wt.Add(name); err != nil {
		r.t.Fatal(err)
	}
}

// TestHostileRepositories syncs one small repository per attack with the
// real loop, all at once, beside an ordinary app. Each attack must end in a
// clear condition on its app, write nothing (every attack also declares a
// canary ConfigMap that must never appear), run no program (a marker file a
// command would create stays absent), connect nowhere (a loopback listener
// the attacks point at accepts nothing), and leave the ordinary app syncing
// new commits while the attacks are in progress.
func TestHostileRepositories(t *testing.T) {
	t.Parallel()
	ns := cluster.Namespace(t)
	wire := newTripwire(t)
	marker := filepath.Join(t.TempDir(), "pwned")
	canary := func(name string) string { return configMap("canary-"+name, "must never be written") }
	r := newRepo(t)
	files := map[string]*string{"good/c.yaml": s(configMap("good", "1"))}
	chart := func(dir, template string, extra map[string]string) {
		files[dir+"/Chart.yaml"] = s("apiVersion: v2\nname: " + filepath.Base(dir) + "\nversion: 1.0.0\n")
		files[dir+"/templates/canary.yaml"] = s(canary(filepath.Base(dir)))
		if template != "" {
			files[dir+"/templates/t.yaml"] = s(template)
		}
		for k, v := range extra {
			files[dir+"/"+k] = s(v)
		}
	}
	kustomization := func(dir, body string) {
		files[dir+"/kustomization.yaml"] = s("resources:\n- canary.yaml\n" + body)
		files[dir+"/canary.yaml"] = s(canary(filepath.Base(dir)))
	}
	tests := []struct {
		name string
		want string // in the app's ComparisonError
	}{
		{"kustomize-git-scp", "remote"},
		{"kustomize-git-host", "remote"},
		{"kustomize-http", "remote"},
		{"kustomize-absolute", ""},
		{"kustomize-dotdot", ""},
		{"kustomize-helmcharts", "helmCharts"},
		{"helm-schema-http", "values.schema.json"},
		{"helm-schema-file", "values.schema.json"},
		{"helm-until", ""},
		{"yaml-alias-bomb", ""},
		{"deep-nesting", ""},
		{"many-objects", ""},
		{"huge-file", ""},
	}
	kustomization("kustomize-git-scp", "- git@127.0.0.1:x/y.git?ref=--upload-pack=touch${IFS}"+marker+"\n")
	kustomization("kustomize-git-host", "- "+wire.addr()+"/org/repo//path?ref=main\n")
	kustomization("kustomize-http", "- http://"+wire.addr()+"/x.yaml\n")
	kustomization("kustomize-absolute", "- /etc/hostname\n")
	kustomization("kustomize-dotdot", "- ../../../../../../etc\n")
	kustomization("kustomize-helmcharts", "helmCharts:\n- name: x\n  repo: http://"+wire.addr()+"/charts\n  version: 1.0.0\n")
	chart("helm-schema-http", "", map[string]string{"values.schema.json": `{"$schema": "http://json-schema.org/draft-07/schema#", "$ref": "http://` + wire.addr() + `/schema.json"}`, "values.yaml": "a: 1\n"})
	chart("helm-schema-file", "", map[string]string{"values.schema.json": `{"$ref": "file:///etc/hostname"}`, "values.yaml": "a: 1\n"})
	chart("helm-until", "{{ range until 2000000000 }}x{{ end }}\n", nil)
	chart("helm-files-escape", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak\ndata:\n  passwd: {{ .Files.Get \"../../../../etc/passwd\" | quote }}\n  host: {{ getHostByName \"localhost\" | quote }}\n", nil)
	files["yaml-alias-bomb/bomb.yaml"] = s(aliasBomb())
	files["yaml-alias-bomb/canary.yaml"] = s(canary("yaml-alias-bomb"))
	files["deep-nesting/deep.yaml"] = s("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata: " + strings.Repeat("[", 200000) + "\n")
	files["deep-nesting/canary.yaml"] = s(canary("deep-nesting"))
	var many strings.Builder
	for i := range 100000 {
		fmt.Fprintf(&many, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m%d\n", i)
	}
	files["many-objects/many.yaml"] = s(many.String())
	files["many-objects/canary.yaml"] = s(canary("many-objects"))
	files["huge-file/huge.yaml"] = s("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n  v: " + strings.Repeat("x", 40<<20) + "\n")
	files["huge-file/canary.yaml"] = s(canary("huge-file"))
	// Directory symlinks that point back up the tree: a recursive walk
	// must not explode.
	r.symlink("symlinks/a", ".")
	r.symlink("symlinks/b", ".")
	r.symlink("symlinks/loop1", "loop2")
	r.symlink("symlinks/loop2", "loop1")
	files["symlinks/c.yaml"] = s(configMap("symlinks", "1"))
	sha := r.commit(files)

	good := newApp(t, ns, "good", r, "good", nil)
	for _, tt := range tests {
		newApp(t, ns, tt.name, r, tt.name, nil)
	}
	symlinks := newApp(t, ns, "symlinks", r, "symlinks", func(a *app.Application) { a.Spec.Source.Directory = &app.DirectorySource{Recurse: true} })
	// A repository URL into gyre's own git cache is refused outright.
	cacheApp := newApp(t, ns, "git-cache", r, "good", func(a *app.Application) { a.Spec.Source.RepoURL = "file://" + gitCacheDir })

	syncedAt(t, good, sha)
	// The ordinary app keeps syncing while the attacks are worked on.
	next := r.commit(map[string]*string{"good/c.yaml": s(configMap("good", "2"))})
	r.push()
	syncedAt(t, good, next)

	for _, tt := range tests {
		key := types.NamespacedName{Namespace: ns, Name: tt.name}
		a := hasCondition(t, key, app.ConditionComparisonError, tt.want)
		if a.Status.Sync.Status == app.Synced {
			t.Errorf("%s: reported Synced", tt.name)
		}
		t.Logf("%s: %s", tt.name, condition(a, app.ConditionComparisonError))
		if _, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "canary-"+tt.name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s: part of a refused render was written (get canary: %v)", tt.name, err)
		}
	}
	hasCondition(t, cacheApp, app.ConditionComparisonError, "git cache")
	// The symlinked tree renders what it holds, once.
	waitApp(t, symlinks, 60*time.Second, func(a *app.Application) (bool, string) {
		return a.Status.Sync.Status == app.Synced || condition(a, app.ConditionComparisonError) != "", "symlinked tree never finished rendering"
	})
	if _, err := os.Stat(marker); err == nil {
		t.Error("a command from the repository ran on the agent's machine")
	}
	if n := wire.accepted.Load(); n > 0 {
		t.Errorf("rendering made %d connection(s) to an address the repository named", n)
	}
	// A chart that reads outside itself and asks DNS renders, with nothing
	// in what it read.
	filesEscape := newApp(t, ns, "helm-files-escape", r, "helm-files-escape", nil)
	syncedAt(t, filesEscape, next)
	leak, err := cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, "leak", metav1.GetOptions{})
	if err != nil || leak.Data["passwd"] != "" || leak.Data["host"] != "" {
		t.Errorf("a chart read outside itself or resolved a name: %v %v", leak.Data, err)
	}
}

// aliasBomb returns a "billion laughs" YAML document: a few lines whose
// aliases expand to billions of nodes.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, "  a%d: &a%d [*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d,*a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	return b.String()
}
