package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/kustomize/kyaml/yaml/merge2"
	"sigs.k8s.io/yaml"
)

// ChartsMount is the top-level name under which the caller mounts (with
// Mount) the charts that kustomizations' helmCharts take from a Helm
// repository or an OCI registry: render never fetches them. Each chart is
// a directory at ChartMountPath.
const ChartsMount = "$charts"

// helmInflator is the kustomize generator a chart's objects are
// attributed to, as kustomize attributes them (Origin.Generator).
const helmInflator = "HelmChartInflationGenerator"

// helmChartsDir is the name of the directory, beside a kustomization with
// helmCharts, where the in-memory copy holds the inflated charts (a number
// is added if the kustomization's directory has an entry of that name).
const helmChartsDir = ".gyre-helmcharts"

// ChartMountPath returns where, in the file tree given to Render, the chart
// a helmCharts entry takes from repo (a Helm repository URL or an oci://
// address) is expected: ChartsMount/<hash>/<name>, the hash being the first
// 16 hex digits of the SHA-256 of repo, name and version, each exactly as
// the kustomization writes them, joined by NUL bytes. The directory holds
// the chart itself (Chart.yaml, templates/, …), as `helm pull --untar`
// leaves it.
func ChartMountPath(repo, name, version string) string {
	sum := sha256.Sum256([]byte(repo + "\x00" + name + "\x00" + version))
	return ChartsMount + "/" + hex.EncodeToString(sum[:])[:16] + "/" + name
}

// HelmChartRef names a chart that a kustomization's helmCharts take from a
// Helm repository or an OCI registry, which the caller fetches and mounts
// at ChartMountPath(Repo, Name, Version) before rendering.
type HelmChartRef struct {
	// Repo is the repository as the kustomization writes it
	// ("https://charts.example.com", "oci://registry.example.com/charts").
	Repo string `json:"repo"`
	// Name is the chart's name.
	Name string `json:"name"`
	// Version is the chart version as written; empty when none is.
	Version string `json:"version,omitempty"`
	// File is the kustomization naming the chart, relative to the
	// repository root (the first one found, when several name it).
	File string `json:"file"`
}

// KustomizeHelmCharts returns the charts from Helm repositories and OCI
// registries (helmCharts entries with a repo) that the kustomization at dir
// and the kustomizations it refers to, as resources or components, name:
// each chart once, in the order the build meets them. It walks the graph
// as the build's scan does and reads only fsys (through the same walls,
// within the default Limits), so the two agree on what the build needs.
// References it cannot follow, and errors in what it does not need, are the
// build's to report: it fails only when it cannot list, because dir holds
// no kustomization or one it cannot read.
func KustomizeHelmCharts(fsys fs.FS, dir string) ([]HelmChartRef, error) {
	dir = cleanDir(dir)
	if !fs.ValidPath(dir) {
		return nil, &Error{Type: Kustomize, Path: dir, Err: fmt.Errorf("path leaves the repository: %w", ErrNotFound)}
	}
	b := newBudget(Limits{})
	rfs := newReadFS(fsys, b)
	if kustomizationFile(rfs, dir) == "" {
		return nil, &Error{Type: Kustomize, Path: dir, Err: fmt.Errorf("no kustomization.yaml, kustomization.yml or Kustomization: %w", ErrNotFound)}
	}
	s := newScanner(rfs)
	s.list = true
	root, err := s.realPath(dir)
	if err == nil {
		err = s.walk(dir, []string{root})
	}
	if broken := b.exceeded(); broken != nil {
		err = broken
	}
	if err != nil {
		return nil, withSource(err, Kustomize, dir)
	}
	type key struct{ repo, name, version string }
	seen := map[key]bool{}
	var out []HelmChartRef
	for _, r := range s.refs {
		k := key{r.Repo, r.Name, r.Version}
		if !seen[k] {
			seen[k] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// kustomizeChart is one helmCharts entry of a kustomization, checked, with
// its chart found.
type kustomizeChart struct {
	kpath string // the kustomization file
	dir   string // its directory
	chart types.HelmChart
	// chartDir is the chart's directory in the file system: the mounted
	// chart, or the one under chartHome.
	chartDir string
	// valuesFile and additionalValuesFiles are the entry's values files,
	// named in the file system.
	valuesFile            string
	additionalValuesFiles []string
}

// helmCharts checks the helmCharts and helmGlobals of the kustomization
// kpath in dir, finds each chart, and records them; when listing, it only
// records the remote ones. Every field of kustomize's HelmChart has an
// effect in render or is refused here, named.
func (s *scanner) helmCharts(kpath, dir string, k *types.Kustomization) error {
	if s.list {
		for _, c := range k.HelmCharts {
			if c.Repo != "" && validChartName(c.Name) {
				s.refs = append(s.refs, HelmChartRef{Repo: c.Repo, Name: c.Name, Version: c.Version, File: kpath})
			}
		}
		return nil
	}
	var globals types.HelmGlobals
	if k.HelmGlobals != nil {
		globals = *k.HelmGlobals
	}
	fail := func(format string, args ...any) error {
		return &Error{File: kpath, Err: fmt.Errorf(format, args...)}
	}
	if globals.ConfigHome != "" {
		return fail("helmGlobals.configHome is not supported: it points the helm program at its configuration (repositories, registry logins), and render runs no helm program and reads no Helm configuration; gyre fetches charts with its own credentials")
	}
	chartHome := globals.ChartHome
	if chartHome == "" {
		chartHome = types.HelmDefaultHome
	}
	if isRemote(chartHome) {
		return fail("helmGlobals.chartHome %q: %w: render reads only the repository", chartHome, ErrRemoteDisabled)
	}
	if path.IsAbs(chartHome) || !fs.ValidPath(path.Join(dir, chartHome)) {
		return fail("helmGlobals.chartHome %q leaves the repository", chartHome)
	}
	for i, c := range k.HelmCharts {
		what := fmt.Sprintf("helmCharts: chart %q", c.Name)
		switch {
		case c.Name == "":
			return fail("helmCharts entry %d: chart name cannot be empty", i+1)
		case !validChartName(c.Name):
			return fail("%s: a chart name is one path element", what)
		case c.NameTemplate != "":
			return fail("%s: nameTemplate is not supported: render names the release by releaseName (the chart's name when empty)", what)
		case c.Debug:
			return fail("%s: debug is not supported: it asks the helm program for debug output, and render runs none", what)
		case c.Devel:
			return fail("%s: devel is not supported: it lets helm pick a development version when it fetches the chart, and render fetches nothing; give the exact version", what)
		}
		switch c.ValuesMerge {
		case "", "override", "merge", "replace":
		default:
			return fail("%s: valuesMerge %q: want override, merge or replace", what, c.ValuesMerge)
		}
		kc := kustomizeChart{kpath: kpath, dir: dir, chart: c}
		if c.ValuesFile != "" {
			p, err := s.valuesFile(kpath, dir, what+" valuesFile", c.ValuesFile)
			if err != nil {
				return err
			}
			kc.valuesFile = p
		}
		for _, f := range c.AdditionalValuesFiles {
			p, err := s.valuesFile(kpath, dir, what+" additionalValuesFiles", f)
			if err != nil {
				return err
			}
			kc.additionalValuesFiles = append(kc.additionalValuesFiles, p)
		}
		chartDir, err := s.findChart(kpath, dir, chartHome, c)
		if err != nil {
			return err
		}
		kc.chartDir = chartDir
		s.charts = append(s.charts, kc)
	}
	return nil
}

// validChartName reports whether a chart name is one plain path element,
// so that the paths made of it stay where they are meant to be.
func validChartName(name string) bool {
	return name != "" && name != "." && name != ".." && fs.ValidPath(name) && !strings.ContainsAny(name, `/\`)
}

// valuesFile checks a values file a helmCharts entry names: a file inside
// the repository, relative to the kustomization's directory.
func (s *scanner) valuesFile(kpath, dir, field, ref string) (string, error) {
	p, info, err := s.check(kpath, dir, field, ref)
	if err != nil {
		return "", err
	}
	if info.IsDir() {
		return "", &Error{File: kpath, Err: fmt.Errorf("%s %q is a directory, not a file", field, ref)}
	}
	return p, nil
}

// findChart returns the directory of the chart a helmCharts entry names. A
// chart from a repository is looked for where the caller mounts it
// (ChartMountPath) and then, as kustomize would find a chart it pulled
// before, under chartHome: <chartHome>/<name>-<version>/<name> when the
// entry has a version, <chartHome>/<name> when not. A chart without a repo
// is <chartHome>/<name>, whatever its version, as kustomize has it.
func (s *scanner) findChart(kpath, dir, chartHome string, c types.HelmChart) (string, error) {
	if c.Repo != "" {
		if p := ChartMountPath(c.Repo, c.Name, c.Version); isDir(s.fsys, p) {
			return p, nil
		}
	}
	local := path.Join(dir, chartHome, c.Name)
	if c.Repo != "" && c.Version != "" {
		local = path.Join(dir, chartHome, c.Name+"-"+c.Version, c.Name)
	}
	if !fs.ValidPath(local) {
		return "", &Error{File: kpath, Err: fmt.Errorf("helmCharts: chart %q: version %q leaves the repository", c.Name, c.Version)}
	}
	if isDir(s.fsys, local) {
		return local, nil
	}
	if c.Repo == "" {
		return "", &Error{File: kpath, Err: fmt.Errorf("helmCharts: chart %q: no chart at %s (and no repo to take it from): %w", c.Name, local, ErrNotFound)}
	}
	version := ""
	if c.Version != "" {
		version = fmt.Sprintf(" version %q", c.Version)
	}
	return "", &Error{File: kpath, Err: fmt.Errorf("helmCharts: chart %q from %s%s was not fetched: %w", c.Name, c.Repo, version, ErrNotFound)}
}

// isDir reports whether name is a directory in fsys.
func isDir(fsys fs.FS, name string) bool {
	info, err := fs.Stat(fsys, name)
	return err == nil && info.IsDir()
}

// inflatedCharts records where the in-memory copy holds inflated charts:
// each generated file, named as in the repository, with the kustomization
// whose helmCharts it holds.
type inflatedCharts map[string]string

// inflateCharts renders the charts of every kustomization's helmCharts, as
// kustomize's HelmChartInflationGenerator would with `helm template` but
// with render's own Helm rendering, and makes their objects part of the
// in-memory copy that kustomize builds: in each such kustomization's
// directory a Component holding one file per chart, which the copy of the
// kustomization lists first among its components, its helmCharts and
// helmGlobals removed. Kustomize accumulates a kustomization's resources,
// then what its generators make (helm charts last), then its components:
// the charts' objects come where kustomize's would, in every sort order,
// and the kustomization's transformers apply to them as to the objects
// kustomize would have inflated.
//
// Each object carries kustomize's internal helm-generated annotation, as
// kustomize marks inflated objects, so that the kustomize library treats
// them as its own inflator's (its namespace transformer, for one, leaves
// them in the namespace the chart gives them). The build removes it.
//
// The charts' files are read through fsys, against b; what the charts
// render counts against the limits in a budget of their own (as the
// resources' objects do in copyFiles), the build's output against b.
func inflateCharts(fsys fs.FS, scan kustomizeScan, mem filesys.FileSystem, target, targetNamespace string, caps *Capabilities, b *budget) (inflatedCharts, error) {
	if len(scan.charts) == 0 {
		return nil, nil
	}
	inherited := scan.helmNamespaces(target, targetNamespace)
	rendered := newBudget(Limits{MaxObjects: b.limits.MaxObjects, MaxOutputBytes: b.limits.MaxOutputBytes})
	gen := inflatedCharts{}
	for i := 0; i < len(scan.charts); {
		kdir, kpath := scan.charts[i].dir, scan.charts[i].kpath
		own := scan.namespaces[kdir]
		if kdir == target && targetNamespace != "" {
			own = targetNamespace
		}
		compDir := uniqueName(mem, kdir, helmChartsDir)
		var files []string
		for ; i < len(scan.charts) && scan.charts[i].dir == kdir; i++ {
			kc := scan.charts[i]
			ns := kc.chart.Namespace
			if ns == "" {
				ns = own
			}
			if ns == "" {
				switch roots := inherited[kdir]; len(roots) {
				case 0:
				case 1:
					ns = roots[0]
				default:
					return nil, &Error{File: kpath, Err: fmt.Errorf("helmCharts: chart %q: kustomizations of namespaces %s refer to this one, and kustomize would inflate the chart once in each; render inflates it once: give the chart entry, or this kustomization, a namespace", kc.chart.Name, quotedList(roots))}
				}
			}
			data, err := inflateChart(fsys, kc, ns, caps, b, rendered)
			if err != nil {
				return nil, err
			}
			if len(data) == 0 {
				continue
			}
			name := strconv.Itoa(len(files)) + "-" + kc.chart.Name + ".yaml"
			files = append(files, name)
			p := path.Join(kdir, compDir, name)
			gen[p] = kpath
			if err := writeMem(mem, p, data); err != nil {
				return nil, err
			}
		}
		if len(files) > 0 {
			comp, err := yaml.Marshal(map[string]any{
				"apiVersion": "kustomize.config.k8s.io/v1alpha1",
				"kind":       "Component",
				"resources":  files,
			})
			if err != nil {
				return nil, err
			}
			if err := writeMem(mem, path.Join(kdir, compDir, "kustomization.yaml"), comp); err != nil {
				return nil, err
			}
		} else {
			compDir = ""
		}
		data, err := mem.ReadFile("/" + kpath)
		if err != nil {
			return nil, &Error{File: kpath, Err: err}
		}
		edited, err := replaceHelmCharts(data, compDir)
		if err != nil {
			return nil, &Error{File: kpath, Err: err}
		}
		if err := mem.WriteFile("/"+kpath, edited); err != nil {
			return nil, &Error{File: kpath, Err: err}
		}
	}
	return gen, nil
}

// inflateChart renders one helmCharts entry in release namespace ns and
// returns its objects as a YAML stream, each marked as kustomize marks
// what its inflator makes. Reads count against b, what the chart renders
// against rendered.
func inflateChart(fsys fs.FS, kc kustomizeChart, ns string, caps *Capabilities, b, rendered *budget) ([]byte, error) {
	c, err := loadChart(fsys, kc.chartDir, nil, b)
	if err != nil {
		return nil, chartError(kc, err)
	}
	vals, err := chartValues(fsys, kc)
	if err != nil {
		return nil, err
	}
	objs, err := renderChart(c, kc.chartDir, vals, chartRelease{
		name:      kc.chart.ReleaseName,
		namespace: ns,
		caps:      chartCapabilities(kc.chart, caps),
		skipCRDs:  !kc.chart.IncludeCRDs,
		skipHooks: kc.chart.SkipHooks,
	}, rendered)
	if err != nil {
		return nil, chartError(kc, err)
	}
	var out []byte
	for _, o := range objs {
		u := o.Obj.DeepCopy()
		a := u.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		a[konfig.HelmGeneratedAnnotation] = "true"
		u.SetAnnotations(a)
		j, err := json.Marshal(u.Object)
		if err != nil {
			return nil, chartError(kc, fmt.Errorf("encoding %s: %w", o.Origin.File, err))
		}
		y, err := yaml.JSONToYAML(j)
		if err != nil {
			return nil, chartError(kc, fmt.Errorf("encoding %s: %w", o.Origin.File, err))
		}
		out = append(out, "---\n"...)
		out = append(out, y...)
	}
	return out, nil
}

// chartCapabilities is .Capabilities for a helmCharts entry: its
// kubeVersion and apiVersions, which the Options' Capabilities override
// where they are set, as kustomize's --helm-kube-version and
// --helm-api-versions flags override the entry's.
func chartCapabilities(c types.HelmChart, caps *Capabilities) *Capabilities {
	out := &Capabilities{KubeVersion: c.KubeVersion, APIVersions: c.ApiVersions}
	if caps != nil {
		if caps.KubeVersion != "" {
			out.KubeVersion = caps.KubeVersion
		}
		if len(caps.APIVersions) > 0 {
			out.APIVersions = caps.APIVersions
		}
	}
	return out
}

// chartValues returns a helmCharts entry's values as `helm template` gets
// them from kustomize: the values file (the chart's values.yaml when the
// entry names none) combined with valuesInline as valuesMerge says, then
// each of additionalValuesFiles merged over it. kustomize combines the
// first two with kyaml's merge2 (override: valuesInline wins; merge: the
// values file wins, valuesInline adds what it lacks; replace: valuesInline
// alone), and so does render. The chart's own values.yaml is merged
// beneath the result when the chart renders, as Helm does.
func chartValues(fsys fs.FS, kc kustomizeChart) (map[string]any, error) {
	what := fmt.Sprintf("helmCharts: chart %q", kc.chart.Name)
	first := kc.valuesFile
	if first == "" {
		first = path.Join(kc.chartDir, "values.yaml")
	}
	var data []byte
	if kc.chart.ValuesMerge != "replace" || len(kc.chart.ValuesInline) == 0 {
		var err error
		if data, err = fs.ReadFile(fsys, first); err != nil && (kc.valuesFile != "" || !errors.Is(err, fs.ErrNotExist)) {
			return nil, &Error{File: first, Err: unwrapPathError(err)}
		}
		if err := checkAliases(first, data); err != nil {
			return nil, err
		}
	}
	if len(kc.chart.ValuesInline) > 0 {
		merged, err := mergeValuesInline(data, kc.chart.ValuesInline, kc.chart.ValuesMerge)
		if err != nil {
			return nil, &Error{File: kc.kpath, Err: fmt.Errorf("%s: valuesInline with %s: %w", what, first, err)}
		}
		data, first = merged, kc.kpath
	}
	vals, err := chartutil.ReadValues(data)
	if err != nil {
		return nil, &Error{File: first, Line: yamlErrorLine(err), Err: fmt.Errorf("invalid values: %s", yamlMessageRE.ReplaceAllString(err.Error(), ""))}
	}
	out := map[string]any(vals)
	for _, f := range kc.additionalValuesFiles {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, &Error{File: f, Err: unwrapPathError(err)}
		}
		if err := checkAliases(f, data); err != nil {
			return nil, err
		}
		m, err := chartutil.ReadValues(data)
		if err != nil {
			return nil, &Error{File: f, Line: yamlErrorLine(err), Err: fmt.Errorf("invalid values: %s", yamlMessageRE.ReplaceAllString(err.Error(), ""))}
		}
		out = mergeMaps(out, m)
	}
	return out, nil
}

// mergeValuesInline combines a values file with valuesInline as kustomize
// does, and returns the values as YAML.
func mergeValuesInline(file []byte, inline map[string]any, mode string) ([]byte, error) {
	if mode == "replace" {
		return yaml.Marshal(inline)
	}
	fileValues := kyaml.NewMapRNode(nil)
	if strings.TrimSpace(string(file)) != "" {
		var err error
		if fileValues, err = kyaml.Parse(string(file)); err != nil {
			return nil, fmt.Errorf("invalid values: %w", err)
		}
	}
	inlineValues, err := kyaml.FromMap(inline)
	if err != nil {
		return nil, err
	}
	// merge2.Merge(src, dest) sets what src has over dest.
	var merged *kyaml.RNode
	if mode == "merge" {
		merged, err = merge2.Merge(fileValues, inlineValues.Copy(), kyaml.MergeOptions{})
	} else {
		merged, err = merge2.Merge(inlineValues, fileValues.Copy(), kyaml.MergeOptions{})
	}
	if err != nil {
		return nil, err
	}
	if merged == nil {
		return nil, nil
	}
	s, err := merged.String()
	return []byte(s), err
}

// chartError states a failure to render a helmCharts entry as an error
// about the kustomization, naming the chart and, where one is at fault,
// the chart's file (the template, for Helm's engine) and line. The cause
// stays wrapped.
func chartError(kc kustomizeChart, err error) error {
	loc := ""
	var e *Error
	if errors.As(err, &e) {
		if e.File != "" {
			loc = e.File
			if e.Line > 0 {
				loc += " line " + strconv.Itoa(e.Line)
			}
			loc += ": "
		}
		err = e.Err
	}
	return &Error{File: kc.kpath, Err: fmt.Errorf("helmCharts: chart %q (%s): %s%w", kc.chart.Name, kc.chartDir, loc, err)}
}

// replaceHelmCharts returns a kustomization without its helmCharts and
// helmGlobals, and with component (when not empty) first among its
// components.
func replaceHelmCharts(data []byte, component string) ([]byte, error) {
	node, err := kyaml.Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	for _, f := range []string{"helmCharts", "helmGlobals"} {
		if _, err := node.Pipe(kyaml.Clear(f)); err != nil {
			return nil, err
		}
	}
	if component != "" {
		components := []string{component}
		if n := node.Field("components"); n != nil {
			components = append(components, scalarList(n.Value)...)
		}
		if err := node.PipeE(kyaml.SetField("components", kyaml.NewListRNode(components...))); err != nil {
			return nil, err
		}
	}
	s, err := node.String()
	return []byte(s), err
}

// helmNamespaces returns, for each kustomization directory, the namespaces
// it inherits for its charts' releases, sorted: kustomize gives a chart
// entry without a namespace its kustomization's namespace, else that of
// the nearest kustomization above it (on the way from the target) that has
// one. A directory reached on several ways may inherit several.
// targetNamespace, when set, is the target's namespace (an override).
func (scan kustomizeScan) helmNamespaces(target, targetNamespace string) map[string][]string {
	type visit struct{ dir, inherited string }
	seen := map[visit]bool{}
	out := map[string][]string{}
	var walk func(dir, inherited string)
	walk = func(dir, inherited string) {
		if seen[visit{dir, inherited}] {
			return
		}
		seen[visit{dir, inherited}] = true
		if inherited != "" && !slices.Contains(out[dir], inherited) {
			out[dir] = append(out[dir], inherited)
		}
		own := scan.namespaces[dir]
		if dir == target && targetNamespace != "" {
			own = targetNamespace
		}
		if own != "" {
			inherited = own
		}
		for _, child := range scan.children[dir] {
			walk(child, inherited)
		}
	}
	walk(target, "")
	for _, roots := range out {
		slices.Sort(roots)
	}
	return out
}

// chartOrigin is where kustomize says an inflated object comes from: the
// kustomization, relative to the build's target directory (rel, the path
// of the generated file as the build names it, is two levels below it),
// configured by the helm inflator.
func chartOrigin(rel, kpath string) (string, error) {
	o := resource.Origin{
		ConfiguredIn: path.Join(path.Dir(path.Dir(rel)), path.Base(kpath)),
		ConfiguredBy: kyaml.ResourceIdentifier{TypeMeta: kyaml.TypeMeta{APIVersion: "builtin", Kind: helmInflator}},
	}
	return o.String()
}

// uniqueName returns base, or base with a number added, such that dir has
// no entry of that name in mem.
func uniqueName(mem filesys.FileSystem, dir, base string) string {
	name := base
	for n := 2; mem.Exists("/" + path.Join(dir, name)); n++ {
		name = base + "-" + strconv.Itoa(n)
	}
	return name
}

// writeMem writes a file into the in-memory copy, making its directory.
func writeMem(mem filesys.FileSystem, name string, data []byte) error {
	if err := mem.MkdirAll("/" + path.Dir(name)); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := mem.WriteFile("/"+name, data); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

// quotedList returns the strings quoted and joined with commas.
func quotedList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// setChartOrigin replaces the origin annotation the build gave an inflated
// object (the generated file) with the one kustomize gives it.
func setChartOrigin(u *unstructured.Unstructured, rel, kpath string) error {
	o, err := chartOrigin(rel, kpath)
	if err != nil {
		return err
	}
	a := u.GetAnnotations()
	a[originAnnotation] = o
	u.SetAnnotations(a)
	return nil
}
