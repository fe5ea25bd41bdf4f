package source

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

// NormalizeURL returns the identity of the repository that raw names, so that
// every spelling of one repository maps to one cache, one credential match and
// one webhook match:
//
//   - the scheme and host are lowercased, and the default port of the scheme
//     (443, 80, 22, 9418) is dropped;
//   - user information (user name, password, token) is dropped;
//   - a trailing "/" and then a trailing ".git" are dropped;
//   - scp-style addresses (git@host:org/repo) become ssh://host/org/repo;
//   - local paths become file:// URLs with an absolute, cleaned path.
//
// oci:// URLs (OCI registries, which hold charts, not git repositories)
// normalise like https ones, so that registry credentials are matched by
// the same rules; the Cache itself refuses them.
//
// The path keeps its case: GitHub treats Org/Repo and org/repo as one
// repository, but GitLab and plain git servers do not, and merging two
// distinct repositories would be worse than fetching one twice. For file://
// URLs and local paths ".git" is kept too, since /srv/app and /srv/app.git are
// different directories.
func NormalizeURL(raw string) (string, error) {
	u, err := parseRepoURL(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme == "file" {
		return "file://" + u.EscapedPath(), nil
	}
	p := strings.TrimRight(u.EscapedPath(), "/")
	p = strings.TrimSuffix(p, ".git")
	p = strings.TrimRight(p, "/")
	return u.Scheme + "://" + u.Host + p, nil
}

// Redact returns raw with any password or token removed, for logs, errors,
// status and metric labels. For http(s) and other schemes the whole user
// information is dropped, since a user name is often a token; for ssh the
// login name (git@) is kept and only a password is dropped. A string that is
// not a URL is returned with anything that looks like user:password@ inside
// an embedded URL removed.
func Redact(raw string) string {
	if !strings.Contains(raw, "@") {
		return raw // no user information anywhere (metrics redact every app's URL per scrape)
	}
	if !strings.Contains(raw, "://") {
		// scp-style user@host:path cannot carry a password, but a string
		// shaped like user:password@host:path might be one.
		if at := strings.IndexByte(raw, '@'); at >= 0 && strings.Contains(raw[:at], ":") {
			return raw[at+1:]
		}
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.User == nil {
		return redactText(raw)
	}
	if strings.EqualFold(u.Scheme, "ssh") {
		u.User = url.User(u.User.Username())
	} else {
		u.User = nil
	}
	return u.String()
}

// embeddedUserinfo matches scheme://userinfo@ inside arbitrary text.
var embeddedUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)([^/\s@"']+)@`)

// redactText removes user information from every URL embedded in s.
func redactText(s string) string {
	return embeddedUserinfo.ReplaceAllStringFunc(s, func(m string) string {
		sub := embeddedUserinfo.FindStringSubmatch(m)
		scheme, userinfo := sub[1], sub[2]
		if strings.HasPrefix(strings.ToLower(scheme), "ssh") && !strings.Contains(userinfo, ":") {
			return m
		}
		return scheme
	})
}

// scpLike matches [user@]host:path, the scp-style address git accepts for ssh.
var scpLike = regexp.MustCompile(`^(?:([^@/:\s]+)@)?([^@/:\s]+):(.*)$`)

// errEmptyURL is returned for an empty repository URL.
var errEmptyURL = errors.New("empty repository URL")

// parseRepoURL parses every form of repository address gyre accepts into a
// URL with a lowercased scheme and host, no default port, and no password.
// For ssh the login name is kept in User; for every other scheme User is nil.
func parseRepoURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errEmptyURL
	}
	if !strings.Contains(raw, "://") {
		if m := scpLike.FindStringSubmatch(raw); m != nil && !isLocalPath(raw) {
			p := m[3]
			if !strings.HasPrefix(p, "/") {
				p = "/" + p
			}
			u := &url.URL{Scheme: "ssh", Host: strings.ToLower(m[2]), Path: path.Clean(p)}
			if m[1] != "" {
				u.User = url.User(m[1])
			}
			return u, nil
		}
		abs, err := filepath.Abs(raw)
		if err != nil {
			return nil, fmt.Errorf("repository path %q: %w", raw, err)
		}
		return &url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the input, which may hold a password.
		return nil, fmt.Errorf("repository URL %q is not a valid URL", redactText(raw))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	switch u.Scheme {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return nil, fmt.Errorf("repository URL %q: file URLs must name a local path", Redact(raw))
		}
		u.Host = ""
		u.User = nil
		u.Path = path.Clean(u.Path)
		u.RawPath = ""
		return u, nil
	case "http", "https", "ssh", "git", "oci":
	default:
		return nil, fmt.Errorf("repository URL %q: unsupported scheme %q (want https, http, ssh, git, file, or oci for a registry)", Redact(raw), u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("repository URL %q has no host", Redact(raw))
	}
	host, port := u.Hostname(), u.Port()
	host = strings.ToLower(host)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" && port != defaultPorts[u.Scheme] {
		host += ":" + port
	}
	u.Host = host
	if u.Scheme == "ssh" && u.User != nil {
		u.User = url.User(u.User.Username())
	} else {
		u.User = nil
	}
	return u, nil
}

// defaultPorts are the ports NormalizeURL drops because the scheme implies them.
var defaultPorts = map[string]string{"https": "443", "http": "80", "ssh": "22", "git": "9418"}

// isLocalPath reports whether a string without "://" is a filesystem path
// rather than an scp-style address: it starts with / or ., or the part before
// the first colon contains a slash (git's own rule).
func isLocalPath(s string) bool {
	if strings.HasPrefix(s, "/") || strings.HasPrefix(s, ".") {
		return true
	}
	colon := strings.IndexByte(s, ':')
	slash := strings.IndexByte(s, '/')
	return colon < 0 || (slash >= 0 && slash < colon)
}

// transportURL is the address gyre hands to go-git for raw: the parsed URL
// without any password (credentials come from Secrets, never from the URL),
// keeping the ssh login name.
func transportURL(raw string) (string, error) {
	u, err := parseRepoURL(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme == "file" {
		return u.Path, nil
	}
	return u.String(), nil
}
