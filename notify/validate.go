package notify

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"text/template"

	"github.com/gyre-cd/gyre/app"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// rules is a Notifier's spec checked and made ready to use: the selector
// parsed, the template compiled, the events a set.
type rules struct {
	target   TargetType
	selector labels.Selector
	events   map[Event]bool
	body     *template.Template // nil: send Data as JSON
}

// Validate reports what is wrong with a Notifier's spec in words for its
// Ready condition, or nil. Beyond what the CRD's schema checks it refuses
// a Secret in another namespace, an unknown event (for a server that runs
// without the schema), a selector or glob that does not parse and a body
// template that does not compile or uses what templates may not (see
// ParseBodyTemplate).
func Validate(n *Notifier) error {
	_, err := compile(n)
	return err
}

func compile(n *Notifier) (*rules, error) {
	s := &n.Spec
	var errs []error
	r := &rules{target: s.Target(), events: map[Event]bool{}}
	if r.target == "" {
		errs = append(errs, errors.New("set exactly one of webhook, slack, github and alertmanager"))
	}
	if len(s.Events) == 0 {
		errs = append(errs, errors.New("events: name at least one event"))
	}
	for _, e := range s.Events {
		if !e.Known() {
			errs = append(errs, fmt.Errorf("events: unknown event %q (known: %s)", e, joinEvents(Events())))
		}
		r.events[e] = true
	}
	r.selector = labels.Everything() // LabelSelectorAsSelector makes nil select nothing
	if s.Selector != nil {
		sel, err := metav1.LabelSelectorAsSelector(s.Selector)
		if err != nil {
			errs = append(errs, fmt.Errorf("selector: %w", err))
		} else {
			r.selector = sel
		}
	}
	for _, g := range s.Applications {
		if _, err := path.Match(g, ""); err != nil {
			errs = append(errs, fmt.Errorf("applications: glob %q: %w", g, err))
		}
	}
	if ref := s.SecretRef; ref != nil {
		if ref.Namespace != "" && ref.Namespace != n.Namespace {
			errs = append(errs, fmt.Errorf("secretRef: namespace %q is not the Notifier's (%q); a Notifier reads Secrets of its own namespace only", ref.Namespace, n.Namespace))
		}
		if ref.Name == "" || ref.Key == "" {
			errs = append(errs, errors.New("secretRef: name and key are required"))
		}
	}
	needSecret := func(what string) {
		if s.SecretRef == nil {
			errs = append(errs, fmt.Errorf("%s: secretRef is required (it holds %s)", r.target, what))
		}
	}
	switch r.target {
	case TargetWebhook:
		if err := checkURL(s.Webhook.URL); err != nil {
			errs = append(errs, fmt.Errorf("webhook: url: %w", err))
		}
		if s.Webhook.SecretHeader != "" {
			needSecret("the value of header " + s.Webhook.SecretHeader)
		}
		if s.Webhook.BodyTemplate != "" {
			t, err := ParseBodyTemplate(s.Webhook.BodyTemplate)
			if err != nil {
				errs = append(errs, fmt.Errorf("webhook: bodyTemplate: %w", err))
			}
			r.body = t
		}
	case TargetSlack:
		needSecret("the incoming-webhook URL")
	case TargetGitHub:
		needSecret("the token")
		if s.GitHub.APIURL != "" {
			if err := checkURL(s.GitHub.APIURL); err != nil {
				errs = append(errs, fmt.Errorf("github: apiURL: %w", err))
			}
		}
	case TargetAlertmanager:
		if err := checkURL(s.Alertmanager.URL); err != nil {
			errs = append(errs, fmt.Errorf("alertmanager: url: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// checkURL accepts an absolute http or https URL.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL") // url's error repeats the URL, which may hold a token
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return errors.New("want an absolute http or https URL")
	}
	return nil
}

func joinEvents(es []Event) string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

// selects reports whether the Notifier, whose rules are r, sends events of
// a. Scope (which namespaces it sees) is decided before, by the caller.
func (r *rules) selects(s *Spec, a *app.Application) bool {
	if !r.selector.Matches(labels.Set(a.Labels)) {
		return false
	}
	if len(s.Projects) > 0 && !slices.Contains(s.Projects, a.ProjectName()) {
		return false
	}
	if len(s.Applications) == 0 {
		return true
	}
	for _, g := range s.Applications {
		if ok, _ := path.Match(g, a.Name); ok {
			return true
		}
	}
	return false
}

// Sees reports whether a Notifier in namespace notifierNS sees the
// Applications of namespace appNS: those of its own namespace, and, in
// gyre's system namespace, those of every namespace.
func Sees(notifierNS, appNS, systemNamespace string) bool {
	return notifierNS == appNS || (systemNamespace != "" && notifierNS == systemNamespace)
}
