package notify

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestREADMEExamples: the Notifiers in the README's Notifications section
// have only fields gyre knows and pass Validate, and the events table
// lists every event.
func TestREADMEExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Notifications\n")
	if !ok {
		t.Fatal("README.md has no Notifications section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	found := 0
	for _, block := range strings.Split(section, "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		for _, doc := range bytes.Split([]byte(block), []byte("\n---\n")) {
			if !bytes.Contains(doc, []byte("kind: Notifier")) {
				continue
			}
			var n Notifier
			if err := yaml.UnmarshalStrict(doc, &n); err != nil {
				t.Errorf("README Notifier: %v\n%s", err, doc)
				continue
			}
			if err := Validate(&n); err != nil {
				t.Errorf("README Notifier %s: %v", n.Name, err)
			}
			found++
		}
	}
	if found < 2 {
		t.Errorf("found %d Notifiers in the README, want the Slack and webhook examples", found)
	}
	for _, e := range Events() {
		if !strings.Contains(section, "| `"+string(e)+"` |") {
			t.Errorf("the README's events table lacks %s", e)
		}
	}
}
