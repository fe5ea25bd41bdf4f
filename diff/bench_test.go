package diff

import (
	"context"
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gyre-cd/gyre/app"
)

// inSyncSet returns n in-sync pairs (Deployments and Services from
// testdata, renamed) and a runner that answers each dry run with its
// predicted object.
func inSyncSet(b *testing.B, n int) ([]Pair, DryRunner) {
	b.Helper()
	cases := []*testCase{
		loadCase(b, "testdata/deployment-insync-defaulted"),
		loadCase(b, "testdata/service-insync-defaulted"),
	}
	pairs := make([]Pair, n)
	predicted := make(map[app.ResourceKey]*unstructured.Unstructured, n)
	for i := range pairs {
		tc := cases[i%len(cases)]
		name := fmt.Sprintf("obj-%02d", i)
		d, l, p := tc.desired.DeepCopy(), tc.live.DeepCopy(), tc.predicted.DeepCopy()
		for _, o := range []*unstructured.Unstructured{d, l, p} {
			o.SetName(name)
		}
		pairs[i] = Pair{Desired: d, Live: l}
		predicted[app.KeyOf(d)] = p
	}
	runner := DryRunFunc(func(_ context.Context, desired *unstructured.Unstructured) (*unstructured.Unstructured, error) {
		return predicted[app.KeyOf(desired)].DeepCopy(), nil
	})
	return pairs, runner
}

func benchmarkCompare(b *testing.B, opts Options) {
	pairs, runner := inSyncSet(b, 50)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		results, err := Compare(ctx, runner, pairs, opts)
		if err != nil {
			b.Fatal(err)
		}
		if SyncStatus(results) != app.Synced {
			b.Fatalf("50 in-sync objects: %v", results[0].Status)
		}
	}
}

// BenchmarkCompareInSync50FastPath compares 50 unchanged objects; the fast
// path answers every one without a dry run.
func BenchmarkCompareInSync50FastPath(b *testing.B) { benchmarkCompare(b, Options{}) }

// BenchmarkCompareInSync50DryRun compares the same objects with the dry run
// forced (a fake runner that returns a copy, so this is diff's own cost
// without the API round trips).
func BenchmarkCompareInSync50DryRun(b *testing.B) {
	benchmarkCompare(b, Options{DisableFastPath: true})
}
