package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gyre-cd/gyre/source"
	"github.com/gyre-cd/gyre/web"
	"github.com/spf13/cobra"
)

// newRepoCommand returns `gyre repo` and its subcommands.
func newRepoCommand(o *cliOptions) *cobra.Command {
	ao := &appOptions{cliOptions: o}
	cmd := &cobra.Command{
		Use:   "repo",
		Short: "Add, list and remove the credentials gyre uses for private repositories",
		Long: `The repo commands manage repository credentials through gyre's HTTP API,
which keeps them as Secrets labelled gyre.dev/secret-type in gyre's own
namespace. They need an admin token that is not limited to projects.
They serve git repositories, Helm chart repositories and OCI registries
(--type). Changes apply to the next request to the repository, without a
restart, and the Applications of a repository whose credentials changed are
compared again at once. Secret values are never shown.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newRepoAddCommand(ao), newRepoListCommand(ao), newRepoRmCommand(ao))
	return cmd
}

// repoAddOptions are the flags of `gyre repo add`.
type repoAddOptions struct {
	Username              string
	PasswordStdin         bool
	SSHKeyFile            string
	KnownHostsFile        string
	InsecureIgnoreHostKey bool
	CAFile                string
	InsecureSkipVerify    bool
	Type                  string
	Creds                 bool
}

func newRepoAddCommand(o *appOptions) *cobra.Command {
	var f repoAddOptions
	cmd := &cobra.Command{
		Use:   "add URL",
		Short: "Store credentials for a repository, or with --creds for every repository under a URL",
		Long: `add stores credentials for URL, replacing those stored for the same URL,
kind and type. For https give --username and the password or token on
standard input with --password-stdin; for ssh give --ssh-key and
--known-hosts (or --insecure-ignore-host-key). --ca-file trusts another
certificate authority for https. --type says what URL is: a git repository
(the default), a Helm chart repository (helm: the URL that serves
index.yaml) or an OCI registry (oci, the default for an oci:// URL: the
registry and path an Application's repoURL names).

  echo "$TOKEN" | gyre repo add https://github.com/org/app --username bot --password-stdin
  gyre repo add git@github.com:org/app.git --ssh-key ~/.ssh/deploy --known-hosts known_hosts
  echo "$TOKEN" | gyre repo add https://github.com/org --creds --username bot --password-stdin
  echo "$PASSWORD" | gyre repo add https://charts.example.com --type helm --username bot --password-stdin
  echo "$TOKEN" | gyre repo add oci://registry.example.com/charts --type oci --username bot --password-stdin --ca-file ca.pem`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := f.request(args[0], cmd.InOrStdin())
			if err != nil {
				return err
			}
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			data, _, err := s.client.do(cmd.Context(), http.MethodPost, "/api/v1/repositories", nil, req)
			if err != nil {
				return err
			}
			var r web.Repository
			if err := json.Unmarshal(data, &r); err != nil {
				return fmt.Errorf("server %s: decode answer: %w", s.client.server, err)
			}
			if s.format != formatTable {
				return printStructured(s.out, s.format, r)
			}
			fmt.Fprintf(s.out, "%s %s (%s, %s) stored in Secret %s\n", r.Kind, r.URL, r.Type, authSummary(r), r.Secret)
			if r.Invalid != "" {
				fmt.Fprintf(s.errOut, "warning: gyre does not use it: %s\n", r.Invalid)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Username, "username", "", "user name for https (or the ssh login name)")
	fl.BoolVar(&f.PasswordStdin, "password-stdin", false, "read the password or token from standard input")
	fl.StringVar(&f.SSHKeyFile, "ssh-key", "", "file holding an unencrypted ssh private key (PEM)")
	fl.StringVar(&f.KnownHostsFile, "known-hosts", "", "known_hosts file with the ssh server's host key")
	fl.BoolVar(&f.InsecureIgnoreHostKey, "insecure-ignore-host-key", false, "accept any ssh host key (instead of --known-hosts)")
	fl.StringVar(&f.CAFile, "ca-file", "", "PEM bundle of certificate authorities to trust for https")
	fl.BoolVar(&f.InsecureSkipVerify, "insecure-skip-verify", false, "skip TLS certificate verification")
	fl.StringVar(&f.Type, "type", "", "repository type: git, helm or oci (default: oci for an oci:// URL, else git)")
	fl.BoolVar(&f.Creds, "creds", false, "store repo-creds: for every repository whose URL starts with URL")
	cmd.MarkFlagsMutuallyExclusive("password-stdin", "ssh-key")
	cmd.MarkFlagsMutuallyExclusive("known-hosts", "insecure-ignore-host-key")
	return cmd
}

// request builds the API request for url, reading the password from stdin
// and the files the flags name.
func (f *repoAddOptions) request(repoURL string, stdin io.Reader) (web.RepositoryRequest, error) {
	req := web.RepositoryRequest{
		URL:                   repoURL,
		Kind:                  repoKind(f.Creds),
		Type:                  source.RepoType(f.Type),
		Username:              f.Username,
		InsecureIgnoreHostKey: f.InsecureIgnoreHostKey,
		InsecureSkipVerify:    f.InsecureSkipVerify,
	}
	if source.Redact(repoURL) != repoURL {
		return req, fmt.Errorf("%s: the URL holds a password or token; give it on standard input with --password-stdin instead", source.Redact(repoURL))
	}
	if f.PasswordStdin {
		data, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
		if err != nil {
			return req, fmt.Errorf("--password-stdin: %w", err)
		}
		req.Password = strings.TrimRight(string(data), "\r\n")
		if req.Password == "" {
			return req, fmt.Errorf("--password-stdin: standard input is empty")
		}
	}
	for _, file := range []struct {
		flag, path string
		dst        *string
	}{
		{"--ssh-key", f.SSHKeyFile, &req.SSHPrivateKey},
		{"--known-hosts", f.KnownHostsFile, &req.KnownHosts},
		{"--ca-file", f.CAFile, &req.CAData},
	} {
		if file.path == "" {
			continue
		}
		data, err := os.ReadFile(file.path)
		if err != nil {
			return req, fmt.Errorf("%s: %w", file.flag, err)
		}
		*file.dst = string(data)
	}
	return req, nil
}

// repoKind is the Secret kind --creds selects.
func repoKind(creds bool) source.SecretType {
	if creds {
		return source.SecretTypeRepoCreds
	}
	return source.SecretTypeRepository
}

func newRepoListCommand(o *appOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List repository credentials, how they authenticate and whether their repositories answer",
		Long: `list shows each credentials Secret in gyre's namespace (gyre's and Argo CD's
labels): the URL, kind, type, how it authenticates, whether the repositories
that use it answered their last request (a git ref listing or fetch, a Helm
index fetch or chart download, a registry tag listing or pull), and when one
was last fetched (a git fetch, a chart download or pull). A repository no
Application has used yet shows "-".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			var l web.RepositoryList
			if err := s.client.getJSON(cmd.Context(), "/api/v1/repositories", nil, &l); err != nil {
				return err
			}
			if s.format != formatTable {
				return printStructured(s.out, s.format, l)
			}
			if len(l.Items) == 0 {
				fmt.Fprintln(s.errOut, "No repository credentials found.")
				return nil
			}
			now := s.now()
			t := newTable(s.out, "URL", "KIND", "TYPE", "AUTH", "REACHABLE", "LAST-FETCH", "SECRET", "MESSAGE")
			for _, r := range l.Items {
				reachable, fetched, msg := repoHealth(r, now)
				if r.Invalid != "" {
					reachable, msg = "unused", r.Invalid
				}
				t.row(r.URL, string(r.Kind), string(r.Type), authSummary(r), reachable, fetched, r.Secret, msg)
			}
			return t.flush()
		},
	}
}

// authSummary says how r authenticates: "https basic (bot)", "ssh key",
// "anonymous", with "+CA", "+known hosts" and the insecure switches.
func authSummary(r web.Repository) string {
	parts := []string{string(r.Auth)}
	switch r.Auth {
	case source.AuthBasic:
		parts[0] = "basic"
		if r.Username != "" {
			parts[0] += " (" + r.Username + ")"
		}
	case source.AuthSSHKey:
		parts[0] = "ssh key"
	}
	for _, flag := range []struct {
		on   bool
		name string
	}{
		{r.CAData, "+CA"}, {r.KnownHosts, "+known hosts"},
		{r.InsecureIgnoreHostKey, "+any host key"}, {r.InsecureSkipVerify, "+no TLS verify"},
	} {
		if flag.on {
			parts = append(parts, flag.name)
		}
	}
	return strings.Join(parts, " ")
}

// repoHealth summarises the repositories that use r: "yes", "no" or "-"
// for one, "2/3" for several; when one was last fetched; and the error of
// the first that failed.
func repoHealth(r web.Repository, now time.Time) (reachable, fetched, msg string) {
	var ok int
	var last time.Time
	for _, st := range r.Repositories {
		if st.Reachable {
			ok++
		} else if msg == "" {
			msg = st.Error
			if len(r.Repositories) > 1 {
				msg = st.URL + ": " + msg
			}
		}
		if st.FetchedAt != nil && st.FetchedAt.After(last) {
			last = *st.FetchedAt
		}
	}
	switch n := len(r.Repositories); {
	case n == 0:
		reachable = "-"
	case n == 1 && ok == 1:
		reachable = "yes"
	case n == 1:
		reachable = "no"
	default:
		reachable = fmt.Sprintf("%d/%d", ok, n)
	}
	return reachable, age(now, last), msg
}

func newRepoRmCommand(o *appOptions) *cobra.Command {
	var creds bool
	var typ string
	cmd := &cobra.Command{
		Use:     "rm URL",
		Aliases: []string{"remove"},
		Short:   "Remove the credentials stored for a repository (or with --creds, for a URL prefix)",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := o.session(cmd)
			if err != nil {
				return err
			}
			q := url.Values{"url": {args[0]}, "kind": {string(repoKind(creds))}}
			if typ != "" {
				q.Set("type", typ)
			}
			data, _, err := s.client.do(cmd.Context(), http.MethodDelete, "/api/v1/repositories", q, nil)
			if err != nil {
				return err
			}
			var l web.RepositoryList
			if err := json.Unmarshal(data, &l); err != nil {
				return fmt.Errorf("server %s: decode answer: %w", s.client.server, err)
			}
			if s.format != formatTable {
				return printStructured(s.out, s.format, l)
			}
			for _, r := range l.Items {
				fmt.Fprintf(s.out, "%s %s (%s) removed: Secret %s deleted\n", r.Kind, r.URL, r.Type, r.Secret)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&creds, "creds", false, "remove repo-creds (a URL prefix) rather than one repository's credentials")
	cmd.Flags().StringVar(&typ, "type", "", "remove only credentials of this type: git, helm or oci (default: any)")
	return cmd
}
