package app

import (
	"errors"
	"slices"
	"strings"
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

// TestSyncOptionsCheck: every option gyre knows is accepted where it has an
// effect, with the values it supports; anything else is refused with a
// message that names the entry.
func TestSyncOptionsCheck(t *testing.T) {
	tests := []struct {
		entry string
		scope SyncOptionScope
		want  string // "" accepted; else part of the error
	}{
		{"CreateNamespace=true", ScopeApplication, ""},
		{"CreateNamespace=TRUE", ScopeApplication, ""},
		{"PruneLast=true", ScopeApplication, ""},
		{"PruneLast=true", ScopeObject, ""},
		{"ApplyOutOfSyncOnly=true", ScopeApplication, ""},
		{"PrunePropagationPolicy=orphan", ScopeApplication, ""},
		{"PrunePropagationPolicy=background", ScopeApplication, ""},
		{"PrunePropagationPolicy=foreground", ScopeApplication, ""},
		{"RespectIgnoreDifferences=true", ScopeApplication, ""},
		{"FailOnSharedResource=true", ScopeApplication, ""},
		{"Prune=false", ScopeObject, ""},
		{"Delete=false", ScopeObject, ""},
		{"Replace=true", ScopeApplication, ""},
		{"Replace=true", ScopeObject, ""},
		{"Force=false", ScopeApplication, ""},
		{"Force=true", ScopeObject, ""},
		{"SkipDryRunOnMissingResource=true", ScopeObject, ""},
		{"ServerSideApply=true", ScopeApplication, ""},
		{"Validate=true", ScopeObject, ""},
		{"Validate=false", ScopeObject, "Validate=false is not supported"},

		{"Frobnicate=true", ScopeApplication, `"Frobnicate=true": unknown sync option Frobnicate (gyre knows CreateNamespace, `},
		{"createNamespace=true", ScopeApplication, "unknown sync option createNamespace"},
		{"CreateNamespace", ScopeApplication, `"CreateNamespace": want Name=value`},
		{"CreateNamespace=yes", ScopeApplication, "CreateNamespace=yes: want true or false"},
		{"PrunePropagationPolicy=later", ScopeApplication, "want foreground or background or orphan"},
		{"Prune=confirm", ScopeObject, "Prune=confirm is not supported"},
		{"Delete=confirm", ScopeObject, "Delete=confirm is not supported"},
		{"ServerSideApply=false", ScopeApplication, "gyre always uses server-side apply"},
		{"Prune=false", ScopeApplication, "Prune has no effect in spec.syncPolicy.syncOptions; give it in an object's sync-options annotation"},
		{"CreateNamespace=true", ScopeObject, "CreateNamespace has no effect in an object's sync-options annotation"},
		{"RespectIgnoreDifferences=true", ScopeObject, "has no effect"},
	}
	for _, tt := range tests {
		err := SyncOptions{tt.entry}.Check(tt.scope)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Check(%q, %s) = %v, want nil", tt.entry, tt.scope, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("Check(%q, %s) = %v, want an error containing %q", tt.entry, tt.scope, err, tt.want)
		}
	}
	if err := (SyncOptions{"Replace=true", "Force=true"}).Check(ScopeObject); err == nil || !strings.Contains(err.Error(), "Force=true with Replace=true") {
		t.Errorf("Check(Replace=true, Force=true) = %v, want the pair refused", err)
	}
	// Every known option is accepted somewhere with each value it lists.
	for _, o := range KnownSyncOptions() {
		for _, v := range o.Values {
			for _, scope := range []SyncOptionScope{ScopeApplication, ScopeObject} {
				if o.Scope&scope == 0 {
					continue
				}
				if err := (SyncOptions{string(o.Name) + "=" + v}).Check(scope); err != nil {
					t.Errorf("known option %s=%s refused in %s: %v", o.Name, v, scope, err)
				}
			}
		}
	}
}

// TestValidateRefusesUnknownSyncOptions: an option in
// spec.syncPolicy.syncOptions that gyre would not act on makes the spec
// invalid, as a *SpecError the reconciler reports as InvalidSpecError.
func TestValidateRefusesUnknownSyncOptions(t *testing.T) {
	a := &Application{Spec: Spec{SyncPolicy: &SyncPolicy{SyncOptions: SyncOptions{"CreateNamespace=true", "Frobnicate=true", "ServerSideApply=false"}}}}
	err := a.Validate()
	var spec *SpecError
	if !errors.As(err, &spec) || len(spec.Problems) != 2 {
		t.Fatalf("Validate() = %v, want a *SpecError with two problems", err)
	}
	for _, want := range []string{`spec.syncPolicy.syncOptions[1] "Frobnicate=true": unknown sync option`, `spec.syncPolicy.syncOptions[2] "ServerSideApply=false"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %q, want it to contain %q", err, want)
		}
	}
	op := Operation{Sync: &SyncOperation{SyncOptions: SyncOptions{"Replace=maybe"}}}
	if err := op.Validate(); err == nil || !strings.Contains(err.Error(), `"Replace=maybe"`) {
		t.Errorf("Operation.Validate() = %v, want the bad sync option named", err)
	}
}
