package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/app"
)

// This file holds the `gyre app` commands that look without changing
// anything: refresh, manifests, events, and the --watch loop of list and
// get.

// refreshTimeout is how long `gyre app refresh` waits, by default, for gyre
// to compare the Application again.
const refreshTimeout = 30 * time.Second

func newAppRefreshCommand(o *appOptions) *cobra.Command {
	timeout := refreshTimeout
	var hard bool
	cmd := &cobra.Command{
		Use:   "refresh NAME",
		Short: "Ask gyre to compare an Application with git now, and show the result",
		Long: `refresh asks gyre to compare the Application with git and the cluster now,
instead of at its next interval, dropping the cached listing of the
repository's refs. It waits until the comparison is recorded
(status.reconciledAt moves) and prints the sync status and health it found.

--hard also drops gyre's cached render of the Application, so it is
rendered again: for a render whose inputs gyre cannot see change (a
Kustomize remote base, the cluster's API versions). It is the
gyre.dev/refresh=hard annotation, which kubectl can set too.`,
		Example: `  gyre app refresh web
  gyre app refresh web --hard
  gyre app refresh web --timeout 2m -o yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			return runAppRefresh(cmd.Context(), s, s.key(args[0]), hard, timeout)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", timeout, "give up waiting for the comparison after this long")
	cmd.Flags().BoolVar(&hard, "hard", false, "also render again instead of using gyre's cached render")
	return cmd
}

func runAppRefresh(ctx context.Context, s *appSession, key types.NamespacedName, hard bool, timeout time.Duration) error {
	before, _, err := s.client.getApplication(ctx, key)
	if err != nil {
		return err
	}
	var q url.Values
	if hard {
		q = url.Values{"hard": {"true"}}
	}
	if _, _, err := s.client.do(ctx, http.MethodPost, appPath(key, "refresh"), q, nil); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		a, raw, err := s.client.getApplication(ctx, key)
		if err == nil && reconciledSince(before, a) {
			if s.format != formatTable {
				return printStructured(s.out, s.format, raw)
			}
			fmt.Fprintf(s.out, "%s: refreshed: %s\n", key, describeState(a))
			return nil
		}
		if err != nil && ctx.Err() == nil {
			return err
		}
		if err != nil || sleep(ctx, s.poll) != nil {
			return fmt.Errorf("application %s: refresh requested, but gyre has not compared it again after %s: check that gyre's agent is running, or retry with a longer --timeout",
				key, timeout)
		}
	}
}

// reconciledSince reports whether gyre compared now again after it had
// when before was read.
func reconciledSince(before, now *app.Application) bool {
	at := now.Status.ReconciledAt
	if at == nil {
		return false
	}
	prev := before.Status.ReconciledAt
	return prev == nil || at.After(prev.Time)
}

// manifestSource is where `gyre app manifests` reads objects (--source).
type manifestSource string

// The manifest sources.
const (
	sourceLive manifestSource = "live"
	sourceGit  manifestSource = "git"
)

func newAppManifestsCommand(o *appOptions) *cobra.Command {
	source := string(sourceLive)
	var revision string
	cmd := &cobra.Command{
		Use:   "manifests NAME",
		Short: "Print the objects of an Application, live or as rendered from git, as a YAML stream",
		Long: `manifests prints the objects the Application manages as they are in the
cluster (--source live), Secret values masked, one YAML document each; -o
json prints them as a JSON array. Objects that cannot be read (missing ones)
are named on stderr and the command exits 1 after printing the others.

--source git prints the objects as gyre renders them from git, with the
Application's options, before it places them in the destination namespace
and marks them (Secret values masked): at the revision it follows, or at
--revision REF (a branch, tag, commit or pull request ref such as
refs/pull/7/head; one per source, comma-separated, for several sources).
The revision rendered is named on stderr.`,
		Example: `  gyre app manifests web
  gyre app manifests web -n team-a > web-live.yaml
  gyre app manifests web --source git --revision my-branch`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch manifestSource(source) {
			case sourceLive:
				if revision != "" {
					return fmt.Errorf("--revision renders from git: add --source git")
				}
			case sourceGit:
			default:
				return fmt.Errorf("--source %q: use live or git", source)
			}
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			if manifestSource(source) == sourceGit {
				return runAppManifestsGit(cmd.Context(), s, s.key(args[0]), revision)
			}
			return runAppManifests(cmd.Context(), s, s.key(args[0]))
		},
	}
	cmd.Flags().StringVar(&source, "source", source, "live: the objects in the cluster; git: as rendered from git")
	cmd.Flags().StringVar(&revision, "revision", "", "with --source git: render this branch, tag, ref or commit instead of the targetRevision")
	return cmd
}

// runAppManifestsGit prints the server's render of an Application at
// revision.
func runAppManifestsGit(ctx context.Context, s *appSession, key types.NamespacedName, revision string) error {
	m, err := s.client.getManifests(ctx, key, revision)
	if err != nil {
		return err
	}
	at := app.ShortRevision(m.Revision)
	if revision != "" {
		at = revision + " (" + at + ")"
	}
	fmt.Fprintf(s.errOut, "gyre: %s rendered from git at %s: %d object(s)\n", key, at, len(m.Items))
	return printManifests(s, key, m.Items)
}

func runAppManifests(ctx context.Context, s *appSession, key types.NamespacedName) error {
	a, _, err := s.client.getApplication(ctx, key)
	if err != nil {
		return err
	}
	resources, note := s.objects(ctx, a)
	if note != "" {
		fmt.Fprintf(s.errOut, "gyre: %s\n", note)
	}
	var objs []map[string]any
	var failed []string
	for _, r := range resources {
		k := r.Key()
		var obj map[string]any
		if err := s.client.getJSON(ctx, appPath(key, "resource"), objectQuery(k, r.Version), &obj); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fmt.Fprintf(s.errOut, "gyre: %s: %v\n", k, err)
			failed = append(failed, k.String())
			continue
		}
		if md, ok := obj["metadata"].(map[string]any); ok {
			delete(md, "managedFields")
		}
		objs = append(objs, obj)
	}
	if err := printManifests(s, key, objs); err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("application %s: %d of %d objects could not be read (%s): see the messages above; `gyre app get %s` shows which are missing",
			key, len(failed), len(resources), strings.Join(failed, ", "), key.Name)
	}
	return nil
}

// printManifests prints objects as a YAML stream, or for -o json as a
// JSON array.
func printManifests(s *appSession, key types.NamespacedName, objs []map[string]any) error {
	if s.format == formatJSON {
		if objs == nil {
			objs = []map[string]any{}
		}
		return printStructured(s.out, formatJSON, objs)
	}
	var buf bytes.Buffer
	for i, obj := range objs {
		y, err := sigsyaml.Marshal(obj)
		if err != nil {
			return fmt.Errorf("application %s: object %d: %w", key, i, err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(y)
	}
	_, err := s.out.Write(buf.Bytes())
	return err
}

// objectQuery names one object for GET .../resource and .../events.
func objectQuery(k app.ResourceKey, version string) url.Values {
	q := url.Values{"kind": {k.Kind}, "name": {k.Name}}
	for name, v := range map[string]string{"group": k.Group, "namespace": k.Namespace, "version": version} {
		if v != "" {
			q.Set(name, v)
		}
	}
	return q
}

// appEvent is one Kubernetes event about one of an Application's objects,
// as `gyre app events -o json` prints it.
type appEvent struct {
	Object        app.ResourceKey `json:"object"`
	Type          string          `json:"type"`
	Reason        string          `json:"reason"`
	Message       string          `json:"message"`
	Count         int32           `json:"count,omitempty"`
	LastTimestamp *metav1.Time    `json:"lastTimestamp"`
}

// eventReaders bounds how many objects' events `gyre app events` reads at
// once.
const eventReaders = 4

func newAppEventsCommand(o *appOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "events NAME",
		Short: "List the Kubernetes events of an Application's objects, newest last",
		Long: `events lists the Kubernetes events about every object of the Application's
resource tree (the objects it manages and those they own, such as Pods),
oldest first. Objects whose events cannot be read are named on stderr.`,
		Example: `  gyre app events web
  gyre app events web -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			return runAppEvents(cmd.Context(), s, s.key(args[0]))
		},
	}
}

func runAppEvents(ctx context.Context, s *appSession, key types.NamespacedName) error {
	var tree struct {
		Nodes []app.TreeNode `json:"nodes"`
	}
	if err := s.client.getJSON(ctx, appPath(key, "tree"), nil, &tree); err != nil {
		return err
	}
	// Position-indexed results, read by eventReaders goroutines.
	type result struct {
		items []appEvent
		err   error
	}
	results := make([]result, len(tree.Nodes))
	limit := make(chan struct{}, eventReaders)
	var wg sync.WaitGroup
	for i, n := range tree.Nodes {
		wg.Go(func() {
			limit <- struct{}{}
			defer func() { <-limit }()
			var resp struct {
				Items []appEvent `json:"items"`
			}
			results[i].err = s.client.getJSON(ctx, appPath(key, "events"), objectQuery(n.Key, ""), &resp)
			for _, e := range resp.Items {
				e.Object = n.Key
				results[i].items = append(results[i].items, e)
			}
		})
	}
	wg.Wait()
	events := []appEvent{}
	var firstErr error
	failed := 0
	for i, r := range results {
		if r.err != nil {
			failed++
			firstErr = cmp.Or(firstErr, r.err)
			fmt.Fprintf(s.errOut, "gyre: events of %s: %v\n", tree.Nodes[i].Key, r.err)
			continue
		}
		events = append(events, r.items...)
	}
	if failed > 0 && failed == len(tree.Nodes) {
		return fmt.Errorf("application %s: no events could be read: %w", key, firstErr)
	}
	// Oldest first; events without a time first of all.
	slices.SortStableFunc(events, func(a, b appEvent) int {
		switch {
		case a.LastTimestamp == nil || b.LastTimestamp == nil:
			return cmp.Compare(boolRank(a.LastTimestamp != nil), boolRank(b.LastTimestamp != nil))
		default:
			return a.LastTimestamp.Compare(b.LastTimestamp.Time)
		}
	})
	if s.format != formatTable {
		return printStructured(s.out, s.format, events)
	}
	if len(events) == 0 {
		fmt.Fprintf(s.errOut, "No events found for the %d objects of %s.\n", len(tree.Nodes), key)
		return nil
	}
	t := newTable(s.out, "TIME", "TYPE", "REASON", "OBJECT", "MESSAGE")
	now := s.now()
	for _, e := range events {
		when := "-"
		if e.LastTimestamp != nil {
			when = age(now, e.LastTimestamp.Time)
		}
		reason := e.Reason
		if e.Count > 1 {
			reason += fmt.Sprintf(" (x%d)", e.Count)
		}
		t.row(when, e.Type, reason, e.Object.String(), e.Message)
	}
	return t.flush()
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// watchPolls is how many poll intervals --watch waits between reads: 2s at
// the default interval.
const watchPolls = 10

// watchOutput calls show again and again until ctx is done, printing its output
// each time it differs from the last print: the --watch of list and get.
// Each print is one write to s.out.
func watchOutput(ctx context.Context, s *appSession, show func(ctx context.Context, s *appSession) error) error {
	var last []byte
	for {
		var buf bytes.Buffer
		frame := *s
		frame.out, frame.errOut = &buf, &buf
		if err := show(ctx, &frame); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if !bytes.Equal(buf.Bytes(), last) {
			var sep string
			switch {
			case last == nil:
			case s.format == formatYAML:
				sep = "---\n"
			case s.format == formatTable:
				sep = "\n"
			}
			last = buf.Bytes()
			if _, err := io.WriteString(s.out, sep+buf.String()); err != nil {
				return err
			}
		}
		if sleep(ctx, watchPolls*s.poll) != nil {
			return nil
		}
	}
}

// completeAppNames completes the NAME of an app command: the names of the
// Applications in the command's namespace. It offers nothing, silently,
// when the list cannot be read.
func completeAppNames(o *appOptions) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		s, err := o.session(cmd)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		ctx, cancel := context.WithTimeout(cmp.Or(cmd.Context(), context.Background()), 5*time.Second)
		defer cancel()
		items, _, err := s.client.listApplications(ctx, listQuery{Limit: 500})
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []cobra.Completion
		for _, it := range items {
			if it.Namespace == s.namespace && strings.HasPrefix(it.Name, toComplete) {
				names = append(names, cobra.CompletionWithDesc(it.Name, joinNonEmpty(it.SyncStatus, it.HealthStatus)))
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// addAppNameCompletion sets completeAppNames on every subcommand of cmd
// that takes an Application's NAME and completes nothing yet.
func addAppNameCompletion(cmd *cobra.Command, o *appOptions) {
	for _, c := range cmd.Commands() {
		if c.ValidArgsFunction == nil && strings.HasPrefix(strings.TrimPrefix(c.Use, c.Name()), " NAME") {
			c.ValidArgsFunction = completeAppNames(o)
		}
	}
}
