package render

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"helm.sh/helm/v3/pkg/chart"
)

// schemaURL is where a chart's values.schema.json is compiled from, as Helm
// compiles it: relative references resolve against it.
const schemaURL = "file:///values.schema.json"

// validateValues checks the values of chart c, and those of each enabled
// subchart, against their values.schema.json, as Helm's
// chartutil.ValidateAgainstSchema does (same library, same messages, the
// causes sorted) but offline. Helm gives the schema compiler loaders for http, https and file
// URLs, so a schema whose $ref or $schema names one makes Helm fetch it or
// read the local disk. Here the compiler has a loader that refuses every
// URL: a schema must be self-contained, and one that refers to any other
// document is an error naming the schema and the reference. The standard
// JSON Schema drafts (draft-04 to 2020-12) are built into the library and
// need no loader; "urn:" references resolve to the permissive schema, as
// Helm resolves them when no resolver is set.
func validateValues(c *chart.Chart, vals map[string]any) error {
	var sb strings.Builder
	if err := validateChartValues(c, vals, &sb); err != nil {
		return err
	}
	if sb.Len() > 0 {
		return &Error{File: schemaName(c), Err: fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s", sb.String())}
	}
	return nil
}

// validateChartValues writes the validation failures of c and its subcharts
// to sb in Helm's format. It returns an error only for a schema that cannot
// be used.
func validateChartValues(c *chart.Chart, vals map[string]any, sb *strings.Builder) error {
	if c.Schema != nil {
		msg, err := validateSchema(c, vals)
		if err != nil {
			return err
		}
		if msg != "" {
			fmt.Fprintf(sb, "%s:\n%s", c.Name(), msg)
		}
	}
	for _, sub := range c.Dependencies() {
		raw, ok := vals[sub.Name()]
		if !ok || raw == nil {
			continue
		}
		subVals, ok := raw.(map[string]any)
		if !ok {
			fmt.Fprintf(sb, "%s:\ninvalid type for values: expected object (map), got %T\n", sub.Name(), raw)
			continue
		}
		if err := validateChartValues(sub, subVals, sb); err != nil {
			return err
		}
	}
	return nil
}

// validateSchema validates vals against c's schema and returns Helm's
// message for the failures, "" when there are none.
func validateSchema(c *chart.Chart, vals map[string]any) (msg string, err error) {
	file := schemaName(c)
	defer func() {
		if r := recover(); r != nil {
			msg, err = "", &Error{File: file, Err: fmt.Errorf("unable to validate schema: %v", r)}
		}
	}()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(c.Schema))
	if err != nil {
		return "", &Error{File: file, Err: fmt.Errorf("invalid JSON: %w", err)}
	}
	compiler := jsonschema.NewCompiler()
	compiler.UseLoader(offlineLoader{})
	if err := compiler.AddResource(schemaURL, doc); err != nil {
		return "", &Error{File: file, Err: err}
	}
	schema, err := compiler.Compile(schemaURL)
	if err != nil {
		var le *jsonschema.LoadURLError
		if errors.As(err, &le) && le.Err == errSchemaReference {
			return "", &Error{File: file, Err: fmt.Errorf("refers to %q: %w: a values schema must be self-contained; render fetches nothing and reads nothing outside the chart", le.URL, ErrRemoteDisabled)}
		}
		return "", &Error{File: file, Err: err}
	}
	if err := schema.Validate(map[string]any(vals)); err != nil {
		return sortCauses(strings.TrimPrefix(err.Error(), "jsonschema validation failed with '"+schemaURL+"#'\n")) + "\n", nil
	}
	return "", nil
}

// sortCauses orders the causes of a validation failure ("- at '/a': …",
// each with its indented details), which the library lists in map order,
// so that the same values fail with the same message every time.
func sortCauses(msg string) string {
	var causes []string
	for _, line := range strings.Split(msg, "\n") {
		if len(causes) > 0 && (line == "" || line[0] == ' ' || line[0] == '\t') {
			causes[len(causes)-1] += "\n" + line
			continue
		}
		causes = append(causes, line)
	}
	slices.Sort(causes)
	return strings.Join(causes, "\n")
}

// schemaName names a chart's schema as Helm names the chart's files
// ("api/values.schema.json", "api/charts/db/values.schema.json").
func schemaName(c *chart.Chart) string {
	return c.ChartFullPath() + "/values.schema.json"
}

// errSchemaReference is why offlineLoader refuses a URL.
var errSchemaReference = errors.New("render loads no schema documents")

// offlineLoader is the schema compiler's loader: it loads nothing. The
// compiler asks it only for documents that are neither the schema itself
// nor a standard draft's meta-schema.
type offlineLoader struct{}

// Load refuses url, except that a "urn:" reference resolves to the
// permissive schema true, as Helm's does by default.
func (offlineLoader) Load(url string) (any, error) {
	if strings.HasPrefix(strings.ToLower(url), "urn:") {
		return true, nil
	}
	return nil, errSchemaReference
}
