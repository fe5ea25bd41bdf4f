package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// Type names how a source path is rendered.
type Type string

// The source types. The zero value asks Render to detect the type from the
// files at the path.
const (
	// Auto detects the type: Chart.yaml means Helm, a kustomization file means
	// Kustomize, anything else is a Directory.
	Auto Type = ""
	// Directory reads plain YAML and JSON manifests.
	Directory Type = "Directory"
	// Kustomize builds a kustomization with the kustomize library.
	Kustomize Type = "Kustomize"
	// Helm renders a chart with the Helm library, offline.
	Helm Type = "Helm"
)

// ParseType returns the Type named by s, matched without regard to case;
// "" is Auto. Any other name is an error wrapping ErrUnknownType.
func ParseType(s string) (Type, error) {
	for _, t := range []Type{Auto, Directory, Kustomize, Helm} {
		if strings.EqualFold(string(t), s) {
			return t, nil
		}
	}
	return Auto, fmt.Errorf("source type %q: %w (want Directory, Kustomize or Helm)", s, ErrUnknownType)
}

// Options says how to render one source path. The zero value renders with
// automatic type detection and each renderer's defaults. Field names follow
// the Application's spec.source fields.
type Options struct {
	// Type forces the source type; Auto ("") detects it.
	Type Type `json:"type,omitempty"`
	// Directory holds the options of plain manifest directories.
	Directory DirectoryOptions `json:"directory,omitzero"`
	// Kustomize holds the Application-level overrides applied to a kustomization.
	Kustomize KustomizeOptions `json:"kustomize,omitzero"`
	// Helm holds the release and values of a Helm chart.
	Helm HelmOptions `json:"helm,omitzero"`
	// Capabilities describes the target cluster to Helm templates
	// (.Capabilities). Nil means Helm's defaults.
	Capabilities *Capabilities `json:"capabilities,omitempty"`
	// Limits bound what the render may read and produce; the zero value
	// means DefaultLimits. They are the operator's, not the Application's.
	Limits Limits `json:"limits,omitzero"`
}

// DirectoryOptions controls which files of a plain directory are read.
//
// Include and Exclude hold glob patterns matched against slash-separated
// paths relative to the source path. A pattern without a slash matches a
// file's base name at any depth ("*.yaml"); a pattern with a slash matches
// the whole relative path ("base/*.yaml"). In both, "*", "?" and "[…]" work
// as in path.Match (never crossing a "/"), a "**" segment matches any number
// of directories ("apps/**/deploy.yaml"), and "{a,b}" lists alternatives. A
// pattern that matches a directory matches every file below it ("vendor").
// A file is read when it matches an Include pattern (or Include is empty)
// and no Exclude pattern.
type DirectoryOptions struct {
	// Recurse reads subdirectories too.
	Recurse bool `json:"recurse,omitempty"`
	// Include keeps only files that match one of these patterns.
	Include []string `json:"include,omitempty"`
	// Exclude drops files that match one of these patterns.
	Exclude []string `json:"exclude,omitempty"`
}

// KustomizeOptions are overrides applied to the target kustomization as
// `kustomize edit` would apply them (Argo CD's semantics): they replace or
// merge into the kustomization's own fields.
type KustomizeOptions struct {
	// Images sets or replaces image entries, "name=newName:tag",
	// "name:tag", "name@sha256:…" or "name=newName".
	Images []string `json:"images,omitempty"`
	// NamePrefix replaces the kustomization's namePrefix.
	NamePrefix string `json:"namePrefix,omitempty"`
	// NameSuffix replaces the kustomization's nameSuffix.
	NameSuffix string `json:"nameSuffix,omitempty"`
	// Namespace replaces the kustomization's namespace.
	Namespace string `json:"namespace,omitempty"`
	// CommonLabels are added to (and override) the kustomization's commonLabels.
	CommonLabels map[string]string `json:"commonLabels,omitempty"`
	// CommonAnnotations are added to (and override) the kustomization's
	// commonAnnotations.
	CommonAnnotations map[string]string `json:"commonAnnotations,omitempty"`
}

// HelmOptions are the release and values of a Helm chart. Values are merged
// in Helm's order: the chart's values.yaml, then ValueFiles in order, then
// Values, then Parameters.
type HelmOptions struct {
	// ReleaseName is .Release.Name; empty means the chart's name.
	ReleaseName string `json:"releaseName,omitempty"`
	// Namespace is .Release.Namespace; empty means "default".
	Namespace string `json:"namespace,omitempty"`
	// ValueFiles are values files relative to the chart directory; they may
	// point elsewhere in the repository ("../values/prod.yaml") but not out of it.
	ValueFiles []string `json:"valueFiles,omitempty"`
	// IgnoreMissingValueFiles skips value files that do not exist instead of
	// failing.
	IgnoreMissingValueFiles bool `json:"ignoreMissingValueFiles,omitempty"`
	// Values is inline values YAML.
	Values string `json:"values,omitempty"`
	// Parameters are --set (or, with ForceString, --set-string) overrides.
	Parameters []Parameter `json:"parameters,omitempty"`
	// SkipCRDs leaves the chart's crds/ directory out.
	SkipCRDs bool `json:"skipCrds,omitempty"`
	// SkipSchemaValidation does not check values against values.schema.json.
	// When checked, a schema must be self-contained: render validates
	// offline, and a $ref or $schema naming any other document (but the
	// standard JSON Schema drafts) is an error.
	SkipSchemaValidation bool `json:"skipSchemaValidation,omitempty"`
}

// Parameter is one --set override: Name is a strvals path ("image.tag",
// "list[0].name"), Value its value. Commas in Value are literal unless the
// value is a {a,b} list.
type Parameter struct {
	// Name is the dotted path of the value to set.
	Name string `json:"name"`
	// Value is the value, typed as --set types it unless ForceString.
	Value string `json:"value"`
	// ForceString keeps Value a string (--set-string).
	ForceString bool `json:"forceString,omitempty"`
}

// Capabilities describes the target cluster to Helm's .Capabilities.
type Capabilities struct {
	// KubeVersion is the cluster's version ("v1.37.2" or "1.37"); empty
	// means Helm's default.
	KubeVersion string `json:"kubeVersion,omitempty"`
	// APIVersions are added to Helm's default API versions
	// ("monitoring.coreos.com/v1", "monitoring.coreos.com/v1/ServiceMonitor").
	APIVersions []string `json:"apiVersions,omitempty"`
}

// Hash returns a stable digest of the options, the third part of a cache
// Key. Equal options hash equally; map order does not matter.
//
// Limits are part of it: a result rendered under larger limits may break
// smaller ones, and must not be served from the cache to a render held to
// them. Limits that mean the defaults (zero fields, or DefaultLimits
// spelled out) hash as if absent, so setting them explicitly does not
// change any key.
func (o Options) Hash() string {
	if o.Limits = o.Limits.withDefaults(); o.Limits == DefaultLimits() {
		o.Limits = Limits{}
	}
	// Options holds only strings, bools, numbers, slices and maps of
	// strings, which json.Marshal always encodes, with map keys sorted.
	b, _ := json.Marshal(o)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
