package render

import (
	"fmt"
	"io/fs"
	"strings"

	"sigs.k8s.io/kustomize/api/builtins"
	"sigs.k8s.io/kustomize/api/ifc"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
)

// builtinPlugins returns a fresh instance of each kustomize builtin
// generator and transformer that a generators, transformers or validators
// entry may configure (apiVersion: builtin), by kind. The helm chart
// inflator is not among them: it runs the helm program.
func builtinPlugins() map[string]resmap.Configurable {
	return map[string]resmap.Configurable{
		"AnnotationsTransformer":         builtins.NewAnnotationsTransformerPlugin(),
		"ConfigMapGenerator":             builtins.NewConfigMapGeneratorPlugin(),
		"HashTransformer":                builtins.NewHashTransformerPlugin(),
		"IAMPolicyGenerator":             builtins.NewIAMPolicyGeneratorPlugin(),
		"ImageTagTransformer":            builtins.NewImageTagTransformerPlugin(),
		"LabelTransformer":               builtins.NewLabelTransformerPlugin(),
		"NamespaceTransformer":           builtins.NewNamespaceTransformerPlugin(),
		"PatchJson6902Transformer":       builtins.NewPatchJson6902TransformerPlugin(),
		"PatchStrategicMergeTransformer": builtins.NewPatchStrategicMergeTransformerPlugin(),
		"PatchTransformer":               builtins.NewPatchTransformerPlugin(),
		"PrefixSuffixTransformer":        builtins.NewPrefixTransformerPlugin(), // prefix and suffix: no files
		"PrefixTransformer":              builtins.NewPrefixTransformerPlugin(),
		"ReplacementTransformer":         builtins.NewReplacementTransformerPlugin(),
		"ReplicaCountTransformer":        builtins.NewReplicaCountTransformerPlugin(),
		"SecretGenerator":                builtins.NewSecretGeneratorPlugin(),
		"SuffixTransformer":              builtins.NewSuffixTransformerPlugin(),
		"ValueAddTransformer":            builtins.NewValueAddTransformerPlugin(),
	}
}

// plugin checks one generators, transformers or validators entry: inline
// configs (kustomize's test: it parses as resources) or a file of them. A
// directory is refused: kustomize builds it before reading the configs it
// produces, so what they configure could not be checked here.
func (s *scanner) plugin(kpath, dir, field, entry string) error {
	if err := checkAliases(kpath, []byte(entry)); err != nil {
		return err
	}
	rm, err := s.rmf.NewResMapFromBytes([]byte(entry))
	switch {
	case err == nil:
		return s.configs(kpath, dir, field, kpath, rm.Resources())
	case strings.Contains(strings.TrimSpace(entry), "\n"): // no path: inline, and broken
		return &Error{File: kpath, Err: fmt.Errorf("%s: invalid inline config: %w", field, err)}
	}
	p, info, err := s.check(kpath, dir, field, entry)
	if err != nil {
		return err
	}
	if info.IsDir() {
		return &Error{File: kpath, Err: fmt.Errorf("%s %q is a directory: render reads generator, transformer and validator configs only from files or inline, so that it can check what they run and read before the build", field, entry)}
	}
	data, err := fs.ReadFile(s.fsys, p)
	if err != nil {
		return &Error{File: p, Err: unwrapPathError(err)}
	}
	if err := checkAliases(p, data); err != nil {
		return err
	}
	if rm, err = s.rmf.NewResMapFromBytes(data); err != nil {
		return &Error{File: p, Err: fmt.Errorf("invalid %s config: %w", field, err)}
	}
	s.files[p] = true
	return s.configs(kpath, dir, field, p, rm.Resources())
}

// configs checks plugin configs listed in kpath (in dir) and held in file.
// Only kustomize's builtins may run, never the helm chart inflator, and the
// files each one loads are checked like any reference: the builtin is
// configured (and a generator run) exactly as kustomize will, with a loader
// that refuses what is not a plain path inside the repository.
func (s *scanner) configs(kpath, dir, field, file string, rs []*resource.Resource) error {
	for _, r := range rs {
		gvk := r.GetGvk()
		what := fmt.Sprintf("%s %s/%s", field, gvk.Kind, r.GetName())
		if file != kpath {
			what += " (listed in " + kpath + ")"
		}
		// The annotations that make a config a KRM function, run as an
		// executable, a container or a script.
		for _, a := range []string{"config.kubernetes.io/function", "config.k8s.io/function"} {
			if _, ok := r.GetAnnotations()[a]; ok {
				return &Error{File: file, Err: fmt.Errorf("%s is a KRM function (annotation %s): it would run a program or a container, and render runs none", what, a)}
			}
		}
		if gvk.Group != "" || gvk.Version != "builtin" {
			return &Error{File: file, Err: fmt.Errorf("%s (apiVersion %s) is not a kustomize builtin: exec and Go plugins would run a program, and render runs none", what, gvk.ApiVersion())}
		}
		if gvk.Kind == "HelmChartInflationGenerator" {
			return &Error{File: file, Err: fmt.Errorf("%s: kustomize would run the helm program, and render runs none; name the chart in the kustomization's helmCharts instead, which render inflates itself", what)}
		}
		p, ok := builtinPlugins()[gvk.Kind]
		if !ok {
			return &Error{File: file, Err: fmt.Errorf("%s: kustomize has no builtin %s", what, gvk.Kind)}
		}
		y, err := r.AsYAML()
		if err != nil {
			return &Error{File: file, Err: fmt.Errorf("%s: %w", what, err)}
		}
		ldr := &checkLoader{s: s, file: file, dir: dir, field: what}
		h := resmap.NewPluginHelpers(ldr, s.validator, s.rmf, types.DisabledPluginConfig())
		// Errors other than the loader's are kustomize's to report in the build.
		if p.Config(h, y) == nil {
			if g, ok := p.(resmap.Generator); ok && ldr.err == nil {
				_, _ = g.Generate()
			}
		}
		if ldr.err != nil {
			return ldr.err
		}
	}
	return nil
}

// checkLoader is the kustomize loader a builtin plugin is configured with
// while the graph is scanned: it checks each file the plugin loads as a
// reference of the kustomization that lists the plugin, records it for the
// build, and serves it from the repository. Nothing else is loaded.
type checkLoader struct {
	s     *scanner
	file  string // the file holding the plugin's config
	dir   string // the directory of the kustomization listing it, its root
	field string // the plugin, for messages
	err   error  // the first refusal
}

var _ ifc.Loader = (*checkLoader)(nil)

// Repo returns "": the repository is not a clone.
func (l *checkLoader) Repo() string { return "" }

// Root returns the plugin's root as the build names it.
func (l *checkLoader) Root() string { return "/" + l.dir }

// New refuses: builtins load files, not kustomizations.
func (l *checkLoader) New(newRoot string) (ifc.Loader, error) {
	if l.err == nil {
		l.err = &Error{File: l.file, Err: fmt.Errorf("%s refers to a kustomization %q, which render does not load for a plugin", l.field, newRoot)}
	}
	return nil, l.err
}

// Load checks and reads one file the plugin loads.
func (l *checkLoader) Load(location string) ([]byte, error) {
	if l.err != nil {
		return nil, l.err
	}
	p, info, err := l.s.check(l.file, l.dir, l.field, location)
	if err == nil && info.IsDir() {
		err = &Error{File: l.file, Err: fmt.Errorf("%s %q is a directory, not a file", l.field, location)}
	}
	if err != nil {
		l.err = err
		return nil, err
	}
	data, err := fs.ReadFile(l.s.fsys, p)
	if err != nil {
		l.err = &Error{File: p, Err: unwrapPathError(err)}
		return nil, l.err
	}
	l.s.files[p] = true
	return data, nil
}

// Cleanup does nothing: nothing was cloned.
func (l *checkLoader) Cleanup() error { return nil }
