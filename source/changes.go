package source

import (
	"context"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ChangedPaths returns the paths of the files that differ between commits
// from and to (added, deleted, modified, and both names of a rename),
// sorted, so that a push touching only apps/a/ need not re-render apps/b/.
// Both are full commit SHAs; a commit not in the cache is fetched first. The
// comparison reads only the two trees, so it works on shallow history.
func (c *Cache) ChangedPaths(ctx context.Context, repoURL, from, to string) ([]string, error) {
	rev := from + ".." + to
	r, err := c.repository(repoURL)
	if err != nil {
		return nil, urlError(OpChangedPaths, repoURL, rev, err)
	}
	fail := func(err error) ([]string, error) { return nil, r.errorf(OpChangedPaths, rev, "", err) }
	fromCommit, err := c.ensureCommit(ctx, r, from)
	if err != nil {
		return fail(err)
	}
	toCommit, err := c.ensureCommit(ctx, r, to)
	if err != nil {
		return fail(err)
	}

	r.storeMu.Lock()
	defer r.storeMu.Unlock()
	trees := make([]*object.Tree, 2)
	for i, h := range [2]plumbing.Hash{fromCommit, toCommit} {
		co, err := object.GetCommit(r.store, h)
		if err != nil {
			return fail(err)
		}
		if trees[i], err = co.Tree(); err != nil {
			return fail(err)
		}
	}
	changes, err := object.DiffTreeWithOptions(ctx, trees[0], trees[1], nil)
	if err != nil {
		return fail(err)
	}
	seen := map[string]bool{}
	var paths []string
	for _, ch := range changes {
		for _, name := range []string{ch.From.Name, ch.To.Name} {
			if name != "" && !seen[name] {
				seen[name] = true
				paths = append(paths, name)
			}
		}
	}
	sort.Strings(paths)
	return paths, nil
}
