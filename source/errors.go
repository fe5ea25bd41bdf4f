package source

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	gitssh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Sentinel errors a caller can branch on with errors.Is. Resolve, Files and
// ChangedPaths return an *Error wrapping one of them when the cause is known.
var (
	// ErrAuth means the server refused the credentials (HTTP 401/403, SSH
	// authentication failure), no credentials were configured where some are
	// needed, or the SSH host key could not be verified.
	ErrAuth = errors.New("authentication failed")
	// ErrLocalRefused means a file:// repository URL (or local path) that
	// gyre will not read: local repositories are not allowed on this agent,
	// or it points into gyre's own git cache.
	ErrLocalRefused = errors.New("local repository refused")
	// ErrUnreachable means the repository could not be reached: DNS, TCP,
	// TLS, timeouts, or a server error.
	ErrUnreachable = errors.New("repository unreachable")
	// ErrRepositoryNotFound means the server answered that no repository
	// exists at the URL (HTTP 404, missing local directory).
	ErrRepositoryNotFound = errors.New("repository not found")
	// ErrRevisionNotFound means no branch, tag or commit matches the
	// revision, or the repository is empty.
	ErrRevisionNotFound = errors.New("revision not found")
	// ErrPathNotFound means a path does not exist in a commit's tree. It also
	// matches fs.ErrNotExist.
	ErrPathNotFound error = pathNotFound{}
)

// pathNotFound is the type of ErrPathNotFound, so that errors.Is matches both
// it and fs.ErrNotExist.
type pathNotFound struct{}

func (pathNotFound) Error() string        { return "path not found" }
func (pathNotFound) Is(target error) bool { return target == fs.ErrNotExist }

// Op names the step of the source pipeline an Error comes from.
type Op string

// The steps of the pipeline.
const (
	// OpResolve is resolving a revision to a commit.
	OpResolve Op = "resolve"
	// OpListRefs is listing the remote's refs (git ls-remote).
	OpListRefs Op = "ls-remote"
	// OpFetch is fetching objects (git fetch).
	OpFetch Op = "fetch"
	// OpRead is reading the files of a commit.
	OpRead Op = "read"
	// OpChangedPaths is comparing the trees of two commits.
	OpChangedPaths Op = "changed-paths"
)

// Error is the error every exported function of this package returns. Its
// message names the repository (redacted), the revision or commit, the path
// when there is one, and the cause; it never contains a password or token,
// whatever the transport reported.
type Error struct {
	// Op is the step that failed.
	Op Op
	// Repo is the redacted repository URL.
	Repo string
	// Revision is the revision or commit asked for, if any.
	Revision string
	// Path is the path inside the commit, if any.
	Path string
	// Err is the cause; it wraps one of the sentinel errors when the cause
	// is known.
	Err error
}

// Error returns "git <op> <repo> revision "<rev>" path "<path>": <cause>".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("git ")
	b.WriteString(string(e.Op))
	b.WriteString(" ")
	b.WriteString(e.Repo)
	if e.Revision != "" {
		b.WriteString(` revision "`)
		b.WriteString(e.Revision)
		b.WriteString(`"`)
	}
	if e.Path != "" {
		b.WriteString(` path "`)
		b.WriteString(e.Path)
		b.WriteString(`"`)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// scrubbedError is a transport error with every secret removed from its
// message. It unwraps to the sentinel and context errors that classify it,
// never to the original error, whose text may hold a secret.
type scrubbedError struct {
	msg  string
	kind []error
}

func (e *scrubbedError) Error() string   { return e.msg }
func (e *scrubbedError) Unwrap() []error { return e.kind }

// scrub turns an error from go-git or the network into a scrubbedError: the
// message has embedded URL credentials and each of the given secret values
// replaced, and the error is classified into this package's sentinels (or
// fallback, which may be nil, when no sentinel fits). The sentinel's text
// leads the message unless the cause already says it.
func scrub(err, fallback error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var already *scrubbedError
	if errors.As(err, &already) {
		return err
	}
	msg := strings.TrimRight(redactText(err.Error()), ": \n")
	for _, s := range secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	var kind []error
	k := classify(err)
	if k == nil && !errors.Is(err, context.Canceled) {
		k = fallback
	}
	if k != nil {
		kind = append(kind, k)
		if !strings.HasPrefix(msg, k.Error()) {
			msg = k.Error() + ": " + msg
		}
	}
	for _, c := range []error{context.DeadlineExceeded, context.Canceled} {
		if errors.Is(err, c) {
			kind = append(kind, c)
		}
	}
	return &scrubbedError{msg: msg, kind: kind}
}

// errHostKeyUnknown is what the fail-closed host key callback returns when a
// Secret gives no knownHosts and does not opt in to skipping the check.
var errHostKeyUnknown = errors.New("no knownHosts configured for this host and insecureIgnoreHostKey is not set")

// classify maps a transport error to the sentinel a caller branches on, or
// nil when it is none of them.
func classify(err error) error {
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	var netErr net.Error
	var sshExit *gitssh.ExitError
	for _, own := range []error{ErrLocalRefused, ErrAuth, ErrUnreachable, ErrRepositoryNotFound, ErrRevisionNotFound, ErrPathNotFound} {
		if errors.Is(err, own) {
			return own // already classified by this package
		}
	}
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod),
		errors.Is(err, errHostKeyUnknown),
		errors.As(err, &keyErr), errors.As(err, &revoked),
		strings.Contains(err.Error(), "unable to authenticate"):
		return ErrAuth
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return ErrRepositoryNotFound
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return ErrRevisionNotFound
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		return ErrUnreachable
	case errors.As(err, &sshExit):
		// The remote command failed; git prints why on stderr, which
		// go-git folds into the message.
		return ErrUnreachable
	}
	return nil
}
