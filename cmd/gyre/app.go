package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gyre-cd/gyre/app"
)

// defaultAppNamespace is the namespace of the `gyre app` commands when
// neither -n nor the config file names one: where `gyre up` keeps its
// Applications.
const defaultAppNamespace = "gyre"

// appOptions are the flags every `gyre app` command shares.
type appOptions struct {
	*cliOptions
	// Namespace is -n; empty means the config file's, else "gyre".
	Namespace string
}

// appSession is what one `gyre app` command works with: the client, the
// namespace, the output format and where to print.
type appSession struct {
	client    *apiClient
	namespace string
	// namespaceSet is true when -n was given (list filters by it then).
	namespaceSet bool
	format       outputFormat
	out, errOut  io.Writer
	now          func() time.Time
	poll         time.Duration
}

// key names the Application name in the session's namespace.
func (s *appSession) key(name string) types.NamespacedName {
	return types.NamespacedName{Namespace: s.namespace, Name: name}
}

// session resolves the settings for cmd.
func (o *appOptions) session(cmd *cobra.Command) (*appSession, error) {
	format, err := parseOutputFormat(o.Output)
	if err != nil {
		return nil, err
	}
	return o.sessionWithFormat(cmd, format)
}

// sessionWithFormat is session for a command that checks -o itself.
func (o *appOptions) sessionWithFormat(cmd *cobra.Command, format outputFormat) (*appSession, error) {
	cl, cfg, err := o.client()
	if err != nil {
		return nil, err
	}
	s := &appSession{client: cl, namespace: o.Namespace, namespaceSet: o.Namespace != "", format: format,
		out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(), now: o.now, poll: o.poll}
	if s.namespace == "" {
		s.namespace = cfg.Namespace
	}
	if s.namespace == "" {
		s.namespace = defaultAppNamespace
	}
	return s, nil
}

// newAppCommand returns `gyre app` and its subcommands.
func newAppCommand(o *cliOptions) *cobra.Command {
	ao := &appOptions{cliOptions: o}
	cmd := &cobra.Command{
		Use:   "app",
		Short: "List, inspect, sync and roll back Applications through gyre's API",
		Long: `The app commands talk to gyre's HTTP API: the server and token come from
--server/--token, then $GYRE_SERVER/$GYRE_TOKEN, then the config file that
` + "`gyre login` and `gyre up`" + ` write. Applications are named in the namespace
-n, else the config file's namespace, else "gyre".`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVarP(&ao.Namespace, "namespace", "n", "", `namespace of the Application (default: the config file's "namespace", else "gyre")`)
	cmd.AddCommand(
		newAppListCommand(ao),
		newAppGetCommand(ao),
		newAppDiffCommand(ao),
		newAppSyncCommand(ao),
		newAppRollbackCommand(ao),
		newAppResumeCommand(ao),
		newAppHistoryCommand(ao),
		newAppWaitCommand(ao),
		newAppCreateCommand(ao), newAppDeleteCommand(ao), newAppSetCommand(ao),
		newAppRefreshCommand(ao),
		newAppManifestsCommand(ao),
		newAppEventsCommand(ao),
	)
	addAppNameCompletion(cmd, ao)
	return cmd
}

func newAppListCommand(o *appOptions) *cobra.Command {
	var q listQuery
	var watchFlag bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List Applications with their sync and health",
		Long: `list shows the Applications of every namespace, or only those of -n when it
is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			if watchFlag {
				return watchOutput(cmd.Context(), s, func(ctx context.Context, s *appSession) error { return runAppList(ctx, s, q) })
			}
			return runAppList(cmd.Context(), s, q)
		},
	}
	cmd.Flags().BoolVarP(&watchFlag, "watch", "w", false, "print the list again each time it changes, until interrupted")
	cmd.Flags().StringVarP(&q.Label, "selector", "l", "", "only Applications with this label, key=value")
	cmd.Flags().StringVar(&q.Sync, "sync", "", "only Applications with this sync status (Synced, OutOfSync, Unknown)")
	cmd.Flags().StringVar(&q.Health, "health", "", "only Applications with this health (Healthy, Progressing, Degraded…)")
	return cmd
}

func runAppList(ctx context.Context, s *appSession, q listQuery) error {
	q.Limit = 500
	items, raw, err := s.client.listApplications(ctx, q)
	if err != nil {
		return err
	}
	if s.namespaceSet {
		var keep []appSummary
		var keepRaw []json.RawMessage
		for i, it := range items {
			if it.Namespace == s.namespace {
				keep, keepRaw = append(keep, it), append(keepRaw, raw[i])
			}
		}
		items, raw = keep, keepRaw
	}
	if s.format != formatTable {
		if raw == nil {
			raw = []json.RawMessage{}
		}
		return printStructured(s.out, s.format, raw)
	}
	if len(items) == 0 {
		fmt.Fprintln(s.errOut, "No Applications found.")
		return nil
	}
	t := newTable(s.out, "NAMESPACE", "NAME", "SYNC", "HEALTH", "REVISION", "LAST-SYNC")
	now := s.now()
	for _, it := range items {
		last := "-"
		if ts, err := time.Parse(time.RFC3339, it.LastSyncedAt); err == nil {
			last = age(now, ts)
		}
		sync := it.SyncStatus
		if it.OperationPhase == string(app.OperationRunning) {
			sync += " (syncing)"
		}
		t.row(it.Namespace, it.Name, sync, it.HealthStatus, app.ShortRevision(it.Revision), last)
	}
	return t.flush()
}

func newAppGetCommand(o *appOptions) *cobra.Command {
	var watchFlag bool
	cmd := &cobra.Command{
		Use:   "get NAME",
		Short: "Show an Application: source, status, last operation and its objects",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			if watchFlag {
				return watchOutput(cmd.Context(), s, func(ctx context.Context, s *appSession) error { return runAppGet(ctx, s, args[0]) })
			}
			return runAppGet(cmd.Context(), s, args[0])
		},
	}
	cmd.Flags().BoolVarP(&watchFlag, "watch", "w", false, "print the Application again each time it changes, until interrupted")
	return cmd
}

func runAppGet(ctx context.Context, s *appSession, name string) error {
	a, raw, err := s.client.getApplication(ctx, s.key(name))
	if err != nil {
		return err
	}
	if s.format != formatTable {
		return printStructured(s.out, s.format, raw)
	}
	objects, note := s.objects(ctx, a)
	return printApplication(s.out, a, objects, note, s.now())
}

// objects returns the objects `gyre app get` lists: the status's, or all
// of them from the API when the status lists only some. note says why the
// list is still partial, when it is.
func (s *appSession) objects(ctx context.Context, a *app.Application) ([]app.ResourceStatus, string) {
	sum := a.Status.Summary.Resources
	if sum == nil || !sum.Truncated {
		return a.Status.Resources, ""
	}
	var resp struct {
		Items []app.ResourceStatus `json:"items"`
	}
	if err := s.client.getJSON(ctx, appPath(a.Key(), "resources"), nil, &resp); err != nil {
		return a.Status.Resources, fmt.Sprintf("listed: %d of the %d objects, those refused, missing, out of sync or unhealthy first; the complete list could not be read: %v",
			len(a.Status.Resources), sum.Total, err)
	}
	return resp.Items, ""
}

// fullOperation returns a's operation state with its complete change set,
// read from the API when the status lists only part of it; the status's
// when that fails.
func (s *appSession) fullOperation(ctx context.Context, a *app.Application) *app.OperationState {
	op := a.Status.OperationState
	if op == nil || op.SyncResult == nil || op.SyncResult.Summary == nil || !op.SyncResult.Summary.Truncated {
		return op
	}
	var resp struct {
		OperationState *app.OperationState `json:"operationState"`
	}
	if err := s.client.getJSON(ctx, appPath(a.Key(), "operation"), nil, &resp); err != nil || resp.OperationState == nil ||
		!resp.OperationState.StartedAt.Equal(&op.StartedAt) {
		return op
	}
	return resp.OperationState
}

// describeSources says where an Application's manifests come from, one
// source after another.
func describeSources(srcs []app.Source) string {
	out := make([]string, len(srcs))
	for i, src := range srcs {
		rev := src.TargetRevision
		switch {
		case src.IsChart():
			if rev == "" {
				rev = "latest"
			}
			name := src.Chart
			if name == "" {
				name = path.Base(src.RepoURL)
			}
			out[i] = fmt.Sprintf("chart %s from %s at %s", name, src.RepoURL, rev)
		default:
			if rev == "" {
				rev = "HEAD"
			}
			out[i] = fmt.Sprintf("%s path %q at %s", src.RepoURL, src.Path, rev)
		}
		if src.Ref != "" {
			out[i] += " (ref " + src.Ref + ")"
		}
	}
	return strings.Join(out, "; ")
}

// printApplication writes the summary of `gyre app get` and the table of
// objects, the Application's managed objects; note, when set, says why the
// table is partial.
func printApplication(w io.Writer, a *app.Application, objects []app.ResourceStatus, note string, now time.Time) error {
	st := &a.Status
	policy := "manual"
	if p := a.Spec.SyncPolicy; p != nil && p.Automated != nil {
		var opts []string
		if p.Automated.Prune {
			opts = append(opts, "prune")
		}
		if p.Automated.SelfHeal {
			opts = append(opts, "self-heal")
		}
		policy = "automated"
		if len(opts) > 0 {
			policy += " (" + strings.Join(opts, ", ") + ")"
		}
	}
	if st.AutomationSuspended != nil {
		policy += "; suspended: " + st.AutomationSuspended.Reason
	}
	fields := [][2]string{
		{"Name", a.Namespace + "/" + a.Name},
		{"Project", a.ProjectName()},
		{"Source", describeSources(a.Spec.SourceList())},
		{"Destination", "namespace " + orDash(a.Spec.Destination.Namespace)},
		{"Sync policy", policy},
		{"Sync status", joinNonEmpty(string(st.Sync.Status), revisionPhrase(st.Sync.Revision))},
		{"Health", joinNonEmpty(string(st.Health.Status), st.Health.Message)},
		{"Objects", objectCounts(st, objects)},
	}
	if deps := a.Dependencies(); len(deps) > 0 {
		names := make([]string, len(deps))
		for i, d := range deps {
			names[i] = d.String()
		}
		fields = append(fields, [2]string{"Depends on", strings.Join(names, ", ")})
	}
	if waiting := st.WaitingFor(); len(waiting) > 0 {
		fields = append(fields, [2]string{"Waiting for", strings.Join(waiting, ", ")})
	}
	if op := st.OperationState; op != nil {
		when := op.StartedAt.Time
		if op.FinishedAt != nil {
			when = op.FinishedAt.Time
		}
		fields = append(fields, [2]string{"Last operation", fmt.Sprintf("%s %s ago: %s", op.Phase, age(now, when), op.Message)})
	}
	if a.Operation != nil {
		fields = append(fields, [2]string{"Pending operation", operationName(a.Operation)})
	}
	for _, c := range st.Conditions {
		fields = append(fields, [2]string{"Condition", fmt.Sprintf("%s: %s", c.Type, c.Message)})
	}
	for _, f := range fields {
		fmt.Fprintf(w, "%-18s%s\n", f[0]+":", f[1])
	}
	fmt.Fprintln(w)
	t := newTable(w, "KIND", "NAMESPACE", "NAME", "SYNC", "HEALTH")
	for _, r := range objects {
		health := ""
		if r.Health != nil {
			health = string(r.Health.Status)
		}
		sync := string(r.Status)
		switch {
		case r.Hook:
			sync = "hook"
		case r.RequiresPruning:
			sync += " (prune)"
		}
		t.row(r.Kind, r.Namespace, r.Name, sync, health)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if note != "" {
		fmt.Fprintf(w, "\nPartly %s\n", note)
	}
	// Refusals (project rules, another app's objects) in full, below.
	header := false
	for _, r := range objects {
		if r.Message == "" {
			continue
		}
		if !header {
			fmt.Fprintln(w, "\nRefused:")
			header = true
		}
		fmt.Fprintf(w, "  %s\n", r.Message)
	}
	return nil
}

// objectCounts says how many objects the Application manages, by sync
// status and health: from the status's summary, which counts them all, or
// from objects when the status has none (an older gyre).
func objectCounts(st *app.Status, objects []app.ResourceStatus) string {
	sum := st.Summary.Resources
	if sum == nil {
		sum = app.SummarizeResources(objects)
	}
	var sync, health, more []string
	for _, s := range []app.SyncStatus{app.Synced, app.OutOfSync, app.SyncUnknown} {
		if n := sum.Sync[s]; n > 0 {
			sync = append(sync, fmt.Sprintf("%d %s", n, s))
		}
	}
	for _, h := range []app.HealthStatus{app.Healthy, app.Progressing, app.Suspended, app.Degraded, app.Missing, app.HealthUnknown} {
		if n := sum.Health[h]; n > 0 {
			health = append(health, fmt.Sprintf("%d %s", n, h))
		}
	}
	if sum.RequiresPruning > 0 {
		more = append(more, fmt.Sprintf("%d to prune", sum.RequiresPruning))
	}
	if sum.Refused > 0 {
		more = append(more, fmt.Sprintf("%d refused", sum.Refused))
	}
	out := fmt.Sprint(sum.Total)
	var groups []string
	for _, g := range [][]string{sync, health, more} {
		if len(g) > 0 {
			groups = append(groups, strings.Join(g, ", "))
		}
	}
	if len(groups) > 0 {
		out += " (" + strings.Join(groups, "; ") + ")"
	}
	if sum.Truncated {
		out += fmt.Sprintf("; status.resources lists %d of them", len(st.Resources))
	}
	return out
}

// operationName says what an operation asks for, in a few words.
func operationName(op *app.Operation) string {
	switch {
	case op.Sync != nil:
		return "sync"
	case op.Rollback != nil:
		return fmt.Sprintf("rollback to history %d", op.Rollback.ID)
	case op.Resume != nil:
		return "resume"
	}
	return "unknown"
}

func revisionPhrase(sha string) string {
	if sha == "" {
		return ""
	}
	return "to " + app.ShortRevision(sha)
}

func joinNonEmpty(parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newAppHistoryCommand(o *appOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "history NAME",
		Short: "List an Application's recorded syncs, the ids rollback takes",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			h, err := s.client.getHistory(cmd.Context(), s.key(args[0]))
			if err != nil {
				return err
			}
			if s.format != formatTable {
				if h == nil {
					h = []app.HistoryEntry{}
				}
				return printStructured(s.out, s.format, h)
			}
			t := newTable(s.out, "ID", "REVISION", "DEPLOYED-AT", "INITIATED-BY")
			for _, e := range h {
				t.row(fmt.Sprint(e.ID), app.ShortRevision(e.Revision), e.DeployedAt.Local().Format(time.RFC3339), initiator(e.InitiatedBy))
			}
			return t.flush()
		},
	}
}

// initiator says who started an operation.
func initiator(by app.InitiatedBy) string {
	switch {
	case by.Automated:
		return "automated"
	case by.Username != "":
		return by.Username
	}
	return "-"
}

func newAppResumeCommand(o *appOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "resume NAME",
		Short: "Turn automated sync back on after a rollback suspended it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			return runAppResume(cmd.Context(), s, s.key(args[0]))
		},
	}
}

// resumeTimeout bounds how long resume waits for the reconciler to take
// the request.
const resumeTimeout = time.Minute

func runAppResume(ctx context.Context, s *appSession, key types.NamespacedName) error {
	if _, err := s.client.post(ctx, key, "resume", struct{}{}); err != nil {
		return err
	}
	deadline := s.now().Add(resumeTimeout)
	for {
		a, raw, err := s.client.getApplication(ctx, key)
		if err != nil {
			return err
		}
		if a.Operation == nil && a.Status.AutomationSuspended == nil {
			if s.format != formatTable {
				return printStructured(s.out, s.format, raw)
			}
			fmt.Fprintf(s.out, "%s: automated sync resumed\n", key)
			return nil
		}
		if s.now().After(deadline) {
			return fmt.Errorf("application %s: resume requested, but automation is still suspended after %s", key, resumeTimeout)
		}
		if err := sleep(ctx, s.poll); err != nil {
			return err
		}
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
