package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/spf13/cobra"
)

func newLoginCommand(o *cliOptions) *cobra.Command {
	var namespace string
	cmd := &cobra.Command{
		Use:   "login SERVER --token TOKEN",
		Short: "Check a token against gyre's API and save it for the CLI",
		Long: `login checks that TOKEN is accepted by the gyre API at SERVER and saves both
in the CLI config file (--config, else $XDG_CONFIG_HOME/gyre/config.yaml,
else ~/.config/gyre/config.yaml), readable by you only. The token may also
come from $GYRE_TOKEN. ` + "`gyre up`" + ` logs the CLI in to its own API when it
starts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			token := o.Token
			if token == "" {
				token = o.getenv(envToken)
			}
			if token == "" {
				return fmt.Errorf("login %s: no token: pass --token or set %s", args[0], envToken)
			}
			path := o.configPath()
			c, err := loadCLIConfig(path)
			if err != nil {
				return err
			}
			server, err := runLogin(cmd.Context(), args[0], token)
			if err != nil {
				return err
			}
			c.Server, c.Token = server, token
			if namespace != "" {
				c.Namespace = namespace
			}
			if err := saveCLIConfig(path, c); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Logged in to %s; saved in %s\n", server, path)
			return nil
		},
	}
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "", "default namespace of the `gyre app` commands, saved in the config file")
	return cmd
}

// runLogin checks token against the API at server with the cheapest
// authenticated call and returns the server's normalised URL.
func runLogin(ctx context.Context, server, token string) (string, error) {
	cl, err := newAPIClient(server, token)
	if err != nil {
		return "", err
	}
	_, _, err = cl.do(ctx, http.MethodGet, "/api/v1/applications", url.Values{"limit": {"1"}}, nil)
	if err != nil {
		return "", fmt.Errorf("login %s: %w", cl.server, err)
	}
	return cl.server, nil
}
