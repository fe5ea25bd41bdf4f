package render_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gyre-cd/gyre/render"
)

// benchChart is a chart of 10 components × 5 objects (Deployment, Service,
// ConfigMap, ServiceAccount, HorizontalPodAutoscaler) = 50 objects, with
// helpers and values, the size of a typical application chart.
func benchChart() fstest.MapFS {
	fsys := fstest.MapFS{
		"bench/Chart.yaml": file("apiVersion: v2\nname: bench\nversion: 1.0.0\n"),
		"bench/templates/_helpers.tpl": file(`{{- define "bench.labels" -}}
app.kubernetes.io/name: {{ .name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ .root.Chart.Name }}-{{ .root.Chart.Version }}
{{- end }}
`),
	}
	var values strings.Builder
	values.WriteString("image:\n  repository: example.com/app\n  tag: \"1.0\"\ncomponents:\n")
	for i := range 10 {
		name := fmt.Sprintf("svc%d", i)
		fmt.Fprintf(&values, "  %s:\n    replicas: %d\n    port: %d\n    env: {LOG_LEVEL: info, MODE: fast}\n", name, i%3+1, 8000+i)
		fsys["bench/templates/"+name+".yaml"] = file(strings.ReplaceAll(`{{- $c := index .Values.components "NAME" }}
{{- $ctx := dict "name" "NAME" "root" . }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-NAME
  labels: {{- include "bench.labels" $ctx | nindent 4 }}
spec:
  replicas: {{ $c.replicas }}
  selector:
    matchLabels: {{- include "bench.labels" $ctx | nindent 6 }}
  template:
    metadata:
      labels: {{- include "bench.labels" $ctx | nindent 8 }}
    spec:
      serviceAccountName: {{ .Release.Name }}-NAME
      containers:
        - name: NAME
          image: "{{ .Values.image.repository }}/NAME:{{ .Values.image.tag }}"
          ports:
            - containerPort: {{ $c.port }}
          envFrom:
            - configMapRef:
                name: {{ .Release.Name }}-NAME
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-NAME
  labels: {{- include "bench.labels" $ctx | nindent 4 }}
spec:
  selector: {{- include "bench.labels" $ctx | nindent 4 }}
  ports:
    - port: 80
      targetPort: {{ $c.port }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-NAME
data:
  {{- range $k, $v := $c.env }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .Release.Name }}-NAME
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ .Release.Name }}-NAME
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ .Release.Name }}-NAME
  minReplicas: {{ $c.replicas }}
  maxReplicas: 10
`, "NAME", name))
	}
	fsys["bench/values.yaml"] = file(values.String())
	return fsys
}

var benchHelmOpts = render.Options{Helm: render.HelmOptions{
	ReleaseName: "shop",
	Namespace:   "prod",
	Parameters:  []render.Parameter{{Name: "image.tag", Value: "2.0"}},
}}

func BenchmarkHelm50Cold(b *testing.B) {
	fsys := benchChart()
	benchRender(b, 50, func() (*render.Result, error) { return render.Render(fsys, "bench", benchHelmOpts) })
}

func BenchmarkHelm50Cached(b *testing.B) {
	fsys := benchChart()
	c := render.NewCache(render.CacheOptions{})
	benchRender(b, 50, func() (*render.Result, error) { return c.Render("0123abcd", fsys, "bench", benchHelmOpts) })
}

func BenchmarkKustomize3LevelCold(b *testing.B) {
	fsys := loadMapFS(b, "testdata/kustomize-3level/in")
	benchRender(b, 2, func() (*render.Result, error) { return render.Render(fsys, "region/prod-eu", render.Options{}) })
}

func BenchmarkKustomize3LevelCached(b *testing.B) {
	fsys := loadMapFS(b, "testdata/kustomize-3level/in")
	c := render.NewCache(render.CacheOptions{})
	benchRender(b, 2, func() (*render.Result, error) { return c.Render("0123abcd", fsys, "region/prod-eu", render.Options{}) })
}

// benchRender runs fn in the benchmark loop, checking it renders want objects.
func benchRender(b *testing.B, want int, fn func() (*render.Result, error)) {
	b.ReportAllocs()
	for b.Loop() {
		res, err := fn()
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Objects) != want {
			b.Fatalf("rendered %d objects, want %d", len(res.Objects), want)
		}
	}
}
