package render

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"path"
	"slices"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"
)

// kustomizeGlobals guards the kustomize library's process-wide state. The
// OpenAPI schema a build merges with is a global of kyaml's: a
// kustomization's `openapi:` field installs its own schema into it for the
// build, and the schema stays there afterwards, so builds must not overlap
// and a build after one that changed the schema must start from a reset one
// (else the same input renders differently depending on what was built
// before). The lock has to be process-wide like the state it guards, which
// is why this is render's one package-level variable.
var kustomizeGlobals struct {
	sync.Mutex
	// schemaChanged records that the last build installed its own OpenAPI
	// schema: the next build resets kyaml's schema first.
	schemaChanged bool
}

// originAnnotation is where kustomize records each resource's origin when
// the kustomization asks for buildMetadata: [originAnnotations].
const originAnnotation = "config.kubernetes.io/origin"

// renderKustomize builds the kustomization at dir in-process. It first walks
// the kustomization graph in fsys, checking every reference (remote bases
// and files, paths out of the repository and plugins that would run
// programs are refused) and finding the charts helmCharts name, and copies
// exactly the files the build may read into an in-memory file system, so
// the build touches neither disk nor network and reads nothing that was not
// checked. Render inflates the helmCharts into that copy itself (see
// inflateCharts), and writes the Application-level overrides into the copy
// of the target kustomization, as `kustomize edit` would. Exec and
// KRM-function plugins and kustomize's own Helm inflation are disabled;
// file loads are restricted to each kustomization's root.
//
// The kustomize library offers no way to give the build a git cloner or an
// HTTP client of render's own (krusty always clones with the git program
// and downloads with a default client), so the scan is the only wall
// in-process; a worker process without git on its PATH or a network is the
// second.
func renderKustomize(fsys fs.FS, dir string, opts KustomizeOptions, caps *Capabilities, b *budget) ([]Object, error) {
	kfile := kustomizationFile(fsys, dir)
	if kfile == "" {
		return nil, fmt.Errorf("no kustomization.yaml, kustomization.yml or Kustomization: %w", ErrNotFound)
	}
	scan, err := scanKustomizations(fsys, dir)
	if err != nil {
		return nil, err
	}
	mem := filesys.MakeFsInMemory()
	if err := copyFiles(fsys, scan, mem, b.limits); err != nil {
		return nil, err
	}
	charts, err := inflateCharts(fsys, scan, mem, dir, opts.Namespace, caps, b)
	if err != nil {
		return nil, err
	}
	kpath := path.Join(dir, kfile)
	data, err := mem.ReadFile("/" + kpath) // the copy: its helmCharts inflated
	if err != nil {
		return nil, &Error{File: kpath, Err: err}
	}
	edited, keepOrigin, err := editKustomization(data, opts)
	if err != nil {
		return nil, &Error{File: kpath, Err: err}
	}
	if err := mem.WriteFile("/"+kpath, edited); err != nil {
		return nil, &Error{File: kpath, Err: err}
	}

	kopts := krusty.MakeDefaultOptions()
	kopts.Reorder = krusty.ReorderOptionUnspecified // as `kustomize build`: legacy order unless sortOptions
	kopts.LoadRestrictions = types.LoadRestrictionsRootOnly
	kopts.PluginConfig = types.DisabledPluginConfig()
	m, err := func() (resmap.ResMap, error) {
		kustomizeGlobals.Lock()
		defer kustomizeGlobals.Unlock() // also when the build panics
		if kustomizeGlobals.schemaChanged {
			openapi.ResetOpenAPI()
		}
		kustomizeGlobals.schemaChanged = scan.setsSchema
		return krusty.MakeKustomizer(kopts).Run(mem, "/"+dir)
	}()
	if err != nil {
		return nil, &Error{File: kpath, Err: errors.New(strings.ReplaceAll(err.Error(), "'/", "'"))}
	}

	if err := b.addObjects(kpath, m.Size()); err != nil {
		return nil, err
	}
	objs := make([]Object, 0, m.Size())
	for _, r := range m.Resources() {
		origin, err := r.GetOrigin()
		if err != nil {
			return nil, &Error{File: kpath, Err: fmt.Errorf("reading origin of %s: %w", r.CurId(), err)}
		}
		j, err := r.MarshalJSON()
		if err != nil {
			return nil, &Error{File: kpath, Err: fmt.Errorf("encoding %s: %w", r.CurId(), err)}
		}
		if err := b.addOutput(kpath, int64(len(j))); err != nil {
			return nil, err
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(j, &obj); err != nil {
			return nil, &Error{File: kpath, Err: fmt.Errorf("decoding %s: %w", r.CurId(), err)}
		}
		u := &unstructured.Unstructured{Object: obj}
		if !keepOrigin {
			dropAnnotation(u, originAnnotation)
		}
		o := Origin{File: kpath}
		if origin != nil {
			switch {
			case origin.ConfiguredIn != "":
				o.File = path.Join(dir, origin.ConfiguredIn)
				o.Generator = origin.ConfiguredBy.Kind
			case charts[path.Join(dir, origin.Path)] != "":
				o.File = charts[path.Join(dir, origin.Path)]
				o.Generator = helmInflator
				if keepOrigin {
					if err := setChartOrigin(u, origin.Path, o.File); err != nil {
						return nil, &Error{File: kpath, Err: fmt.Errorf("origin of %s: %w", r.CurId(), err)}
					}
				}
			case origin.Path != "":
				o.File = path.Join(dir, origin.Path)
			}
		}
		objs = append(objs, Object{Obj: u, Origin: o})
	}
	return objs, nil
}

// kustomizationFile returns the name of the kustomization file in dir, or "".
func kustomizationFile(fsys fs.FS, dir string) string {
	for _, n := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if fileExists(fsys, path.Join(dir, n)) {
			return n
		}
	}
	return ""
}

// editKustomization returns the kustomization with origin tracking turned on
// and the overrides applied, and whether the kustomization itself asked for
// origin annotations (they then stay on the objects).
func editKustomization(data []byte, opts KustomizeOptions) ([]byte, bool, error) {
	node, err := kyaml.Parse(string(data))
	if err != nil {
		return nil, false, fmt.Errorf("invalid YAML: %w", err)
	}
	var meta []string
	if n := node.Field("buildMetadata"); n != nil {
		meta = scalarList(n.Value)
	}
	keepOrigin := slices.Contains(meta, types.OriginAnnotations)
	if !keepOrigin {
		if err := node.PipeE(kyaml.SetField("buildMetadata", kyaml.NewListRNode(append(meta, types.OriginAnnotations)...))); err != nil {
			return nil, false, err
		}
	}
	set := func(field, value string) error {
		if value == "" {
			return nil
		}
		return node.PipeE(kyaml.SetField(field, kyaml.NewStringRNode(value)))
	}
	for _, f := range [][2]string{{"namePrefix", opts.NamePrefix}, {"nameSuffix", opts.NameSuffix}, {"namespace", opts.Namespace}} {
		if err := set(f[0], f[1]); err != nil {
			return nil, false, err
		}
	}
	for _, f := range []struct {
		field string
		m     map[string]string
	}{{"commonLabels", opts.CommonLabels}, {"commonAnnotations", opts.CommonAnnotations}} {
		if err := mergeMap(node, f.field, f.m); err != nil {
			return nil, false, err
		}
	}
	if len(opts.Images) > 0 {
		var k types.Kustomization
		if err := yaml.Unmarshal(data, &k); err != nil {
			return nil, false, fmt.Errorf("invalid kustomization: %w", err)
		}
		images := k.Images
		for _, s := range opts.Images {
			img, err := parseImageOverride(s)
			if err != nil {
				return nil, false, err
			}
			images = mergeImage(images, img)
		}
		b, err := yaml.Marshal(images)
		if err != nil {
			return nil, false, err
		}
		list, err := kyaml.Parse(string(b))
		if err != nil {
			return nil, false, err
		}
		if err := node.PipeE(kyaml.SetField("images", list)); err != nil {
			return nil, false, err
		}
	}
	s, err := node.String()
	if err != nil {
		return nil, false, err
	}
	return []byte(s), keepOrigin, nil
}

// mergeMap sets every entry of m in the kustomization's map field, adding
// to the entries it has and replacing those with the same key. Keys are set
// in sorted order so that the edited file, and the render, do not depend on
// map order.
func mergeMap(node *kyaml.RNode, field string, m map[string]string) error {
	if len(m) == 0 {
		return nil
	}
	dst, err := node.Pipe(kyaml.LookupCreate(kyaml.MappingNode, field))
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if err := dst.PipeE(kyaml.SetField(k, kyaml.NewStringRNode(m[k]))); err != nil {
			return fmt.Errorf("%s %q: %w", field, k, err)
		}
	}
	return nil
}

// scalarList returns the scalar values of a sequence node.
func scalarList(n *kyaml.RNode) []string {
	var out []string
	for _, e := range n.YNode().Content {
		out = append(out, e.Value)
	}
	return out
}

// parseImageOverride parses an image override in `kustomize edit set image`
// form: "[name=]newName[:tag|@digest]".
func parseImageOverride(s string) (types.Image, error) {
	name, ref, renamed := strings.Cut(s, "=")
	if !renamed {
		ref = s
	}
	newName, tag, digest := ref, "", ""
	if i := strings.Index(ref, "@"); i >= 0 {
		newName, digest = ref[:i], ref[i+1:]
	} else if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		newName, tag = ref[:i], ref[i+1:]
	}
	if !renamed {
		name = newName
	}
	if name == "" || newName == "" {
		return types.Image{}, fmt.Errorf("image override %q: want [name=]newName[:tag|@digest]", s)
	}
	img := types.Image{Name: name, NewTag: tag, Digest: digest}
	if newName != name {
		img.NewName = newName
	}
	return img, nil
}

// mergeImage sets img in images: an entry with the same name takes img's
// new name, tag or digest; otherwise img is appended.
func mergeImage(images []types.Image, img types.Image) []types.Image {
	for i := range images {
		if images[i].Name != img.Name {
			continue
		}
		if img.NewName != "" {
			images[i].NewName = img.NewName
		}
		if img.NewTag != "" {
			images[i].NewTag, images[i].Digest = img.NewTag, ""
		}
		if img.Digest != "" {
			images[i].Digest, images[i].NewTag = img.Digest, ""
		}
		return images
	}
	return append(images, img)
}

// dropAnnotation removes an annotation, and the annotations map when it
// ends up empty.
func dropAnnotation(u *unstructured.Unstructured, key string) {
	a := u.GetAnnotations()
	if _, ok := a[key]; !ok {
		return
	}
	delete(a, key)
	if len(a) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", "annotations")
		return
	}
	u.SetAnnotations(a)
}

// copyFiles copies what a scan found into the in-memory file system, at
// "/" + each name: the directories, and the files the build may read. A
// file reached through a symbolic link is written where the build will look
// for it, with the content it links to. YAML whose aliases kustomize could
// not expand safely is refused (see checkAliases), and so are resource files
// holding more objects than the limits allow: kustomize takes time
// quadratic in the number of resources, so they are counted before it
// starts.
func copyFiles(fsys fs.FS, scan kustomizeScan, mem filesys.FileSystem, limits Limits) error {
	// The resources' objects, counted apart from the render's budget, which
	// counts what the build makes of them.
	count := newBudget(Limits{MaxObjects: limits.MaxObjects, MaxOutputBytes: math.MaxInt64})
	for _, d := range scan.dirs {
		if err := mem.MkdirAll("/" + d); err != nil {
			return fmt.Errorf("copying %s: %w", d, err)
		}
	}
	for _, f := range scan.files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return &Error{File: f, Err: unwrapPathError(err)}
		}
		if err := checkAliases(f, data); err != nil {
			return err
		}
		if slices.Contains(scan.resources, f) {
			// Decoding errors are kustomize's to report; its count is ours.
			if _, err := decodeYAML(f, data, count); errors.Is(err, ErrBudgetExceeded) {
				return err
			}
		}
		if err := mem.MkdirAll("/" + path.Dir(f)); err != nil {
			return fmt.Errorf("copying %s: %w", f, err)
		}
		if err := mem.WriteFile("/"+f, data); err != nil {
			return fmt.Errorf("copying %s: %w", f, err)
		}
	}
	return nil
}
