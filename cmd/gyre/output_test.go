package main

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestExitStatus(t *testing.T) {
	tests := []struct {
		err    error
		code   int
		stderr string
	}{
		{nil, 0, ""},
		{errors.New("application gyre/x not found"), 1, "gyre: application gyre/x not found\n"},
		{&exitError{code: 1}, 1, ""},
		{withExitCode(2, errors.New("boom\n")), 2, "gyre: boom\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if code := exitStatus(tt.err, &buf); code != tt.code || buf.String() != tt.stderr {
			t.Errorf("exitStatus(%v) = %d, %q; want %d, %q", tt.err, code, buf.String(), tt.code, tt.stderr)
		}
	}
}

func TestParseOutputFormat(t *testing.T) {
	for in, want := range map[string]outputFormat{"": formatTable, "table": formatTable, "JSON": formatJSON, "yaml": formatYAML} {
		if got, err := parseOutputFormat(in); err != nil || got != want {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	if _, err := parseOutputFormat("wide"); err == nil {
		t.Error("wide: no error")
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{5 * time.Second: "5s", 3 * time.Minute: "3m", 5 * time.Hour: "5h", 72 * time.Hour: "3d", -time.Second: "0s"} {
		if got := age(now, now.Add(-d)); got != want {
			t.Errorf("age(%s) = %s, want %s", d, got, want)
		}
	}
	if age(now, time.Time{}) != "-" {
		t.Error("zero time")
	}
}

func TestTableCells(t *testing.T) {
	var buf bytes.Buffer
	tb := newTable(&buf, "A", "B")
	tb.row("", "two\nlines\there")
	tb.flush()
	if got := buf.String(); got != "A  B\n-  two lines here\n" {
		t.Errorf("table:\n%q", got)
	}
}
