package appset

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// newSet returns an ApplicationSet in namespace "team" whose template is
// tmpl with goTemplate on.
func newSet(tmpl Template, opts ...string) *ApplicationSet {
	return &ApplicationSet{
		ObjectMeta: metav1.ObjectMeta{Name: "set", Namespace: "team", UID: "set-uid"},
		Spec:       Spec{GoTemplate: true, GoTemplateOptions: opts, Template: tmpl},
	}
}

func guestbookTemplate() Template {
	return Template{
		Metadata: TemplateMeta{Name: "{{ .name }}-guestbook", Labels: map[string]string{"env": "{{ .env | default \"dev\" }}"}},
		Spec: app.Spec{
			Project:     "default",
			Source:      app.Source{RepoURL: "https://git.example.com/apps.git", Path: "guestbook/{{ .name }}"},
			Destination: app.Destination{Server: "{{ .server }}", Namespace: "{{ normalize .name }}"},
		},
	}
}

func TestRender(t *testing.T) {
	a, err := Render(newSet(guestbookTemplate()), map[string]any{"name": "Eng_Prod", "server": "https://kubernetes.default.svc"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "Eng_Prod-guestbook" || a.Namespace != "team" || a.Labels["env"] != "dev" {
		t.Errorf("metadata = %s/%s %v", a.Namespace, a.Name, a.Labels)
	}
	if a.Spec.Source.Path != "guestbook/Eng_Prod" || a.Spec.Destination.Namespace != "eng-prod" || a.Spec.Destination.Server != "https://kubernetes.default.svc" {
		t.Errorf("spec = %+v", a.Spec)
	}
	if a.Kind != app.ApplicationKind || a.APIVersion != "gyre.dev/v1alpha1" {
		t.Errorf("type = %s %s", a.APIVersion, a.Kind)
	}
}

// TestRenderKeysAndNested: map keys are templates too, and nested
// parameters (git paths, cluster metadata) are reached with dots.
func TestRenderKeysAndNested(t *testing.T) {
	tmpl := guestbookTemplate()
	tmpl.Metadata.Name = "{{ .path.basename }}"
	tmpl.Metadata.Annotations = map[string]string{"team.example.com/{{ .path.basename }}": "{{ index .path.segments 0 }}"}
	a, err := Render(newSet(tmpl), map[string]any{"name": "x", "server": "s", "path": map[string]any{"basename": "api", "segments": []any{"apps", "api"}}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "api" || a.Annotations["team.example.com/api"] != "apps" {
		t.Errorf("got %s %v", a.Name, a.Annotations)
	}
}

func TestFuncs(t *testing.T) {
	params := map[string]any{"s": "Hello World", "list": []any{"a", "b"}, "n": 3.0, "empty": "", "obj": map[string]any{"k": "v"}}
	for _, tc := range []struct{ tmpl, want string }{
		{`{{ lower .s }}`, "hello world"},
		{`{{ upper .s }}`, "HELLO WORLD"},
		{`{{ trimPrefix "Hello " .s }}`, "World"},
		{`{{ trimSuffix " World" .s }}`, "Hello"},
		{`{{ replace " " "-" .s }}`, "Hello-World"},
		{`{{ .empty | default "fallback" }}`, "fallback"},
		{`{{ .s | default "fallback" }}`, "Hello World"},
		{`{{ empty .empty }}`, "true"},
		{`{{ quote .s }}`, `"Hello World"`},
		{`{{ squote .s }}`, `'Hello World'`},
		{`{{ toJson .obj }}`, `{"k":"v"}`},
		{`{{ join "," .list }}`, "a,b"},
		{`{{ join "/" (splitList "." "a.b.c") }}`, "a/b/c"},
		{`{{ base "apps/api" }} {{ dir "apps/api" }} {{ ext "x.yaml" }} {{ clean "a//b/../c" }}`, "api apps .yaml a/c"},
		{`{{ normalize "Team_A/Prod" }}`, "team-a-prod"},
		{`{{ trunc 5 .s }}|{{ trunc -5 .s }}`, "Hello|World"},
		{`{{ b64enc "gyre" }} {{ b64dec "Z3lyZQ==" }}`, "Z3lyZQ== gyre"},
		{`{{ sha256sum "" | trunc 8 }}`, "e3b0c442"},
		{`{{ regexMatch "^H" .s }} {{ regexReplaceAll "o" .s "0" }}`, "true Hell0 W0rld"},
		{`{{ contains "World" .s }} {{ hasPrefix "He" .s }} {{ hasSuffix "x" .s }}`, "true true false"},
		{`{{ toString .n }} {{ trim "  x " }} {{ trimAll "-" "--x--" }}`, "3 x x"},
		{`{{ range .list }}[{{ . }}]{{ end }}`, "[a][b]"},
	} {
		r, _ := newRenderer(&Spec{GoTemplate: true})
		got, err := r.execute(tc.tmpl, params)
		if err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
}

// TestFuncsDocumented: the README lists every template function, so that
// users know the set, and lists no function that is gone.
func TestFuncsDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "## ApplicationSets")
	if !ok {
		t.Fatal(`README has no "## ApplicationSets" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	for name := range Funcs() {
		if !strings.Contains(section, "`"+name+"`") {
			t.Errorf("README's ApplicationSets section does not list the template function %q", name)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	params := map[string]any{"name": "a", "server": "s", "big": strings.Repeat("x", maxFieldOutput+1)}
	for _, tc := range []struct {
		name   string
		change func(s *ApplicationSet)
		want   string
	}{
		{"fasttemplate", func(s *ApplicationSet) { s.Spec.GoTemplate = false }, "goTemplate must be true"},
		{"unknown option", func(s *ApplicationSet) { s.Spec.GoTemplateOptions = []string{"missingkey=maybe"} }, `"missingkey=maybe"`},
		{"missing key", func(s *ApplicationSet) {
			s.Spec.GoTemplateOptions = []string{"missingkey=error"}
			s.Spec.Template.Metadata.Labels = nil
			s.Spec.Template.Spec.Source.Path = "{{ .nope }}"
		}, `template.spec.source.path: :1:3: at <.nope>: map has no entry for key "nope"`},
		{"parse error", func(s *ApplicationSet) { s.Spec.Template.Metadata.Name = "{{ .name " }, "template.metadata.name: "},
		{"unknown function", func(s *ApplicationSet) { s.Spec.Template.Metadata.Name = `{{ env "HOME" }}` }, `function "env" not defined`},
		{"empty name", func(s *ApplicationSet) { s.Spec.Template.Metadata.Name = `{{ "" }}` }, "renders empty"},
		{"other namespace", func(s *ApplicationSet) { s.Spec.Template.Metadata.Namespace = "kube-system" }, `an ApplicationSet creates Applications in its own namespace "team" only`},
		{"templated other namespace", func(s *ApplicationSet) { s.Spec.Template.Metadata.Namespace = "{{ .name }}" }, `namespace renders "a"`},
		{"output bound", func(s *ApplicationSet) { s.Spec.Template.Spec.Source.Path = "{{ .big }}" }, "renders to more than"},
		{"output bound by loop", func(s *ApplicationSet) {
			s.Spec.Template.Spec.Source.Path = `{{ range 1000 }}` + strings.Repeat("x", 100) + `{{ end }}`
		}, "renders to more than"},
		{"range too long", func(s *ApplicationSet) { s.Spec.Template.Spec.Source.Path = "{{ range 100000000 }}{{ end }}" }, "range over 100000000: at most 1000"},
		{"nested range", func(s *ApplicationSet) {
			s.Spec.Template.Spec.Source.Path = "{{ range .l }}{{ range .l }}{{ end }}{{ end }}"
		}, "a range inside a range"},
		{"recursion", func(s *ApplicationSet) {
			s.Spec.Template.Spec.Source.Path = `{{ define "a" }}{{ template "a" }}{{ end }}{{ template "a" }}`
		}, "named templates"},
		{"function error", func(s *ApplicationSet) { s.Spec.Template.Metadata.Name = `{{ b64dec "%%" }}` }, "illegal base64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSet(guestbookTemplate())
			tc.change(s)
			_, err := Render(s, params)
			if err == nil || !errors.Is(err, ErrTemplate) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrTemplate containing %q", err, tc.want)
			}
		})
	}
}

// TestRenderLeavesSetAlone: rendering never changes the set's template,
// which the next parameter set fills again.
func TestRenderLeavesSetAlone(t *testing.T) {
	s := newSet(guestbookTemplate())
	for _, name := range []string{"a", "b"} {
		a, err := Render(s, map[string]any{"name": name, "server": "s"})
		if err != nil || a.Name != name+"-guestbook" {
			t.Fatalf("%s: %v %v", name, a, err)
		}
		a.Labels["x"] = "y"
	}
	if s.Spec.Template.Metadata.Name != "{{ .name }}-guestbook" || slices.Contains([]string{"y"}, s.Spec.Template.Metadata.Labels["x"]) {
		t.Errorf("template changed: %+v", s.Spec.Template.Metadata)
	}
}
