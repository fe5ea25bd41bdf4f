package testsupport

import (
	"testing"
	"time"
)

// Polling intervals of Eventually: it starts fast, for conditions that are
// about to hold, and backs off to spare conditions that cost an API call.
const (
	firstPoll = 10 * time.Millisecond
	maxPoll   = 200 * time.Millisecond
)

// Eventually calls cond until it reports done and returns how long that
// took. When timeout passes first, it fails the test with cond's last
// message. cond is first called at once, then at growing intervals of 10ms
// up to 200ms.
func Eventually(t testing.TB, timeout time.Duration, cond func() (done bool, msg string)) time.Duration {
	t.Helper()
	return poll(t, timeout, firstPoll, maxPoll, cond)
}

// EventuallyEvery is Eventually calling cond at once and then every
// interval, for a condition whose check costs the system under test what
// a benchmark measures (a scrape of its metrics, say).
func EventuallyEvery(t testing.TB, timeout, interval time.Duration, cond func() (done bool, msg string)) time.Duration {
	t.Helper()
	return poll(t, timeout, interval, interval, cond)
}

func poll(t testing.TB, timeout, first, most time.Duration, cond func() (done bool, msg string)) time.Duration {
	t.Helper()
	start := time.Now()
	wait := first
	for {
		done, msg := cond()
		if done {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("not done after %s: %s", timeout, msg)
		}
		time.Sleep(wait) // polling towards a deadline, not waiting for an event
		wait = min(2*wait, most)
	}
}
