package notify

import (
	"strings"
	"testing"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestValidate(t *testing.T) {
	hook := &WebhookTarget{URL: "https://hooks.example.com/x"}
	secret := &SecretRef{Name: "s", Key: "k"}
	for _, tc := range []struct {
		name    string
		spec    Spec
		wantErr string // "" is valid
	}{
		{"a webhook", Spec{Events: []Event{SyncFailed}, Webhook: hook}, ""},
		{"slack with its secret", Spec{Events: []Event{SyncFailed}, Slack: &SlackTarget{}, SecretRef: secret}, ""},
		{"an unknown event", Spec{Events: []Event{SyncFailed, "SyncExploded"}, Webhook: hook}, `unknown event "SyncExploded"`},
		{"no event", Spec{Webhook: hook}, "name at least one event"},
		{"no target", Spec{Events: []Event{SyncFailed}}, "exactly one of"},
		{"two targets", Spec{Events: []Event{SyncFailed}, Webhook: hook, Alertmanager: &AlertmanagerTarget{URL: "http://am:9093"}}, "exactly one of"},
		{"slack without a secret", Spec{Events: []Event{SyncFailed}, Slack: &SlackTarget{}}, "secretRef is required"},
		{"github without a secret", Spec{Events: []Event{SyncFailed}, GitHub: &GitHubTarget{}}, "secretRef is required"},
		{"a secret in another namespace", Spec{Events: []Event{SyncFailed}, Slack: &SlackTarget{}, SecretRef: &SecretRef{Name: "s", Key: "k", Namespace: "other"}},
			`namespace "other" is not the Notifier's ("team")`},
		{"a secret in its own namespace, named", Spec{Events: []Event{SyncFailed}, Slack: &SlackTarget{}, SecretRef: &SecretRef{Name: "s", Key: "k", Namespace: "team"}}, ""},
		{"a bad selector", Spec{Events: []Event{SyncFailed}, Webhook: hook, Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}}},
			"selector"},
		{"a bad glob", Spec{Events: []Event{SyncFailed}, Webhook: hook, Applications: []string{"api-["}}, "glob"},
		{"a webhook URL that is not http", Spec{Events: []Event{SyncFailed}, Webhook: &WebhookTarget{URL: "file:///etc/passwd"}}, "absolute http or https URL"},
		{"a bad body template", Spec{Events: []Event{SyncFailed}, Webhook: &WebhookTarget{URL: hook.URL, BodyTemplate: `{"a": {{ .Application }}}`}}, "bodyTemplate: output is not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &Notifier{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "n"}, Spec: tc.spec}
			err := Validate(n)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate = %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

func TestSelects(t *testing.T) {
	api := &app.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "api-1", Labels: map[string]string{"tier": "backend"}}, Spec: app.Spec{Project: "payments"}}
	web := &app.Application{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web", Labels: map[string]string{"tier": "frontend"}}}
	for _, tc := range []struct {
		name     string
		spec     Spec
		api, web bool
	}{
		{"everything", Spec{}, true, true},
		{"by label", Spec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"tier": "backend"}}}, true, false},
		{"by project", Spec{Projects: []string{"payments"}}, true, false},
		{"by the default project", Spec{Projects: []string{app.DefaultProject}}, false, true},
		{"by name glob", Spec{Applications: []string{"api-*"}}, true, false},
		{"by names", Spec{Applications: []string{"nope", "web"}}, false, true},
		{"all must hold", Spec{Projects: []string{"payments"}, Applications: []string{"web"}}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.spec.Events = []Event{OutOfSync}
			tc.spec.Webhook = &WebhookTarget{URL: "http://x"}
			n := &Notifier{Spec: tc.spec}
			r, err := compile(n)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.selects(&n.Spec, api); got != tc.api {
				t.Errorf("selects api-1 = %v, want %v", got, tc.api)
			}
			if got := r.selects(&n.Spec, web); got != tc.web {
				t.Errorf("selects web = %v, want %v", got, tc.web)
			}
		})
	}
}

func TestSees(t *testing.T) {
	for _, tc := range []struct {
		notifier, app, system string
		want                  bool
	}{
		{"team", "team", "gyre", true},
		{"team", "other", "gyre", false},
		{"gyre", "other", "gyre", true},
		{"gyre", "other", "", false},
		{"", "other", "", false},
	} {
		if got := Sees(tc.notifier, tc.app, tc.system); got != tc.want {
			t.Errorf("Sees(%q, %q, system %q) = %v, want %v", tc.notifier, tc.app, tc.system, got, tc.want)
		}
	}
}
