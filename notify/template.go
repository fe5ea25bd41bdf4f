package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/gyre-cd/gyre/app"
	"github.com/gyre-cd/gyre/source"
)

// Limits of a webhook's body template and of what it produces.
const (
	// MaxTemplateBytes bounds the size of a body template.
	MaxTemplateBytes = 16 << 10
	// MaxBodyBytes bounds the size of a request body a template produces.
	MaxBodyBytes = 64 << 10
)

// Data is what a body template sees, and the JSON body a webhook without
// a template sends.
type Data struct {
	// Application is the Application's name.
	Application string `json:"application"`
	// Namespace is the Application's namespace.
	Namespace string `json:"namespace"`
	// Project is the Application's Project ("default" when unset).
	Project string `json:"project"`
	// Event is what happened.
	Event Event `json:"event"`
	// Revision is the revision the Application is at: the operation's
	// for sync events, status.sync.revision for the others.
	Revision string `json:"revision,omitempty"`
	// RepoURL is the Application's (first) source repository, without
	// credentials.
	RepoURL string `json:"repoURL,omitempty"`
	// SyncStatus is Synced, OutOfSync or Unknown.
	SyncStatus app.SyncStatus `json:"syncStatus,omitempty"`
	// HealthStatus is the Application's aggregated health.
	HealthStatus app.HealthStatus `json:"healthStatus,omitempty"`
	// HealthMessage says which object decided the health and why.
	HealthMessage string `json:"healthMessage,omitempty"`
	// OperationPhase is the phase of the current or last operation.
	OperationPhase app.OperationPhase `json:"operationPhase,omitempty"`
	// OperationMessage is that operation's message.
	OperationMessage string `json:"operationMessage,omitempty"`
	// Time is when gyre saw the event.
	Time time.Time `json:"time"`
	// URL is the Application's page in gyre's UI, when Options.UIURL is
	// set.
	URL string `json:"url,omitempty"`
}

// newData describes event e of a at now; uiURL is Options.UIURL.
func newData(a *app.Application, e Event, now time.Time, uiURL string) Data {
	d := Data{
		Application:   a.Name,
		Namespace:     a.Namespace,
		Project:       a.ProjectName(),
		Event:         e,
		Revision:      a.Status.Sync.Revision,
		RepoURL:       source.Redact(a.Spec.SourceList()[0].RepoURL),
		SyncStatus:    a.Status.Sync.Status,
		HealthStatus:  a.Status.Health.Status,
		HealthMessage: a.Status.Health.Message,
		Time:          now.UTC(),
	}
	if op := a.Status.OperationState; op != nil {
		d.OperationPhase, d.OperationMessage = op.Phase, op.Message
		if r := op.SyncResult; r != nil && r.Revision != "" && (e == SyncSucceeded || e == SyncFailed) {
			d.Revision = r.Revision
		}
	}
	if uiURL != "" {
		d.URL = strings.TrimSuffix(uiURL, "/") + "/#/apps/" + a.Namespace + "/" + a.Name
	}
	return d
}

// sampleData is what ParseBodyTemplate tries a template on.
func sampleData() Data {
	return Data{
		Application: "guestbook", Namespace: "apps", Project: "default", Event: HealthDegraded,
		Revision: "0123456789abcdef0123456789abcdef01234567", RepoURL: "https://example.com/org/repo.git",
		SyncStatus: app.Synced, HealthStatus: app.Degraded, HealthMessage: `Deployment/apps/web: "quoted" \ message`,
		OperationPhase: app.OperationSucceeded, OperationMessage: "synced", Time: time.Unix(0, 0).UTC(),
		URL: "https://gyre.example.com/#/apps/apps/guestbook",
	}
}

// ParseBodyTemplate compiles a webhook's body template and checks it: at
// most MaxTemplateBytes, no range, define, block or template actions (the
// data holds no lists, and without loops or recursion a template runs in
// time linear in its size), and on sample data it must produce valid JSON
// of at most MaxBodyBytes. Besides text/template's built-in functions it
// offers json, which writes any value as JSON ({{ json .HealthMessage }}
// is a quoted, escaped string).
func ParseBodyTemplate(src string) (*template.Template, error) {
	if len(src) > MaxTemplateBytes {
		return nil, fmt.Errorf("template is %d bytes; at most %d", len(src), MaxTemplateBytes)
	}
	t, err := template.New("body").Option("missingkey=error").Funcs(template.FuncMap{"json": jsonValue}).Parse(src)
	if err != nil {
		return nil, err
	}
	if len(t.Templates()) > 1 {
		return nil, errors.New("define and block are not allowed")
	}
	if t.Tree == nil || t.Root == nil {
		return nil, errors.New("template is empty")
	}
	if err := checkNodes(t.Root); err != nil {
		return nil, err
	}
	if _, err := renderBody(t, sampleData()); err != nil {
		return nil, err
	}
	return t, nil
}

// checkNodes refuses the actions that loop or recurse.
func checkNodes(n parse.Node) error {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return nil
		}
		for _, c := range n.Nodes {
			if err := checkNodes(c); err != nil {
				return err
			}
		}
	case *parse.IfNode:
		return checkBranch(&n.BranchNode)
	case *parse.WithNode:
		return checkBranch(&n.BranchNode)
	case *parse.RangeNode:
		return errors.New("range is not allowed")
	case *parse.TemplateNode:
		return errors.New("template is not allowed")
	case *parse.BreakNode, *parse.ContinueNode:
		return errors.New("break and continue are not allowed")
	}
	return nil
}

func checkBranch(b *parse.BranchNode) error {
	if err := checkNodes(b.List); err != nil {
		return err
	}
	if b.ElseList != nil {
		return checkNodes(b.ElseList)
	}
	return nil
}

// renderBody runs t on d and returns its output, which must be valid JSON
// of at most MaxBodyBytes. A panic in the template engine is an error.
func renderBody(t *template.Template, d Data) (body []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			body, err = nil, fmt.Errorf("template panicked: %v", p)
		}
	}()
	w := &limitedBuffer{max: MaxBodyBytes}
	if err := t.Execute(w, d); err != nil {
		if errors.Is(err, errBodyTooLarge) {
			return nil, errBodyTooLarge
		}
		return nil, err
	}
	if !json.Valid(w.buf.Bytes()) {
		return nil, errors.New("output is not valid JSON")
	}
	return w.buf.Bytes(), nil
}

// jsonValue is the template function json.
func jsonValue(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

var errBodyTooLarge = fmt.Errorf("output is larger than %d bytes", MaxBodyBytes)

// limitedBuffer is a bytes.Buffer that refuses to grow past max.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.max {
		return 0, errBodyTooLarge
	}
	return b.buf.Write(p)
}
