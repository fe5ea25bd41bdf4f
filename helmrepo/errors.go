package helmrepo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/gyre-cd/gyre/source"
)

// Op names the step an Error comes from.
type Op string

// The steps.
const (
	// OpIndex is fetching a repository's index.yaml, or a registry's tag
	// list.
	OpIndex Op = "index"
	// OpResolve is choosing the version a target revision names.
	OpResolve Op = "resolve"
	// OpDownload is downloading (or pulling) a chart archive.
	OpDownload Op = "download"
	// OpExtract is reading the files out of a chart archive.
	OpExtract Op = "extract"
)

// Error is the error Resolve and Files return. Its message leads with the
// repository (redacted) and the chart, and never holds a password or token.
type Error struct {
	// Op is the step that failed.
	Op Op
	// Repo is the repository URL, redacted of user information.
	Repo string
	// Chart is the chart's name, if known.
	Chart string
	// Version is the chart version or target revision, if any.
	Version string
	// Err is the cause; it wraps ErrChartNotFound, ErrVersionNotFound,
	// ErrDigestMismatch, ErrTooLarge, ErrBadArchive or source's ErrAuth,
	// ErrUnreachable and ErrRepositoryNotFound when the cause is one of
	// those.
	Err error
}

// Error returns `helm repository <repo>: chart "<chart>" version "<v>":
// <op>: <cause>`; the step is left out for OpResolve, whose causes say it.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("helm repository ")
	b.WriteString(e.Repo)
	if e.Chart != "" {
		fmt.Fprintf(&b, ": chart %q", e.Chart)
	}
	if e.Version != "" {
		fmt.Fprintf(&b, " version %q", e.Version)
	}
	b.WriteString(": ")
	if e.Op != OpResolve && e.Op != "" {
		b.WriteString(string(e.Op))
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// stepError tells the function that builds an *Error which step failed,
// when that is not the step it was doing itself (Resolve downloads an
// archive to learn its digest; Files fetches an index to find its URL).
type stepError struct {
	op  Op
	err error
}

func (e *stepError) Error() string { return e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// fail wraps err into an *Error. op is the step unless err names another.
func fail(op Op, repo, chart, version string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var se *stepError
	if errors.As(err, &se) {
		op = se.op
	}
	return &Error{Op: op, Repo: source.Redact(repo), Chart: chart, Version: version, Err: err}
}

// cleanError is a network error whose message has been scrubbed of
// credentials. It unwraps to the sentinels that classify it, never to the
// original error, whose text might hold a secret.
type cleanError struct {
	msg  string
	kind []error
}

func (e *cleanError) Error() string   { return e.msg }
func (e *cleanError) Unwrap() []error { return e.kind }

// scrub classifies err, a failure of a request, as source.ErrUnreachable
// (DNS, TCP, TLS, timeouts) unless the caller gave up, and removes user
// information and each secret from its message.
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var clean *cleanError
	if errors.As(err, &clean) {
		return err
	}
	msg := redactText(err.Error(), secrets...)
	var kind []error
	switch {
	case errors.Is(err, context.Canceled):
		kind = append(kind, context.Canceled)
	case errors.Is(err, ErrTooLarge):
		kind = append(kind, ErrTooLarge)
	default:
		kind = append(kind, source.ErrUnreachable)
		if errors.Is(err, context.DeadlineExceeded) {
			kind = append(kind, context.DeadlineExceeded)
		}
		if !strings.HasPrefix(msg, source.ErrUnreachable.Error()) {
			msg = source.ErrUnreachable.Error() + ": " + msg
		}
	}
	return &cleanError{msg: msg, kind: kind}
}

// redactText removes URL user information and every secret from s.
func redactText(s string, secrets ...string) string {
	s = source.Redact(s)
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}

// statusError classifies an HTTP answer other than 200 (and 304): 401 and
// 403 are source.ErrAuth, 404 of an index source.ErrRepositoryNotFound,
// 429 and 5xx source.ErrUnreachable. what names the resource ("index.yaml",
// the archive's URL).
func statusError(what string, resp *http.Response, creds source.Credentials, index bool) error {
	status := fmt.Sprintf("%s: HTTP %s", what, resp.Status)
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		if creds.Username == "" && creds.Password == "" {
			return fmt.Errorf("%w: %s (no credentials are configured for this repository: add a Secret labelled %s with type helm)",
				source.ErrAuth, status, source.LabelSecretType)
		}
		return fmt.Errorf("%w: %s", source.ErrAuth, status)
	case code == http.StatusNotFound && index:
		return fmt.Errorf("%w: %s", source.ErrRepositoryNotFound, status)
	case code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("%w: %s", source.ErrUnreachable, status)
	}
	return errors.New(status)
}

// sentinels lists the sentinel and context errors err wraps, adding
// source.ErrUnreachable for a network failure that is not classified yet.
func sentinels(err error) []error {
	var out []error
	for _, s := range []error{
		source.ErrAuth, source.ErrUnreachable, source.ErrRepositoryNotFound,
		ErrChartNotFound, ErrVersionNotFound, ErrDigestMismatch, ErrTooLarge, ErrBadArchive,
		context.Canceled, context.DeadlineExceeded,
	} {
		if errors.Is(err, s) {
			out = append(out, s)
		}
	}
	var ne net.Error
	if !slices.Contains(out, source.ErrUnreachable) && (errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded)) {
		out = append(out, source.ErrUnreachable)
	}
	return out
}
