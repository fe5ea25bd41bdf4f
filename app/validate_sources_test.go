package app_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
)

func TestValidateSources(t *testing.T) {
	git := func(path, ref string) app.Source {
		return app.Source{RepoURL: "https://git.example.com/config.git", Path: path, Ref: ref}
	}
	chart := app.Source{RepoURL: "https://charts.example.com", Chart: "podinfo", TargetRevision: "6.*"}
	withValues := func(s app.Source, files ...string) app.Source {
		s.Helm = &app.HelmSource{ValueFiles: files}
		return s
	}
	tests := []struct {
		name string
		spec app.Spec
		want []string // substrings of the problems; none means valid
	}{
		{"one git source", app.Spec{Source: git("guestbook", "")}, nil},
		{"one chart", app.Spec{Source: chart}, nil},
		{"oci without chart", app.Spec{Source: app.Source{RepoURL: "oci://registry.example.com/charts/podinfo"}}, nil},
		{"chart and values from git", app.Spec{Sources: []app.Source{withValues(chart, "$values/prod.yaml"), git("", "values")}}, nil},
		{"ref source rendered too", app.Spec{Sources: []app.Source{git("a", "shared"), withValues(chart, "$shared/a/values.yaml")}}, nil},
		{"both", app.Spec{Source: git("a", ""), Sources: []app.Source{git("b", "")}}, []string{"spec.source and spec.sources are both set"}},
		{"chart with path", app.Spec{Source: app.Source{RepoURL: "https://charts.example.com", Chart: "x", Path: "charts/x"}}, []string{`spec.source.path "charts/x": a chart`}},
		{"chart with kustomize", app.Spec{Source: app.Source{RepoURL: "oci://r.example.com/x", Kustomize: &app.KustomizeSource{}}}, []string{"spec.source: a chart is rendered with Helm"}},
		{"ref on a single source", app.Spec{Source: git("a", "values")}, []string{"spec.source.ref: a ref names a source"}},
		{"ref not a name", app.Spec{Sources: []app.Source{chart, git("", "my values")}}, []string{`spec.sources[1].ref "my values": use letters`}},
		{"ref twice", app.Spec{Sources: []app.Source{chart, git("", "v"), git("", "v")}}, []string{`spec.sources[2].ref "v": another source has this ref`}},
		{"ref on a chart", app.Spec{Sources: []app.Source{git("a", ""), {RepoURL: "https://charts.example.com", Chart: "x", Ref: "c"}}}, []string{"a ref must be a git source"}},
		{"unknown ref", app.Spec{Sources: []app.Source{withValues(chart, "$nothere/prod.yaml"), git("", "values")}}, []string{`spec.sources[0].helm.valueFiles[0] "$nothere/prod.yaml": no source in spec.sources has ref "nothere"`}},
		{"ref value file on a single source", app.Spec{Source: withValues(chart, "$values/prod.yaml")}, []string{`spec.source.helm.valueFiles[0] "$values/prod.yaml": no source`}},
		{"only refs", app.Spec{Sources: []app.Source{git("", "a"), git("", "b")}}, []string{"nothing is rendered"}},
		{"two types in one of sources", app.Spec{Sources: []app.Source{{RepoURL: "https://git.example.com/x.git", Helm: &app.HelmSource{}, Directory: &app.DirectorySource{}}}}, []string{"spec.sources[0]: helm, directory are all set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &app.Application{Spec: tt.spec}
			err := a.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want valid", err)
				}
				return
			}
			var se *app.SpecError
			if !errors.As(err, &se) {
				t.Fatalf("Validate() = %v, want a *SpecError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestSourceListAndDeclaredType(t *testing.T) {
	one := app.Spec{Source: app.Source{RepoURL: "r"}}
	if got := one.SourceList(); len(got) != 1 || got[0].RepoURL != "r" {
		t.Fatalf("SourceList of a single source = %+v", got)
	}
	many := app.Spec{Sources: []app.Source{{RepoURL: "a"}, {RepoURL: "b"}}}
	if got := many.SourceList(); len(got) != 2 || got[1].RepoURL != "b" {
		t.Fatalf("SourceList of sources = %+v", got)
	}
	for _, s := range []app.Source{{RepoURL: "https://c.example.com", Chart: "x"}, {RepoURL: "OCI://r.example.com/x"}} {
		if !s.IsChart() || s.DeclaredType() != app.SourceHelm {
			t.Errorf("%+v: IsChart %v, DeclaredType %q; want a Helm chart", s, s.IsChart(), s.DeclaredType())
		}
	}
	if s := (app.Source{RepoURL: "r", Ref: "v"}); s.Rendered() {
		t.Error("a ref source without a path is rendered")
	}
	if got := app.JoinRevisions([]string{"abc", "1.2.3@sha256:00"}); got != "abc,1.2.3@sha256:00" {
		t.Errorf("JoinRevisions = %q", got)
	}
}
