package render

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
)

// helmHookAnnotation marks a Helm hook; render reads it only to drop test
// hooks, the sync stage interprets the rest.
const helmHookAnnotation = "helm.sh/hook"

// renderHelm renders the chart at dir as `helm template` would, offline:
// the chart and its dependencies load from fsys, values merge in Helm's
// order, dependencies are enabled by condition and tags, values are checked
// against the charts' values.schema.json without fetching anything, and the
// templates render with .Release.IsInstall true and .Capabilities from caps
// (Helm's defaults when nil). The template function lookup finds nothing
// (there is no cluster); getHostByName returns "" (no DNS); .Files holds
// only the chart's own files.
//
// The output holds the CRDs of crds/ first (unless SkipCRDs), then each
// template's objects, templates sorted by name. Hook manifests stay, with
// their helm.sh/hook annotations, for the sync stage to run; test hooks are
// dropped; NOTES.txt, partials and templates that render empty produce
// nothing. Objects keep the namespace the chart gives them, none if none.
func renderHelm(fsys fs.FS, dir string, opts HelmOptions, caps *Capabilities, b *budget) ([]Object, error) {
	c, err := loadChart(fsys, dir, nil, b)
	if err != nil {
		return nil, err
	}
	vals, err := helmValues(fsys, dir, opts)
	if err != nil {
		return nil, err
	}
	return renderChart(c, dir, vals, chartRelease{
		name:                 opts.ReleaseName,
		namespace:            opts.Namespace,
		caps:                 caps,
		skipCRDs:             opts.SkipCRDs,
		skipSchemaValidation: opts.SkipSchemaValidation,
	}, b)
}

// chartRelease is how a loaded chart is rendered, beyond its values: the
// release, the cluster it is rendered for and what is left out.
type chartRelease struct {
	name      string        // .Release.Name; empty means the chart's name
	namespace string        // .Release.Namespace; empty means "default"
	caps      *Capabilities // .Capabilities; nil means Helm's defaults
	// skipCRDs leaves the CRDs of crds/ out, skipHooks every hook
	// (`helm template --no-hooks`); test hooks are always left out.
	skipCRDs, skipHooks  bool
	skipSchemaValidation bool
}

// renderChart renders a loaded chart, found at dir, with the user-supplied
// values vals (the chart's own values.yaml is merged beneath them), as
// renderHelm describes. What it renders counts against b's MaxObjects and
// MaxOutputBytes.
func renderChart(c *chart.Chart, dir string, vals map[string]any, rel chartRelease, b *budget) ([]Object, error) {
	if err := chartutil.ProcessDependenciesWithMerge(c, vals); err != nil {
		return nil, fmt.Errorf("processing dependencies: %w", err)
	}
	hcaps, err := helmCapabilities(rel.caps)
	if err != nil {
		return nil, err
	}
	if c.Metadata.KubeVersion != "" && !chartutil.IsCompatibleRange(c.Metadata.KubeVersion, hcaps.KubeVersion.String()) {
		return nil, &Error{File: path.Join(dir, "Chart.yaml"), Err: fmt.Errorf("chart requires kubeVersion %s, incompatible with Kubernetes %s", c.Metadata.KubeVersion, hcaps.KubeVersion.String())}
	}
	release := chartutil.ReleaseOptions{
		Name:      rel.name,
		Namespace: rel.namespace,
		Revision:  1,
		IsInstall: true,
	}
	if release.Name == "" {
		release.Name = c.Name()
	}
	if release.Namespace == "" {
		release.Namespace = "default"
	}
	// Helm's own schema validation would fetch what a schema refers to.
	top, err := chartutil.ToRenderValuesWithSchemaValidation(c, vals, release, hcaps, true)
	if err != nil {
		return nil, err
	}
	if !rel.skipSchemaValidation {
		if err := validateValues(c, top["Values"].(chartutil.Values)); err != nil {
			return nil, err
		}
	}
	rendered, err := renderTemplates(c, top)
	if err != nil {
		return nil, err
	}

	names := make([]string, 0, len(rendered))
	for n := range rendered {
		names = append(names, n)
	}
	sort.Strings(names)
	var total int64
	for _, name := range names {
		if total += int64(len(rendered[name])); total > b.limits.MaxOutputBytes {
			return nil, b.checkOutput(name, total)
		}
	}

	var objs []Object
	if !rel.skipCRDs {
		for _, crd := range c.CRDObjects() {
			got, err := decodeYAML(crd.Filename, crd.File.Data, b)
			if err != nil {
				return nil, err
			}
			objs = append(objs, got...)
		}
	}
	for _, name := range names {
		if strings.HasSuffix(name, "NOTES.txt") || strings.HasPrefix(path.Base(name), "_") {
			continue
		}
		got, err := decodeYAML(name, []byte(rendered[name]), b)
		if err != nil {
			return nil, renderedError(err)
		}
		for _, o := range got {
			if isTestHook(o) || rel.skipHooks && isHook(o) {
				continue
			}
			o.Origin.Line = 0 // a line of the output, not of the template
			objs = append(objs, o)
		}
	}
	return objs, nil
}

// renderTemplates runs Helm's engine behind a recover: template functions
// may panic.
func renderTemplates(c *chart.Chart, vals chartutil.Values) (out map[string]string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("template engine panicked: %v", r)
		}
	}()
	out, err = engine.Engine{}.Render(c, vals)
	if err != nil {
		return nil, templateError(err)
	}
	return out, nil
}

// templateLocRE finds "chart/templates/x.yaml:12" in Helm's template errors
// ("template: api/templates/deploy.yaml:5:12: executing …",
// "parse error at (api/templates/svc.yaml:3): …").
var templateLocRE = regexp.MustCompile(`([\w.\-/]+\.(?:yaml|yml|json|tpl|txt)):(\d+)`)

// templateError names the template and line a Helm engine error is about,
// keeping Helm's message as the cause.
func templateError(err error) error {
	m := templateLocRE.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	line, _ := strconv.Atoi(m[2])
	return &Error{File: m[1], Line: line, Err: err}
}

// renderedError restates a decode error of a template's output: its line
// counts in the rendered output, not in the template source.
func renderedError(err error) error {
	e, ok := err.(*Error)
	if !ok || e.Line == 0 {
		return err
	}
	return &Error{File: e.File, Err: fmt.Errorf("rendered output line %d: %w", e.Line, e.Err)}
}

// isTestHook reports whether an object is a Helm test hook (helm.sh/hook:
// test, or the older test-success), which `helm install` does not apply.
func isTestHook(o Object) bool {
	hooks, ok := o.Obj.GetAnnotations()[helmHookAnnotation]
	if !ok {
		return false
	}
	for _, h := range strings.Split(hooks, ",") {
		switch strings.TrimSpace(h) {
		case "test", "test-success":
			return true
		}
	}
	return false
}

// isHook reports whether an object is a Helm hook of any kind.
func isHook(o Object) bool {
	_, ok := o.Obj.GetAnnotations()[helmHookAnnotation]
	return ok
}

// helmCapabilities builds .Capabilities: Helm's defaults, with the given
// Kubernetes version and the given API versions added to the default set.
func helmCapabilities(c *Capabilities) (*chartutil.Capabilities, error) {
	caps := chartutil.DefaultCapabilities.Copy()
	caps.APIVersions = slices.Clone(caps.APIVersions) // never append into Helm's shared default
	if c == nil {
		return caps, nil
	}
	if c.KubeVersion != "" {
		kv, err := chartutil.ParseKubeVersion(c.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("capabilities: kube version %q: %w", c.KubeVersion, err)
		}
		caps.KubeVersion = *kv
	}
	caps.APIVersions = append(caps.APIVersions, c.APIVersions...)
	return caps, nil
}
