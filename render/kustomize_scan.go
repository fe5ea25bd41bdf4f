package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/ifc"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"
	"sigs.k8s.io/kustomize/api/types"
)

// maxKustomizations bounds the kustomization directories one build may
// reach. Without symbolic links a graph reaches each directory once, under
// one name; links can give one directory many names (a -> ../next and
// b -> ../next at every level double them), and kustomize builds each name.
const maxKustomizations = 1000

// isRemote reports whether a kustomization reference is anything but a
// plain path: a URL of any scheme, a go-getter ("git::") or SCP-style
// ("git@host:org/repo") address, a github.com path, anything with a query
// ("?ref=", "?version=", "?timeout=", "?submodules="), a user or a "//"
// subpath, a backslash or a control character. Kustomize would clone or
// download many of these, running git with arguments taken from the
// repository; render refuses every one, including forms kustomize does not
// know, so that detection fails closed. A local directory named like one
// is refused too: kustomize would clone some of them rather than read them.
func isRemote(ref string) bool {
	if strings.ContainsAny(ref, `:?#@\`) || strings.Contains(ref, "//") {
		return true
	}
	for i := 0; i < len(ref); i++ {
		if ref[i] < 0x20 || ref[i] == 0x7f {
			return true
		}
	}
	// Kustomize lowercases before it looks for github.com, and Unicode
	// lowercasing turns some non-ASCII letters into ASCII ones ("İ").
	return strings.HasPrefix(strings.ToLower(ref), "github.com/")
}

// kustomizeScan is what a walk of a kustomization graph found: everything
// the build may read, each reference checked.
type kustomizeScan struct {
	// dirs are the directories the kustomizations refer to as bases or
	// components, and the target, by the names the build uses, sorted.
	dirs []string
	// files are the files the build may read: each directory's
	// kustomization file and every file a kustomization or a generator or
	// transformer config refers to, sorted.
	files []string
	// resources are the files among them that hold resources, sorted.
	resources []string
	// setsSchema records that a kustomization has an openapi field, which
	// changes kyaml's process-wide schema.
	setsSchema bool
	// charts are the helmCharts entries of the kustomizations, checked and
	// with their charts found, in the order of the walk (a kustomization's
	// entries together, in their order).
	charts []kustomizeChart
	// namespaces holds each kustomization directory's namespace field, and
	// children the kustomization directories each one refers to as
	// resources or components: what a chart's release namespace is
	// inherited through (see helmNamespaces).
	namespaces map[string]string
	children   map[string][]string
}

// scanner walks one kustomization graph.
type scanner struct {
	fsys      fs.FS
	rf        *resource.Factory
	rmf       *resmap.Factory
	validator ifc.Validator
	dirs      map[string]bool
	files     map[string]bool
	resources map[string]bool
	schema    bool
	charts    []kustomizeChart
	// namespaces and children are kustomizeScan's.
	namespaces map[string]string
	children   map[string][]string
	// list makes the walk only list the remote charts the graph names
	// (KustomizeHelmCharts): references it cannot follow are passed over,
	// the build reports them, and nothing else is checked.
	list bool
	refs []HelmChartRef
}

// newScanner returns a scanner of the kustomizations in fsys that has seen
// nothing yet.
func newScanner(fsys fs.FS) *scanner {
	dp := provider.NewDepProvider()
	rf := dp.GetResourceFactory()
	return &scanner{
		fsys:       fsys,
		rf:         rf,
		rmf:        resmap.NewFactory(rf),
		validator:  dp.GetFieldValidator(),
		dirs:       map[string]bool{},
		files:      map[string]bool{},
		resources:  map[string]bool{},
		namespaces: map[string]string{},
		children:   map[string][]string{},
	}
}

// linkResolver is a file system that can say where a name's symbolic links
// lead (readFS).
type linkResolver interface {
	realPath(name string) (string, error)
}

// scanKustomizations walks the kustomization graph from dir and checks every
// reference before the build starts, failing on the first that is not a
// plain path to something inside the repository: render fetches nothing,
// and kustomize would otherwise clone or download it during the build. It
// checks helmCharts and finds their charts (render inflates them, not
// kustomize: see inflateCharts), refuses exec, container and other
// non-builtin plugins, and checks the files builtin generators and
// transformers load by configuring them with a loader that only checks.
// A reference that leads back to a directory that refers to it, through
// ".." or a symbolic link, is a cycle, as kustomize says.
func scanKustomizations(fsys fs.FS, dir string) (kustomizeScan, error) {
	s := newScanner(fsys)
	root, err := s.realPath(dir)
	if err != nil {
		return kustomizeScan{}, err
	}
	if err := s.walk(dir, []string{root}); err != nil {
		return kustomizeScan{}, err
	}
	scan := kustomizeScan{setsSchema: s.schema, charts: s.charts, namespaces: s.namespaces, children: s.children}
	for d := range s.dirs {
		scan.dirs = append(scan.dirs, d)
	}
	for f := range s.files {
		scan.files = append(scan.files, f)
	}
	for f := range s.resources {
		scan.resources = append(scan.resources, f)
	}
	sort.Strings(scan.dirs)
	sort.Strings(scan.files)
	sort.Strings(scan.resources)
	return scan, nil
}

// realPath is the name of dir with its symbolic links resolved, when the
// file system can tell.
func (s *scanner) realPath(dir string) (string, error) {
	r, ok := s.fsys.(linkResolver)
	if !ok {
		return dir, nil
	}
	resolved, err := r.realPath(dir)
	if err != nil {
		return "", &Error{File: dir, Err: err}
	}
	return resolved, nil
}

// walk scans the kustomization in dir. stack holds the real paths of the
// kustomization directories that led here, dir's last.
func (s *scanner) walk(dir string, stack []string) error {
	if s.dirs[dir] {
		return nil
	}
	if len(s.dirs) >= maxKustomizations {
		return &Error{File: dir, Err: fmt.Errorf("more than %d kustomization directories in one build (symbolic links that name directories again?)", maxKustomizations)}
	}
	s.dirs[dir] = true
	kname := kustomizationFile(s.fsys, dir)
	if kname == "" {
		return nil // kustomize reports a directory without a kustomization
	}
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if fileExists(s.fsys, path.Join(dir, n)) {
			s.files[path.Join(dir, n)] = true // kustomize refuses two of them
		}
	}
	kpath := path.Join(dir, kname)
	data, err := fs.ReadFile(s.fsys, kpath)
	if err != nil {
		return &Error{File: kpath, Err: err}
	}
	var k types.Kustomization
	if err := k.Unmarshal(data); err != nil { // kustomize's own decoding
		msg := strings.TrimPrefix(err.Error(), "invalid Kustomization: ")
		return &Error{File: kpath, Line: yamlErrorLine(err), Err: fmt.Errorf("invalid kustomization: %s", yamlMessageRE.ReplaceAllString(msg, ""))}
	}
	if len(k.HelmChartInflationGenerator) > 0 {
		if !s.list {
			return &Error{File: kpath, Err: errors.New("helmChartInflationGenerator is kustomize's deprecated form of helmCharts, which render does not read: write the charts as helmCharts entries (and chartHome under helmGlobals)")}
		}
		k.HelmChartInflationGenerator = nil // not listed: the build refuses it
	}
	k.FixKustomization() // bases into resources, env into envs
	if len(k.OpenAPI) > 0 {
		s.schema = true
	}
	s.namespaces[dir] = k.Namespace
	if err := s.helmCharts(kpath, dir, &k); err != nil {
		return err
	}

	for _, f := range []struct {
		name string
		refs []string
	}{{"resources", k.Resources}, {"components", k.Components}} {
		for _, ref := range f.refs {
			if err := s.resource(kpath, dir, f.name, ref, stack); err != nil {
				return err
			}
		}
	}
	if s.list {
		return nil
	}
	files := []struct {
		name string
		refs []string
	}{
		{"crds", k.Crds},
		{"configurations", k.Configurations},
		{"openapi path", []string{k.OpenAPI["path"]}},
		{"patches path", patchPaths(k.Patches)},
		{"patchesJson6902 path", patchPaths(k.PatchesJson6902)},
		{"replacements path", replacementPaths(k.Replacements)},
	}
	for _, g := range k.ConfigMapGenerator {
		files = append(files, generatorFiles("configMapGenerator", g.KvPairSources)...)
	}
	for _, g := range k.SecretGenerator {
		files = append(files, generatorFiles("secretGenerator", g.KvPairSources)...)
	}
	for _, f := range files {
		for _, ref := range f.refs {
			if ref == "" {
				continue
			}
			if err := s.file(kpath, dir, f.name, ref); err != nil {
				return err
			}
		}
	}
	for _, p := range append(k.Patches, k.PatchesJson6902...) {
		if err := checkAliases(kpath, []byte(p.Patch)); err != nil {
			return err
		}
	}
	for _, p := range k.PatchesStrategicMerge {
		if err := s.patchOrFile(kpath, dir, "patchesStrategicMerge", string(p)); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name    string
		entries []string
	}{{"generators", k.Generators}, {"transformers", k.Transformers}, {"validators", k.Validators}} {
		for _, entry := range f.entries {
			if err := s.plugin(kpath, dir, f.name, entry); err != nil {
				return err
			}
		}
	}
	return nil
}

// check checks one reference of the kustomization kpath in dir and returns
// the name it has in the file system and what it is.
func (s *scanner) check(kpath, dir, field, ref string) (string, fs.FileInfo, error) {
	if isRemote(ref) {
		return "", nil, &Error{File: kpath, Err: fmt.Errorf("%s %q: %w: render reads only the repository; vendor what it names and refer to it by a relative path", field, ref, ErrRemoteDisabled)}
	}
	p := path.Join(dir, ref)
	if path.IsAbs(ref) || !fs.ValidPath(p) {
		return "", nil, &Error{File: kpath, Err: fmt.Errorf("%s %q leaves the repository", field, ref)}
	}
	info, err := fs.Stat(s.fsys, p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, &Error{File: kpath, Err: fmt.Errorf("%s %q: no such file or directory: %w", field, ref, ErrNotFound)}
	}
	if err != nil {
		return "", nil, &Error{File: kpath, Err: fmt.Errorf("%s %q: %w", field, ref, unwrapPathError(err))}
	}
	return p, info, nil
}

// resource checks a resources or components entry: a file, or a directory
// whose kustomization is walked in turn.
// When listing, a reference that cannot be followed is passed over, unless
// the walk cannot go on (a budget broken, too many kustomizations).
func (s *scanner) resource(kpath, dir, field, ref string, stack []string) error {
	err := s.followResource(kpath, dir, field, ref, stack)
	if s.list && !errors.Is(err, ErrBudgetExceeded) && len(s.dirs) < maxKustomizations {
		return nil
	}
	return err
}

// followResource checks a resources or components entry and walks the
// kustomization it names.
func (s *scanner) followResource(kpath, dir, field, ref string, stack []string) error {
	p, info, err := s.check(kpath, dir, field, ref)
	if err != nil {
		return err
	}
	if !info.IsDir() {
		s.files[p] = true
		s.resources[p] = true
		return nil
	}
	resolved, err := s.realPath(p)
	if err != nil {
		return err
	}
	for _, visited := range stack {
		if resolved == visited || resolved == "." || strings.HasPrefix(visited, resolved+"/") {
			return &Error{File: kpath, Err: fmt.Errorf("%s %q: cycle: %s contains %s, which refers to it", field, ref, displayPath(resolved), displayPath(visited))}
		}
	}
	s.children[dir] = append(s.children[dir], p)
	return s.walk(p, append(stack[:len(stack):len(stack)], resolved))
}

// file checks a reference that must name a file.
func (s *scanner) file(kpath, dir, field, ref string) error {
	p, info, err := s.check(kpath, dir, field, ref)
	if err != nil {
		return err
	}
	if info.IsDir() {
		return &Error{File: kpath, Err: fmt.Errorf("%s %q is a directory, not a file", field, ref)}
	}
	s.files[p] = true
	return nil
}

// patchOrFile checks a patchesStrategicMerge entry, which kustomize reads as
// an inline patch when it parses as one and as a file otherwise.
func (s *scanner) patchOrFile(kpath, dir, field, entry string) error {
	if err := checkAliases(kpath, []byte(entry)); err != nil {
		return err
	}
	_, err := s.rf.SliceFromBytes([]byte(entry))
	switch {
	case err == nil:
		return nil
	case strings.Contains(strings.TrimSpace(entry), "\n"): // no path: inline, and broken
		return &Error{File: kpath, Err: fmt.Errorf("%s: invalid inline patch: %w", field, err)}
	}
	return s.file(kpath, dir, field, entry)
}

// patchPaths returns the paths of patches given by file.
func patchPaths(ps []types.Patch) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Path)
	}
	return out
}

// replacementPaths returns the paths of replacements given by file.
func replacementPaths(rs []types.ReplacementField) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Path)
	}
	return out
}

// generatorFiles returns the files a configMapGenerator or secretGenerator
// entry reads, as kustomize parses "[key=]path" file sources. A malformed
// source (kustomize refuses it before reading anything) is checked whole.
func generatorFiles(field string, src types.KvPairSources) []struct {
	name string
	refs []string
} {
	var files []string
	for _, f := range src.FileSources {
		if strings.Count(f, "=") == 1 && !strings.HasPrefix(f, "=") && !strings.HasSuffix(f, "=") {
			f = f[strings.Index(f, "=")+1:]
		}
		files = append(files, f)
	}
	return []struct {
		name string
		refs []string
	}{{field + " files", files}, {field + " envs", append(src.EnvSources, src.EnvSource)}}
}

// unwrapPathError drops the *fs.PathError around a file system failure:
// the message names the reference already.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
