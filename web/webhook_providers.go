package web

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// detectProvider tells the provider from the headers each one sets, and
// returns the event name it gives. Gitea and Forgejo also send GitHub's
// header, so they are recognised first.
func detectProvider(h http.Header) (Provider, string) {
	switch {
	case h.Get("X-Forgejo-Event") != "":
		return ProviderGitea, h.Get("X-Forgejo-Event")
	case h.Get("X-Gitea-Event") != "":
		return ProviderGitea, h.Get("X-Gitea-Event")
	case h.Get("X-Gitlab-Event") != "":
		return ProviderGitLab, h.Get("X-Gitlab-Event")
	case h.Get("X-GitHub-Event") != "":
		return ProviderGitHub, h.Get("X-GitHub-Event")
	case h.Get("X-Event-Key") != "":
		ev := h.Get("X-Event-Key")
		if h.Get("X-Hook-UUID") != "" || ev == "repo:push" {
			return ProviderBitbucket, ev
		}
		return ProviderBitbucketServer, ev
	}
	return ProviderGeneric, "push"
}

// verify checks the body's signature (or token) against secret, in constant
// time.
func verify(p Provider, r *http.Request, body, secret []byte) error {
	h := r.Header
	switch p {
	case ProviderGitHub:
		return verifyHMAC(h.Get("X-Hub-Signature-256"), "sha256=", body, secret)
	case ProviderGitea:
		sig := h.Get("X-Forgejo-Signature")
		if sig == "" {
			sig = h.Get("X-Gitea-Signature")
		}
		if sig == "" {
			return verifyHMAC(h.Get("X-Hub-Signature-256"), "sha256=", body, secret)
		}
		return verifyHMAC(sig, "", body, secret)
	case ProviderGitLab:
		return verifyToken(h.Get("X-Gitlab-Token"), secret)
	case ProviderBitbucket:
		if sig := h.Get("X-Hub-Signature"); sig != "" {
			return verifyHMAC(sig, "sha256=", body, secret)
		}
		return verifyToken(r.URL.Query().Get("secret"), secret)
	case ProviderBitbucketServer:
		return verifyHMAC(h.Get("X-Hub-Signature"), "sha256=", body, secret)
	}
	return verifyHMAC(h.Get("X-Gyre-Signature"), "sha256=", body, secret)
}

// verifyHMAC checks that sig is prefix followed by the hex HMAC-SHA256 of
// body keyed with secret.
func verifyHMAC(sig, prefix string, body, secret []byte) error {
	if sig == "" {
		return errUnsigned
	}
	hexSig, ok := strings.CutPrefix(sig, prefix)
	if !ok {
		return fmt.Errorf("signature is not of the form %s<hex>", prefix)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil {
		return errors.New("signature is not hexadecimal")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("signature mismatch")
	}
	return nil
}

// verifyToken compares a shared-secret token with secret, through digests
// so that the time taken says nothing about the length either.
func verifyToken(token string, secret []byte) error {
	if token == "" {
		return errUnsigned
	}
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256(secret)
	if !hmac.Equal(got[:], want[:]) {
		return errors.New("token mismatch")
	}
	return nil
}

// parsePush reads a push from a verified payload. It returns nil for an
// event that is not a push (a ping, a pull request).
func parsePush(p Provider, event string, body []byte) (*pushEvent, error) {
	var (
		e   *pushEvent
		err error
	)
	switch p {
	case ProviderGitHub, ProviderGitea:
		if event != "push" {
			return nil, nil
		}
		e, err = parseGitHub(body)
	case ProviderGitLab:
		if event != "Push Hook" && event != "Tag Push Hook" {
			return nil, nil
		}
		e, err = parseGitLab(body)
	case ProviderBitbucket:
		if event != "repo:push" {
			return nil, nil
		}
		e, err = parseBitbucket(body)
	case ProviderBitbucketServer:
		if event != "repo:refs_changed" {
			return nil, nil
		}
		e, err = parseBitbucketServer(body)
	default:
		e, err = parseGeneric(body)
	}
	if err != nil {
		return nil, err
	}
	e.provider = p
	return e, nil
}

// githubCommitLimit: a push payload without a commit total (GitHub's) that
// lists this many commits or more is taken as possibly cut short, since
// providers cap the list (GitLab at 20, GitHub's events at 20, its webhooks
// at 2048), and then every Application of the repository is refreshed.
const githubCommitLimit = 20

// commit is the part of a GitHub, Gitea or GitLab commit gyre reads.
type commit struct {
	Added    []string `json:"added"`
	Modified []string `json:"modified"`
	Removed  []string `json:"removed"`
}

// changedPaths returns every file the commits touched, or nil when the
// commits cannot be the whole push: none listed (a tag or a deletion), or
// fewer than total, or (without a total) as many as the provider's limit.
func changedPaths(commits []commit, total int) []string {
	switch {
	case len(commits) == 0,
		total > 0 && total != len(commits),
		total == 0 && len(commits) >= githubCommitLimit:
		return nil
	}
	var paths []string
	for _, c := range commits {
		paths = append(paths, c.Added...)
		paths = append(paths, c.Modified...)
		paths = append(paths, c.Removed...)
	}
	return paths
}

// parseGitHub reads a GitHub push, which Gitea and Forgejo copy.
func parseGitHub(body []byte) (*pushEvent, error) {
	var pl struct {
		Ref        string `json:"ref"`
		Repository struct {
			CloneURL string `json:"clone_url"`
			HTMLURL  string `json:"html_url"`
			SSHURL   string `json:"ssh_url"`
		} `json:"repository"`
		Commits      []commit `json:"commits"`
		TotalCommits int      `json:"total_commits"` // Gitea and Forgejo only
	}
	if err := json.Unmarshal(body, &pl); err != nil {
		return nil, fmt.Errorf("push payload: %w", err)
	}
	r := pl.Repository
	return &pushEvent{
		urls:  nonEmpty(r.CloneURL, r.HTMLURL, r.SSHURL),
		refs:  nonEmpty(pl.Ref),
		paths: changedPaths(pl.Commits, pl.TotalCommits),
	}, nil
}

// parseGitLab reads a GitLab Push Hook or Tag Push Hook.
func parseGitLab(body []byte) (*pushEvent, error) {
	var pl struct {
		Ref     string `json:"ref"`
		Project struct {
			GitHTTPURL string `json:"git_http_url"`
			GitSSHURL  string `json:"git_ssh_url"`
			WebURL     string `json:"web_url"`
		} `json:"project"`
		Commits []commit `json:"commits"`
		Total   int      `json:"total_commits_count"`
	}
	if err := json.Unmarshal(body, &pl); err != nil {
		return nil, fmt.Errorf("push payload: %w", err)
	}
	p := pl.Project
	return &pushEvent{
		urls:  nonEmpty(p.GitHTTPURL, p.GitSSHURL, p.WebURL),
		refs:  nonEmpty(pl.Ref),
		paths: changedPaths(pl.Commits, pl.Total),
	}, nil
}

// parseBitbucket reads a Bitbucket Cloud repo:push, which lists the pushed
// branches and tags but not the files.
func parseBitbucket(body []byte) (*pushEvent, error) {
	type ref struct {
		Type string `json:"type"` // branch, tag
		Name string `json:"name"`
	}
	var pl struct {
		Repository struct {
			Links struct {
				HTML struct {
					Href string `json:"href"`
				} `json:"html"`
			} `json:"links"`
		} `json:"repository"`
		Push struct {
			Changes []struct {
				New *ref `json:"new"`
				Old *ref `json:"old"`
			} `json:"changes"`
		} `json:"push"`
	}
	if err := json.Unmarshal(body, &pl); err != nil {
		return nil, fmt.Errorf("repo:push payload: %w", err)
	}
	e := &pushEvent{urls: nonEmpty(pl.Repository.Links.HTML.Href)}
	for _, c := range pl.Push.Changes {
		r := c.New
		if r == nil {
			r = c.Old // a deleted branch or tag
		}
		switch {
		case r == nil || r.Name == "":
		case r.Type == "tag":
			e.refs = append(e.refs, "refs/tags/"+r.Name)
		default:
			e.refs = append(e.refs, "refs/heads/"+r.Name)
		}
	}
	return e, nil
}

// parseBitbucketServer reads a Bitbucket Server repo:refs_changed.
func parseBitbucketServer(body []byte) (*pushEvent, error) {
	var pl struct {
		Repository struct {
			Links struct {
				Clone []struct {
					Href string `json:"href"`
				} `json:"clone"`
			} `json:"links"`
		} `json:"repository"`
		Changes []struct {
			Ref struct {
				ID string `json:"id"`
			} `json:"ref"`
			RefID string `json:"refId"`
		} `json:"changes"`
	}
	if err := json.Unmarshal(body, &pl); err != nil {
		return nil, fmt.Errorf("repo:refs_changed payload: %w", err)
	}
	e := &pushEvent{}
	for _, c := range pl.Repository.Links.Clone {
		e.urls = append(e.urls, nonEmpty(c.Href)...)
	}
	for _, c := range pl.Changes {
		e.refs = append(e.refs, nonEmpty(cmp.Or(c.Ref.ID, c.RefID))...)
	}
	return e, nil
}

// parseGeneric reads {"repository": "<url>", "ref": "refs/heads/main",
// "paths": ["apps/a/deploy.yaml"]}; ref and paths are optional.
func parseGeneric(body []byte) (*pushEvent, error) {
	var pl struct {
		Repository string   `json:"repository"`
		Ref        string   `json:"ref"`
		Paths      []string `json:"paths"`
	}
	if err := json.Unmarshal(body, &pl); err != nil {
		return nil, fmt.Errorf("payload: %s", jsonProblem(err))
	}
	return &pushEvent{urls: nonEmpty(pl.Repository), refs: nonEmpty(pl.Ref), paths: pl.Paths}, nil
}

func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
