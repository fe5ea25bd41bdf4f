package main

import (
	"context"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gyre-cd/gyre/app"
)

// syncFlags are the flags of `gyre app sync`.
type syncFlags struct {
	Revision  string
	Prune     bool
	DryRun    bool
	Resources []string
	Async     bool
	Timeout   time.Duration
	// Confirm is how a sync that prunes or replaces is confirmed (--yes).
	Confirm confirmation
}

func newAppSyncCommand(o *appOptions) *cobra.Command {
	f := syncFlags{Timeout: 10 * time.Minute}
	cmd := &cobra.Command{
		Use:   "sync NAME",
		Short: "Apply git to the cluster now and follow the sync to its end",
		Long: `sync asks gyre to sync the Application, then follows the operation: it
prints each object as its wave is applied and ends with the table of what was
done. It exits 1 when the sync failed.

--resource limits the sync to some objects: KIND/NAME or GROUP/KIND/NAME
(repeatable). The namespace is the one the Application manages the object
in, else its destination namespace.

A sync that would delete objects (--prune, and git no longer declares
them) or replace them (the Application's Replace=true sync option) first
lists them, from the server's diff, and asks for confirmation on a
terminal; elsewhere (scripts, CI) it needs --yes, and exits 2 without it.
--dry-run changes nothing and asks nothing: the server works out the sync
and prints its change set, object by object, as a sync would.`,
		Example: `  gyre app sync web
  gyre app sync web --prune --yes
  gyre app sync web --dry-run --prune
  gyre app sync web --revision my-branch --resource Deployment/web`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			f.Confirm.In = cmd.InOrStdin()
			f.Confirm.Interactive = isTerminal(f.Confirm.In)
			return runAppSync(cmd.Context(), s, s.key(args[0]), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Revision, "revision", "", "commit, branch or tag to sync, or for a chart source a chart version or constraint (default: the Application's targetRevision)")
	fl.BoolVar(&f.Prune, "prune", false, "delete objects git no longer declares")
	fl.BoolVar(&f.DryRun, "dry-run", false, "show what the sync would do without changing the cluster")
	fl.StringArrayVar(&f.Resources, "resource", nil, "sync only this object, KIND/NAME or GROUP/KIND/NAME (repeatable)")
	fl.BoolVar(&f.Async, "async", false, "return once the sync is requested, without following it")
	fl.DurationVar(&f.Timeout, "timeout", f.Timeout, "how long to follow the sync before giving up (0: no limit)")
	fl.BoolVarP(&f.Confirm.Yes, "yes", "y", false, "do not ask for confirmation before deleting or replacing objects")
	return cmd
}

func runAppSync(ctx context.Context, s *appSession, key types.NamespacedName, f syncFlags) error {
	a, _, err := s.client.getApplication(ctx, key)
	if err != nil {
		return err
	}
	req := syncRequest{Revision: f.Revision, Prune: f.Prune, DryRun: f.DryRun}
	managed := a
	if len(f.Resources) > 0 {
		// --resource names any managed object, also one a long status
		// does not list.
		managed = a.DeepCopy()
		managed.Status.Resources, _ = s.objects(ctx, a)
	}
	for _, r := range f.Resources {
		k, err := parseResource(r, managed)
		if err != nil {
			return err
		}
		req.Resources = append(req.Resources, k)
	}
	if !f.DryRun {
		d, err := planDestructive(ctx, s, a, f.Revision, f.Prune, req.Resources)
		switch {
		case err != nil && !f.Confirm.Yes:
			return withExitCode(syncExitRefused, fmt.Errorf("sync %s: cannot tell what the sync would delete or replace: %w (pass --yes to sync without the check)", key, err))
		case err == nil:
			if err := confirmDestructive(s, "sync of "+key.String(), d, f.Confirm); err != nil {
				return err
			}
		}
	}
	what := "sync"
	if f.DryRun {
		what = "dry-run sync"
	}
	fw := newFollower(s, key, a, what)
	fw.requested = s.now()
	served, err := s.client.post(ctx, key, "sync", req)
	if err != nil {
		return err
	}
	return fw.finish(ctx, served, f.Async, f.Timeout)
}

// parseResource turns KIND/NAME or GROUP/KIND/NAME into a key, filling in
// the group and namespace from the objects a manages when it names one of
// them, else the core group and the destination namespace.
func parseResource(s string, a *app.Application) (app.ResourceKey, error) {
	parts := strings.Split(s, "/")
	var k app.ResourceKey
	explicitGroup := false
	switch len(parts) {
	case 2:
		k.Kind, k.Name = parts[0], parts[1]
	case 3:
		k.Group, k.Kind, k.Name = parts[0], parts[1], parts[2]
		explicitGroup = true
	default:
		return k, fmt.Errorf("resource %q: want KIND/NAME or GROUP/KIND/NAME", s)
	}
	if k.Kind == "" || k.Name == "" {
		return k, fmt.Errorf("resource %q: want KIND/NAME or GROUP/KIND/NAME", s)
	}
	for _, r := range a.Status.Resources {
		if strings.EqualFold(r.Kind, k.Kind) && r.Name == k.Name && (!explicitGroup || r.Group == k.Group) {
			return r.Key(), nil
		}
	}
	k.Namespace = a.Spec.Destination.Namespace
	return k, nil
}

func newAppRollbackCommand(o *appOptions) *cobra.Command {
	var prune, async, yes bool
	timeout := 10 * time.Minute
	cmd := &cobra.Command{
		Use:   "rollback NAME [ID]",
		Short: "Sync a recorded history entry again and suspend automated sync",
		Long: `rollback re-syncs the commit and source options of a history entry (see
` + "`gyre app history`" + `); without ID, the entry before the current one. A rollback
suspends automated sync until ` + "`gyre app resume`" + `. It follows the operation
like sync does. With --prune it first lists the objects the entry's
revision does not declare, which it deletes, and asks as sync does
(--yes to skip; without a terminal it exits 2 unless --yes).`,
		Example: `  gyre app rollback web
  gyre app rollback web 3 --prune --yes`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			var id int64
			if len(args) == 2 {
				if id, err = strconv.ParseInt(args[1], 10, 64); err != nil || id <= 0 {
					return fmt.Errorf("history id %q: want a positive number from `gyre app history`", args[1])
				}
			}
			c := confirmation{Yes: yes, In: cmd.InOrStdin()}
			c.Interactive = isTerminal(c.In)
			return runAppRollback(cmd.Context(), s, s.key(args[0]), id, rollbackRequest{Prune: prune}, c, async, timeout)
		},
	}
	cmd.Flags().BoolVar(&prune, "prune", false, "delete objects the recorded revision does not declare")
	cmd.Flags().BoolVar(&async, "async", false, "return once the rollback is requested, without following it")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation before deleting objects")
	cmd.Flags().DurationVar(&timeout, "timeout", timeout, "how long to follow the rollback before giving up (0: no limit)")
	return cmd
}

func runAppRollback(ctx context.Context, s *appSession, key types.NamespacedName, id int64, req rollbackRequest, c confirmation, async bool, timeout time.Duration) error {
	a, _, err := s.client.getApplication(ctx, key)
	if err != nil {
		return err
	}
	if id == 0 {
		h := a.Status.History
		if len(h) < 2 {
			return fmt.Errorf("application %s: no earlier history entry to roll back to (it has %d); name one with `gyre app rollback %s ID`", key, len(h), key.Name)
		}
		id = h[len(h)-2].ID
	}
	req.ID = id
	if h := a.Status.FindHistory(id); h != nil && req.Prune {
		d, err := planDestructive(ctx, s, a, h.Revision, true, nil)
		switch {
		case err != nil && !c.Yes:
			return withExitCode(syncExitRefused, fmt.Errorf("rollback %s: cannot tell what the rollback would delete: %w (pass --yes to roll back without the check)", key, err))
		case err == nil:
			if err := confirmDestructive(s, fmt.Sprintf("rollback of %s to history %d", key, id), d, c); err != nil {
				return err
			}
		}
	}
	fw := newFollower(s, key, a, fmt.Sprintf("rollback to history %d", id))
	fw.requested = s.now()
	served, err := s.client.post(ctx, key, "rollback", req)
	if err != nil {
		return err
	}
	return fw.finish(ctx, served, async, timeout)
}

// follower polls an Application after a sync or rollback request until the
// operation that request started has finished, printing progress.
type follower struct {
	s    *appSession
	key  types.NamespacedName
	what string
	// prior is the operation state before the request; requested is when
	// the request was sent, by the local clock.
	prior        *app.OperationState
	priorVersion string
	requested    time.Time
	// sawPending is set once the request was seen waiting in the
	// Application's operation field.
	sawPending bool
	// progress gets the progress lines; io.Discard for -o json and yaml.
	progress io.Writer
	// shown is what was printed for each change set entry; message the
	// last phase and message printed.
	shown   []string
	message string
}

func newFollower(s *appSession, key types.NamespacedName, before *app.Application, what string) *follower {
	f := &follower{s: s, key: key, what: what, prior: before.Status.OperationState, priorVersion: before.ResourceVersion, progress: s.out}
	if s.format != formatTable {
		f.progress = io.Discard
	}
	return f
}

// finish reports the request and, unless async, follows the operation to
// its end and prints the result. served is the server's time of the
// accepted request (zero when unknown).
func (f *follower) finish(ctx context.Context, served time.Time, async bool, timeout time.Duration) error {
	fmt.Fprintf(f.progress, "%s: %s requested\n", f.key, f.what)
	if async {
		return nil
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	// Operation times are stored to the second: an operation started by
	// this request has a start no earlier than the request's second, on the
	// server's clock when it sent one.
	since := f.requested
	if !served.IsZero() && served.Before(since) {
		since = served
	}
	since = since.Truncate(time.Second).Add(-time.Second)
	a, err := f.follow(ctx, since)
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			return fmt.Errorf("application %s: %s still not finished after %s; it goes on (see `gyre app get %s`)", f.key, f.what, timeout, f.key.Name)
		}
		return err
	}
	op := f.s.fullOperation(ctx, a)
	if f.s.format != formatTable {
		if err := printStructured(f.s.out, f.s.format, op); err != nil {
			return err
		}
	} else if err := printResult(f.s.out, op); err != nil {
		return err
	}
	if op.Phase != app.OperationSucceeded {
		return fmt.Errorf("application %s: %s %s: %s", f.key, f.what, strings.ToLower(string(op.Phase)), op.Message)
	}
	return nil
}

// follow polls until the operation started at or after since has completed
// and returns the Application as it was then.
func (f *follower) follow(ctx context.Context, since time.Time) (*app.Application, error) {
	for {
		a, _, err := f.s.client.getApplication(ctx, f.key)
		if err != nil {
			return nil, err
		}
		switch st := a.Status.OperationState; {
		case f.ours(a, since):
			f.report(st)
			if st.Phase.Completed() {
				return a, nil
			}
		case a.Operation != nil:
			if !f.sawPending {
				fmt.Fprintf(f.progress, "%s: waiting for the reconciler to take the request\n", f.key)
				f.sawPending = true
			}
		default:
			if c := a.Status.FindCondition(app.ConditionInvalidSpecError); c != nil && c.LastTransitionTime != nil && !c.LastTransitionTime.Time.Before(since) {
				return nil, fmt.Errorf("application %s: %s rejected: %s", f.key, f.what, c.Message)
			}
		}
		if err := sleep(ctx, f.s.poll); err != nil {
			return nil, err
		}
	}
}

// ours reports whether a's operation state is the one the request started:
// taken from the request (no operation pending), started no earlier than
// since, and not the finished state seen before the request, which a
// lagging cache may still serve. An operation that ends exactly like the
// one before it is told apart by the request having been seen pending, or
// by the object having been written since.
func (f *follower) ours(a *app.Application, since time.Time) bool {
	st := a.Status.OperationState
	if st == nil || a.Operation != nil || st.StartedAt.Time.Before(since) {
		return false
	}
	if f.prior == nil || !f.prior.Phase.Completed() || f.sawPending {
		return true
	}
	return !reflect.DeepEqual(*st, *f.prior) || a.ResourceVersion != f.priorVersion
}

// report prints what changed since the last look: the phase and message,
// and each change set entry that is new or moved on.
func (f *follower) report(st *app.OperationState) {
	if st.SyncResult != nil {
		for i, c := range st.SyncResult.Resources {
			line := progressLine(c)
			if i < len(f.shown) {
				if f.shown[i] == line {
					continue
				}
				f.shown[i] = line
			} else {
				f.shown = append(f.shown, line)
			}
			fmt.Fprintln(f.progress, line)
		}
	}
	if msg := fmt.Sprintf("%s: %s: %s", f.key, st.Phase, st.Message); msg != f.message {
		f.message = msg
		fmt.Fprintln(f.progress, msg)
	}
}

// progressLine is one object's progress: its phase and wave, key and action.
func progressLine(c app.Change) string {
	phase := c.SyncPhase
	if phase == "" {
		phase = app.SyncPhaseSync
	}
	line := fmt.Sprintf("  %s wave %d: %s %s", phase, c.Wave, c.Kind, objectName(c.Namespace, c.Name))
	if c.HookType != "" {
		line += " (hook " + string(c.HookPhase) + ")"
	}
	line += " " + string(c.Action)
	if c.Message != "" {
		line += ": " + c.Message
	}
	return line
}

func objectName(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// printResult writes the per-object table of a finished operation.
func printResult(w io.Writer, op *app.OperationState) error {
	fmt.Fprintln(w)
	if op.SyncResult != nil && op.SyncResult.DryRun {
		fmt.Fprintln(w, "Dry run: nothing was changed; the actions say what a sync would do.")
	}
	t := newTable(w, "KIND", "NAMESPACE", "NAME", "ACTION", "MESSAGE")
	if op.SyncResult != nil {
		for _, c := range op.SyncResult.Resources {
			t.row(c.Kind, c.Namespace, c.Name, string(c.Action), c.Message)
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	if cs := op.SyncResult; cs != nil && cs.Summary != nil && cs.Summary.Truncated {
		fmt.Fprintf(w, "\nListed: %d of the %d objects, failures first; the complete change set could not be read.\n", len(cs.Resources), cs.Summary.Total)
	}
	return nil
}
