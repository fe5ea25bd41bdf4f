package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing/fstest"

	"github.com/spf13/cobra"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/health"
	"github.com/gyre-cd/gyre/health/cel"
	"github.com/gyre-cd/gyre/health/lua"
	"github.com/gyre-cd/gyre/render"
)

// exitBadInput is the exit status of `gyre health check` when a file cannot
// be read or does not parse.
const exitBadInput = 2

// newHealthCommand returns `gyre health` and its subcommands.
func newHealthCommand(o *cliOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Assess the health of Kubernetes objects offline, with the agent's rules",
		Long: `The health commands judge objects the way the gyre agent does — the same
built-in rules for Deployments, Pods, Jobs, custom resources and the rest —
without a cluster or a gyre server: the objects come from files, such as the
output of kubectl get -o yaml.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newHealthCheckCommand(o))
	cmd.AddCommand(newHealthTestCommand())
	return cmd
}

// healthCheckOptions are the flags of `gyre health check`.
type healthCheckOptions struct {
	// Files are the files to read (-f), "-" for standard input.
	Files []string
	// HealthScripts is a directory of Lua health checks, as the agent's
	// --health-scripts.
	HealthScripts string
	// HealthExprs is a YAML file of CEL health checks in Flux's
	// healthCheckExprs shape, as the agent reads from gyre-cm.
	HealthExprs string
}

// healthCheckResult is the health of one object, as `gyre health check -o
// json` prints it.
type healthCheckResult struct {
	Group     string           `json:"group"`
	Kind      string           `json:"kind"`
	Namespace string           `json:"namespace"`
	Name      string           `json:"name"`
	Status    app.HealthStatus `json:"status"`
	Message   string           `json:"message"`
	// HasHealth is false for kinds without a notion of health (a
	// ConfigMap), which the agent leaves out of an Application's health.
	HasHealth bool `json:"hasHealth"`
}

func newHealthCheckCommand(o *cliOptions) *cobra.Command {
	var f healthCheckOptions
	cmd := &cobra.Command{
		Use:   "check -f FILE [-f FILE…]",
		Short: "Print the health of each object in YAML or JSON files",
		Long: `check reads every object in the files — YAML, one or more documents, or
JSON; the items of a List count one by one — and prints each object's kind,
namespace, name, health and the reason for it, as the agent would judge the
object if it were live. Objects of kinds without health (a ConfigMap, a
Role) show "-" (hasHealth false in JSON). -f - reads standard input.
--health-scripts adds Lua health checks from a directory, as the agent's
flag of the same name does, and --health-exprs CEL health checks from a
YAML file holding a list in Flux's healthCheckExprs shape, as the agent reads
from gyre-cm's key healthCheckExprs; a kind with both is judged by its
expression. The agent's ConfigMaps gyre-cm and argocd-cm are not read.

check exits 0 whatever the objects' health, and 2 when a file cannot be read
or does not parse, naming the file and line.`,
		Example: `  # The health of a live Deployment
  kubectl get deployment api -n shop -o yaml | gyre health check -f -

  # Everything in a namespace, as JSON
  kubectl get all -n shop -o json | gyre health check -f - -o json

  # Objects saved in files
  gyre health check -f deployment.yaml -f pods.yaml

  # With custom Lua checks, laid out like Argo CD's resource_customizations
  gyre health check -f rollout.yaml --health-scripts ./resource_customizations

  # With CEL checks in Flux's healthCheckExprs shape
  gyre health check -f database.yaml --health-exprs ./health-exprs.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format, err := parseOutputFormat(o.Output)
			if err != nil {
				return err
			}
			if len(f.Files) == 0 {
				return withExitCode(exitBadInput, errors.New("health check: no input: give -f FILE, or -f - for standard input"))
			}
			var checker health.Checker
			var scripts *lua.Set
			if f.HealthScripts != "" {
				if scripts, err = loadHealthScripts(f.HealthScripts, cmd.ErrOrStderr()); err != nil {
					return withExitCode(exitBadInput, err)
				}
			}
			var exprs *cel.Set
			if f.HealthExprs != "" {
				if exprs, err = loadHealthExprs(f.HealthExprs, cmd.ErrOrStderr()); err != nil {
					return withExitCode(exitBadInput, err)
				}
			}
			checker.SetCustom(customChecks(exprs, scripts))
			var results []healthCheckResult
			for _, file := range f.Files {
				objs, err := readObjects(file, cmd.InOrStdin())
				if err != nil {
					return withExitCode(exitBadInput, err)
				}
				for _, obj := range objs {
					results = append(results, checkObject(&checker, obj))
				}
			}
			return printHealthResults(cmd.OutOrStdout(), format, results)
		},
	}
	cmd.Flags().StringArrayVarP(&f.Files, "filename", "f", nil, "a file of objects to check, YAML or JSON (- for standard input); repeatable")
	cmd.Flags().StringVar(&f.HealthScripts, "health-scripts", "", "a directory of Lua health checks laid out like Argo CD's resource_customizations, tried before the built-in rules as the agent's --health-scripts")
	cmd.Flags().StringVar(&f.HealthExprs, "health-exprs", "", "a YAML file of CEL health checks, a list in Flux's healthCheckExprs shape (apiVersion, kind, current, inProgress, failed), tried before the Lua checks and the built-in rules")
	return cmd
}

// loadHealthScripts returns the Lua health checks of dir. Like the agent,
// it leaves out a script that does not load, with a warning on stderr; a
// directory that cannot be read is an error.
func loadHealthScripts(dir string, stderr io.Writer) (*lua.Set, error) {
	entries, errs := lua.FromDir(dir)
	for _, err := range errs {
		var le *lua.LoadError
		if !errors.As(err, &le) {
			return nil, fmt.Errorf("--health-scripts: %w", err)
		}
		fmt.Fprintf(stderr, "gyre: health script left out: %v\n", err)
	}
	return lua.NewSet(lua.Options{}, entries), nil
}

// loadHealthExprs returns the CEL health checks of file. Like the agent, it
// leaves out an entry that does not load, with a warning on stderr; a file
// that cannot be read, or is not a list, is an error.
func loadHealthExprs(file string, stderr io.Writer) (*cel.Set, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--health-exprs: %w", err)
	}
	set, errs := cel.Load(file, data, cel.Options{})
	for _, err := range errs {
		if e, ok := errors.AsType[*cel.Error](err); ok && e.Index < 0 {
			return nil, fmt.Errorf("--health-exprs: %w", err)
		}
		fmt.Fprintf(stderr, "gyre: health expression left out: %v\n", err)
	}
	return set, nil
}

// checkObject returns obj's health as checker judges it.
func checkObject(checker *health.Checker, obj render.Object) healthCheckResult {
	gvk := obj.Obj.GroupVersionKind()
	r := healthCheckResult{Group: gvk.Group, Kind: gvk.Kind, Namespace: obj.Obj.GetNamespace(), Name: obj.Obj.GetName()}
	st, ok := checker.Check(obj.Obj)
	if ok {
		r.Status, r.Message, r.HasHealth = st.Status, st.Message, true
	}
	return r
}

// printHealthResults writes results as a table, or as JSON or YAML.
func printHealthResults(w io.Writer, format outputFormat, results []healthCheckResult) error {
	if format != formatTable {
		if results == nil {
			results = []healthCheckResult{}
		}
		return printStructured(w, format, results)
	}
	t := newTable(w, "KIND", "NAMESPACE", "NAME", "HEALTH", "MESSAGE")
	for _, r := range results {
		kind := r.Kind
		if r.Group != "" {
			kind = r.Group + "/" + r.Kind
		}
		t.row(kind, r.Namespace, r.Name, string(r.Status), r.Message)
	}
	return t.flush()
}

// readObjects reads the objects of file ("-" for stdin) with the decoder
// the agent renders plain directories with, so a manifest parses here as it
// does in a sync: several YAML documents, JSON, List kinds expanded. An
// error names file and, when it is known, the line.
func readObjects(file string, stdin io.Reader) ([]render.Object, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(stdin)
		file = "standard input"
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	fsys := fstest.MapFS{manifestName(file, data): {Data: data}}
	res, err := render.Render(fsys, ".", render.Options{Type: render.Directory, Limits: healthCheckLimits()})
	if err != nil {
		var re *render.Error
		if errors.As(err, &re) && re.Err != nil {
			if re.Line > 0 {
				return nil, fmt.Errorf("%s line %d: %w", file, re.Line, re.Err)
			}
			return nil, fmt.Errorf("%s: %w", file, re.Err)
		}
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return res.Objects, nil
}

// manifestName is the name readObjects gives data in the file tree it
// renders, whose extension tells render to decode JSON or YAML: the real
// file's extension when it is one of theirs, else what data looks like.
func manifestName(file string, data []byte) string {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".json":
		return "objects.json"
	case ".yaml", ".yml":
		return "objects.yaml"
	}
	if startsJSON(data) {
		return "objects.json"
	}
	return "objects.yaml"
}

// healthCheckLimits are the render limits of `gyre health check`: files on
// the user's own machine, where `kubectl get -A -o json` of a large cluster
// is a fair input, so far above the agent's defaults.
func healthCheckLimits() render.Limits {
	return render.Limits{MaxFileBytes: 1 << 30, MaxReadBytes: 1 << 30, MaxObjects: 1_000_000, MaxOutputBytes: 4 << 30}
}

// startsJSON reports whether data looks like a JSON document: its first
// character that is not white space opens an object or an array.
func startsJSON(data []byte) bool {
	data = bytes.TrimSpace(data)
	return len(data) > 0 && (data[0] == '{' || data[0] == '[')
}
