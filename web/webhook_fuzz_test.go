package web

import (
	"testing"
)

// FuzzParsePush feeds arbitrary payloads, as every provider and event, to
// the push parsers: they run only after the signature is verified, but the
// signer may be anyone who holds a repository's webhook secret. They must
// not panic, and a push they accept is attributed to the provider that
// parsed it (a payload without a repository is refused by the handler).
func FuzzParsePush(f *testing.F) {
	seeds := []string{
		`{"ref":"refs/heads/main","repository":{"clone_url":"https://h/o/r.git","html_url":"https://h/o/r"},"commits":[{"added":["a"],"modified":["b"],"removed":["c"]}]}`,
		`{"ref":"refs/tags/v1","project":{"git_http_url":"https://h/o/r.git","git_ssh_url":"git@h:o/r.git"},"total_commits_count":1,"commits":[{"modified":["x"]}]}`,
		`{"repository":{"links":{"html":{"href":"https://bitbucket.org/o/r"}},"full_name":"o/r"},"push":{"changes":[{"new":{"type":"branch","name":"main"}}]}}`,
		`{"repository":{"links":{"clone":[{"href":"ssh://git@h:7999/p/r.git","name":"ssh"}]}},"changes":[{"refId":"refs/heads/main"}]}`,
		`{"repository":"https://h/o/r.git","ref":"refs/heads/main","paths":["apps/a/x.yaml"]}`,
		`{}`, `null`, `[]`, `{"commits":null}`, `{"ref":1}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	providers := []struct {
		p     Provider
		event string
	}{
		{ProviderGitHub, "push"}, {ProviderGitea, "push"}, {ProviderGitLab, "Push Hook"}, {ProviderGitLab, "Tag Push Hook"},
		{ProviderBitbucket, "repo:push"}, {ProviderBitbucketServer, "repo:refs_changed"}, {ProviderGeneric, ""},
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, pr := range providers {
			e, err := parsePush(pr.p, pr.event, []byte(body))
			if err != nil || e == nil {
				continue
			}
			if e.provider != pr.p {
				t.Errorf("%s: push attributed to %q", pr.p, e.provider)
			}
		}
	})
}
