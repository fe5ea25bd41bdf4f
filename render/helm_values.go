package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"
)

// helmValues merges the user-supplied values in Helm's order: value files
// in order, then inline values, then parameters. The chart's own
// values.yaml is merged beneath them later, by chartutil.
func helmValues(fsys fs.FS, dir string, opts HelmOptions) (map[string]any, error) {
	vals := map[string]any{}
	for _, vf := range opts.ValueFiles {
		p := path.Join(dir, vf)
		if path.IsAbs(vf) || !fs.ValidPath(p) {
			return nil, &Error{File: vf, Err: errors.New("value file is outside the repository")}
		}
		data, err := fs.ReadFile(fsys, p)
		if errors.Is(err, fs.ErrNotExist) {
			if opts.IgnoreMissingValueFiles {
				continue
			}
			return nil, &Error{File: p, Err: fmt.Errorf("value file: %w", ErrNotFound)}
		}
		if err != nil {
			return nil, &Error{File: p, Err: err}
		}
		m, err := chartutil.ReadValues(data)
		if err != nil {
			return nil, &Error{File: p, Line: yamlErrorLine(err), Err: fmt.Errorf("invalid values: %s", yamlMessageRE.ReplaceAllString(err.Error(), ""))}
		}
		vals = mergeMaps(vals, m)
	}
	if strings.TrimSpace(opts.Values) != "" {
		m, err := chartutil.ReadValues([]byte(opts.Values))
		if err != nil {
			return nil, fmt.Errorf("inline values line %d: %s", yamlErrorLine(err), yamlMessageRE.ReplaceAllString(err.Error(), ""))
		}
		vals = mergeMaps(vals, m)
	}
	for _, p := range opts.Parameters {
		s := p.Name + "=" + escapeParameter(p.Value)
		var err error
		if p.ForceString {
			err = strvals.ParseIntoString(s, vals)
		} else {
			err = strvals.ParseInto(s, vals)
		}
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", p.Name, err)
		}
	}
	return vals, nil
}

// escapeParameter escapes the commas of a --set value so that it stays one
// value, unless it is a {a,b} list or the comma is already escaped.
func escapeParameter(v string) string {
	if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == ',' && (i == 0 || v[i-1] != '\\') {
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// mergeMaps deep-merges b over a, as Helm merges value files.
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(am, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
