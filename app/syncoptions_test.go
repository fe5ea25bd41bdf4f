package app

import (
	"slices"
	"testing"
	"time"
)

func TestSyncOptions(t *testing.T) {
	opts := SyncOptions{"CreateNamespace=true", "Prune=false", "Replace=TRUE", "Validate", "Replace=false", " PruneLast = true "}
	tests := []struct {
		name        SyncOptionName
		value       string
		ok          bool
		true, false bool
	}{
		{OptionCreateNamespace, "true", true, true, false},
		{OptionPrune, "false", true, false, true},
		{OptionReplace, "false", true, false, true}, // the later entry wins
		{"Validate", "", true, false, false},
		{OptionPruneLast, "true", true, true, false},
		{OptionDelete, "", false, false, false},
	}
	for _, tt := range tests {
		v, ok := opts.Get(tt.name)
		if v != tt.value || ok != tt.ok {
			t.Errorf("Get(%s) = %q, %v; want %q, %v", tt.name, v, ok, tt.value, tt.ok)
		}
		if got := opts.True(tt.name); got != tt.true {
			t.Errorf("True(%s) = %v, want %v", tt.name, got, tt.true)
		}
		if got := opts.False(tt.name); got != tt.false {
			t.Errorf("False(%s) = %v, want %v", tt.name, got, tt.false)
		}
	}
}

func TestParseSyncOptions(t *testing.T) {
	tests := []struct {
		in   string
		want SyncOptions
	}{
		{"", nil},
		{"Prune=false", SyncOptions{"Prune=false"}},
		{"Prune=false, Replace=true,,", SyncOptions{"Prune=false", "Replace=true"}},
	}
	for _, tt := range tests {
		if got := ParseSyncOptions(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("ParseSyncOptions(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		name     string
		strategy *RetryStrategy
		retry    int64
		want     time.Duration
		wantErr  bool
	}{
		{"nil strategy uses defaults", nil, 0, 5 * time.Second, false},
		{"defaults grow by 2", &RetryStrategy{Limit: 3}, 2, 20 * time.Second, false},
		{"defaults cap at 3m", &RetryStrategy{Limit: 30}, 10, 3 * time.Minute, false},
		{"custom", &RetryStrategy{Backoff: &Backoff{Duration: "1s", Factor: new(int64(3)), MaxDuration: "1m"}}, 3, 27 * time.Second, false},
		{"custom cap", &RetryStrategy{Backoff: &Backoff{Duration: "1s", Factor: new(int64(3)), MaxDuration: "1m"}}, 4, time.Minute, false},
		{"huge factor does not overflow", &RetryStrategy{Backoff: &Backoff{Duration: "1h", Factor: new(int64(1 << 62)), MaxDuration: "10000h"}}, 5, 10000 * time.Hour, false},
		{"bad duration", &RetryStrategy{Backoff: &Backoff{Duration: "5 seconds"}}, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.strategy.Delay(tt.retry)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("Delay(%d) = %v, %v; want %v, error %v", tt.retry, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestRetryAllows(t *testing.T) {
	tests := []struct {
		strategy *RetryStrategy
		retries  int64
		want     bool
	}{
		{nil, 0, false},
		{&RetryStrategy{Limit: 0}, 0, false},
		{&RetryStrategy{Limit: 2}, 1, true},
		{&RetryStrategy{Limit: 2}, 2, false},
		{&RetryStrategy{Limit: -1}, 1000, true},
	}
	for _, tt := range tests {
		if got := tt.strategy.Allows(tt.retries); got != tt.want {
			t.Errorf("%+v.Allows(%d) = %v, want %v", tt.strategy, tt.retries, got, tt.want)
		}
	}
}
