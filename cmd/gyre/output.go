package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"sigs.k8s.io/yaml"
)

// outputFormat is how a command prints its result (-o).
type outputFormat string

// The output formats.
const (
	formatTable outputFormat = "table"
	formatJSON  outputFormat = "json"
	formatYAML  outputFormat = "yaml"
)

// parseOutputFormat checks the -o flag.
func parseOutputFormat(s string) (outputFormat, error) {
	switch f := outputFormat(strings.ToLower(s)); f {
	case formatTable, formatJSON, formatYAML:
		return f, nil
	case "":
		return formatTable, nil
	}
	return "", fmt.Errorf("output format %q: use table, json or yaml", s)
}

// printStructured writes v as indented JSON or as YAML. v may be raw JSON
// (json.RawMessage), which is re-indented without losing fields the CLI
// does not know.
func printStructured(w io.Writer, f outputFormat, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if f == formatYAML {
		y, err := yaml.JSONToYAML(data)
		if err != nil {
			return err
		}
		_, err = w.Write(y)
		return err
	}
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(json.RawMessage(data)); err != nil {
		return err
	}
	_, err = io.WriteString(w, buf.String())
	return err
}

// table prints aligned columns with a header row.
type table struct {
	tw *tabwriter.Writer
}

// newTable starts a table on w with the given column headers.
func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

// row adds one row; empty cells print as "-" and each cell is kept on one
// line.
func (t *table) row(cells ...string) {
	for i, c := range cells {
		c = strings.Join(strings.Fields(c), " ")
		if c == "" {
			c = "-"
		}
		cells[i] = c
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

// flush writes the table out.
func (t *table) flush() error { return t.tw.Flush() }

// age says how long ago t was, kubectl-style ("45s", "3m", "5h", "2d"); "-"
// for the zero time.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "0s"
	case d < 2*time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < 2*time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// exitError ends the command with a given exit status. err, when set, is
// printed; a nil err exits quietly (`gyre app diff` found differences).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withExitCode makes err end the command with status code.
func withExitCode(code int, err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: code, err: err}
}

// exitStatus prints err the way every gyre command reports a failure, one
// line "gyre: <message>" on stderr, and returns the process's exit status:
// 0 for nil, the code of an *exitError, else 1.
func exitStatus(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	code := 1
	var ee *exitError
	if errors.As(err, &ee) {
		code = ee.code
		if ee.err == nil {
			return code
		}
	}
	fmt.Fprintln(stderr, "gyre:", strings.TrimSpace(err.Error()))
	return code
}
