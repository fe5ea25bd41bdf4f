package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/gyre-cd/gyre/app"
)

// appSpecFlags are the flags of `gyre app create` and `gyre app set` that
// describe an Application's spec, named as `argocd app create` names them.
type appSpecFlags struct {
	Repo          string
	Path          string
	Chart         string
	Revision      string
	DestNamespace string
	DestServer    string
	Project       string
	SyncPolicy    string
	AutoPrune     bool
	SelfHeal      bool
	HelmSet       []string
	Values        []string
	ReleaseName   string
	SyncOptions   []string
}

// add registers the flags; create takes them all, set all but --repo and
// --chart, which name another Application rather than change one.
func (f *appSpecFlags) add(fs *pflag.FlagSet, forCreate bool) {
	if forCreate {
		fs.StringVar(&f.Repo, "repo", "", "repository URL: git, Helm chart repository or oci://")
		fs.StringVar(&f.Chart, "chart", "", "Helm chart name, for a chart repository")
	}
	fs.StringVar(&f.Path, "path", "", "directory in the git repository")
	fs.StringVar(&f.Revision, "revision", "", "branch, tag, commit or chart version (spec.source.targetRevision)")
	fs.StringVar(&f.DestNamespace, "dest-namespace", "", "namespace the objects go to")
	fs.StringVar(&f.DestServer, "dest-server", "", "cluster the objects go to; only this cluster (https://kubernetes.default.svc) is supported")
	fs.StringVar(&f.Project, "project", "", `Project of the Application (default "default")`)
	fs.StringVar(&f.SyncPolicy, "sync-policy", "", "automated, or none for manual syncs")
	fs.BoolVar(&f.AutoPrune, "auto-prune", false, "automated syncs delete objects git no longer has")
	fs.BoolVar(&f.SelfHeal, "self-heal", false, "automated syncs undo changes made in the cluster")
	fs.StringArrayVar(&f.HelmSet, "helm-set", nil, "Helm parameter key=value (repeatable)")
	fs.StringArrayVar(&f.Values, "values", nil, "Helm value file, relative to the chart (repeatable)")
	fs.StringVar(&f.ReleaseName, "release-name", "", "Helm release name")
	fs.StringArrayVar(&f.SyncOptions, "sync-option", nil, "sync option, e.g. CreateNamespace=true (repeatable)")
}

// helmParameters parses --helm-set.
func (f *appSpecFlags) helmParameters() ([]app.HelmParameter, error) {
	var out []app.HelmParameter
	for _, kv := range f.HelmSet {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--helm-set %q: want key=value, e.g. --helm-set image.tag=v2", kv)
		}
		out = append(out, app.HelmParameter{Name: k, Value: v})
	}
	return out, nil
}

// automated says what --sync-policy asks: on, off, or nothing (nil).
func (f *appSpecFlags) automated() (*bool, error) {
	switch strings.ToLower(f.SyncPolicy) {
	case "":
		return nil, nil
	case "automated", "auto", "automatic":
		on := true
		return &on, nil
	case "none", "manual":
		off := false
		return &off, nil
	}
	return nil, fmt.Errorf("--sync-policy %q: want automated or none", f.SyncPolicy)
}

// apply sets the fields the flags name on a (flags override a file's
// fields); changed reports whether a flag was given.
func (f *appSpecFlags) apply(a *app.Application, changed func(string) bool) error {
	s := &a.Spec
	src := &s.Source
	if len(s.Sources) > 0 && (changed("repo") || changed("path") || changed("chart") || changed("revision") ||
		changed("helm-set") || changed("values") || changed("release-name")) {
		return errors.New("the Application has spec.sources: change its sources in the file, source flags apply to spec.source only")
	}
	set := func(flag string, dst *string, v string) {
		if changed(flag) {
			*dst = v
		}
	}
	set("repo", &src.RepoURL, f.Repo)
	set("path", &src.Path, f.Path)
	set("chart", &src.Chart, f.Chart)
	set("revision", &src.TargetRevision, f.Revision)
	set("dest-namespace", &s.Destination.Namespace, f.DestNamespace)
	set("dest-server", &s.Destination.Server, f.DestServer)
	set("project", &s.Project, f.Project)
	params, err := f.helmParameters()
	if err != nil {
		return err
	}
	if changed("helm-set") || changed("values") || changed("release-name") {
		if src.Helm == nil {
			src.Helm = &app.HelmSource{}
		}
		src.Helm.Parameters = append(src.Helm.Parameters, params...)
		src.Helm.ValueFiles = append(src.Helm.ValueFiles, f.Values...)
		set("release-name", &src.Helm.ReleaseName, f.ReleaseName)
	}
	on, err := f.automated()
	if err != nil {
		return err
	}
	if on != nil || changed("auto-prune") || changed("self-heal") || changed("sync-option") {
		if s.SyncPolicy == nil {
			s.SyncPolicy = &app.SyncPolicy{}
		}
		p := s.SyncPolicy
		switch {
		case on != nil && !*on:
			p.Automated = nil
		case on != nil && p.Automated == nil:
			p.Automated = &app.AutomatedSync{}
		}
		if changed("auto-prune") || changed("self-heal") {
			if p.Automated == nil {
				return errors.New("--auto-prune and --self-heal apply to automated syncs: add --sync-policy automated")
			}
			if changed("auto-prune") {
				p.Automated.Prune = f.AutoPrune
			}
			if changed("self-heal") {
				p.Automated.SelfHeal = f.SelfHeal
			}
		}
		p.SyncOptions = append(p.SyncOptions, f.SyncOptions...)
	}
	return nil
}

func newAppCreateCommand(o *appOptions) *cobra.Command {
	var (
		flags  appSpecFlags
		file   string
		upsert bool
	)
	cmd := &cobra.Command{
		Use:   "create [NAME]",
		Short: "Create an Application",
		Long: `create makes an Application from the flags, or from the file -f with the
flags overriding its fields. The Application goes in the namespace -n, else
the file's, else the config file's, else "gyre". It fails when one of that
name exists, unless --upsert is given, which replaces that one's spec.`,
		Example: `  gyre app create guestbook --repo https://github.com/argoproj/argocd-example-apps.git \
    --path guestbook --dest-namespace guestbook --sync-policy automated --self-heal
  gyre app create redis --repo https://charts.bitnami.com/bitnami --chart redis --revision 19.0.1 \
    --helm-set auth.enabled=false --dest-namespace redis
  gyre app create -f app.yaml --revision v2 --upsert`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			a := &app.Application{}
			if file != "" {
				if a, err = readApplicationFile(file, cmd.InOrStdin()); err != nil {
					return err
				}
			}
			if len(args) == 1 {
				a.Name = args[0]
			}
			if a.Name == "" {
				return errors.New("create: name the Application: gyre app create NAME, or metadata.name in -f")
			}
			if o.Namespace != "" || a.Namespace == "" {
				a.Namespace = s.namespace
			}
			if err := flags.apply(a, cmd.Flags().Changed); err != nil {
				return err
			}
			if a.Spec.Source.RepoURL == "" && len(a.Spec.Sources) == 0 {
				return errors.New("create: a repository is required: add --repo URL")
			}
			return runAppCreate(cmd.Context(), s, a, upsert)
		},
	}
	flags.add(cmd.Flags(), true)
	cmd.Flags().StringVarP(&file, "file", "f", "", `Application manifest (YAML or JSON; "-" for stdin)`)
	cmd.Flags().BoolVar(&upsert, "upsert", false, "replace the spec of an existing Application of that name")
	return cmd
}

// readApplicationFile reads an Application manifest from path, or stdin for
// "-".
func readApplicationFile(path string, stdin io.Reader) (*app.Application, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("-f %s: %w", path, err)
	}
	a := &app.Application{}
	if err := yaml.UnmarshalStrict(data, a); err != nil {
		return nil, fmt.Errorf("-f %s: not an Application: %w", path, err)
	}
	if a.Kind != "" && a.Kind != app.ApplicationKind {
		return nil, fmt.Errorf("-f %s: kind %q: want %s", path, a.Kind, app.ApplicationKind)
	}
	return a, nil
}

func runAppCreate(ctx context.Context, s *appSession, a *app.Application, upsert bool) error {
	a.APIVersion, a.Kind = app.SchemeGroupVersion().String(), app.ApplicationKind
	var q url.Values
	if upsert {
		q = url.Values{"upsert": {"true"}}
	}
	data, _, err := s.client.do(ctx, http.MethodPost, "/api/v1/applications", q, a)
	if isStatus(err, http.StatusConflict) {
		return fmt.Errorf("application %s already exists: pass --upsert to replace its spec, or change it with `gyre app set`", a.Key())
	}
	if err != nil {
		return err
	}
	if s.format != formatTable {
		return printStructured(s.out, s.format, json.RawMessage(data))
	}
	fmt.Fprintf(s.out, "application %s created\n", a.Key())
	return nil
}

func newAppDeleteCommand(o *appOptions) *cobra.Command {
	opts := deleteOptions{Cascade: true}
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an Application, and the objects it manages unless --cascade=false",
		Long: `delete asks for confirmation on a terminal unless --yes is given; elsewhere
(scripts, CI) it needs --yes. With --cascade (the default) the Application's
objects are deleted with it; with --cascade=false they stay in the cluster.`,
		Example: `  gyre app delete guestbook
  gyre app delete guestbook --cascade=false --yes`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			opts.In = cmd.InOrStdin()
			opts.Interactive = isTerminal(opts.In)
			return runAppDelete(cmd.Context(), s, s.key(args[0]), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Cascade, "cascade", true, "delete the Application's objects with it")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// deleteOptions are the settings of `gyre app delete`.
type deleteOptions struct {
	Cascade bool
	Yes     bool
	// In is where the answer to the confirmation comes from; Interactive
	// says whether it is a terminal.
	In          io.Reader
	Interactive bool
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func runAppDelete(ctx context.Context, s *appSession, key types.NamespacedName, opts deleteOptions) error {
	if !opts.Yes {
		if !opts.Interactive {
			return fmt.Errorf("delete application %s: not asking for confirmation outside a terminal: pass --yes", key)
		}
		what := "and the objects it manages"
		if !opts.Cascade {
			what = "and leave its objects in the cluster"
		}
		fmt.Fprintf(s.errOut, "Delete application %s %s? [y/N] ", key, what)
		answer, _ := bufio.NewReader(opts.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return fmt.Errorf("delete application %s: not confirmed; nothing deleted", key)
		}
	}
	q := url.Values{"cascade": {fmt.Sprint(opts.Cascade)}}
	if _, _, err := s.client.do(ctx, http.MethodDelete, appPath(key, ""), q, nil); err != nil {
		return err
	}
	if opts.Cascade {
		fmt.Fprintf(s.out, "application %s deleted; its objects are being deleted\n", key)
	} else {
		fmt.Fprintf(s.out, "application %s deleted; its objects stay in the cluster\n", key)
	}
	return nil
}

func newAppSetCommand(o *appOptions) *cobra.Command {
	var flags appSpecFlags
	cmd := &cobra.Command{
		Use:   "set NAME",
		Short: "Change an Application's spec: only the fields given",
		Long: `set sends a merge patch of the fields its flags name and leaves the others
as they are. --helm-set, --values and --sync-option replace the lists they
name; --auto-prune and --self-heal turn automated syncs on.`,
		Example: `  gyre app set guestbook --revision v2
  gyre app set redis --helm-set replica.replicaCount=3 --values values-prod.yaml
  gyre app set guestbook --sync-policy none`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			patch, err := flags.patch(cmd.Flags().Changed)
			if err != nil {
				return err
			}
			if len(patch) == 0 {
				return errors.New("set: nothing to change: give at least one flag, e.g. --revision v2")
			}
			return runAppSet(cmd.Context(), s, s.key(args[0]), patch)
		},
	}
	flags.add(cmd.Flags(), false)
	return cmd
}

// patch returns the merge patch of spec the given flags ask for.
func (f *appSpecFlags) patch(changed func(string) bool) (map[string]any, error) {
	spec := map[string]any{}
	sub := func(m map[string]any, k string) map[string]any {
		if v, ok := m[k].(map[string]any); ok {
			return v
		}
		v := map[string]any{}
		m[k] = v
		return v
	}
	str := func(flag string, m func() map[string]any, field, v string) {
		if changed(flag) {
			m()[field] = v
		}
	}
	source := func() map[string]any { return sub(spec, "source") }
	helm := func() map[string]any { return sub(source(), "helm") }
	dest := func() map[string]any { return sub(spec, "destination") }
	str("path", source, "path", f.Path)
	str("revision", source, "targetRevision", f.Revision)
	str("release-name", helm, "releaseName", f.ReleaseName)
	str("dest-namespace", dest, "namespace", f.DestNamespace)
	str("dest-server", dest, "server", f.DestServer)
	str("project", func() map[string]any { return spec }, "project", f.Project)
	if changed("helm-set") {
		params, err := f.helmParameters()
		if err != nil {
			return nil, err
		}
		helm()["parameters"] = params
	}
	if changed("values") {
		helm()["valueFiles"] = f.Values
	}
	on, err := f.automated()
	if err != nil {
		return nil, err
	}
	policy := func() map[string]any { return sub(spec, "syncPolicy") }
	switch {
	case on != nil && !*on:
		if changed("auto-prune") || changed("self-heal") {
			return nil, errors.New("--auto-prune and --self-heal apply to automated syncs: drop them or use --sync-policy automated")
		}
		policy()["automated"] = nil
	case on != nil || changed("auto-prune") || changed("self-heal"):
		auto := sub(policy(), "automated")
		if changed("auto-prune") {
			auto["prune"] = f.AutoPrune
		}
		if changed("self-heal") {
			auto["selfHeal"] = f.SelfHeal
		}
	}
	if changed("sync-option") {
		policy()["syncOptions"] = f.SyncOptions
	}
	return spec, nil
}

func runAppSet(ctx context.Context, s *appSession, key types.NamespacedName, spec map[string]any) error {
	data, _, err := s.client.do(ctx, http.MethodPatch, appPath(key, ""), nil, map[string]any{"spec": spec})
	if err != nil {
		return err
	}
	if s.format != formatTable {
		return printStructured(s.out, s.format, json.RawMessage(data))
	}
	fmt.Fprintf(s.out, "application %s updated\n", key)
	return nil
}
