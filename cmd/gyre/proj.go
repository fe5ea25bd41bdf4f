package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/web"
	"github.com/spf13/cobra"
)

// newProjCommand returns `gyre proj` and its subcommands.
func newProjCommand(o *cliOptions) *cobra.Command {
	ao := &appOptions{cliOptions: o}
	cmd := &cobra.Command{
		Use:   "proj",
		Short: "List and show Projects, the rules that bound Applications",
		Long: `The proj commands read Projects through gyre's HTTP API, with the same
server and token as the app commands. A token limited to projects sees only
those.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List Projects with their description and how many Applications use them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := ao.session(cmd)
			if err != nil {
				return err
			}
			var l web.ProjectList
			if err := s.client.getJSON(cmd.Context(), "/api/v1/projects", nil, &l); err != nil {
				return err
			}
			if s.format != formatTable {
				return printStructured(s.out, s.format, l)
			}
			t := newTable(s.out, "NAME", "APPS", "DESCRIPTION")
			for _, p := range l.Items {
				desc := p.Spec.Description
				if p.Implicit {
					desc += " (implicit: no Project named default exists)"
				}
				t.row(p.Name, strconv.Itoa(p.Applications), desc)
			}
			return t.flush()
		},
	}, &cobra.Command{
		Use:   "get NAME",
		Short: "Show a Project's rules",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := ao.session(cmd)
			if err != nil {
				return err
			}
			p, err := getProject(cmd.Context(), s.client, args[0])
			if err != nil {
				return err
			}
			if s.format != formatTable {
				return printStructured(s.out, s.format, p)
			}
			printProject(s.out, p)
			return nil
		},
	})
	return cmd
}

func getProject(ctx context.Context, c *apiClient, name string) (*web.ProjectView, error) {
	var p web.ProjectView
	if err := c.getJSON(ctx, "/api/v1/projects/"+url.PathEscape(name), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// printProject writes a Project's rules, one field a line.
func printProject(w io.Writer, p *web.ProjectView) {
	kinds := func(gks []app.GroupKind) string {
		var out []string
		for _, gk := range gks {
			g := gk.Group
			if g == "" {
				g = "core"
			}
			out = append(out, g+"/"+gk.Kind)
		}
		return orDash(strings.Join(out, ", "))
	}
	var dests []string
	for _, d := range p.Spec.Destinations {
		cluster := d.Server
		if cluster == "" {
			cluster = "name " + d.Name
		}
		dests = append(dests, fmt.Sprintf("%s namespace %s", cluster, orDash(d.Namespace)))
	}
	namespaced := "all"
	if len(p.Spec.NamespaceResourceWhitelist) > 0 {
		namespaced = kinds(p.Spec.NamespaceResourceWhitelist)
	}
	desc := p.Spec.Description
	if p.Implicit {
		desc += " (implicit: no Project named default exists)"
	}
	for _, f := range [][2]string{
		{"Name", p.Name},
		{"Description", orDash(desc)},
		{"Applications", strconv.Itoa(p.Applications)},
		{"Source repos", orDash(strings.Join(p.Spec.SourceRepos, ", "))},
		{"Destinations", orDash(strings.Join(dests, "; "))},
		{"Source namespaces", orDash(strings.Join(p.Spec.SourceNamespaces, ", "))},
		{"Cluster kinds", kinds(p.Spec.ClusterResourceWhitelist)},
		{"  denied", kinds(p.Spec.ClusterResourceBlacklist)},
		{"Namespaced kinds", namespaced},
		{"  denied", kinds(p.Spec.NamespaceResourceBlacklist)},
	} {
		fmt.Fprintf(w, "%-19s%s\n", f[0]+":", f[1])
	}
}
