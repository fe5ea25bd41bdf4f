package main

import (
	"context"
	"errors"

	"github.com/gyre-cd/gyre/diff"
	"github.com/gyre-cd/gyre/source"
	gyresync "github.com/gyre-cd/gyre/sync"
	"github.com/gyre-cd/gyre/web"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// The reconciler looks at an Application at another revision, and
// refreshes hard, for the API: web serves GET .../diff?revision=,
// GET .../manifests and POST .../refresh?hard=true through these.
var (
	_ web.RevisionBackend = (*webBackend)(nil)
	_ web.HardRefresher   = (*webBackend)(nil)
)

// DiffAt compares an Application with its render at revision.
func (b *webBackend) DiffAt(ctx context.Context, key types.NamespacedName, revision string) ([]diff.Result, string, error) {
	res, rev, err := b.Reconciler.DiffAt(ctx, key, revision)
	return res, rev, revisionError(key, err)
}

// RenderAt renders an Application at revision.
func (b *webBackend) RenderAt(ctx context.Context, key types.NamespacedName, revision string) ([]*unstructured.Unstructured, string, error) {
	objs, rev, err := b.Reconciler.RenderAt(ctx, key, revision)
	return objs, rev, revisionError(key, err)
}

// revisionError is webError, and a 400 for a revision the repository does
// not have or that does not fit the Application's sources: the caller
// named it.
func revisionError(key types.NamespacedName, err error) error {
	var re *gyresync.RevisionError
	if errors.Is(err, source.ErrRevisionNotFound) || errors.As(err, &re) {
		return classified{err, web.ErrBadRequest}
	}
	return webError(key, err)
}
