package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// maxResponseBytes bounds how much of a response gyre reads; at most
// maxQuotedBytes of it is quoted in an error.
const (
	maxResponseBytes = 64 << 10
	maxQuotedBytes   = 200
)

// errRedirect refuses a redirect to another host, for good.
var errRedirect = errors.New("redirect to another host refused")

// sender posts requests, retrying what may succeed later.
type sender struct {
	client     *http.Client
	attempts   int
	backoff    time.Duration
	maxBackoff time.Duration
}

func newSender(o Options) *sender {
	return &sender{client: newHTTPClient(o.Timeout), attempts: o.Attempts, backoff: o.Backoff, maxBackoff: o.MaxBackoff}
}

// newHTTPClient returns a client whose requests give up after timeout and
// that follows at most three redirects, all to the host first asked: a
// notification's headers (a token) must not travel elsewhere.
func newHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	t.TLSHandshakeTimeout = min(timeout, 10*time.Second)
	t.ResponseHeaderTimeout = timeout
	t.MaxIdleConnsPerHost = 4
	return &http.Client{
		Timeout:   timeout,
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("more than 3 redirects")
			}
			if req.URL.Host != via[0].URL.Host || req.URL.Scheme != via[0].URL.Scheme {
				return errRedirect
			}
			return nil
		},
	}
}

// send posts req until it succeeds, fails for good (a 4xx answer other
// than 408 and 429, or a request that cannot be made) or the attempts run
// out, waiting twice as long after each failure. It returns the last
// error, with every occurrence of secret removed.
func (s *sender) send(ctx context.Context, req request, secret string) error {
	wait := s.backoff
	var err error
	for i := range s.attempts {
		if i > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return scrub(fmt.Errorf("%w (gave up: %v)", err, ctx.Err()), secret)
			case <-t.C:
			}
			wait = min(2*wait, s.maxBackoff)
		}
		var retry bool
		retry, err = s.attempt(ctx, req)
		if err == nil {
			return nil
		}
		if !retry {
			break
		}
	}
	return scrub(err, secret)
}

// attempt posts req once and says whether a failure is worth retrying.
func (s *sender) attempt(ctx context.Context, req request) (retry bool, err error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return false, fmt.Errorf("POST %s: bad request", req.Where) // its error quotes the URL
	}
	r.Header = req.Header.Clone()
	resp, err := s.client.Do(r)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL, which may be the secret
		}
		if errors.Is(err, errRedirect) {
			return false, fmt.Errorf("POST %s: %w", req.Where, err)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return true, fmt.Errorf("POST %s: timed out", req.Where)
		}
		return true, fmt.Errorf("POST %s: %v", req.Where, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	msg := fmt.Sprintf("POST %s: HTTP %d", req.Where, resp.StatusCode)
	if q := quote(body); q != "" {
		msg += ": " + q
	}
	retry = resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg += " (redirects to another host are not followed)"
	}
	return retry, errors.New(msg)
}

// quote returns the start of a response body for an error message: one
// line, valid UTF-8, at most maxQuotedBytes.
func quote(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > maxQuotedBytes {
		s = s[:maxQuotedBytes]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return strings.ToValidUTF8(s, "")
}

// scrub returns err with the secret replaced, so that no message, log
// line or condition carries it, whatever a server echoed. A secret that is
// a URL (a Slack webhook's) is also replaced by its path, its query and
// its last path segment, which servers tend to quote on their own.
func scrub(err error, secret string) error {
	if err == nil || secret == "" {
		return err
	}
	parts := []string{secret}
	if u, perr := url.Parse(secret); perr == nil && u.Host != "" {
		if p := strings.Trim(u.Path, "/"); p != "" {
			parts = append(parts, p)
			if i := strings.LastIndexByte(p, '/'); i >= 0 && len(p)-i > 6 {
				parts = append(parts, p[i+1:])
			}
		}
		if len(u.RawQuery) > 6 {
			parts = append(parts, u.RawQuery)
		}
	}
	msg := err.Error()
	for _, p := range parts {
		msg = strings.ReplaceAll(msg, p, "[secret]")
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}
