package app

import (
	"fmt"
	"time"
)

// Retry defaults, used for the backoff fields left empty (Argo CD's values).
const (
	// DefaultRetryDuration is the first delay.
	DefaultRetryDuration = 5 * time.Second
	// DefaultRetryFactor multiplies the delay after each retry.
	DefaultRetryFactor = 2
	// DefaultRetryMaxDuration caps the delay.
	DefaultRetryMaxDuration = 3 * time.Minute
)

// RetryStrategy says how often and how patiently a failed sync is retried.
type RetryStrategy struct {
	// Limit is the number of retries after the first attempt; 0 means none
	// and a negative value means no limit.
	Limit int64 `json:"limit,omitempty"`
	// Backoff spaces the retries. Nil means the defaults.
	Backoff *Backoff `json:"backoff,omitempty"`
}

// Backoff is an exponential backoff: Duration, then Duration*Factor, and so
// on, never more than MaxDuration.
type Backoff struct {
	// Duration is the first delay, as a Go duration ("5s", "1m"); empty
	// means DefaultRetryDuration.
	Duration string `json:"duration,omitempty"`
	// Factor multiplies the delay after each retry; nil means
	// DefaultRetryFactor.
	Factor *int64 `json:"factor,omitempty"`
	// MaxDuration caps the delay; empty means DefaultRetryMaxDuration.
	MaxDuration string `json:"maxDuration,omitempty"`
}

// Allows reports whether a sync that has been retried retries times may be
// retried once more.
func (r *RetryStrategy) Allows(retries int64) bool {
	if r == nil {
		return false
	}
	return r.Limit < 0 || retries < r.Limit
}

// Delay returns how long to wait before retry number retry (0 for the first
// retry). A nil strategy or backoff uses the defaults. It fails when a
// duration does not parse.
func (r *RetryStrategy) Delay(retry int64) (time.Duration, error) {
	var b Backoff
	if r != nil && r.Backoff != nil {
		b = *r.Backoff
	}
	d, maxD := DefaultRetryDuration, DefaultRetryMaxDuration
	factor := int64(DefaultRetryFactor)
	var err error
	if b.Duration != "" {
		if d, err = time.ParseDuration(b.Duration); err != nil {
			return 0, fmt.Errorf("retry backoff duration %q: %w", b.Duration, err)
		}
	}
	if b.MaxDuration != "" {
		if maxD, err = time.ParseDuration(b.MaxDuration); err != nil {
			return 0, fmt.Errorf("retry backoff maxDuration %q: %w", b.MaxDuration, err)
		}
	}
	if b.Factor != nil {
		factor = *b.Factor
	}
	f := time.Duration(max(factor, 1))
	for i := int64(0); i < retry && d < maxD; i++ {
		if d > maxD/f {
			return maxD, nil
		}
		d *= f
	}
	return min(d, maxD), nil
}
