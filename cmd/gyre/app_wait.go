package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gyre-cd/gyre/app"
)

// waitFlags are the flags of `gyre app wait`.
type waitFlags struct {
	Sync    bool
	Health  bool
	Timeout time.Duration
}

func newAppWaitCommand(o *appOptions) *cobra.Command {
	f := waitFlags{Timeout: 2 * time.Minute}
	cmd := &cobra.Command{
		Use:   "wait NAME",
		Short: "Wait until an Application is Synced and/or Healthy",
		Long: `wait polls the Application until it is Synced (--sync: sync status Synced and
no operation running) and Healthy (--health); with neither flag, both. It
exits 0 when reached, and 1 on timeout or when the Application's health is
Degraded.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			if !f.Sync && !f.Health {
				f.Sync, f.Health = true, true
			}
			return runAppWait(cmd.Context(), s, s.key(args[0]), f)
		},
	}
	cmd.Flags().BoolVar(&f.Sync, "sync", false, "wait for sync status Synced with no operation running")
	cmd.Flags().BoolVar(&f.Health, "health", false, "wait for health Healthy")
	cmd.Flags().DurationVar(&f.Timeout, "timeout", f.Timeout, "give up after this long")
	return cmd
}

func runAppWait(ctx context.Context, s *appSession, key types.NamespacedName, f waitFlags) error {
	ctx, cancel := context.WithTimeout(ctx, f.Timeout)
	defer cancel()
	var last *app.Application
	timedOut := func() error {
		state := "the application was never fetched"
		if last != nil {
			state = strings.Join(waitingFor(last, f), ", ")
		}
		return fmt.Errorf("application %s: timed out after %s: %s", key, f.Timeout, state)
	}
	for {
		a, raw, err := s.client.getApplication(ctx, key)
		if err != nil {
			if ctx.Err() != nil {
				return timedOut()
			}
			return err
		}
		last = a
		if len(waitingFor(a, f)) == 0 {
			if s.format != formatTable {
				return printStructured(s.out, s.format, raw)
			}
			fmt.Fprintf(s.out, "%s: %s\n", key, describeState(a))
			return nil
		}
		if f.Health && a.Status.Health.Status == app.Degraded {
			return fmt.Errorf("application %s: health is Degraded: %s", key, orDash(a.Status.Health.Message))
		}
		if sleep(ctx, s.poll) != nil {
			return timedOut()
		}
	}
}

// waitingFor lists what a lacks of what f waits for, in words; empty when
// nothing.
func waitingFor(a *app.Application, f waitFlags) []string {
	var missing []string
	st := &a.Status
	if f.Sync {
		if st.Sync.Status != app.Synced {
			missing = append(missing, fmt.Sprintf("sync is %s, not Synced", orDash(string(st.Sync.Status))))
		}
		if a.Operation != nil || (st.OperationState != nil && !st.OperationState.Phase.Completed()) {
			missing = append(missing, "an operation is in progress")
		}
	}
	if f.Health && st.Health.Status != app.Healthy {
		h := fmt.Sprintf("health is %s, not Healthy", orDash(string(st.Health.Status)))
		if st.Health.Message != "" {
			h += " (" + st.Health.Message + ")"
		}
		missing = append(missing, h)
	}
	return missing
}

// describeState says an Application's sync and health in a few words.
func describeState(a *app.Application) string {
	return joinNonEmpty(string(a.Status.Sync.Status), revisionPhrase(a.Status.Sync.Revision)) + ", " + orDash(string(a.Status.Health.Status))
}
