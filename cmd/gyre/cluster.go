package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gyre-cd/gyre/cluster"
	"github.com/gyre-cd/gyre/web"
	"github.com/spf13/cobra"
)

// newClusterCommand returns `gyre cluster` and its subcommands.
func newClusterCommand(o *cliOptions) *cobra.Command {
	ao := &appOptions{cliOptions: o}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "List, add and remove the clusters gyre deploys to",
		Long: `The cluster commands read the destination clusters through gyre's HTTP API:
the cluster gyre runs in ("in-cluster") and every cluster Secret in gyre's
namespace (labelled gyre.dev/secret-type=cluster, or Argo CD's
argocd.argoproj.io/secret-type=cluster).`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "list",
		Short:   "List clusters with their server, version, applications and connection state",
		Example: "  gyre cluster list\n  gyre cluster list -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := ao.session(cmd)
			if err != nil {
				return err
			}
			var l web.ClusterList
			if err := s.client.getJSON(cmd.Context(), "/api/v1/clusters", nil, &l); err != nil {
				return err
			}
			if s.format != formatTable {
				return printStructured(s.out, s.format, l)
			}
			t := newTable(s.out, "NAME", "SERVER", "VERSION", "APPS", "STATE", "MESSAGE")
			for _, c := range l.Items {
				t.row(c.Name, c.Server, c.Version, strconv.Itoa(c.Applications), string(c.State), strings.ReplaceAll(c.Message, "\n", " "))
			}
			return t.flush()
		},
	}, newClusterAddCommand(ao), newClusterRmCommand(ao))
	return cmd
}

// newClusterAddCommand returns `gyre cluster add`.
func newClusterAddCommand(ao *appOptions) *cobra.Command {
	var kubeconfig, kubeContext, saNamespace, server, project string
	var namespaces []string
	var labels map[string]string
	var stored, clusterResources, upsert bool
	cmd := &cobra.Command{
		Use:   "add NAME --kubeconfig FILE",
		Short: "Register a cluster for Applications to deploy to",
		Long: `add registers the cluster of a kubeconfig context as NAME, as a cluster
Secret in gyre's namespace. By default it creates a ServiceAccount gyre-manager
in kube-system of that cluster, bound to a ClusterRole gyre-manager-role that
may do everything (like argocd cluster add), and stores its token; with
--stored-credentials it stores the context's own token, password or client
certificate instead. Applications then pick it with destination.name NAME or
destination.server (the context's server, or --server).`,
		Example: `  gyre cluster add prod --kubeconfig ~/.kube/config --context prod-admin
  gyre cluster add staging --kubeconfig staging.yaml --namespace web --namespace db
  gyre cluster add dev --kubeconfig dev.yaml --stored-credentials --label env=dev`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if kubeconfig == "" {
				return errors.New("--kubeconfig is required: the kubeconfig whose context reaches the cluster to add")
			}
			cfg, err := targetConfig(kubeconfig, kubeContext)
			if err != nil {
				return err
			}
			s, err := ao.session(cmd)
			if err != nil {
				return err
			}
			var cc cluster.Config
			note := ""
			if stored {
				cc, err = storedCredentials(cfg)
			} else {
				cc, note, err = serviceAccountCredentials(cmd.Context(), cfg, saNamespace)
			}
			if err != nil {
				return err
			}
			raw, err := json.Marshal(cc)
			if err != nil {
				return err
			}
			if server == "" {
				server = cfg.Host
			}
			req := web.ClusterRequest{Name: args[0], Server: server, Config: raw, Namespaces: namespaces, ClusterResources: clusterResources, Project: project, Labels: labels, Upsert: upsert}
			err = writeCluster(cmd, s, http.MethodPost, nil, req, func(secrets string) string {
				return fmt.Sprintf("cluster %s (%s) registered in Secret %s", args[0], server, secrets)
			})
			if err == nil && note != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "note:", note)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig that reaches the cluster to add")
	f.StringVar(&kubeContext, "context", "", "context of the kubeconfig (default: its current context)")
	f.StringVar(&server, "server", "", "API server URL gyre should use (default: the context's); for a cluster gyre reaches at another address than you")
	f.StringVar(&saNamespace, "service-account-namespace", "kube-system", "namespace of the gyre-manager ServiceAccount in the added cluster")
	f.BoolVar(&stored, "stored-credentials", false, "store the context's own credentials instead of creating a ServiceAccount")
	f.StringArrayVar(&namespaces, "namespace", nil, "limit gyre to this namespace there (repeatable)")
	f.BoolVar(&clusterResources, "cluster-resources", false, "with --namespace, still allow cluster-scoped objects")
	f.StringVar(&project, "project", "", "only Applications of this Project may deploy there")
	f.StringToStringVar(&labels, "label", nil, "label of the cluster Secret, for ApplicationSet cluster generators (repeatable, key=value)")
	f.BoolVar(&upsert, "upsert", false, "replace the Secret of a cluster with the same name or server")
	return cmd
}

// newClusterRmCommand returns `gyre cluster rm`.
func newClusterRmCommand(ao *appOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NAME",
		Aliases: []string{"remove"},
		Short:   "Forget a cluster: delete its cluster Secret (nothing in the cluster is touched)",
		Example: "  gyre cluster rm staging",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := ao.session(cmd)
			if err != nil {
				return err
			}
			return writeCluster(cmd, s, http.MethodDelete, url.Values{"name": {args[0]}}, nil, func(secrets string) string {
				return fmt.Sprintf("cluster %s removed: Secret %s deleted", args[0], secrets)
			})
		},
	}
}

// writeCluster sends a cluster write (POST or DELETE /api/v1/clusters) and
// prints the answer: as the output format asks, or the line done makes of
// the Secrets written.
func writeCluster(cmd *cobra.Command, s *appSession, method string, query url.Values, body any, done func(secrets string) string) error {
	data, _, err := s.client.do(cmd.Context(), method, "/api/v1/clusters", query, body)
	if err != nil {
		return err
	}
	var w web.ClusterWritten
	if err := json.Unmarshal(data, &w); err != nil {
		return fmt.Errorf("server %s: decode answer: %w", s.client.server, err)
	}
	if s.format != formatTable {
		return printStructured(s.out, s.format, w)
	}
	fmt.Fprintln(s.out, done(strings.Join(w.Secrets, ", ")))
	return nil
}
