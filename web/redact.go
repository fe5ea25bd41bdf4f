package web

import (
	"strings"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/source"
)

// A repository address may carry credentials (https://user:token@host/…).
// The API shows every address without them, through source.Redact, the
// rule the logs, errors and metric labels follow too; the UI and the CLI
// show what the API gives them.

// redactURL returns a repository address without its credentials.
func redactURL(u string) string {
	if !strings.Contains(u, "@") {
		return u // no user information; spares the parse on every list filter
	}
	return source.Redact(u)
}

// redactMessage returns a message with the credentials of every URL in it
// removed. Only text with a URL in it goes through source.Redact, which
// reads anything else as a repository address.
func redactMessage(m string) string {
	if !strings.Contains(m, "://") {
		return m
	}
	return source.Redact(m)
}

// redactApplication returns a shallow copy of a with every repository
// address redacted: spec.source and spec.sources, status.sync.comparedTo
// and status.history. It also drops the last-applied annotation, a copy of the
// spec as kubectl applied it, and redacts the messages of the last
// operation and of the conditions, which may quote an address. Nothing a
// shares is changed.
func redactApplication(a *app.Application) *app.Application {
	out := *a
	out.Spec.Source.RepoURL = redactURL(a.Spec.Source.RepoURL)
	out.Spec.Sources = redactSources(a.Spec.Sources)
	if ann := a.Annotations; ann[lastApplied] != "" {
		out.Annotations = make(map[string]string, len(ann))
		for k, v := range ann {
			if k != lastApplied {
				out.Annotations[k] = v
			}
		}
	}
	if c := a.Status.Sync.ComparedTo; c != nil {
		cc := *c
		cc.Source.RepoURL = redactURL(c.Source.RepoURL)
		cc.Sources = redactSources(c.Sources)
		out.Status.Sync.ComparedTo = &cc
	}
	out.Status.History = redactHistory(a.Status.History)
	if op := a.Status.OperationState; op != nil {
		oc := *op
		oc.Message = redactMessage(op.Message)
		out.Status.OperationState = &oc
	}
	if len(a.Status.Conditions) > 0 {
		out.Status.Conditions = make([]app.Condition, len(a.Status.Conditions))
		for i, c := range a.Status.Conditions {
			c.Message = redactMessage(c.Message)
			out.Status.Conditions[i] = c
		}
	}
	return &out
}

// redactHistory returns a copy of history with the repository addresses
// redacted.
func redactHistory(history []app.HistoryEntry) []app.HistoryEntry {
	if history == nil {
		return nil
	}
	out := make([]app.HistoryEntry, len(history))
	for i, e := range history {
		e.Source.RepoURL = redactURL(e.Source.RepoURL)
		e.Sources = redactSources(e.Sources)
		out[i] = e
	}
	return out
}

// redactSources returns a copy of srcs with the repository addresses
// redacted.
func redactSources(srcs []app.Source) []app.Source {
	if srcs == nil {
		return nil
	}
	out := make([]app.Source, len(srcs))
	for i, s := range srcs {
		s.RepoURL = redactURL(s.RepoURL)
		out[i] = s
	}
	return out
}
