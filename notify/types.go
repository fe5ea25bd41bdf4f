package notify

import (
	"fmt"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// The identity of the Notifier API.
const (
	// Kind is the kind of a Notifier object.
	Kind = "Notifier"
	// Resource is the plural resource name: notifiers.gyre.dev.
	Resource = "notifiers"
)

// GroupVersionResource returns the resource that dynamic clients and
// informers use to reach Notifiers: gyre.dev/v1alpha1, notifiers.
func GroupVersionResource() schema.GroupVersionResource {
	return app.SchemeGroupVersion().WithResource(Resource)
}

// Notifier says which Applications' events are sent where. It is a
// namespaced custom resource (notifiers.gyre.dev); see the package comment
// for which Applications a Notifier sees.
type Notifier struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   Spec   `json:"spec"`
	Status Status `json:"status,omitempty"`
}

// Spec is what a Notifier declares: which Applications, which events, and
// exactly one target (Webhook, Slack, GitHub or Alertmanager).
type Spec struct {
	// Selector picks Applications by their labels; nil selects all.
	Selector *metav1.LabelSelector `json:"selector,omitempty"`
	// Projects limits the Notifier to Applications of these Projects;
	// empty means every Project.
	Projects []string `json:"projects,omitempty"`
	// Applications limits the Notifier to Applications whose names match
	// one of these globs (path.Match syntax: "api-*"); empty means all.
	Applications []string `json:"applications,omitempty"`
	// Events are the events to send. At least one is required.
	Events []Event `json:"events"`
	// SecretRef names the Secret, in the Notifier's own namespace, whose
	// key holds the target's secret: Slack's incoming-webhook URL,
	// GitHub's token, the webhook's secret header value, Alertmanager's
	// bearer token.
	SecretRef *SecretRef `json:"secretRef,omitempty"`

	// Webhook posts a JSON body of your own shape to a URL.
	Webhook *WebhookTarget `json:"webhook,omitempty"`
	// Slack posts a message to a Slack incoming webhook.
	Slack *SlackTarget `json:"slack,omitempty"`
	// GitHub sets a commit status on the synced commit.
	GitHub *GitHubTarget `json:"github,omitempty"`
	// Alertmanager posts alerts to a Prometheus Alertmanager.
	Alertmanager *AlertmanagerTarget `json:"alertmanager,omitempty"`
}

// SecretRef names a key of a Secret in the Notifier's namespace.
type SecretRef struct {
	// Name is the Secret's name.
	Name string `json:"name"`
	// Key is the key in the Secret's data.
	Key string `json:"key"`
	// Namespace, when set, must be the Notifier's own: a Notifier never
	// reads another namespace's Secrets. The field exists so that a
	// manifest that names another namespace is refused with a condition
	// rather than quietly read from the Notifier's namespace.
	Namespace string `json:"namespace,omitempty"`
}

// WebhookTarget posts the output of BodyTemplate to URL.
type WebhookTarget struct {
	// URL is where the body is posted (http or https).
	URL string `json:"url"`
	// Headers are sent with each request.
	Headers map[string]string `json:"headers,omitempty"`
	// SecretHeader names a header whose value is the Secret's (for
	// example "Authorization", with a Secret holding "Bearer …").
	SecretHeader string `json:"secretHeader,omitempty"`
	// BodyTemplate is a Go text/template that must produce JSON; see
	// Data for what it may use, and the package comment for its limits.
	// Empty sends Data itself as JSON.
	BodyTemplate string `json:"bodyTemplate,omitempty"`
}

// SlackTarget posts to the Slack incoming webhook whose URL is the Secret's
// value.
type SlackTarget struct {
	// Channel overrides the webhook's default channel, where Slack allows
	// it.
	Channel string `json:"channel,omitempty"`
	// Username overrides the webhook's default user name.
	Username string `json:"username,omitempty"`
}

// GitHubTarget sets a commit status on the Application's repository and
// revision, with the Secret's value as the token.
type GitHubTarget struct {
	// APIURL is the GitHub API's base URL: https://api.github.com when
	// empty; https://HOST/api/v3 for GitHub Enterprise Server.
	APIURL string `json:"apiURL,omitempty"`
	// Context is the status's context; "gyre/<application>" when empty.
	Context string `json:"context,omitempty"`
}

// AlertmanagerTarget posts alerts to an Alertmanager's /api/v2/alerts.
type AlertmanagerTarget struct {
	// URL is the Alertmanager's base URL (http://alertmanager:9093).
	URL string `json:"url"`
}

// Status is what gyre reports about a Notifier.
type Status struct {
	// ObservedGeneration is the metadata.generation the conditions
	// describe.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions holds Ready: True once the spec is accepted and after a
	// delivery succeeded; False with reason InvalidSpec or DeliveryFailed.
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// TargetType names the kind of target a Notifier sends to.
type TargetType string

// The target types, as they appear in the spec and in the metric's type
// label.
const (
	TargetWebhook      TargetType = "webhook"
	TargetSlack        TargetType = "slack"
	TargetGitHub       TargetType = "github"
	TargetAlertmanager TargetType = "alertmanager"
)

// Target returns the type of the target the spec sets, or "" when it sets
// none or more than one (Validate says which).
func (s *Spec) Target() TargetType {
	var t TargetType
	n := 0
	for _, c := range []struct {
		set bool
		t   TargetType
	}{
		{s.Webhook != nil, TargetWebhook},
		{s.Slack != nil, TargetSlack},
		{s.GitHub != nil, TargetGitHub},
		{s.Alertmanager != nil, TargetAlertmanager},
	} {
		if c.set {
			t, n = c.t, n+1
		}
	}
	if n != 1 {
		return ""
	}
	return t
}

// FromUnstructured converts a Notifier read through a dynamic client or an
// informer into the typed form.
func FromUnstructured(obj *unstructured.Unstructured) (*Notifier, error) {
	if gk := obj.GroupVersionKind().GroupKind(); gk != (schema.GroupKind{Group: app.Group, Kind: Kind}) {
		return nil, fmt.Errorf("%s %s/%s: not a %s/%s", gk, obj.GetNamespace(), obj.GetName(), app.Group, Kind)
	}
	n := &Notifier{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, n); err != nil {
		return nil, fmt.Errorf("Notifier %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
	}
	return n, nil
}
