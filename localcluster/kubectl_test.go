package localcluster_test

import (
	"bytes"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/cmd"
)

// TestKubectlThroughKubeconfig runs kubectl's own command code (in-process,
// so no kubectl binary is needed) against the written kubeconfig file.
func TestKubectlThroughKubeconfig(t *testing.T) {
	var out, errOut bytes.Buffer
	flags := genericclioptions.NewConfigFlags(true)
	cacheDir := t.TempDir()
	flags.CacheDir = &cacheDir
	kubectl := cmd.NewKubectlCommand(cmd.KubectlOptions{
		ConfigFlags: flags,
		IOStreams:   genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Arguments:   []string{"kubectl", "--kubeconfig", cluster.KubeconfigPath(), "get", "nodes,pods", "-A"},
	})
	kubectl.SetArgs([]string{"--kubeconfig", cluster.KubeconfigPath(), "get", "nodes,pods", "-A"})
	if err := kubectl.Execute(); err != nil {
		t.Fatalf("kubectl: %v\n%s", err, errOut.String())
	}
	text := out.String()
	for _, want := range []string{"node/gyre-node-1", "node/gyre-node-2", "node/gyre-node-3", "Ready"} {
		if !strings.Contains(text, want) {
			t.Errorf("kubectl output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "NotReady") {
		t.Errorf("a node is NotReady:\n%s", text)
	}
}
