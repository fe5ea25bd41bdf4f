package render

import "testing"

func TestSplitDocuments(t *testing.T) {
	in := "a: 1\n---\nb: 2\n--- # c\nc: 3\n---x: not a separator\n"
	docs := splitDocuments([]byte(in))
	var lines []int
	for _, d := range docs {
		lines = append(lines, d.line)
	}
	if len(docs) != 3 || lines[0] != 1 || lines[1] != 2 || lines[2] != 4 {
		t.Fatalf("split into %d documents starting at lines %v, want 3 at [1 2 4]", len(docs), lines)
	}
	if string(docs[2].data) != " # c\nc: 3\n---x: not a separator\n" {
		t.Errorf("third document = %q", docs[2].data)
	}
}
