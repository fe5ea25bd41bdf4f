package notify

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseBodyTemplate(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		wantErr   string // "" accepts
		want      string // the output on sampleData, when accepted
	}{
		{"fields as JSON strings", `{"app": {{ json .Application }}, "msg": {{ json .HealthMessage }}}`, "",
			`{"app": "guestbook", "msg": "Deployment/apps/web: \"quoted\" \\ message"}`},
		{"if and with", `{"degraded": {{ if eq .HealthStatus "Degraded" }}true{{ else }}false{{ end }}{{ with .URL }}, "url": {{ json . }}{{ end }}}`, "",
			`{"degraded": true, "url": "https://gyre.example.com/#/apps/apps/guestbook"}`},
		{"printf", `{"text": {{ printf "%s is %s" .Application .HealthStatus | json }}}`, "", `{"text": "guestbook is Degraded"}`},
		{"not JSON", `{"app": {{ .Application }}}`, "not valid JSON", ""},
		{"an unknown field", `{"x": {{ json .Nope }}}`, "can't evaluate field Nope", ""},
		{"does not parse", `{"x": {{ json .Application }`, "unexpected", ""},
		{"range", `[{{ range 3 }}1,{{ end }}1]`, "range is not allowed", ""},
		{"define", `{{ define "x" }}{}{{ end }}{}`, "define and block are not allowed", ""},
		{"template", `{{ template "body" . }}`, "template is not allowed", ""},
		{"empty output", ``, "not valid JSON", ""},
		{"too large a template", `{"x": "` + strings.Repeat("a", MaxTemplateBytes) + `"}`, "at most", ""},
		{"too large an output", `{"x": "{{ printf "%900000s" "" }}"}`, "larger than", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tmpl, err := ParseBodyTemplate(tc.src)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseBodyTemplate = %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := renderBody(tmpl, sampleData())
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("output\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// FuzzBodyTemplate: whatever a user writes as a body template, parsing
// and running it neither panics nor hangs, and what it accepts produces
// valid JSON within MaxBodyBytes on any data. The seed corpus is in
// testdata/fuzz/FuzzBodyTemplate.
func FuzzBodyTemplate(f *testing.F) {
	f.Add(`{"app": {{ json .Application }}}`, "guestbook", "msg")
	f.Add(`{{ if .URL }}{"u": {{ json .URL }}}{{ else }}{}{{ end }}`, "", "")
	f.Fuzz(func(t *testing.T, src, name, msg string) {
		tmpl, err := ParseBodyTemplate(src)
		if err != nil {
			return
		}
		d := sampleData()
		d.Application, d.HealthMessage = name, msg
		out, err := renderBody(tmpl, d)
		if err != nil {
			return // data may still break a template (an invalid string as raw JSON)
		}
		if !json.Valid(out) || len(out) > MaxBodyBytes {
			t.Fatalf("accepted output of %d bytes is not valid bounded JSON: %q", len(out), out)
		}
	})
}
