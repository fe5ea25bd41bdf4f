package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	gosync "sync"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/health"
	"github.com/gyre-cd/gyre/health/cel"
	"github.com/gyre-cd/gyre/health/lua"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/cache"
)

// The ConfigMaps in gyre's namespace that custom health checks are read
// from, in Argo CD's keys: gyre's own, and Argo CD's for those who move
// from it. gyre-cm's entries win over argocd-cm's, and both over the
// --health-scripts directory's. gyre-cm may also hold CEL expressions in
// Flux's shape under the key healthCheckExprs; a kind they cover is judged
// by them, whatever Lua script names it too.
const (
	gyreConfigMap = "gyre-cm"
	argoConfigMap = "argocd-cm"
)

// healthScripts builds the custom health checks from a directory and the
// ConfigMaps, and sets them on a health.Checker each time a ConfigMap
// changes.
type healthScripts struct {
	checker  *health.Checker
	log      *slog.Logger
	onReload func()

	dir []lua.Entry // the --health-scripts directory's, read once at start

	mu gosync.Mutex
	cm map[string]map[string]string // ConfigMap name → data; guarded by mu
}

// watchHealthScripts loads the scripts of dir (none if dir is empty) and
// of the ConfigMaps gyre-cm and argocd-cm in namespace (none if namespace
// is empty), with gyre-cm's CEL expressions (key healthCheckExprs), sets
// them on checker, and, until ctx ends, reloads them each time a ConfigMap
// changes and then calls onReload. Scripts and expressions that do not
// load are logged with their key or path (and an expression with its kind)
// and left out. A directory that cannot be read is an error; ConfigMaps
// gyre may not read are logged and left out, so that an agent without the
// RBAC still starts.
func watchHealthScripts(ctx context.Context, client kubernetes.Interface, namespace, dir string, checker *health.Checker, log *slog.Logger, onReload func()) error {
	h := &healthScripts{checker: checker, log: log, onReload: onReload, cm: map[string]map[string]string{}}
	if dir != "" {
		entries, errs := lua.FromDir(dir)
		for _, err := range errs {
			var le *lua.LoadError
			if !errors.As(err, &le) {
				return fmt.Errorf("--health-scripts: %w", err) // the directory itself
			}
			log.Error("health script left out", "script", le.Origin, "err", le.Err)
		}
		h.dir = entries
	}
	h.rebuild()
	if namespace == "" || client == nil {
		return nil
	}
	cms := client.CoreV1().ConfigMaps(namespace)
	if _, err := cms.Get(ctx, gyreConfigMap, metav1.GetOptions{}); apierrors.IsForbidden(err) {
		log.Warn("cannot read ConfigMaps in gyre's namespace: health checks from "+gyreConfigMap+" and "+argoConfigMap+" are off; grant get, list and watch on configmaps there to use them",
			"namespace", namespace, "err", err)
		return nil
	}
	var synced []cache.InformerSynced
	for _, name := range []string{argoConfigMap, gyreConfigMap} {
		synced = append(synced, h.watch(ctx, client, cms, name))
	}
	wctx, cancel := context.WithTimeout(ctx, secretWatchTimeout)
	defer cancel()
	if !cache.WaitForCacheSync(wctx.Done(), synced...) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("custom health checks: the ConfigMaps' watches have not started; they apply once they do", "namespace", namespace, "after", secretWatchTimeout)
	}
	return nil
}

// watch runs an informer on the ConfigMap name, keeping h.cm[name] current.
// client is the clientset cms comes from, asked whether it can stream the
// initial list (a fake cannot).
func (h *healthScripts) watch(ctx context.Context, client kubernetes.Interface, cms typedcorev1.ConfigMapInterface, name string) cache.InformerSynced {
	set := func(obj any) {
		if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name == name {
			h.store(name, cm.Data)
		}
	}
	byName := fields.OneTermEqualSelector("metadata.name", name).String()
	_, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: cache.ToListWatcherWithWatchListSemantics(&cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				o.FieldSelector = byName
				return cms.List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.FieldSelector = byName
				return cms.Watch(ctx, o)
			},
		}, client),
		ObjectType: &corev1.ConfigMap{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    set,
			UpdateFunc: func(_, obj any) { set(obj) },
			DeleteFunc: func(obj any) {
				if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = d.Obj
				}
				if cm, ok := obj.(*corev1.ConfigMap); !ok || cm.Name == name {
					h.store(name, nil)
				}
			},
		},
	})
	go informer.RunWithContext(ctx)
	return informer.HasSynced
}

// store records a ConfigMap's data (nil once it is deleted) and rebuilds
// the checks.
func (h *healthScripts) store(name string, data map[string]string) {
	h.mu.Lock()
	if data == nil {
		delete(h.cm, name)
	} else {
		h.cm[name] = data
	}
	h.rebuildLocked()
	h.mu.Unlock()
	if h.onReload != nil {
		h.onReload()
	}
}

func (h *healthScripts) rebuild() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rebuildLocked()
}

// rebuildLocked builds the checks from the directory and the ConfigMaps,
// later layers winning: directory, argocd-cm, gyre-cm; and, before all of
// them, gyre-cm's CEL expressions.
func (h *healthScripts) rebuildLocked() {
	layers := [][]lua.Entry{h.dir}
	for _, name := range []string{argoConfigMap, gyreConfigMap} {
		data, ok := h.cm[name]
		if !ok {
			continue
		}
		entries, errs := lua.FromConfigMap(name, data)
		for _, err := range errs {
			h.log.Error("health script left out", "err", err)
		}
		layers = append(layers, entries)
	}
	set := lua.NewSet(lua.Options{}, layers...)
	var exprs *cel.Set
	if src, ok := h.cm[gyreConfigMap][cel.Key]; ok {
		var errs []error
		exprs, errs = cel.Load(gyreConfigMap+" "+cel.Key, []byte(src), cel.Options{})
		for _, err := range errs {
			if e, ok := errors.AsType[*cel.Error](err); ok && e.Index >= 0 {
				h.log.Error("health expression left out", "apiVersion", e.APIVersion, "kind", e.Kind, "err", err)
				continue
			}
			h.log.Error("health expressions left out", "err", err)
		}
	}
	custom := customChecks(exprs, set)
	h.checker.SetCustom(custom)
	if custom != nil {
		h.log.Info("custom health checks loaded", "scripts", set.Len(), "exprs", exprs.Len())
	}
}

// customChain is sets of custom health checks tried in turn: the first
// with a check for an object's kind answers.
type customChain []health.Custom

var _ health.Custom = customChain(nil)

// Check asks each set in turn.
func (c customChain) Check(obj *unstructured.Unstructured) (app.HealthState, bool) {
	for _, custom := range c {
		if st, ok := custom.Check(obj); ok {
			return st, true
		}
	}
	return app.HealthState{}, false
}

// customChecks returns the CEL expressions and the Lua scripts as one
// health.Custom, the expressions first, so that a kind with both is judged
// by its expressions; nil when neither has a check. Either may be nil.
func customChecks(exprs *cel.Set, scripts *lua.Set) health.Custom {
	var chain customChain
	if exprs.Len() > 0 {
		chain = append(chain, exprs)
	}
	if scripts.Len() > 0 {
		chain = append(chain, scripts)
	}
	switch len(chain) {
	case 0:
		return nil
	case 1:
		return chain[0]
	}
	return chain
}

// newHealthTestCommand returns `gyre health test`.
func newHealthTestCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "test DIR",
		Short: "Run the tests of Lua health checks laid out like Argo CD's resource_customizations",
		Long: `test runs the tests kept next to Lua health checks, in Argo CD's layout:
DIR/<group>/<kind>/health.lua (DIR/<kind>/health.lua for the core group), and
beside it health_test.yaml:

  tests:
  - healthStatus:
      status: Degraded
      message: "the message the script must return"
    inputPath: testdata/degraded.yaml

Each input is checked with the script next to its health_test.yaml, and
passes when the status and the message are both as given (a test without a
message wants none). test prints one line per failing case and per script
that does not load or has no tests, then a count, and exits 1 if anything
failed.`,
		Example: `  gyre health test ./resource_customizations`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runHealthTests(cmd.OutOrStdout(), args[0])
		},
	}
}

// runHealthTests runs the health script tests of dir and prints the
// failures and a count to w. It returns an error when a case failed or a
// script did not load.
func runHealthTests(w io.Writer, dir string) error {
	report, err := lua.RunTests(dir, lua.Options{})
	if err != nil {
		return err
	}
	for _, err := range report.Errors {
		fmt.Fprintf(w, "ERROR %v\n", err)
	}
	failed := report.Failed()
	for _, c := range failed {
		fmt.Fprintf(w, "FAIL %s %s: got %s %q, want %s %q\n", c.Check, c.InputPath, c.Got.Status, c.Got.Message, c.Want.Status, c.Want.Message)
	}
	fmt.Fprintf(w, "%d passed, %d failed\n", len(report.Cases)-len(failed), len(failed))
	switch {
	case len(failed) > 0 && len(report.Errors) > 0:
		return fmt.Errorf("health test %s: %d case(s) failed, %d error(s)", dir, len(failed), len(report.Errors))
	case len(failed) > 0:
		return fmt.Errorf("health test %s: %d case(s) failed", dir, len(failed))
	case len(report.Errors) > 0:
		return fmt.Errorf("health test %s: %d error(s)", dir, len(report.Errors))
	}
	return nil
}
