package examples

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gyre-cd/gyre/app"
)

// files are the examples as Seed writes them. The all: prefix keeps files
// whose names start with "_" or "." (a chart's _helpers.tpl).
//
//go:embed README.md all:guestbook all:podinfo-kustomize all:hello-helm
var files embed.FS

// Branch is the branch Seed commits the examples to and the targetRevision
// of the Applications.
const Branch = "main"

// PartOfLabel is the label key set on every example Application, with the
// value "gyre-examples", so they can be listed or deleted together.
const PartOfLabel = "app.kubernetes.io/part-of"

// FS returns the example files, rooted where the seeded repository is
// rooted: README.md and one directory per example.
func FS() fs.FS { return files }

// Seed makes dir a git repository holding the examples, unless it is one
// already. A new repository gets one commit on Branch, authored and
// committed by "gyre <gyre@localhost>" at now, with HEAD on Branch and the
// files checked out, so the user can edit and commit there.
//
// An existing repository is left untouched, whatever it holds now, and
// created is false. The repository is built in a temporary sibling of dir
// and renamed into place, so a crash part-way never leaves a half-made
// repository at dir (a crash may leave the temporary .<name>.seeding-*
// directory behind, which is safe to delete); an empty directory at dir is
// replaced, anything else that is not a repository is an error.
func Seed(dir string, now time.Time) (created bool, err error) {
	dir, err = filepath.Abs(dir)
	if err != nil {
		return false, fmt.Errorf("examples repository %s: %w", dir, err)
	}
	if isRepository(dir) {
		return false, nil
	}
	empty, err := isEmptyOrMissing(dir)
	if err != nil {
		return false, fmt.Errorf("examples repository %s: %w", dir, err)
	}
	if !empty {
		return false, fmt.Errorf("examples repository %s: it exists and is not a git repository; move it aside or remove it", dir)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return false, fmt.Errorf("examples repository %s: %w", dir, unwrapPathError(err))
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".seeding-")
	if err != nil {
		return false, fmt.Errorf("examples repository %s: %w", dir, unwrapPathError(err))
	}
	defer func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	if err := writeRepository(tmp, now); err != nil {
		return false, fmt.Errorf("examples repository %s: %w", dir, err)
	}
	// rename(2) replaces an empty directory on Linux but not everywhere.
	os.Remove(dir)
	if err := os.Rename(tmp, dir); err != nil {
		if isRepository(dir) {
			// Another Seed finished first; its repository stands.
			return false, nil
		}
		return false, fmt.Errorf("examples repository %s: %w", dir, err)
	}
	tmp = ""
	return true, nil
}

// isRepository reports whether dir opens as a git repository.
func isRepository(dir string) bool {
	_, err := gogit.PlainOpen(dir)
	return err == nil
}

// isEmptyOrMissing reports whether dir does not exist or is an empty
// directory.
func isEmptyOrMissing(dir string) (bool, error) {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, unwrapPathError(err)
	case !info.IsDir():
		return false, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, unwrapPathError(err)
	}
	return len(entries) == 0, nil
}

// writeRepository initialises a repository in dir, writes the examples into
// its worktree and commits them on Branch.
func writeRepository(dir string, now time.Time) error {
	repo, err := gogit.PlainInitWithOptions(dir, &gogit.PlainInitOptions{
		InitOptions: gogit.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(Branch)},
	})
	if err != nil {
		return fmt.Errorf("git init: %w", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	err = fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || name == "." {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if d.IsDir() {
			return os.Mkdir(p, 0o755)
		}
		data, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		_, err = wt.Add(name)
		return err
	})
	if err != nil {
		return fmt.Errorf("write examples: %w", err)
	}
	sig := &object.Signature{Name: "gyre", Email: "gyre@localhost", When: now}
	_, err = wt.Commit("Add the examples that gyre up deploys\n", &gogit.CommitOptions{Author: sig, Committer: sig})
	if err != nil {
		return fmt.Errorf("git commit: %w", err)
	}
	return nil
}

func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// Applications returns the Applications that deploy the examples from the
// repository at repoURL (as Seed made it) into the cluster. They live in
// namespace and deploy to namespaces of their own, demo-<name>, which sync
// creates. Sync is automated, with prune and self-heal, so a commit to the
// repository shows up in the cluster without a click.
func Applications(repoURL, namespace string) []*app.Application {
	return []*app.Application{
		application(repoURL, namespace, "guestbook", "guestbook"),
		application(repoURL, namespace, "podinfo", "podinfo-kustomize/overlays/demo"),
		application(repoURL, namespace, "hello-helm", "hello-helm"),
	}
}

// application returns one example Application named name that deploys path
// to the namespace demo-<name>.
func application(repoURL, namespace, name, path string) *app.Application {
	return &app.Application{
		TypeMeta: metav1.TypeMeta{APIVersion: app.SchemeGroupVersion().String(), Kind: app.ApplicationKind},
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: namespace,
			Labels:    map[string]string{PartOfLabel: "gyre-examples"},
		},
		Spec: app.Spec{
			Source:      app.Source{RepoURL: repoURL, TargetRevision: Branch, Path: path},
			Destination: app.Destination{Namespace: "demo-" + name},
			SyncPolicy: &app.SyncPolicy{
				Automated:   &app.AutomatedSync{Prune: true, SelfHeal: true},
				SyncOptions: app.SyncOptions{string(app.OptionCreateNamespace) + "=true"},
			},
		},
	}
}
