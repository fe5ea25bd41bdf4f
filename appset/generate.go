package appset

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/source"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// Bounds of generation.
const (
	// MaxApplications is the most Applications one ApplicationSet may
	// generate; a set whose generators yield more is an error, and
	// nothing is written.
	MaxApplications = 5000
	// maxNesting is how deep matrix and merge generators may nest.
	maxNesting = 3
)

// ErrGenerator is wrapped by every error of a generator: a bad shape, a
// repository or file it cannot read, too many parameter sets.
var ErrGenerator = errors.New("generator")

// GitReader reads repositories for git generators. *source.Cache is one:
// the same cache, ref listings and fetches the reconcile loop uses.
type GitReader interface {
	// Resolve returns the commit revision names in repoURL.
	Resolve(ctx context.Context, repoURL, revision string) (string, error)
	// Files returns the files of commit sha below dir.
	Files(ctx context.Context, repoURL, sha, dir string) (*source.Snapshot, error)
}

// Inputs are what generators read besides the ApplicationSet.
type Inputs struct {
	// Clusters lists the registered clusters for cluster generators. Nil
	// knows only the in-cluster cluster.
	Clusters *cluster.Registry
	// Git reads repositories for git generators. Nil refuses them.
	Git GitReader
}

// RepoRead is a repository revision a git generator read.
type RepoRead struct {
	// Repo is the repository's identity (source.NormalizeURL).
	Repo string
	// URL is the repository as the generator spells it.
	URL string
	// Revision is the revision as the generator names it.
	Revision string
	// Commit is what it resolved to.
	Commit string
}

// Generated is what a set's generators produced.
type Generated struct {
	// Params are the parameter sets, in generator order.
	Params []map[string]any
	// Reads are the repository revisions git generators read, so that a
	// push to one re-evaluates the set.
	Reads []RepoRead
}

// Generate runs every generator of set and concatenates their parameter
// sets. Errors wrap ErrGenerator (or ErrTemplate, for values and matrix
// templates) and name the generator by its index.
func Generate(ctx context.Context, set *ApplicationSet, in Inputs) (*Generated, error) {
	r, err := newRenderer(&set.Spec)
	if err != nil {
		return nil, err
	}
	if bad := set.Spec.unsupported(); len(bad) > 0 {
		return nil, fmt.Errorf("%w: %s: not supported by gyre", ErrGenerator, strings.Join(bad, ", "))
	}
	g := &generation{ctx: ctx, in: in, r: r}
	out := &Generated{}
	if len(set.Spec.Generators) == 0 {
		return nil, fmt.Errorf("%w: spec.generators is empty", ErrGenerator)
	}
	for i, gen := range set.Spec.Generators {
		params, err := g.run(gen, fmt.Sprintf("spec.generators[%d]", i), 0)
		if err != nil {
			return nil, err
		}
		out.Params = append(out.Params, params...)
		if len(out.Params) > MaxApplications {
			return nil, fmt.Errorf("%w: the generators yield more than %d parameter sets", ErrGenerator, MaxApplications)
		}
	}
	out.Reads = g.reads
	return out, nil
}

// generation is one run of a set's generators.
type generation struct {
	ctx   context.Context
	in    Inputs
	r     *renderer
	reads []RepoRead
	// outer are the parameters of the matrix sets a generator runs
	// inside, for its values.
	outer map[string]any
}

// run runs one generator.
func (g *generation) run(gen Generator, where string, depth int) ([]map[string]any, error) {
	if bad := gen.unsupported(); len(bad) > 0 {
		return nil, fmt.Errorf("%w: %s: %s not supported by gyre (list, clusters, git, matrix and merge are)", ErrGenerator, where, strings.Join(bad, ", "))
	}
	n := 0
	for _, set := range []bool{gen.List != nil, gen.Clusters != nil, gen.Git != nil, gen.Matrix != nil, gen.Merge != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, fmt.Errorf("%w: %s: set exactly one of list, clusters, git, matrix and merge (gyre supports these generators)", ErrGenerator, where)
	}
	var params []map[string]any
	var err error
	switch {
	case gen.List != nil:
		params, err = listParams(gen.List)
	case gen.Clusters != nil:
		params, err = g.clusterParams(gen.Clusters)
	case gen.Git != nil:
		params, err = g.gitParams(gen.Git)
	case gen.Matrix != nil:
		params, err = g.matrix(gen.Matrix, where+".matrix", depth+1)
	case gen.Merge != nil:
		params, err = g.merge(gen.Merge, where+".merge", depth+1)
	}
	if err != nil {
		if errors.Is(err, ErrGenerator) || errors.Is(err, ErrTemplate) {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrGenerator, where, err)
	}
	if len(params) > MaxApplications {
		return nil, fmt.Errorf("%w: %s yields %d parameter sets, more than %d", ErrGenerator, where, len(params), MaxApplications)
	}
	return params, nil
}

// listParams returns the elements, each copied.
func listParams(l *ListGenerator) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(l.Elements))
	for _, e := range l.Elements {
		out = append(out, maps.Clone(e))
	}
	if strings.TrimSpace(l.ElementsYaml) != "" {
		var more []map[string]any
		if err := yaml.Unmarshal([]byte(l.ElementsYaml), &more); err != nil {
			return nil, fmt.Errorf("list.elementsYaml: not a YAML list of objects: %w", err)
		}
		out = append(out, more...)
	}
	return out, nil
}

// clusterParams returns one set per cluster the selector picks.
func (g *generation) clusterParams(c *ClusterGenerator) ([]map[string]any, error) {
	sel, err := metav1.LabelSelectorAsSelector(&c.Selector)
	if err != nil {
		return nil, fmt.Errorf("clusters.selector: %w", err)
	}
	all := len(c.Selector.MatchLabels) == 0 && len(c.Selector.MatchExpressions) == 0
	var clusters []*cluster.Cluster
	if g.in.Clusters != nil {
		clusters = g.in.Clusters.List()
	} else {
		clusters = []*cluster.Cluster{{Name: cluster.InClusterName, Server: cluster.InClusterServer}}
	}
	var out []map[string]any
	for _, cl := range clusters {
		if !all && (cl.Secret.Name == "" || !sel.Matches(labels.Set(cl.Labels))) {
			continue
		}
		p := map[string]any{
			"name":           cl.Name,
			"nameNormalized": normalize(cl.Name),
			"server":         cl.Server,
			"project":        cl.Project,
			"metadata": map[string]any{
				"labels":      stringMap(cl.Labels),
				"annotations": stringMap(cl.Annotations),
			},
		}
		if err := g.addValues(p, c.Values, "clusters.values"); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// stringMap turns a map of strings into one templates and merges treat
// like decoded JSON.
func stringMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// addValues fills values with p (and the parameters of the matrix sets
// the generator runs inside) and stores them at p["values"].
func (g *generation) addValues(p map[string]any, values map[string]string, where string) error {
	if len(values) == 0 {
		return nil
	}
	out := make(map[string]any, len(values))
	scope := p
	if len(g.outer) > 0 {
		scope = mergeParams(g.outer, p)
	}
	for _, k := range slices.Sorted(maps.Keys(values)) {
		v, err := g.r.execute(values[k], scope)
		if err != nil {
			return fmt.Errorf("%w: %s.%s: %w", ErrTemplate, where, k, err)
		}
		out[k] = v
	}
	p["values"] = out
	return nil
}

// matrix combines every set of the first generator with every set of the
// second, whose fields may use the first's parameters.
func (g *generation) matrix(m *MatrixGenerator, where string, depth int) ([]map[string]any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("%w: %s: matrix and merge nest at most %d deep", ErrGenerator, where, maxNesting)
	}
	if len(m.Generators) != 2 {
		return nil, fmt.Errorf("%w: %s: a matrix combines exactly two generators, not %d", ErrGenerator, where, len(m.Generators))
	}
	left, err := g.run(m.Generators[0], where+".generators[0]", depth)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	for _, p1 := range left {
		second, err := g.interpolate(m.Generators[1], p1, where+".generators[1]")
		if err != nil {
			return nil, err
		}
		outer := g.outer
		g.outer = mergeParams(outer, p1)
		right, err := g.run(second, where+".generators[1]", depth)
		g.outer = outer
		if err != nil {
			return nil, err
		}
		if len(out)+len(right) > MaxApplications {
			return nil, fmt.Errorf("%w: %s yields more than %d parameter sets", ErrGenerator, where, MaxApplications)
		}
		for _, p2 := range right {
			out = append(out, mergeParams(p1, p2))
		}
	}
	return out, nil
}

// interpolate fills the fields of gen, a matrix's second generator, with
// p, the parameters of one set of the first. Its values are left alone:
// they are templates over its own parameters and p's together, filled
// when it runs (see addValues).
func (g *generation) interpolate(gen Generator, p map[string]any, where string) (Generator, error) {
	bare := gen
	if gen.Clusters != nil {
		c := *gen.Clusters
		c.Values = nil
		bare.Clusters = &c
	}
	if gen.Git != nil {
		gg := *gen.Git
		gg.Values = nil
		bare.Git = &gg
	}
	var out Generator
	if err := g.r.renderJSON(bare, p, where, &out); err != nil {
		return Generator{}, fmt.Errorf("%w: %w", ErrTemplate, err)
	}
	if gen.Clusters != nil && out.Clusters != nil {
		out.Clusters.Values = gen.Clusters.Values
	}
	if gen.Git != nil && out.Git != nil {
		out.Git.Values = gen.Git.Values
	}
	return out, nil
}

// merge overlays later generators' sets on the first's by MergeKeys.
func (g *generation) merge(m *MergeGenerator, where string, depth int) ([]map[string]any, error) {
	if depth > maxNesting {
		return nil, fmt.Errorf("%w: %s: matrix and merge nest at most %d deep", ErrGenerator, where, maxNesting)
	}
	if len(m.Generators) < 2 {
		return nil, fmt.Errorf("%w: %s: a merge needs at least two generators", ErrGenerator, where)
	}
	if len(m.MergeKeys) == 0 {
		return nil, fmt.Errorf("%w: %s: mergeKeys is empty", ErrGenerator, where)
	}
	base, err := g.run(m.Generators[0], where+".generators[0]", depth)
	if err != nil {
		return nil, err
	}
	for i, gen := range m.Generators[1:] {
		over, err := g.run(gen, fmt.Sprintf("%s.generators[%d]", where, i+1), depth)
		if err != nil {
			return nil, err
		}
		byKey := map[string]map[string]any{}
		for _, p := range over {
			if k, ok := mergeKey(p, m.MergeKeys); ok {
				if _, dup := byKey[k]; !dup {
					byKey[k] = p // the first set with a key wins, as in Argo CD
				}
			}
		}
		for j, p := range base {
			if k, ok := mergeKey(p, m.MergeKeys); ok {
				if o, found := byKey[k]; found {
					base[j] = mergeParams(p, o)
				}
			}
		}
	}
	return base, nil
}

// mergeKey is the values of p at keys (dotted paths), as one string; ok is
// false when p lacks one.
func mergeKey(p map[string]any, keys []string) (string, bool) {
	var b strings.Builder
	for _, k := range keys {
		v, ok := lookup(p, k)
		if !ok {
			return "", false
		}
		fmt.Fprintf(&b, "%q=%s\x00", k, toString(v))
	}
	return b.String(), true
}

// lookup finds a dotted path ("values.env") in p; a key that holds the dot
// itself is found first.
func lookup(p map[string]any, key string) (any, bool) {
	if v, ok := p[key]; ok {
		return v, true
	}
	head, rest, found := strings.Cut(key, ".")
	if !found {
		return nil, false
	}
	m, ok := p[head].(map[string]any)
	if !ok {
		return nil, false
	}
	return lookup(m, rest)
}

// mergeParams returns a copy of a with b laid over it: maps merge key by
// key, anything else in b replaces a's.
func mergeParams(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	maps.Copy(out, a)
	for k, v := range b {
		if bm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeParams(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
