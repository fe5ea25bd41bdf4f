package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/render"
	gyresync "github.com/gyre-cd/gyre/sync"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	sigsyaml "sigs.k8s.io/yaml"
)

// renderFlags are the options of `gyre render`.
type renderFlags struct {
	appFile, appName string
	source           int
	path, typ        string
	releaseName      string
	namespace        string
	valueFiles       []string
	set, setString   []string
	kubeVersion      string
	apiVersions      []string
}

func newRenderCommand(o *cliOptions) *cobra.Command {
	f := &renderFlags{source: 1}
	cmd := &cobra.Command{
		Use:   "render [DIR]",
		Short: "Render a local checkout as the agent would, in sync order",
		Long: `render renders a directory of a local checkout (default: the current
directory) with the code the agent renders with: plain manifests, Kustomize
(helmCharts included, when the charts are in the checkout), or a Helm chart,
without a cluster. It prints the objects in the order a sync applies them:
phase by phase (PreSync, Sync, PostSync), wave by wave, kind by kind, each
preceded by a comment saying its phase, wave and, for hooks, hook type and
delete policy; SyncFail hooks come last.

The render options come from an Application: a file (-f), a live one
(--app NAMESPACE/NAME, read through gyre's API), or the flags alone; flags
override what the Application says. DIR stands for the Application's
repository. Namespaces are as the source gives them: the agent puts
namespaced objects that name none in the destination namespace.

Output (-o): YAML with a comment before each object (the default), or json:
an array of {phase, wave, hook, deletePolicy, skipped, origin, object}.

A render that fails prints the error (file and line where known) and exits 2.`,
		Example: `  gyre render apps/guestbook
  gyre render . --path charts/web --values values-prod.yaml --set image.tag=1.2.3
  gyre render ~/src/deploy -f deploy/apps/web.yaml -o json
  gyre render ~/src/deploy --app gyre/web`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			a, err := f.application(cmd, o, dir)
			if err != nil {
				return withExitCode(2, err)
			}
			format, err := parseOutputFormat(o.Output)
			if err != nil {
				return withExitCode(2, err)
			}
			return withExitCode(2, renderLocal(cmd.OutOrStdout(), dir, a, f, format))
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.appFile, "file", "f", "", "take the render options from this Application manifest")
	fl.StringVar(&f.appName, "app", "", "take the render options from this live Application (NAMESPACE/NAME or NAME)")
	fl.StringVar(&f.namespace, "dest-namespace", "", "the destination namespace (Helm's .Release.Namespace)")
	f.addSourceFlags(fl, "DIR")
	return cmd
}

// addSourceFlags registers the flags that override an Application's source
// options, for render and for app diff --local; dir names the directory
// argument in the help.
func (f *renderFlags) addSourceFlags(fl *pflag.FlagSet, dir string) {
	fl.IntVar(&f.source, "source", 1, "which of the Application's spec.sources "+dir+" is (1-based)")
	fl.StringVar(&f.path, "path", "", "the directory inside "+dir+" to render (default: the Application's path, else "+dir+" itself)")
	fl.StringVar(&f.typ, "type", "", "Directory, Kustomize or Helm (default: detected)")
	fl.StringVar(&f.releaseName, "release-name", "", "Helm release name (default: the Application's name)")
	fl.StringArrayVar(&f.valueFiles, "values", nil, "Helm values file, relative to the chart (repeatable)")
	fl.StringArrayVar(&f.set, "set", nil, "Helm value NAME=VALUE (repeatable)")
	fl.StringArrayVar(&f.setString, "set-string", nil, "Helm string value NAME=VALUE (repeatable)")
	fl.StringVar(&f.kubeVersion, "kube-version", "", "Kubernetes version Helm templates see (default: Helm's)")
	fl.StringArrayVar(&f.apiVersions, "api-versions", nil, "API version Helm templates see in .Capabilities (repeatable)")
}

// application returns the Application whose options the render uses,
// with the flags applied to the source dir stands for.
func (f *renderFlags) application(cmd *cobra.Command, o *cliOptions, dir string) (*app.Application, error) {
	a := &app.Application{}
	// Without an Application, the directory rendered names the release,
	// as an Application named after it would.
	if abs, err := filepath.Abs(filepath.Join(dir, f.path)); err == nil {
		a.Name = filepath.Base(abs)
	}
	switch {
	case f.appFile != "" && f.appName != "":
		return nil, errors.New("give -f or --app, not both")
	case f.appFile != "":
		data, err := os.ReadFile(f.appFile)
		if err != nil {
			return nil, err
		}
		if err := sigsyaml.UnmarshalStrict(data, a); err != nil {
			return nil, fmt.Errorf("%s: not an Application: %w", f.appFile, err)
		}
	case f.appName != "":
		cl, cfg, err := o.client()
		if err != nil {
			return nil, err
		}
		key := types.NamespacedName{Namespace: cfg.Namespace, Name: f.appName}
		if ns, name, ok := strings.Cut(f.appName, "/"); ok {
			key = types.NamespacedName{Namespace: ns, Name: name}
		}
		if key.Namespace == "" {
			key.Namespace = "gyre"
		}
		if a, _, err = cl.getApplication(cmd.Context(), key); err != nil {
			return nil, err
		}
	}
	if f.namespace != "" {
		a.Spec.Destination.Namespace = f.namespace
	}
	return f.override(a)
}

// override applies the source flags to a, which it changes: a is left
// with one source, the one the rendered directory stands for.
func (f *renderFlags) override(a *app.Application) (*app.Application, error) {
	srcs := a.Spec.SourceList()
	if f.source < 1 || f.source > len(srcs) {
		return nil, fmt.Errorf("--source %d: the Application has %d source(s)", f.source, len(srcs))
	}
	src := srcs[f.source-1]
	if src.IsChart() {
		return nil, fmt.Errorf("source %d is chart %q from %s, not a directory: fetch it (helm pull --untar) and render its directory with --type Helm", f.source, src.Chart, src.RepoURL)
	}
	if f.path != "" {
		src.Path = f.path
	}
	if f.typ != "" {
		t, err := render.ParseType(f.typ)
		if err != nil {
			return nil, err
		}
		src.Helm, src.Kustomize, src.Directory = nil, nil, nil
		switch app.SourceType(t) {
		case app.SourceHelm:
			src.Helm = &app.HelmSource{}
		case app.SourceKustomize:
			src.Kustomize = &app.KustomizeSource{}
		case app.SourceDirectory:
			src.Directory = &app.DirectorySource{}
		}
	}
	if f.releaseName != "" || len(f.valueFiles) > 0 || len(f.set) > 0 || len(f.setString) > 0 {
		if src.Kustomize != nil || src.Directory != nil {
			return nil, errors.New("Helm flags (--release-name, --values, --set) given for a source that is not a Helm chart")
		}
		if src.Helm == nil {
			src.Helm = &app.HelmSource{}
		}
		if f.releaseName != "" {
			src.Helm.ReleaseName = f.releaseName
		}
		src.Helm.ValueFiles = append(src.Helm.ValueFiles, f.valueFiles...)
		for _, set := range []struct {
			values      []string
			forceString bool
		}{{f.set, false}, {f.setString, true}} {
			for _, kv := range set.values {
				name, value, ok := strings.Cut(kv, "=")
				if !ok || name == "" {
					return nil, fmt.Errorf("--set %q: want NAME=VALUE", kv)
				}
				src.Helm.Parameters = append(src.Helm.Parameters, app.HelmParameter{Name: name, Value: value, ForceString: set.forceString})
			}
		}
	}
	if src.Helm != nil {
		for _, v := range src.Helm.ValueFiles {
			if ref, ok := app.ValueFileRef(v); ok {
				return nil, fmt.Errorf("value file %q comes from the source with ref %q, which a local render does not have: copy it into DIR and pass it with --values", v, ref)
			}
		}
	}
	a.Spec.Source, a.Spec.Sources = src, nil
	return a, nil
}

// renderDir renders a's source (as override leaves it) from the local
// directory dir, as the agent renders it from git.
func (f *renderFlags) renderDir(dir string, a *app.Application) (*render.Result, error) {
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if info, err := os.Stat(root); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	var caps *render.Capabilities
	if f.kubeVersion != "" || len(f.apiVersions) > 0 {
		caps = &render.Capabilities{KubeVersion: f.kubeVersion, APIVersions: f.apiVersions}
	}
	src := a.Spec.Source
	return render.Render(os.DirFS(root), src.Path, gyresync.RenderOptions(a, src, caps))
}

// renderedObject is one object of `gyre render -o json`.
type renderedObject struct {
	Phase        app.SyncPhase  `json:"phase"`
	Wave         int64          `json:"wave"`
	Hook         bool           `json:"hook,omitempty"`
	DeletePolicy []string       `json:"deletePolicy,omitempty"`
	Skipped      string         `json:"skipped,omitempty"`
	Origin       string         `json:"origin,omitempty"`
	Object       map[string]any `json:"object"`
}

// renderLocal renders a's source from dir and prints it in sync order.
// The table and yaml formats both print a YAML stream with a comment
// before each object; json prints an array of renderedObject.
func renderLocal(w io.Writer, dir string, a *app.Application, f *renderFlags, format outputFormat) error {
	res, err := f.renderDir(dir, a)
	if err != nil {
		return err
	}
	origins := map[*unstructured.Unstructured]string{}
	for _, o := range res.Objects {
		origins[o.Obj] = o.Origin.String()
	}
	plan, err := gyresync.NewPlan(res.Unstructured(), nil, gyresync.PlanOptions{AppNamespace: a.Namespace, AppName: a.Name})
	if err != nil {
		return err
	}
	var out []renderedObject
	add := func(phase app.SyncPhase, wave int64, t gyresync.Task) {
		if t.Desired == nil {
			return
		}
		r := renderedObject{Phase: phase, Wave: wave, Hook: t.Policy.Hook, Origin: origins[t.Desired], Object: t.Desired.Object}
		if r.Hook {
			for _, p := range t.Policy.DeletePolicies {
				r.DeletePolicy = append(r.DeletePolicy, string(p))
			}
		}
		if t.Action == gyresync.TaskSkip {
			r.Skipped = t.Reason
		}
		out = append(out, r)
	}
	for _, wv := range plan.Waves {
		for _, t := range wv.Tasks {
			add(wv.Phase, wv.Wave, t)
		}
	}
	for _, t := range plan.SyncFail {
		add(app.SyncPhaseSyncFail, t.Policy.Wave, t)
	}
	if format == formatJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if out == nil {
			out = []renderedObject{}
		}
		return enc.Encode(out)
	}
	for i, r := range out {
		if i > 0 {
			fmt.Fprintln(w, "---")
		}
		fmt.Fprintf(w, "# %s wave %d", r.Phase, r.Wave)
		if r.Hook {
			fmt.Fprintf(w, ", hook")
			if len(r.DeletePolicy) > 0 {
				fmt.Fprintf(w, " (delete policy %s)", strings.Join(r.DeletePolicy, ","))
			}
		}
		if r.Skipped != "" {
			fmt.Fprintf(w, ", not applied: %s", r.Skipped)
		}
		fmt.Fprintln(w)
		if r.Origin != "" {
			fmt.Fprintf(w, "# Source: %s\n", r.Origin)
		}
		data, err := sigsyaml.Marshal(r.Object)
		if err != nil {
			return err
		}
		w.Write(data)
	}
	return nil
}
