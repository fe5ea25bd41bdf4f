package oci

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/gyre-cd/gyre/source"
)

// Sentinel errors a caller can branch on with errors.Is, beside source's
// ErrAuth, ErrUnreachable and ErrRepositoryNotFound.
var (
	// ErrTagNotFound means the repository has no tag of that name.
	ErrTagNotFound = errors.New("tag not found")
	// ErrTooLarge means the chart is larger than Options.MaxBytes, by the
	// manifest's word or by the bytes the registry sent.
	ErrTooLarge = errors.New("chart too large")
	// ErrDigestMismatch means the bytes received are not the ones the
	// manifest names.
	ErrDigestMismatch = errors.New("chart digest mismatch")
	// ErrNotChart means the tag names something other than a Helm chart: an
	// image index, a container image, a manifest without exactly one chart
	// layer.
	ErrNotChart = errors.New("not a Helm chart")
)

// callError is what Tags and Pull return: a message with every secret
// removed that unwraps to the sentinels classifying it, never to the
// client's error, whose text may hold a secret.
type callError struct {
	msg  string
	kind []error
}

func (e *callError) Error() string   { return e.msg }
func (e *callError) Unwrap() []error { return e.kind }

// fail turns err, from step op of the call, into a callError: the subject
// first, then the step, the sentinel and the cause. notFound is the
// sentinel a bare "not found" from the registry means for this step.
func (c *call) fail(op string, err error, notFound error) error {
	kind := c.classify(err, notFound)
	cause := describe(err)
	if c.budget.exceeded.Load() {
		kind, cause = ErrTooLarge, fmt.Sprintf("the registry sent more than the %d bytes this call reads at most", c.budget.total)
	}
	if kind == ErrTagNotFound && notFound == ErrTagNotFound && c.repositoryMissing() {
		kind = source.ErrRepositoryNotFound
	}
	var kinds []error
	msg := cause
	if kind != nil {
		kinds = append(kinds, kind)
		if !strings.HasPrefix(msg, kind.Error()) {
			msg = kind.Error() + ": " + msg
		}
	}
	for _, ctxErr := range []error{context.DeadlineExceeded, context.Canceled} {
		if errors.Is(err, ctxErr) {
			kinds = append(kinds, ctxErr)
		}
	}
	msg = "oci registry " + c.ref.String() + ": " + op + ": " + msg
	return &callError{msg: scrub(msg, c.opts.Credentials.Username, c.opts.Credentials.Password), kind: kinds}
}

// repositoryMissing reports whether the registry says the call's repository
// does not exist, which a manifest's 404 does not tell apart from a missing
// tag.
func (c *call) repositoryMissing() bool {
	if c.auth == nil || c.ctx.Err() != nil {
		return false
	}
	repo, err := c.repository()
	if err != nil {
		return false
	}
	err = repo.Tags(c.ctx, "", func([]string) error { return nil })
	var resp *errcode.ErrorResponse
	return errors.As(err, &resp) && resp.StatusCode == http.StatusNotFound
}

// classify maps an error of the registry client to the sentinel a caller
// branches on, or nil when none fits.
func (c *call) classify(err, notFound error) error {
	for _, own := range []error{ErrTagNotFound, ErrTooLarge, ErrDigestMismatch, ErrNotChart,
		source.ErrAuth, source.ErrUnreachable, source.ErrRepositoryNotFound} {
		if errors.Is(err, own) {
			return own
		}
	}
	var resp *errcode.ErrorResponse
	var netErr net.Error
	switch {
	case errors.As(err, &resp):
		switch {
		case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
			return source.ErrAuth
		case resp.StatusCode == http.StatusNotFound && hasCode(resp, errcode.ErrorCodeNameUnknown):
			return source.ErrRepositoryNotFound
		case resp.StatusCode == http.StatusNotFound && hasCode(resp, errcode.ErrorCodeManifestUnknown):
			return ErrTagNotFound
		case resp.StatusCode == http.StatusNotFound:
			return notFound
		case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests:
			return source.ErrUnreachable
		}
		return nil
	case errors.Is(err, errdef.ErrNotFound):
		return notFound
	case errors.Is(err, content.ErrMismatchedDigest), errors.Is(err, content.ErrTrailingData):
		return ErrDigestMismatch
	case errors.Is(err, auth.ErrBasicCredentialNotFound),
		strings.Contains(err.Error(), "missing username or password"):
		return source.ErrAuth
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		return source.ErrUnreachable
	}
	return nil
}

// hasCode reports whether the registry's error response carries code.
func hasCode(resp *errcode.ErrorResponse, code string) bool {
	for _, e := range resp.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

// describe says what went wrong in a line: a registry's error response as
// method, URL, status and its error codes, anything else as it is.
func describe(err error) string {
	var resp *errcode.ErrorResponse
	if !errors.As(err, &resp) {
		return strings.TrimRight(err.Error(), ": \n")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %d %s", resp.Method, resp.URL.Redacted(), resp.StatusCode, http.StatusText(resp.StatusCode))
	for _, e := range resp.Errors {
		b.WriteString(": ")
		b.WriteString(strings.ToLower(strings.ReplaceAll(e.Code, "_", " ")))
		if e.Message != "" {
			b.WriteString(" (" + e.Message + ")")
		}
	}
	return b.String()
}

// scrub replaces the password, and the basic-auth token built from it, in
// msg. Passwords shorter than 4 characters are left alone: replacing them
// would mangle the message and they never enter it on purpose.
func scrub(msg, username, password string) string {
	if len(password) < 4 {
		return msg
	}
	token := base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
	msg = strings.ReplaceAll(msg, token, "***")
	return strings.ReplaceAll(msg, password, "***")
}
