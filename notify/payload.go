package notify

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gyre-cd/gyre/app"
)

// request is one outbound HTTP request, built from a Notifier, its secret
// and an event's Data, before it is sent.
type request struct {
	URL    string
	Header http.Header
	Body   []byte
	// Where names the destination in messages: never the URL of a Slack
	// webhook (it is the secret), never a query string or user info.
	Where string
}

// eventText holds, per event, how each target says it.
type eventText struct {
	// headline is the one-line summary, given "<namespace>/<name>".
	headline func(d Data) string
	// color is the Slack attachment's color.
	color string
	// state is the GitHub commit status state, given the operation phase.
	state func(d Data) string
	// alerts are the Alertmanager alerts the event fires or resolves.
	alerts []alertRule
}

// alertRule is one Alertmanager alert an event fires or resolves. Each
// alertname has one severity, so that firing and resolving it address
// the same alert (Alertmanager identifies one by its labels).
type alertRule struct {
	name, severity string
	resolve        bool
}

func resolved(r alertRule) alertRule { r.resolve = true; return r }

// texts returns the table of how each event is said.
func texts() map[Event]eventText {
	constant := func(s string) func(Data) string { return func(Data) string { return s } }
	// The Alertmanager alerts gyre sends.
	var (
		alertSyncRunning = alertRule{name: "GyreSyncRunning", severity: "info"}
		alertSyncFailed  = alertRule{name: "GyreSyncFailed", severity: "warning"}
		alertDegraded    = alertRule{name: "GyreApplicationDegraded", severity: "critical"}
		alertOutOfSync   = alertRule{name: "GyreApplicationOutOfSync", severity: "warning"}
	)
	return map[Event]eventText{
		SyncStarted: {
			headline: func(d Data) string { return fmt.Sprintf("Sync of %s/%s started", d.Namespace, d.Application) },
			color:    "#439FE0", state: constant("pending"),
			alerts: []alertRule{alertSyncRunning},
		},
		SyncSucceeded: {
			headline: func(d Data) string { return fmt.Sprintf("Sync of %s/%s succeeded", d.Namespace, d.Application) },
			color:    "good", state: constant("success"),
			alerts: []alertRule{resolved(alertSyncRunning), resolved(alertSyncFailed)},
		},
		SyncFailed: {
			headline: func(d Data) string {
				return fmt.Sprintf("Sync of %s/%s failed (%s): %s", d.Namespace, d.Application, d.OperationPhase, d.OperationMessage)
			},
			color: "danger",
			state: func(d Data) string {
				if d.OperationPhase == app.OperationError {
					return "error"
				}
				return "failure"
			},
			alerts: []alertRule{resolved(alertSyncRunning), alertSyncFailed},
		},
		HealthDegraded: {
			headline: func(d Data) string {
				return fmt.Sprintf("%s/%s is Degraded: %s", d.Namespace, d.Application, d.HealthMessage)
			},
			color: "danger", state: constant("failure"),
			alerts: []alertRule{alertDegraded},
		},
		HealthRecovered: {
			headline: func(d Data) string { return fmt.Sprintf("%s/%s is Healthy again", d.Namespace, d.Application) },
			color:    "good", state: constant("success"),
			alerts: []alertRule{resolved(alertDegraded)},
		},
		OutOfSync: {
			headline: func(d Data) string { return fmt.Sprintf("%s/%s is OutOfSync with git", d.Namespace, d.Application) },
			color:    "warning", state: constant("pending"),
			alerts: []alertRule{alertOutOfSync},
		},
	}
}

// buildRequest makes the request that tells target of d, for Notifier n
// whose rules are r, with secret the value of its secretRef ("" without
// one).
func buildRequest(n *Notifier, r *rules, secret string, d Data) (request, error) {
	text, ok := texts()[d.Event]
	if !ok {
		return request{}, fmt.Errorf("unknown event %q", d.Event)
	}
	h := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"gyre"}}
	switch r.target {
	case TargetWebhook:
		w := n.Spec.Webhook
		var body []byte
		var err error
		if r.body != nil {
			body, err = renderBody(r.body, d)
		} else {
			body, err = json.Marshal(d)
		}
		if err != nil {
			return request{}, fmt.Errorf("webhook: bodyTemplate: %w", err)
		}
		for k, v := range w.Headers {
			h.Set(k, v)
		}
		if w.SecretHeader != "" {
			h.Set(w.SecretHeader, secret)
		}
		return request{URL: w.URL, Header: h, Body: body, Where: hostOf(w.URL)}, nil
	case TargetSlack:
		if checkURL(secret) != nil {
			return request{}, errors.New("slack: the Secret's value is not an http(s) URL")
		}
		body, err := json.Marshal(slackMessage(n.Spec.Slack, text, d))
		return request{URL: secret, Header: h, Body: body, Where: "Slack incoming webhook"}, err
	case TargetGitHub:
		return githubStatus(n.Spec.GitHub, text, secret, h, d)
	case TargetAlertmanager:
		if secret != "" {
			h.Set("Authorization", "Bearer "+secret)
		}
		u := strings.TrimSuffix(n.Spec.Alertmanager.URL, "/") + "/api/v2/alerts"
		body, err := json.Marshal(alerts(text, d))
		return request{URL: u, Header: h, Body: body, Where: hostOf(u)}, err
	}
	return request{}, errors.New("no target")
}

// SlackMessage is the body posted to a Slack incoming webhook: a text
// line for notifications and one coloured attachment with the details.
type SlackMessage struct {
	Channel     string            `json:"channel,omitempty"`
	Username    string            `json:"username,omitempty"`
	Text        string            `json:"text"`
	Attachments []SlackAttachment `json:"attachments"`
}

// SlackAttachment is a Slack message attachment.
type SlackAttachment struct {
	Color     string       `json:"color"`
	Title     string       `json:"title"`
	TitleLink string       `json:"title_link,omitempty"`
	Fields    []SlackField `json:"fields"`
	Timestamp int64        `json:"ts"`
}

// SlackField is one short field of a SlackAttachment.
type SlackField struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

func slackMessage(s *SlackTarget, text eventText, d Data) SlackMessage {
	field := func(title, value string) SlackField {
		if value == "" {
			value = "-"
		}
		return SlackField{Title: title, Value: value, Short: true}
	}
	return SlackMessage{
		Channel:  s.Channel,
		Username: s.Username,
		Text:     text.headline(d),
		Attachments: []SlackAttachment{{
			Color:     text.color,
			Title:     d.Namespace + "/" + d.Application,
			TitleLink: d.URL,
			Fields: []SlackField{
				field("Event", string(d.Event)),
				field("Project", d.Project),
				field("Sync", string(d.SyncStatus)),
				field("Health", string(d.HealthStatus)),
				field("Revision", d.Revision),
				field("Repository", d.RepoURL),
			},
			Timestamp: d.Time.Unix(),
		}},
	}
}

// GitHubStatus is the body of GitHub's "create a commit status" call.
type GitHubStatus struct {
	State       string `json:"state"`
	TargetURL   string `json:"target_url,omitempty"`
	Description string `json:"description"`
	Context     string `json:"context"`
}

var commitSHA = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)

func githubStatus(g *GitHubTarget, text eventText, token string, h http.Header, d Data) (request, error) {
	owner, repo, err := githubRepo(d.RepoURL)
	if err != nil {
		return request{}, fmt.Errorf("github: %w", err)
	}
	if !commitSHA.MatchString(d.Revision) {
		return request{}, fmt.Errorf("github: revision %q of %s/%s is not a commit SHA", d.Revision, d.Namespace, d.Application)
	}
	base := g.APIURL
	if base == "" {
		base = "https://api.github.com"
	}
	ctx := g.Context
	if ctx == "" {
		ctx = "gyre/" + d.Application
	}
	desc := text.headline(d)
	if r := []rune(desc); len(r) > 140 { // GitHub refuses longer descriptions
		desc = string(r[:139]) + "…"
	}
	body, err := json.Marshal(GitHubStatus{State: text.state(d), TargetURL: d.URL, Description: desc, Context: ctx})
	if err != nil {
		return request{}, err
	}
	h.Set("Authorization", "Bearer "+token)
	h.Set("Accept", "application/vnd.github+json")
	h.Set("X-GitHub-Api-Version", "2022-11-28")
	u := strings.TrimSuffix(base, "/") + "/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(repo) + "/statuses/" + d.Revision
	return request{URL: u, Header: h, Body: body, Where: hostOf(u)}, nil
}

// githubRepo returns the owner and name of a repository URL:
// https://host/owner/repo(.git), ssh://git@host/owner/repo.git or
// git@host:owner/repo.git.
func githubRepo(repoURL string) (owner, repo string, err error) {
	p := repoURL
	if u, perr := url.Parse(repoURL); perr == nil && u.Host != "" {
		p = u.Path
	} else if _, after, ok := strings.Cut(repoURL, ":"); ok && !strings.Contains(repoURL, "://") {
		p = after // scp-style git@host:owner/repo.git
	}
	parts := strings.Split(strings.Trim(strings.TrimSuffix(strings.TrimRight(p, "/"), ".git"), "/"), "/")
	if len(parts) < 2 || parts[len(parts)-2] == "" || parts[len(parts)-1] == "" {
		return "", "", fmt.Errorf("repository %q does not name an owner and a repository", repoURL)
	}
	return parts[len(parts)-2], parts[len(parts)-1], nil
}

// Alert is one alert in the body of Alertmanager's POST /api/v2/alerts.
type Alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     *time.Time        `json:"startsAt,omitempty"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func alerts(text eventText, d Data) []Alert {
	out := make([]Alert, 0, len(text.alerts))
	for _, r := range text.alerts {
		t := d.Time
		a := Alert{
			Labels: map[string]string{
				"alertname":   r.name,
				"application": d.Application,
				"namespace":   d.Namespace,
				"project":     d.Project,
				"severity":    r.severity,
			},
			Annotations:  map[string]string{"summary": text.headline(d), "event": string(d.Event)},
			GeneratorURL: d.URL,
		}
		if d.Revision != "" {
			a.Annotations["revision"] = d.Revision
		}
		if r.resolve {
			a.EndsAt = &t
		} else {
			a.StartsAt = &t
		}
		out = append(out, a)
	}
	return out
}

// hostOf names a URL's destination in messages: scheme and host only,
// since a path or query may carry a token.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "the target"
	}
	return u.Scheme + "://" + u.Host
}
