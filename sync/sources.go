package sync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/helmrepo"
	"github.com/gyre-cd/gyre/render"
	"github.com/gyre-cd/gyre/source"
	"k8s.io/apimachinery/pkg/types"
)

// resolved is one source of an Application at the revision it resolved to.
type resolved struct {
	src app.Source
	// revision is the commit SHA, or for a chart "<version>@<digest>".
	revision string
	// chart is the chart version, for a chart source.
	chart *helmrepo.Chart
}

// errNoCharts is a chart source's error when the reconciler was built
// without a chart cache.
var errNoCharts = errors.New("charts from Helm repositories and OCI registries are not enabled on this agent")

// resolveSources resolves each source: to pinned's revision for it when
// pinned is set (a rollback, a resumed or pinned sync; one revision per
// source, joined as app.JoinRevisions joins them), else to its
// targetRevision.
func (r *Reconciler) resolveSources(ctx context.Context, srcs []app.Source, pinned string) ([]resolved, error) {
	revs := make([]string, len(srcs))
	if pinned != "" {
		parts := strings.Split(pinned, ",")
		if len(parts) != len(srcs) {
			return nil, fmt.Errorf("revision %q names %d revisions for %d sources", pinned, len(parts), len(srcs))
		}
		revs = parts
	}
	out := make([]resolved, len(srcs))
	for i, src := range srcs {
		res, err := r.resolveSource(ctx, src, revs[i])
		if err != nil {
			if len(srcs) > 1 {
				err = fmt.Errorf("source %d (%s): %w", i+1, source.Redact(src.RepoURL), err)
			}
			return nil, err
		}
		out[i] = res
	}
	return out, nil
}

// resolveSource resolves src at rev, or at its targetRevision when rev is
// empty. A chart's revision may carry the digest it was synced with
// ("6.5.4@sha256:…"); a chart that no longer has that digest is an error,
// so a rollback never deploys other content under the recorded version.
func (r *Reconciler) resolveSource(ctx context.Context, src app.Source, rev string) (resolved, error) {
	if rev == "" {
		rev = src.TargetRevision
	}
	if !src.IsChart() {
		sha, err := r.source.Resolve(ctx, src.RepoURL, rev)
		return resolved{src: src, revision: sha}, err
	}
	if r.opts.Charts == nil {
		return resolved{}, errNoCharts
	}
	version, digest, _ := strings.Cut(rev, "@")
	ch, err := r.opts.Charts.Resolve(ctx, src.RepoURL, src.Chart, version)
	if err != nil {
		return resolved{}, err
	}
	if digest != "" && ch.Digest != digest {
		return resolved{}, fmt.Errorf("chart %s version %s: the repository now serves digest %s, not %s as recorded; it was republished", ch.Name, ch.Version, ch.Digest, digest)
	}
	return resolved{src: src, revision: chartRevision(ch), chart: &ch}, nil
}

// chartRevision is the revision recorded for a chart version.
func chartRevision(ch helmrepo.Chart) string { return ch.Version + "@" + ch.Digest }

// revisionOf returns the revision of the resolved sources as status and
// history record it.
func revisionOf(rs []resolved) string {
	revs := make([]string, len(rs))
	for i, s := range rs {
		revs[i] = s.revision
	}
	return app.JoinRevisions(revs)
}

// renderSources renders every source that declares objects and returns
// their objects together, in source order. Type is the first rendered
// source's.
func (r *Reconciler) renderSources(ctx context.Context, a *app.Application, rs []resolved) (*render.Result, error) {
	out := &render.Result{}
	for i, s := range rs {
		if !s.src.Rendered() {
			continue
		}
		res, err := r.render(ctx, a, rs, i)
		if err != nil {
			if len(rs) > 1 {
				err = fmt.Errorf("source %d (%s): %w", i+1, source.Redact(s.src.RepoURL), err)
			}
			return nil, err
		}
		if out.Type == "" {
			out.Type = res.Type
		}
		out.Objects = append(out.Objects, res.Objects...)
	}
	return out, nil
}

// render returns the objects source i of rs declares, from the render cache
// when the same inputs were rendered before. The inputs are the source's
// files (a commit's tree, or a chart's), the files of the sources its Helm
// value files name with "$ref/…", and the charts its kustomizations'
// helmCharts name; the cache key holds the revision of each. A render of
// another commit of the source stands for this one when the files it read
// are the same in this commit (render.Cache.RenderContent): a push that
// changes one Application's folder of a monorepo renders that one alone.
// Only renders that ran count as renders for the Observer.
func (r *Reconciler) render(ctx context.Context, a *app.Application, rs []resolved, i int) (*render.Result, error) {
	s := rs[i]
	opts := RenderOptions(a, s.src, r.capabilitiesFor(a))
	dir := s.src.Path
	if s.chart != nil {
		dir = s.chart.Name
	}
	mounts := map[string]fs.FS{}
	keyRevs := []string{s.revision}
	if s.src.Helm != nil && len(s.src.Helm.ValueFiles) > 0 {
		files, err := r.refValueFiles(ctx, rs, dir, opts.Helm.ValueFiles, mounts, &keyRevs)
		if err != nil {
			return nil, err
		}
		opts.Helm.ValueFiles = files
	}
	files, err := r.sourceFiles(ctx, s)
	if err != nil {
		return nil, err
	}
	if t := opts.Type; !s.src.IsChart() && (t == render.Kustomize || t == render.Auto && render.Detect(files, dir) == render.Kustomize) {
		if err := r.mountKustomizeCharts(ctx, a, files, dir, mounts, &keyRevs); err != nil {
			return nil, err
		}
	}
	key := strings.Join(keyRevs, ",")
	if res, ok := r.cachedRender(ctx, render.NewKey(key, dir, opts)); ok {
		return res, nil
	}
	// Renders of other commits stand for this one only with the same
	// repository and the same other inputs.
	inputs := s.src.RepoURL + " " + strings.Join(keyRevs[1:], ",")
	start := time.Now()
	res, fresh, err := r.renders.RenderContent(ctx, key, inputs, render.Mount(files, mounts), dir, opts)
	if err == nil && fresh {
		r.opts.Observer.Rendered(string(res.Type), time.Since(start))
	}
	return res, err
}

// sourceFiles returns the file tree of a resolved source: the commit's,
// rooted at the repository, or the chart's, with the chart in a directory
// named after it.
func (r *Reconciler) sourceFiles(ctx context.Context, s resolved) (fs.FS, error) {
	if s.chart != nil {
		return r.opts.Charts.Files(ctx, *s.chart)
	}
	return r.source.Files(ctx, s.src.RepoURL, s.revision, "")
}

// refValueFiles rewrites the Helm value files of a source rendered at dir:
// "$ref/path" becomes the same file of the source with that ref, mounted
// at "$ref" beside the source's own files and named relative to dir, as
// render takes value files. The ref's revision joins the cache key.
func (r *Reconciler) refValueFiles(ctx context.Context, rs []resolved, dir string, files []string, mounts map[string]fs.FS, keyRevs *[]string) ([]string, error) {
	out := make([]string, len(files))
	for j, f := range files {
		ref, ok := app.ValueFileRef(f)
		if !ok {
			out[j] = f
			continue
		}
		mount := "$" + ref
		if _, done := mounts[mount]; !done {
			var from *resolved
			for k := range rs {
				if rs[k].src.Ref == ref {
					from = &rs[k]
				}
			}
			if from == nil {
				return nil, fmt.Errorf("helm value file %q: no source has ref %q", f, ref)
			}
			fsys, err := r.sourceFiles(ctx, *from)
			if err != nil {
				return nil, fmt.Errorf("helm value file %q: %w", f, err)
			}
			mounts[mount] = fsys
			*keyRevs = append(*keyRevs, ref+"="+from.revision)
		}
		out[j] = path.Join(upTo(dir), f)
	}
	return out, nil
}

// upTo returns the relative path from dir up to the root of the tree ("."
// for the root, "../.." for a/b).
func upTo(dir string) string {
	dir = path.Clean(dir)
	if dir == "." || dir == "" || dir == "/" {
		return "."
	}
	return strings.TrimSuffix(strings.Repeat("../", strings.Count(dir, "/")+1), "/")
}

// mountKustomizeCharts fetches the charts that the helmCharts of the
// kustomizations at dir name from Helm repositories and OCI registries,
// and mounts each where render looks for it. A chart repository is a
// source like any other: the Application's project must allow it. Their
// versions join the cache key.
func (r *Reconciler) mountKustomizeCharts(ctx context.Context, a *app.Application, files fs.FS, dir string, mounts map[string]fs.FS, keyRevs *[]string) error {
	refs, err := render.KustomizeHelmCharts(files, dir)
	if err != nil || len(refs) == 0 {
		return err // the build reports what is wrong with the kustomization
	}
	if r.opts.Charts == nil {
		return fmt.Errorf("%s: helmCharts %q from %s: %w", refs[0].File, refs[0].Name, source.Redact(refs[0].Repo), errNoCharts)
	}
	pol := r.policy(a, nil)
	charts := map[string]fs.FS{}
	used := map[string]bool{}
	defer func() {
		r.mu.Lock()
		if r.chartUsers == nil {
			r.chartUsers = map[types.NamespacedName]map[string]bool{}
		}
		r.chartUsers[a.Key()] = used
		r.mu.Unlock()
	}()
	for _, ref := range refs {
		if v := pol.Source(ref.Repo); v != nil {
			return fmt.Errorf("%s: helmCharts %q: %w", ref.File, ref.Name, v)
		}
		if key, err := helmrepo.Key(ref.Repo); err == nil {
			used[key] = true
		}
		ch, err := r.opts.Charts.Resolve(ctx, ref.Repo, ref.Name, ref.Version)
		if err != nil {
			return fmt.Errorf("%s: helmCharts %q: %w", ref.File, ref.Name, err)
		}
		fsys, err := r.opts.Charts.Files(ctx, ch)
		if err != nil {
			return fmt.Errorf("%s: helmCharts %q: %w", ref.File, ref.Name, err)
		}
		// ChartMountPath is "$charts/<id>/<name>"; the chart's tree holds
		// <name>/ at its root, so it is mounted at <id>.
		id := path.Base(path.Dir(render.ChartMountPath(ref.Repo, ref.Name, ref.Version)))
		charts[id] = fsys
		*keyRevs = append(*keyRevs, ref.Name+"="+chartRevision(ch))
	}
	mounts[render.ChartsMount] = render.Mount(nil, charts)
	return nil
}
